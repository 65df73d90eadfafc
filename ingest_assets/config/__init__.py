"""Loading and validating `sources.yml`.

The names below are re-exported lazily (on first attribute access), so that importing a low
module of this package (`ingest_assets.config.common`, `.errors`, `.alerts`) does not import
the loader, the job sheet and through them every source type: the source types themselves
import `ingest_assets.config.common`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest_assets.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from ingest_assets.config.errors import ConfigError
    from ingest_assets.config.loader import load_project_config, validate_document
    from ingest_assets.config.project import ProjectConfig, SourceConfig

_EXPORTS = {
    "ConfigError": "ingest_assets.config.errors",
    "ProjectConfig": "ingest_assets.config.project",
    "SourceConfig": "ingest_assets.config.project",
    "load_project_config": "ingest_assets.config.loader",
    "validate_document": "ingest_assets.config.loader",
}

__all__ = [  # noqa: RUF022 - the order of _EXPORTS
    "ConfigError",
    "ProjectConfig",
    "SourceConfig",
    "load_project_config",
    "validate_document",
]


__getattr__ = lazy_getattr(__name__, _EXPORTS)

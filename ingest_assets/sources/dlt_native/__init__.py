"""`type: dlt_native` sources: any dlt source function (a verified source, a project module in
`custom_sources/`), called with the arguments sources.yml gives.

Modules: `config` (the `dlt_native:` block), `errors`, `locate` (finding the module and function
without importing them), `source` (importing the function, building the dlt source of one run,
describing it without secrets, missing config).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest_assets.lazy_exports import lazy_getattr
from ingest_assets.settings import ProjectPaths
from ingest_assets.sources.base import Extract, ExtractReport, SourceType
from ingest_assets.sources.dlt_native.config import DltNativeSourceConfig

if TYPE_CHECKING:
    from ingest_assets.sources.dlt_native.config import (
        SECRET_PLACEHOLDER,
        DltNativeBlock,
        ResourceOptions,
    )
    from ingest_assets.sources.dlt_native.errors import MissingConfigError, SourceImportError
    from ingest_assets.sources.dlt_native.source import (
        MissingKey,
        build_dlt_source,
        check_dlt_source,
        describe_dlt_source,
        instance_arguments,
        missing_config,
        missing_message,
    )

_EXPORTS = {
    "SECRET_PLACEHOLDER": "ingest_assets.sources.dlt_native.config",
    "DltNativeBlock": "ingest_assets.sources.dlt_native.config",
    "ResourceOptions": "ingest_assets.sources.dlt_native.config",
    "MissingConfigError": "ingest_assets.sources.dlt_native.errors",
    "SourceImportError": "ingest_assets.sources.dlt_native.errors",
    "MissingKey": "ingest_assets.sources.dlt_native.source",
    "build_dlt_source": "ingest_assets.sources.dlt_native.source",
    "check_dlt_source": "ingest_assets.sources.dlt_native.source",
    "describe_dlt_source": "ingest_assets.sources.dlt_native.source",
    "instance_arguments": "ingest_assets.sources.dlt_native.source",
    "missing_config": "ingest_assets.sources.dlt_native.source",
    "missing_message": "ingest_assets.sources.dlt_native.source",
}
"""Public name -> the module that defines it, imported on first access (so that `SOURCE_TYPE`
and the config model load without the type's heavy libraries: dlt, sqlalchemy, sqlglot)."""


class DltNativeType(SourceType):
    """The `dlt_native` source type: its position is whatever the dlt source keeps in its state
    (dlt's incremental cursors)."""

    name = "dlt_native"
    config_model = DltNativeSourceConfig

    def build(self, config: DltNativeSourceConfig, paths: ProjectPaths, selected=None) -> Extract:  # type: ignore[override]
        """See `SourceType.build` (`selected` is ignored)."""
        from ingest_assets.sources.dlt_native.source import build_dlt_source

        return Extract(build_dlt_source(config, paths), ExtractReport(), self, config)

    def quick_check(self, config: DltNativeSourceConfig, paths: ProjectPaths) -> list[str]:  # type: ignore[override]
        """The module and function can be there, found without importing them (see
        `locate.locate_problem`); [] or one message."""
        from ingest_assets.sources.dlt_native.locate import locate_problem

        problem = locate_problem(config.name, config.dlt_native, paths)
        return [problem] if problem else []

    def check(self, config: DltNativeSourceConfig, paths: ProjectPaths) -> list[str]:  # type: ignore[override]
        """Import and call the source function (see `check_dlt_source`); one message naming
        the config and secrets it misses, if any."""
        from ingest_assets.sources.dlt_native.source import check_dlt_source, missing_message

        missing = check_dlt_source(config, paths)
        return [missing_message(config, missing)] if missing else []


SOURCE_TYPE = DltNativeType()

__all__ = [
    "SECRET_PLACEHOLDER",
    "SOURCE_TYPE",
    "DltNativeBlock",
    "DltNativeSourceConfig",
    "DltNativeType",
    "MissingConfigError",
    "MissingKey",
    "ResourceOptions",
    "SourceImportError",
    "build_dlt_source",
    "check_dlt_source",
    "describe_dlt_source",
    "instance_arguments",
    "missing_config",
    "missing_message",
]


__getattr__ = lazy_getattr(__name__, _EXPORTS)

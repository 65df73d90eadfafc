"""Loading and validating `sources.yml`."""

from ingest_assets.config.errors import ConfigError
from ingest_assets.config.loader import load_project_config, validate_document
from ingest_assets.config.project import ProjectConfig, SourceConfig

__all__ = [
    "ConfigError",
    "ProjectConfig",
    "SourceConfig",
    "load_project_config",
    "validate_document",
]

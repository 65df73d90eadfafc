"""One project checkout loaded: its paths, its validated `sources.yml` and its warehouse.

Kept apart from the Dagster definitions (`ingest_assets.project`) so that the commands that only
read the config or the warehouse (`ingest status`, `summary`, `rewind --list`) import neither
Dagster nor dlt.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ingest_assets.config import ProjectConfig, load_project_config
from ingest_assets.settings import ProjectPaths, export_runtime_environment, project_dir
from ingest_assets.warehouses.environments import apply_environment, resolve_warehouse
from ingest_assets.warehouses.targets import Warehouse


@dataclass(frozen=True)
class Project:
    """A loaded project: where it is, what `sources.yml` says, and the warehouse it writes.

    Attributes:
        paths: absolute paths of the checkout.
        config: the validated `sources.yml`, with the active environment's overrides applied
            (schedule status, sensor interval).
        warehouse: the active environment's warehouse (the one used by dlt, dbt and readers);
            `warehouse.path` is the absolute DuckDB file for a `duckdb` warehouse.
    """

    paths: ProjectPaths
    config: ProjectConfig
    warehouse: Warehouse


def load_project(root: Path | None = None, sources_file: Path | None = None) -> Project:
    """Load the project at `root` (default: `settings.project_dir()`) in the active environment
    (`INGEST_ENV`, default `dev`) and export its environment.

    Args:
        root: the project root.
        sources_file: the sources file (default: `<root>/sources.yml`).

    Raises:
        ConfigError: `sources.yml` is invalid; one message per problem.
        UnknownEnvironment: `INGEST_ENV` names an environment `sources.yml` does not define.
        WarehouseSecretMissing: the warehouse's `*_env` key names a variable that is not set.
    """
    paths = ProjectPaths(root or project_dir())
    config = load_project_config(sources_file or paths.sources_file)
    warehouse = resolve_warehouse(config, paths.root)
    config = apply_environment(config, warehouse.environment)
    export_runtime_environment(paths, warehouse)
    return Project(paths=paths, config=config, warehouse=warehouse)

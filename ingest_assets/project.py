"""Assemble one project checkout (config, paths, warehouse) into Dagster `Definitions`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dagster import Definitions, in_process_executor
from dagster_dbt import DbtCliResource
from dagster_dlt import DagsterDltResource
from dagster_duckdb import DuckDBResource

from ingest_assets.config import ProjectConfig, load_project_config
from ingest_assets.dbt.assets import build_dbt_assets
from ingest_assets.dbt.project import load_dbt_project
from ingest_assets.dlt.assets import build_source_assets
from ingest_assets.settings import (
    ProjectPaths,
    export_runtime_environment,
    project_dir,
    warehouse_path,
)


@dataclass(frozen=True)
class Project:
    """A loaded project: where it is, what `sources.yml` says, and the warehouse it writes.

    Attributes:
        paths: absolute paths of the checkout.
        config: the validated `sources.yml`.
        warehouse: absolute path of the DuckDB warehouse (the one used by dlt, dbt and readers).
    """

    paths: ProjectPaths
    config: ProjectConfig
    warehouse: Path


def load_project(root: Path | None = None) -> Project:
    """Load the project at `root` (default: `settings.project_dir()`) and export its environment.

    Raises:
        ConfigError: `sources.yml` is invalid; one message per problem.
    """
    paths = ProjectPaths(root or project_dir())
    config = load_project_config(paths.sources_file)
    warehouse = warehouse_path(paths, config.warehouse)
    export_runtime_environment(paths, warehouse)
    return Project(paths=paths, config=config, warehouse=warehouse)


def build_definitions(project: Project) -> Definitions:
    """Return the Dagster definitions of `project`.

    One asset group per enabled source (its dlt assets), the dbt models downstream of them, and
    the resources: `dlt`, `dbt` (profile reads the warehouse path from the environment) and
    `duckdb` (a `DuckDBResource` on the same warehouse file, for readers and checks).
    """
    dbt_project = load_dbt_project(project.paths.dbt_project_dir)
    source_assets = [
        build_source_assets(source, project.paths, project.warehouse)
        for source in project.config.enabled_sources
    ]
    return Definitions(
        assets=[*source_assets, build_dbt_assets(dbt_project)],
        # Every step writes DuckDB, so the duckdb pool runs them one at a time anyway; in-process
        # execution saves a Python start and definitions load per step (measured: see README).
        executor=in_process_executor,
        resources={
            "dlt": DagsterDltResource(),
            "dbt": DbtCliResource(project_dir=dbt_project),
            "duckdb": DuckDBResource(database=str(project.warehouse)),
        },
    )

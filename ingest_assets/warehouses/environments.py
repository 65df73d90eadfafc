"""Which environment of `sources.yml` is active (`INGEST_ENV`), and what it changes.

An environment (`environments: {dev: ..., prod: ...}`) picks the warehouse (and with it the dbt
target), and may set the status every schedule starts with and the interval of every
file-arrival sensor. Without `environments:` there is one environment, `dev`, with the
top-level `warehouse`.
"""

from __future__ import annotations

import os
from pathlib import Path

from ingest_assets.config.warehouse import DEFAULT_ENVIRONMENT, DuckDBWarehouse, EnvironmentConfig
from ingest_assets.warehouses.targets import Warehouse

ENVIRONMENT_ENV = "INGEST_ENV"
"""Environment variable naming the active environment (default `dev`)."""
WAREHOUSE_OVERRIDE_ENV = "INGEST_WAREHOUSE"
"""Environment variable overriding the DuckDB file of a `duckdb` warehouse (as before)."""


class UnknownEnvironment(Exception):
    """`INGEST_ENV` names an environment `sources.yml` does not define."""


def active_environment() -> str:
    """The active environment's name: `INGEST_ENV`, else `dev`."""
    return os.environ.get(ENVIRONMENT_ENV) or DEFAULT_ENVIRONMENT


def environment_names(config) -> list[str]:
    """Every environment of the project (`ProjectConfig`), in file order; `[dev]` without
    `environments:`."""
    return list(config.environments) if config.environments else [DEFAULT_ENVIRONMENT]


def environment_config(config, name: str) -> EnvironmentConfig:
    """The `environments:` entry `name` of `config` (an empty one for `dev` when the project
    defines no environments).

    Raises:
        UnknownEnvironment: `name` is not defined; the message lists those that are.
    """
    if config.environments and name in config.environments:
        return config.environments[name]
    if not config.environments and name == DEFAULT_ENVIRONMENT:
        return EnvironmentConfig()
    defined = ", ".join(environment_names(config))
    raise UnknownEnvironment(
        f"sources.yml: environments: {ENVIRONMENT_ENV} is {name!r}, but sources.yml defines "
        f"{'only ' + defined if config.environments else 'no environments: (only the implicit dev)'}; "
        f"set {ENVIRONMENT_ENV} to one of them or add {name!r} under environments:"
    )


def resolve_warehouse(config, root: Path, name: str | None = None) -> Warehouse:
    """The warehouse of environment `name` (default: the active one) of project `config`.

    The environment's `warehouse`, else the top-level `warehouse`, else the DuckDB file
    `warehouse.duckdb`. A DuckDB path is taken against the project `root`; `INGEST_WAREHOUSE`,
    when set, replaces the DuckDB file (it does not turn a server warehouse into a file).

    Raises:
        UnknownEnvironment: `name` is not defined.
    """
    name = name or active_environment()
    setting = environment_config(config, name).warehouse or config.warehouse or DuckDBWarehouse()
    if isinstance(setting, DuckDBWarehouse):
        chosen = Path(os.environ.get(WAREHOUSE_OVERRIDE_ENV) or setting.path).expanduser()
        path = chosen if chosen.is_absolute() else (root / chosen).resolve()
        return Warehouse(setting, path, name)
    return Warehouse(setting, None, name)


def apply_environment(config, name: str | None = None):
    """`config` (a `ProjectConfig`) with environment `name`'s overrides applied to its sources:
    `schedule_status` on every source, `sensor_minimum_interval_seconds` on every source with
    a file-arrival sensor. Returns `config` itself when the environment overrides nothing.

    Raises:
        UnknownEnvironment: `name` is not defined.
    """
    env = environment_config(config, name or active_environment())
    if env.schedule_status is None and env.sensor_minimum_interval_seconds is None:
        return config
    sources = []
    for source in config.sources:
        update = {}
        if env.schedule_status is not None:
            update["schedule_status"] = env.schedule_status
        if (
            env.sensor_minimum_interval_seconds is not None
            and "minimum_interval_seconds" in type(source).model_fields
        ):
            update["minimum_interval_seconds"] = env.sensor_minimum_interval_seconds
        sources.append(source.model_copy(update=update))
    return config.model_copy(update={"sources": sources})

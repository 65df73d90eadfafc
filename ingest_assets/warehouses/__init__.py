"""The warehouse a project writes (DuckDB file, PostgreSQL, MotherDuck, Snowflake, BigQuery) and
its environments: `targets` maps one `warehouse:` setting onto dlt, dbt and the Dagster pool,
`connection` opens SQL connections for the project's readers, `environments` picks the active
environment (`INGEST_ENV`), `pool` sets the warehouse pool's limit on the Dagster instance."""

from ingest_assets.warehouses.connection import (
    WarehouseResource,
    connect,
    exists,
    missing_table_errors,
)
from ingest_assets.warehouses.environments import (
    ENVIRONMENT_ENV,
    UnknownEnvironment,
    active_environment,
    apply_environment,
    environment_names,
    resolve_warehouse,
)
from ingest_assets.warehouses.targets import Warehouse, WarehouseSecretMissing, as_warehouse

__all__ = [
    "ENVIRONMENT_ENV",
    "UnknownEnvironment",
    "Warehouse",
    "WarehouseResource",
    "WarehouseSecretMissing",
    "active_environment",
    "apply_environment",
    "as_warehouse",
    "connect",
    "environment_names",
    "exists",
    "missing_table_errors",
    "resolve_warehouse",
]

"""The warehouse a project writes (DuckDB file, PostgreSQL, MotherDuck, Snowflake, BigQuery) and
its environments: `targets` maps one `warehouse:` setting onto dlt, dbt and the Dagster pool,
`connection` opens SQL connections for the project's readers, `resource` is the Dagster
`warehouse` resource, `environments` picks the active environment (`INGEST_ENV`), `pool` sets the
warehouse pool's limit on the Dagster instance.

The names below are re-exported lazily (on first use), so that importing `targets`,
`environments` or `connection` (the CLI's commands that need no Dagster) does not import Dagster
through `resource`.
"""

from __future__ import annotations

from ingest_assets.lazy_exports import lazy_getattr

_EXPORTS = {
    "WarehouseResource": "ingest_assets.warehouses.resource",
    "connect": "ingest_assets.warehouses.connection",
    "exists": "ingest_assets.warehouses.connection",
    "missing_table_errors": "ingest_assets.warehouses.connection",
    "ENVIRONMENT_ENV": "ingest_assets.warehouses.environments",
    "UnknownEnvironment": "ingest_assets.warehouses.environments",
    "active_environment": "ingest_assets.warehouses.environments",
    "apply_environment": "ingest_assets.warehouses.environments",
    "environment_names": "ingest_assets.warehouses.environments",
    "resolve_warehouse": "ingest_assets.warehouses.environments",
    "Warehouse": "ingest_assets.warehouses.targets",
    "WarehouseSecretMissing": "ingest_assets.warehouses.targets",
    "as_warehouse": "ingest_assets.warehouses.targets",
}

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


__getattr__ = lazy_getattr(__name__, _EXPORTS)

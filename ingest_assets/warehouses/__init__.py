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

import importlib
from typing import Any

_EXPORTS = {
    "WarehouseResource": "resource",
    "connect": "connection",
    "exists": "connection",
    "missing_table_errors": "connection",
    "ENVIRONMENT_ENV": "environments",
    "UnknownEnvironment": "environments",
    "active_environment": "environments",
    "apply_environment": "environments",
    "environment_names": "environments",
    "resolve_warehouse": "environments",
    "Warehouse": "targets",
    "WarehouseSecretMissing": "targets",
    "as_warehouse": "targets",
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


def __getattr__(name: str) -> Any:
    """Import `name` from the module that defines it (PEP 562 lazy re-export)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ingest_assets.warehouses' has no attribute {name!r}")
    return getattr(importlib.import_module(f"ingest_assets.warehouses.{module}"), name)

"""The concurrency pools that guard the warehouse, with limits that follow its type.

Every step that writes or reads the warehouse (dlt loads, the row-count and reconcile checks)
runs in the `duckdb` pool (the name predates other warehouses; pools are instance-wide, so it is
kept for existing instances). Its limit is the warehouse's `pool_limit`: 1 on a DuckDB file (one
writer process), `pool_limit` on a server warehouse (default 4), so loads of different sources
run in parallel there.

dbt's step builds every model, and two `dbt build`s of the same models at once would collide on
a server warehouse (dbt swaps each table in by renaming); on a server warehouse it therefore runs
in its own pool `dbt`, limit 1, and loads do not wait for it. On a DuckDB file it stays in the
`duckdb` pool (it writes the same file).

The limits are set on the Dagster instance the way `dagster instance concurrency set <pool>
<limit>` does (`instance.event_log_storage.set_concurrency_slots`), whenever the definitions load
or `ingest sync` starts, and only when they differ. On a definitions load, a read-only look at
the default SQLite storage (`instance_state.pool_slots_match`) first decides whether they
differ, so a load whose limits are already set does not build a `DagsterInstance` (importing
its storage layer costs about as much as the rest of the load). `dagster_home/dagster.yaml`'s
`concurrency.pools.default_limit: 1` still covers the moment before the first load.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from dagster import DagsterInstance

from ingest_assets import names
from ingest_assets.instance_state import pool_slots_match
from ingest_assets.warehouses.targets import DBT_TARGET_ENV, Warehouse

logger = logging.getLogger(__name__)

WAREHOUSE_POOL = names.DUCKDB_POOL
"""The pool of every step that writes or reads the warehouse."""
DBT_POOL = names.DBT_POOL
"""The pool of the dbt step on a server warehouse (limit 1)."""


def dbt_pool(warehouse: Warehouse) -> str:
    """The pool of the dbt step: `duckdb` on a DuckDB file, else `dbt`."""
    return WAREHOUSE_POOL if warehouse.type == "duckdb" else DBT_POOL


def current_dbt_pool() -> str:
    """The dbt step's pool for the warehouse the loaded project exported (`INGEST_DBT_TARGET`,
    set by `settings.export_runtime_environment`): `duckdb` when none is set."""
    return WAREHOUSE_POOL if os.environ.get(DBT_TARGET_ENV, "duckdb") == "duckdb" else DBT_POOL


def pool_limits(warehouse: Warehouse) -> dict[str, int]:
    """`{pool: limit}` for `warehouse`: `{duckdb: 1}` on a DuckDB file,
    `{duckdb: pool_limit, dbt: 1}` on a server warehouse."""
    if warehouse.type == "duckdb":
        return {WAREHOUSE_POOL: 1}
    return {WAREHOUSE_POOL: warehouse.pool_limit, DBT_POOL: 1}


def apply_pool_limits(instance: DagsterInstance, warehouse: Warehouse) -> dict[str, int]:
    """Set the limits of `pool_limits(warehouse)` on `instance` where they differ.

    Returns:
        The pools whose limit was changed, with their new limit ({} when none was, or the
        instance's storage does not support pools, e.g. an in-memory instance).
    """
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return {}
    changed = {}
    for pool, limit in pool_limits(warehouse).items():
        if storage.get_concurrency_info(pool).slot_count != limit:
            storage.set_concurrency_slots(pool, limit)
            changed[pool] = limit
    return changed


def apply_pool_limits_on_load(warehouse: Warehouse) -> None:
    """`apply_pool_limits` on the instance in `DAGSTER_HOME`, when the definitions load.

    Never raises (a definitions load must not fail on it): without `DAGSTER_HOME` it does
    nothing, an error is logged as a warning. When `instance_state.pool_slots_match` finds
    the limits already set, no instance is built.
    """
    home = os.environ.get("DAGSTER_HOME")
    if not home or pool_slots_match(Path(home), pool_limits(warehouse)):
        return
    try:
        with DagsterInstance.get() as instance:
            for pool, limit in apply_pool_limits(instance, warehouse).items():
                logger.info(f"pool {pool!r}: limit set to {limit} ({warehouse.type} warehouse)")
    except Exception as error:  # noqa: BLE001 - must never break definitions load
        logger.warning(f"could not set the warehouse pool limits: {type(error).__name__}: {error}")

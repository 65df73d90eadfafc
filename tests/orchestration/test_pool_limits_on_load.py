"""The warehouse pools' limits on a definitions load: a read-only look at the instance's SQLite
storage decides whether they need setting, so a load whose limits are already set does not
build a `DagsterInstance` (its storage layer is a large part of a definitions load), and a load
whose limits differ still sets them through Dagster."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import DagsterInstance
from helpers import REPO

from ingest_assets.config.warehouse import DuckDBWarehouse, PostgresWarehouse
from ingest_assets.instance_state import pool_slots_match
from ingest_assets.warehouses import Warehouse
from ingest_assets.warehouses.pool import (
    DBT_POOL,
    WAREHOUSE_POOL,
    apply_pool_limits,
    pool_limits,
)

pytestmark = pytest.mark.integration

DUCKDB = Warehouse(DuckDBWarehouse(type="duckdb"), path=Path("warehouse.duckdb"))
SERVER = Warehouse(PostgresWarehouse(type="postgres", database="analytics", user="loader"))

APPLY_ON_LOAD = """
import sys
from pathlib import Path
from ingest_assets.config.warehouse import DuckDBWarehouse, PostgresWarehouse
from ingest_assets.warehouses import Warehouse
from ingest_assets.warehouses.pool import apply_pool_limits_on_load
if sys.argv[1] == "duckdb":
    warehouse = Warehouse(DuckDBWarehouse(type="duckdb"), path=Path("warehouse.duckdb"))
else:
    warehouse = Warehouse(PostgresWarehouse(type="postgres", database="analytics", user="loader"))
apply_pool_limits_on_load(warehouse)
print("instance built" if "dagster._core.storage.sql" in sys.modules else "instance not built")
"""


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    return home


def _apply_on_load(home: Path, warehouse: str) -> str:
    """`apply_pool_limits_on_load` in a fresh process, as a definitions load calls it."""
    done = subprocess.run(
        [sys.executable, "-c", APPLY_ON_LOAD, warehouse],
        env={**os.environ, "DAGSTER_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


def _slots(home: Path) -> dict[str, int]:
    with DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        return {
            pool: storage.get_concurrency_info(pool).slot_count
            for pool in (WAREHOUSE_POOL, DBT_POOL)
        }


def test_limits_already_set_are_read_without_building_the_instance(tmp_path):
    home = _home(tmp_path)
    assert not pool_slots_match(home, pool_limits(DUCKDB))  # no instance storage yet

    # the first load sets the DuckDB limit through Dagster
    assert _apply_on_load(home, "duckdb") == "instance built"
    assert _slots(home) == {WAREHOUSE_POOL: 1, DBT_POOL: 0}
    assert pool_slots_match(home, pool_limits(DUCKDB))
    # the next load finds it set and leaves the instance unbuilt
    assert _apply_on_load(home, "duckdb") == "instance not built"

    # a server warehouse wants other limits: they are set, once
    assert not pool_slots_match(home, pool_limits(SERVER))
    assert _apply_on_load(home, "postgres") == "instance built"
    assert _slots(home) == {WAREHOUSE_POOL: 4, DBT_POOL: 1}
    assert _apply_on_load(home, "postgres") == "instance not built"

    # back on a DuckDB file, the one-writer limit is restored
    assert _apply_on_load(home, "duckdb") == "instance built"
    assert _slots(home)[WAREHOUSE_POOL] == 1


def _home_with_duckdb_limits(tmp_path: Path, set_by_hand: int | None = None) -> Path:
    """An instance whose pools were set for a DuckDB file, then `duckdb` set to `set_by_hand`
    slots (as `dagster instance concurrency set duckdb <n>` would) when given."""
    home = _home(tmp_path)
    with DagsterInstance.from_config(str(home)) as instance:
        apply_pool_limits(instance, DUCKDB)
        if set_by_hand is not None:
            instance.event_log_storage.set_concurrency_slots(WAREHOUSE_POOL, set_by_hand)
    return home


def test_a_limit_changed_outside_the_project_is_set_back(tmp_path):
    home = _home_with_duckdb_limits(tmp_path, set_by_hand=3)
    assert not pool_slots_match(home, pool_limits(DUCKDB))
    assert _apply_on_load(home, "duckdb") == "instance built"
    assert _slots(home)[WAREHOUSE_POOL] == 1


def test_other_instance_storage_is_always_asked_through_dagster(tmp_path):
    home = _home_with_duckdb_limits(tmp_path)
    assert pool_slots_match(home, pool_limits(DUCKDB))
    settings = (home / "dagster.yaml").read_text()
    (home / "dagster.yaml").write_text(
        settings + "storage:\n  postgres:\n    postgres_url: postgresql://nobody@127.0.0.1/none\n"
    )
    assert not pool_slots_match(home, pool_limits(DUCKDB))
    (home / "dagster.yaml").write_text("storage: [unreadable\n")
    assert not pool_slots_match(home, pool_limits(DUCKDB))

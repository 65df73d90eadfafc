"""The main job end to end on both warehouses: the Jaffle Shop CSVs (jafgen) loaded by dlt into
a DuckDB file and into PostgreSQL (a database of the test's own), dbt building staging and marts
on each (dbt-duckdb, dbt-postgres), with the row counts equal to the CSVs on each.

The PostgreSQL case needs the server at 127.0.0.1:5432; it skips without it, and fails under
CI=true (tests/helpers.py `require_service`), so CI always runs both.
"""

from __future__ import annotations

import shutil
from contextlib import ExitStack

import pytest
import yaml
from helpers import materialize_project, read_csv
from jaffle import JAFFLE_TABLES, jaffle_source
from warehouses_support import fresh_database, postgres_warehouse, warehouse_query, warehouse_scalar

from ingest_assets.ledger import latest_per_source
from ingest_assets.project import load_project
from ingest_assets.warehouse import table_counts

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("kind", ["duckdb", "postgres"])
def test_jaffle_shop_loads_and_marts_build_on_each_warehouse(make_project, jaffle_small, kind):
    with ExitStack() as stack:
        if kind == "postgres":
            warehouse = postgres_warehouse(stack.enter_context(fresh_database("wh14_e2e")))
        else:
            warehouse = {"type": "duckdb", "path": "warehouse.duckdb"}
        document = {
            "version": 1,
            "warehouse": warehouse,
            "sources": [jaffle_source("data/landing/jaffle_shop")],
        }
        project = make_project(yaml.safe_dump(document, sort_keys=False))
        shutil.copytree(jaffle_small, project / "data" / "landing" / "jaffle_shop")

        result = materialize_project(project)

        assert result.success
        loaded = load_project(project)
        assert loaded.warehouse.type == kind
        csv_rows = {
            table: len(read_csv(jaffle_small / name)) for table, name in JAFFLE_TABLES.items()
        }
        for table, expected in csv_rows.items():
            assert (
                warehouse_scalar(project, f"select count(*) from raw_jaffle_shop.{table}")
                == expected
            ), table
        # dbt's marts, in schema main on both
        assert warehouse_scalar(project, "select count(*) from main.orders") == csv_rows["orders"]
        assert (
            warehouse_scalar(project, "select count(*) from main.customers")
            == csv_rows["customers"]
        )
        assert (
            warehouse_scalar(project, "select count(*) from main.order_items") == csv_rows["items"]
        )
        assert (
            warehouse_scalar(project, "select count(*) from main.products") == csv_rows["products"]
        )
        assert (
            warehouse_scalar(project, "select count(*) from main.locations") == csv_rows["stores"]
        )
        # the same order totals: dlt loaded the same values and dbt computed the same marts
        total = warehouse_scalar(project, "select sum(order_total) from main.orders")
        assert float(total) == pytest.approx(
            sum(int(r["order_total"]) for r in read_csv(jaffle_small / "raw_orders.csv")) / 100
        )
        kinds = dict(
            warehouse_query(
                project,
                "select table_name, table_type from information_schema.tables where table_schema = 'main'",
            )
        )
        assert kinds["orders"] == "BASE TABLE" and kinds["stg_jaffle_shop__orders"] == "VIEW"

        checks = result.get_asset_check_evaluations()
        assert checks and [c.check_name for c in checks if not c.passed] == []
        assert {c.asset_key.path[-1] for c in checks if c.check_name == "row_count"} == set(
            JAFFLE_TABLES
        )

        # the readers (`ingest summary`, `ingest status`, the load ledger) see the same warehouse
        counts = {(c.schema, c.table): c.rows for c in table_counts(loaded.warehouse)}
        assert {t: counts[("raw_jaffle_shop", t)] for t in JAFFLE_TABLES} == csv_rows
        assert counts[("main", "orders")] == csv_rows["orders"]
        ledger = latest_per_source(loaded.warehouse)["jaffle_shop"]
        assert {row["table_name"]: row["rows_loaded"] for row in ledger} == csv_rows
        assert {row["status"] for row in ledger} == {"success"}

        # a second run loads nothing twice
        assert materialize_project(project, "group:jaffle_shop", checks=False).success
        assert (
            warehouse_scalar(project, "select count(*) from raw_jaffle_shop.orders")
            == csv_rows["orders"]
        )


def test_rewind_and_the_ledger_on_postgres(make_project):
    """`ingest rewind`'s SQL (rows of later loads, their dlt state and loads deleted in one
    transaction, ledger rows written in it) runs on PostgreSQL as on DuckDB."""
    from helpers import write_csv

    from ingest_assets.dlt.rewind import completed_loads, rewind

    with fresh_database("wh14_rewind") as database:
        source = {
            "name": "drops",
            "type": "filesystem",
            "filesystem": {
                "bucket_url": "data/drops",
                "tables": [{"name": "orders", "file_glob": "orders*.csv", "format": "csv"}],
            },
        }
        document = {"version": 1, "warehouse": postgres_warehouse(database), "sources": [source]}
        project = make_project(yaml.safe_dump(document, sort_keys=False))
        for n in (1, 2):
            write_csv(
                project / "data" / "drops" / f"orders{n}.csv",
                [{"id": n * 100 + i, "file": n} for i in range(n * 10)],
            )
            assert materialize_project(project, "group:drops", checks=False).success
        loaded = load_project(project)
        config = loaded.config.sources[0]
        loads = [load_id for load_id, _ in completed_loads(loaded.warehouse, config)]
        assert len(loads) == 2
        assert warehouse_scalar(project, "select count(*) from raw_drops.orders") == 30

        result = rewind(config, loads[0], loaded.warehouse, loaded.paths.pipelines_dir)

        assert result.undone_loads == [loads[1]] and result.rows_deleted == {"orders": 20}
        assert warehouse_scalar(project, "select count(*) from raw_drops.orders") == 10
        assert [load_id for load_id, _ in completed_loads(loaded.warehouse, config)] == [loads[0]]
        assert latest_per_source(loaded.warehouse)["drops"][0]["status"] == "rewound"
        # the next run loads the undone file again, exactly once
        assert materialize_project(project, "group:drops", checks=False).success
        assert warehouse_scalar(project, "select count(*) from raw_drops.orders") == 30

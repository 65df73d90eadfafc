"""Reconciliation checks for real: files and PostgreSQL tables loaded, counted again in the
source, and a mismatch made by deleting rows in the warehouse after a load."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from conftest import PG_URL
from dagster import DagsterInstance
from helpers import execute_job, execute_sql, write_csv


def _reconcile(result) -> dict[str, object]:
    return {
        c.asset_key.path[-1]: c
        for c in result.get_asset_check_evaluations()
        if c.check_name == "reconcile"
    }


def _checks_only(project: Path, instance: DagsterInstance, asset: str):
    """Run only the `reconcile` check of `asset` (no load), on `instance`."""
    from dagster import AssetCheckKey, AssetKey, AssetSelection, materialize

    from ingest_assets.project import build_definitions, load_project

    defs = build_definitions(load_project(project))
    return materialize(
        [*defs.assets, *defs.asset_checks],
        resources=defs.resources,
        instance=instance,
        selection=AssetSelection.checks(
            AssetCheckKey(AssetKey.from_user_string(asset), "reconcile")
        ),
    )


def _delete(project: Path, sql: str) -> None:
    with duckdb.connect(str(project / "warehouse.duckdb")) as conn:
        conn.execute(sql)


@pytest.mark.e2e
def test_files_reconcile_per_load_and_fail_on_missing_rows(make_project):
    project = make_project(
        [
            {
                "name": "events",
                "type": "filesystem",
                "filesystem": {
                    "bucket_url": "data/events",
                    "tables": [
                        {"name": "clicks", "file_glob": "clicks*.csv", "format": "csv"},
                        {
                            "name": "stores",
                            "file_glob": "stores*.csv",
                            "format": "csv",
                            "write_disposition": "replace",
                        },
                        {
                            "name": "users",
                            "file_glob": "users*.csv",
                            "format": "csv",
                            "write_disposition": "merge",
                            "primary_key": "id",
                        },
                    ],
                },
            }
        ]
    )
    folder = project / "data" / "events"
    write_csv(folder / "clicks1.csv", [{"id": i, "page": f"/p{i}"} for i in range(7)])
    write_csv(folder / "clicks2.csv", [{"id": i, "page": "/q"} for i in range(7, 12)])
    write_csv(folder / "stores1.csv", [{"id": i} for i in range(3)])
    write_csv(folder / "users.csv", [{"id": 1}])
    with DagsterInstance.ephemeral() as instance:
        first = _reconcile(execute_job(project, "events_job", instance=instance))
        assert set(first) == {"clicks", "stores"}  # merge tables are not reconciled by default
        assert first["clicks"].passed, first["clicks"].description
        assert first["clicks"].metadata["rows_per_file"].value == {
            "clicks1.csv": 7,
            "clicks2.csv": 5,
        }
        assert first["clicks"].metadata["rows_loaded"].value == 12
        assert first["stores"].passed and first["stores"].metadata["rows_loaded"].value == 3

        # a new file: only its rows are the new load's
        write_csv(folder / "clicks3.csv", [{"id": 100, "page": "/r"}, {"id": 101, "page": "/r"}])
        second = _reconcile(execute_job(project, "events_job", instance=instance))
        assert second["clicks"].passed
        assert second["clicks"].metadata["rows_per_file"].value == {"clicks3.csv": 2}

        # rows of that load deleted in the warehouse; a run with nothing new checks that load again
        _delete(project, "DELETE FROM raw_events.clicks WHERE id = 101")
        third = _reconcile(execute_job(project, "events_job", instance=instance))
        # the replace table was loaded again by that run; its check alone sees the deletion
        _delete(project, "DELETE FROM raw_events.stores WHERE id = 0")
        stores = _reconcile(_checks_only(project, instance, "raw_events/stores"))["stores"]
    assert third["stores"].passed
    assert third["clicks"].passed is False
    assert "1 rows in the load" in third["clicks"].description
    assert (
        "2 data rows" in third["clicks"].description
        and "clicks3.csv: 2" in third["clicks"].description
    )
    assert stores.passed is False and "2 rows in the table" in stores.description
    assert stores.metadata["rows_in_files"].value == 3 and stores.metadata["rows_loaded"].value == 2


@pytest.mark.integration
def test_postgres_reconcile_over_cursor_window(make_project, pg_schema, monkeypatch):
    engine, schema = pg_schema
    execute_sql(
        engine,
        f"CREATE TABLE {schema}.orders (id int PRIMARY KEY, status text, updated_at timestamptz NOT NULL)",
        f"INSERT INTO {schema}.orders SELECT g, CASE WHEN g % 10 = 0 THEN 'test' ELSE 'ok' END, "
        "timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute' FROM generate_series(1, 200) g",
        f"CREATE TABLE {schema}.plain (id int)",
        f"INSERT INTO {schema}.plain SELECT g FROM generate_series(1, 30) g",
    )
    monkeypatch.setenv("SOURCES__SHOP__CREDENTIALS", PG_URL)
    project = make_project(
        [
            {
                "name": "shop",
                "type": "sql_database",
                "sql_database": {
                    "schema": schema,
                    "tables": [
                        {
                            "name": "orders",
                            "reconcile": True,
                            "query_filter": "status <> 'test'",
                            "incremental": {
                                "cursor": "updated_at",
                                "initial_value": datetime(2024, 1, 1, 1, tzinfo=UTC),
                            },
                        },
                        {"name": "plain", "reconcile": True, "write_disposition": "replace"},
                    ],
                },
            }
        ]
    )
    with DagsterInstance.ephemeral() as instance:
        first = _reconcile(execute_job(project, "shop_job", instance=instance))
        # rows 60..200 (initial value 01:00), without every 10th: 141 - 15 = 126
        assert first["orders"].passed, first["orders"].description
        assert first["orders"].metadata["rows_loaded"].value == 126
        assert first["plain"].passed and first["plain"].metadata["rows_in_source"].value == 30

        execute_sql(
            engine,
            f"INSERT INTO {schema}.orders SELECT g, 'ok', timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute' "
            "FROM generate_series(201, 240) g",
        )
        second = _reconcile(execute_job(project, "shop_job", instance=instance))
        assert second["orders"].passed, second["orders"].description
        assert second["orders"].metadata["rows_in_source"].value == 40  # only the new window

        _delete(project, "DELETE FROM raw_shop.orders WHERE id IN (230, 231, 232)")
        third = _reconcile(execute_job(project, "shop_job", instance=instance))
    assert third["orders"].passed is False
    assert (
        "37 rows of load" in third["orders"].description
        and "but 40 rows in the source" in third["orders"].description
    )
    assert third["plain"].passed

"""The main job end to end: Jaffle Shop CSVs -> raw tables -> dbt staging and marts, for real."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from helpers import materialize_project, query, read_csv, scalar, write_csv
from jaffle import JAFFLE_TABLES, jaffle_source

pytestmark = pytest.mark.e2e


def _landing(project: Path, jaffle_small: Path) -> Path:
    landing = project / "data" / "landing" / "jaffle_shop"
    shutil.copytree(jaffle_small, landing)
    return landing


def test_everything_loads_and_marts_build(make_project, jaffle_small):
    project = make_project([jaffle_source("data/landing/jaffle_shop")])
    _landing(project, jaffle_small)

    result = materialize_project(project)

    assert result.success
    for table, file_name in JAFFLE_TABLES.items():
        expected = len(read_csv(jaffle_small / file_name))
        assert scalar(project, f"select count(*) from raw_jaffle_shop.{table}") == expected, table
    assert scalar(project, "select count(*) from main.orders") == len(
        read_csv(jaffle_small / "raw_orders.csv")
    )
    assert scalar(project, "select count(*) from main.customers") == len(
        read_csv(jaffle_small / "raw_customers.csv")
    )
    checks = result.get_asset_check_evaluations()
    assert checks, "dbt tests should run as asset checks"
    failed = [c.check_name for c in checks if not c.passed]
    assert failed == []
    row_count_checked = {c.asset_key.path[-1] for c in checks if c.check_name == "row_count"}
    assert row_count_checked == set(JAFFLE_TABLES)


def test_second_run_loads_nothing_new_file_loads_only_its_rows(make_project, jaffle_small):
    project = make_project([jaffle_source("data/landing/jaffle_shop")])
    landing = _landing(project, jaffle_small)
    materialize_project(project, "group:jaffle_shop", checks=False)
    orders_before = scalar(project, "select count(*) from raw_jaffle_shop.orders")

    second = materialize_project(project, "group:jaffle_shop", checks=False)

    assert scalar(project, "select count(*) from raw_jaffle_shop.orders") == orders_before
    rows_loaded = {
        event.asset_key.path[-1]: event.metadata["rows_loaded"].value
        for event in second.get_asset_materialization_events()
        for event in [event.event_specific_data.materialization]
    }
    assert rows_loaded == {table: 0 for table in JAFFLE_TABLES}

    # a new orders file with an OLDER modification time than everything loaded so far
    new_orders = [
        {**row, "id": f"late-{row['id']}"} for row in read_csv(landing / "raw_orders.csv")[:25]
    ]
    late_file = landing / "raw_orders_late.csv"
    write_csv(late_file, new_orders)
    os.utime(late_file, (946684800, 946684800))  # 2000-01-01

    third = materialize_project(project, "group:jaffle_shop", checks=False)

    assert scalar(project, "select count(*) from raw_jaffle_shop.orders") == orders_before + 25
    assert (
        scalar(project, "select count(*) from raw_jaffle_shop.orders where id like 'late-%'") == 25
    )
    materializations = {
        m.asset_key.path[-1]: m.metadata
        for m in (
            e.event_specific_data.materialization for e in third.get_asset_materialization_events()
        )
    }
    assert materializations["orders"]["rows_loaded"].value == 25
    assert materializations["orders"]["dagster/row_count"].value == orders_before + 25
    assert materializations["orders"]["dlt_load_id"].value.strip() not in (
        "",
        "(nothing new to load)",
    )

    materialize_project(project, "group:jaffle_shop", checks=False)
    assert scalar(project, "select count(*) from raw_jaffle_shop.orders") == orders_before + 25


def test_merge_table_updates_changed_row(make_project, jaffle_small):
    project = make_project([jaffle_source("data/landing/jaffle_shop")])
    landing = _landing(project, jaffle_small)
    materialize_project(project, "group:jaffle_shop", checks=False)
    customers = read_csv(landing / "raw_customers.csv")
    changed = {**customers[0], "name": "Renamed Customer"}

    write_csv(landing / "raw_customers_update.csv", [changed])
    materialize_project(project, "group:jaffle_shop", checks=False)

    assert scalar(project, "select count(*) from raw_jaffle_shop.customers") == len(customers)
    assert query(
        project, "select name from raw_jaffle_shop.customers where id = ?", [changed["id"]]
    ) == [("Renamed Customer",)]


def test_two_sources_of_one_type_land_in_two_datasets(make_project, jaffle_small):
    project = make_project(
        [
            jaffle_source("data/landing/east", name="east_shop"),
            jaffle_source("data/landing/west", name="west_shop"),
        ]
    )
    shutil.copytree(jaffle_small, project / "data" / "landing" / "east")
    west = project / "data" / "landing" / "west"
    west.mkdir(parents=True)
    shutil.copy2(jaffle_small / "raw_stores.csv", west / "raw_stores.csv")

    assert materialize_project(project, "group:east_shop or group:west_shop", checks=False).success

    assert scalar(project, "select count(*) from raw_east_shop.orders") == len(
        read_csv(jaffle_small / "raw_orders.csv")
    )
    assert scalar(project, "select count(*) from raw_west_shop.stores") == len(
        read_csv(jaffle_small / "raw_stores.csv")
    )
    tables = {
        row[0]
        for row in query(
            project,
            "select table_name from information_schema.tables where table_schema = 'raw_west_shop'",
        )
    }
    assert "orders" not in tables

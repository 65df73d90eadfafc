"""`type: sql_database` for real: PostgreSQL and MariaDB on this machine, SQLite files, config.

Every database test works in its own schema (PostgreSQL) or database (MariaDB) named
`it_<random>`, dropped afterwards, so these tests can run next to other engineers' tests.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import dlt
import pytest
import sqlalchemy as sa
from dagster import AssetKey, serialize_value
from helpers import execute_sql, materialize_project, query, scalar, source

from ingest_assets.config.loader import ConfigError, validate_document
from ingest_assets.project import build_definitions, load_project
from ingest_assets.settings import ProjectPaths
from ingest_assets.sources.sql_database import (
    SqlDatabaseError,
    SqlDatabaseSourceConfig,
    asset_table_name,
    resolve_credentials,
)

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
CLOSED_PORT = 1
"""Nothing listens on 127.0.0.1:1: connecting is refused at once."""

SECRET = "S3cret-Pw_do-not-leak"


# ---------------------------------------------------------------------------- fixtures, helpers


@pytest.fixture
def pg(pg_schema) -> tuple[sa.Engine, str]:
    """A fresh PostgreSQL schema and an engine on `test` (the shared `pg_schema` fixture)."""
    return pg_schema


@pytest.fixture
def maria(maria_database) -> tuple[sa.Engine, str]:
    """A fresh MariaDB database and an engine on it (the shared `maria_database` fixture)."""
    return maria_database


def sql_source(name: str, block: dict[str, Any]) -> dict[str, Any]:
    """A `sources.yml` entry of `type: sql_database`."""
    return source(name, "sql_database", block=block)


def materializations(result) -> dict[str, dict[str, Any]]:
    """`{table: {metadata key: value}}` of the materializations in a run result."""
    return {
        event.asset_key.path[-1]: {k: v.value for k, v in event.metadata.items()}
        for event in (
            e.event_specific_data.materialization for e in result.get_asset_materialization_events()
        )
    }


def cursor_state(root: Path, source: str, table: str, cursor: str) -> Any:
    """The incremental cursor's last value kept in the dlt state of the source's pipeline."""
    pipeline = dlt.attach(pipeline_name=source, pipelines_dir=str(root / ".dlt" / "pipelines"))
    state = pipeline.state["sources"][source]["resources"][table]["incremental"][cursor]
    return state["last_value"]


# ------------------------------------------------------------------------------ PostgreSQL


@pytest.mark.integration
def test_postgres_replace_append_merge_incremental_and_filter(make_project, pg, monkeypatch):
    engine, schema = pg
    start = datetime(2024, 1, 1, tzinfo=UTC)
    execute_sql(
        engine,
        f"CREATE TABLE {schema}.customers (id int PRIMARY KEY, name text)",
        f"INSERT INTO {schema}.customers SELECT g, 'customer ' || g FROM generate_series(1, 2000) g",
        f"CREATE TABLE {schema}.events (id int, kind text)",
        f"INSERT INTO {schema}.events SELECT g, 'click' FROM generate_series(1, 1000) g",
        # the database's key is `id`; sources.yml merges on `sku`, and that must win
        f"CREATE TABLE {schema}.products (id serial PRIMARY KEY, sku text UNIQUE, "
        "price numeric(10, 2))",
        f"INSERT INTO {schema}.products (sku, price) SELECT 'P' || g, g * 0.5 "
        "FROM generate_series(1, 500) g",
        f"CREATE TABLE {schema}.orders (id int PRIMARY KEY, amount numeric(12, 2), "
        "updated_at timestamptz NOT NULL)",
        f"INSERT INTO {schema}.orders SELECT g, g * 1.5, "
        "timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute' "
        "FROM generate_series(1, 3000) g",
        f"CREATE TABLE {schema}.tickets (id int PRIMARY KEY, status text, opened_at timestamptz, "
        "body text)",
        f"INSERT INTO {schema}.tickets SELECT g, CASE WHEN g % 3 = 0 THEN 'open' ELSE 'closed' END, "
        "timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute', 'text ' || g "
        "FROM generate_series(1, 1500) g",
    )
    # credentials as one URL in dlt's environment variable for the source
    monkeypatch.setenv("SOURCES__PG_SHOP__CREDENTIALS", PG_URL)
    project = make_project(
        [
            sql_source(
                "pg_shop",
                {
                    "schema": schema,
                    "tables": [
                        "customers",
                        {"name": "events", "write_disposition": "append", "chunk_size": 300},
                        {"name": "products", "write_disposition": "merge", "primary_key": "sku"},
                        {
                            "name": "orders",
                            "incremental": {"cursor": "updated_at", "initial_value": start},
                        },
                        {
                            "name": "tickets",
                            # the colons of the time must stay literal, not become bind params
                            "query_filter": "status = 'open' AND opened_at >= '2024-01-01 12:00:00+00'",
                            "columns": ["id", "status"],
                        },
                    ],
                },
            )
        ]
    )

    first = materialize_project(project, "group:pg_shop")

    assert first.success
    loaded = materializations(first)
    assert set(loaded) == {"customers", "events", "products", "orders", "tickets"}
    assert loaded["orders"]["rows_loaded"] == 3000
    assert scalar(project, "select count(*) from raw_pg_shop.customers") == 2000
    assert scalar(project, "select count(*) from raw_pg_shop.events") == 1000
    assert scalar(project, "select count(*) from raw_pg_shop.products") == 500
    assert scalar(project, "select count(*) from raw_pg_shop.orders") == 3000
    assert cursor_state(project, "pg_shop", "orders", "updated_at") == start + timedelta(
        minutes=3000
    )
    # open (id divisible by 3) and opened from 12:00 on (id >= 720)
    expected_tickets = [(i, "open") for i in range(720, 1501, 3)]
    assert (
        query(project, "select id, status from raw_pg_shop.tickets order by id") == expected_tickets
    )
    ticket_columns = query(
        project,
        "select column_name from information_schema.columns where table_schema = 'raw_pg_shop' "
        "and table_name = 'tickets' and column_name not like '\\_dlt%' escape '\\' order by 1",
    )
    assert ticket_columns == [("id",), ("status",)]

    execute_sql(
        engine,
        f"DELETE FROM {schema}.customers WHERE id <= 10",
        f"UPDATE {schema}.products SET price = 999.99 WHERE sku = 'P1'",
        f"INSERT INTO {schema}.products (sku, price) SELECT 'N' || g, g FROM generate_series(1, 5) g",
        # same sku, new id: merged on sku it replaces the old row
        f"DELETE FROM {schema}.products WHERE sku = 'P2'",
        f"INSERT INTO {schema}.products (sku, price) VALUES ('P2', 1.23)",
        f"INSERT INTO {schema}.orders SELECT g, g * 1.5, "
        "timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute' "
        "FROM generate_series(3001, 3100) g",
    )

    second = materialize_project(project, "group:pg_shop")

    assert second.success
    loaded = materializations(second)
    # replace: the table is what the database holds now
    assert scalar(project, "select count(*) from raw_pg_shop.customers") == 1990
    assert scalar(project, "select min(id) from raw_pg_shop.customers") == 11
    # append: every run adds all rows again
    assert scalar(project, "select count(*) from raw_pg_shop.events") == 2000
    # merge: one updated row, five new rows, no duplicates
    assert scalar(project, "select count(*) from raw_pg_shop.products") == 505
    assert scalar(project, "select count(distinct sku) from raw_pg_shop.products") == 505
    assert query(
        project,
        "select sku, price from raw_pg_shop.products where sku in ('P1', 'P2') order by sku",
    ) == [("P1", Decimal("999.99")), ("P2", Decimal("1.23"))]
    # incremental: only the 100 new orders were loaded, and the cursor moved on
    assert loaded["orders"]["rows_loaded"] == 100
    assert loaded["orders"]["dagster/row_count"] == 3100
    assert scalar(project, "select count(distinct id) from raw_pg_shop.orders") == 3100
    assert cursor_state(project, "pg_shop", "orders", "updated_at") == start + timedelta(
        minutes=3100
    )


@pytest.mark.integration
def test_postgres_types_reserved_word_and_mixed_case_names(make_project, pg, monkeypatch):
    engine, schema = pg
    execute_sql(
        engine,
        f'CREATE TABLE {schema}."order" ("OrderId" int PRIMARY KEY, "CustomerName" text, '
        '"Amount" numeric(12, 2), "BigAmount" numeric(30, 10), "Ratio" double precision, '
        '"PlacedAt" timestamptz, "ShippedOn" date, "IsPaid" boolean, "Payload" jsonb, '
        '"Note" text)',
        f'INSERT INTO {schema}."order" VALUES (:id, :name, :amount, :big, :ratio, :placed, '
        ":shipped, :paid, CAST(:payload AS jsonb), :note)",
        params=[
            {
                "id": 1,
                "name": "Zoë O'Brien",
                "amount": Decimal("1234567890.12"),
                "big": Decimal("12345678901234567890.0123456789"),
                "ratio": 0.125,
                "placed": datetime(2024, 3, 31, 2, 30, tzinfo=timezone(timedelta(hours=2))),
                "shipped": date(2024, 4, 2),
                "paid": True,
                "payload": json.dumps({"items": [{"sku": "A", "qty": 2}], "gift": None}),
                "note": "first",
            },
            {
                "id": 2,
                "name": None,
                "amount": None,
                "big": None,
                "ratio": None,
                "placed": None,
                "shipped": None,
                "paid": None,
                "payload": None,
                "note": None,
            },
            {
                "id": 3,
                "name": "negative",
                "amount": Decimal("-0.01"),
                "big": Decimal("-1.0000000001"),
                "ratio": -1.5e300,
                "placed": datetime(1999, 12, 31, 23, 59, 59, 123456, tzinfo=UTC),
                "shipped": date(1970, 1, 1),
                "paid": False,
                "payload": json.dumps([1, "two", {"three": 3.5}]),
                "note": "",
            },
        ],
    )
    execute_sql(
        engine,
        f'CREATE TABLE {schema}."OrderLines" ("LineId" int PRIMARY KEY, "OrderId" int)',
        f'INSERT INTO {schema}."OrderLines" SELECT g, 1 + g % 3 FROM generate_series(1, 2500) g',
    )
    # parts in sources.yml, the password from a variable named there (trust auth ignores it)
    monkeypatch.setenv("PG_TYPES_PASSWORD", SECRET)
    project = make_project(
        [
            sql_source(
                "pg_types",
                {
                    "credentials": {
                        "drivername": "postgresql",
                        "host": "127.0.0.1",
                        "port": 5432,
                        "database": "test",
                        "username": "postgres",
                        "password_env": "PG_TYPES_PASSWORD",
                    },
                    "schema": schema,
                    "tables": [
                        {"name": "order", "write_disposition": "merge", "primary_key": "OrderId"},
                        {"name": "OrderLines", "description": "Lines of orders."},
                    ],
                },
            )
        ]
    )

    first = materialize_project(project, "group:pg_types")

    assert first.success
    assert set(materializations(first)) == {"order", "order_lines"}
    assert scalar(project, "select count(*) from raw_pg_types.order_lines") == 2500
    types = dict(
        query(
            project,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw_pg_types' and table_name = 'order'",
        )
    )
    assert types["order_id"] in ("INTEGER", "BIGINT")
    assert types["amount"] == "DECIMAL(12,2)"
    assert types["big_amount"] == "DECIMAL(30,10)"
    assert types["ratio"] == "DOUBLE"
    assert types["placed_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["shipped_on"] == "DATE"
    assert types["is_paid"] == "BOOLEAN"
    assert types["payload"] == "JSON"
    rows = query(
        project,
        "select order_id, customer_name, amount, big_amount, ratio, placed_at, shipped_on, "
        'is_paid, payload, note from raw_pg_types."order" order by order_id',
    )
    assert rows[0][:8] == (
        1,
        "Zoë O'Brien",
        Decimal("1234567890.12"),
        Decimal("12345678901234567890.0123456789"),
        0.125,
        datetime(2024, 3, 31, 0, 30, tzinfo=UTC),
        date(2024, 4, 2),
        True,
    )
    assert json.loads(rows[0][8]) == {"items": [{"sku": "A", "qty": 2}], "gift": None}
    assert rows[0][9] == "first"
    assert rows[1] == (2, None, None, None, None, None, None, None, None, None)
    assert rows[2][:8] == (
        3,
        "negative",
        Decimal("-0.01"),
        Decimal("-1.0000000001"),
        -1.5e300,
        datetime(1999, 12, 31, 23, 59, 59, 123456, tzinfo=UTC),
        date(1970, 1, 1),
        False,
    )
    assert json.loads(rows[2][8]) == [1, "two", {"three": 3.5}]
    assert rows[2][9] == ""

    execute_sql(
        engine,
        f'UPDATE {schema}."order" SET "CustomerName" = \'renamed\' WHERE "OrderId" = 2',
        f'INSERT INTO {schema}."order" ("OrderId", "CustomerName") VALUES (4, \'new\')',
    )

    second = materialize_project(project, "group:pg_types")

    assert second.success
    assert query(
        project, 'select order_id, customer_name from raw_pg_types."order" order by order_id'
    ) == [(1, "Zoë O'Brien"), (2, "renamed"), (3, "negative"), (4, "new")]
    assert scalar(project, "select count(*) from raw_pg_types.order_lines") == 2500


@pytest.mark.integration
def test_postgres_star_loads_every_table_of_the_schema(make_project, pg, monkeypatch):
    engine, schema = pg
    execute_sql(
        engine,
        f"CREATE TABLE {schema}.alpha (id int PRIMARY KEY)",
        f"INSERT INTO {schema}.alpha SELECT g FROM generate_series(1, 1200) g",
        f'CREATE TABLE {schema}."BetaItems" (id int, "Label" text)',
        f"INSERT INTO {schema}.\"BetaItems\" SELECT g, 'b' || g FROM generate_series(1, 800) g",
        f"CREATE VIEW {schema}.alpha_view AS SELECT id FROM {schema}.alpha",
    )
    monkeypatch.setenv("PG_STAR_URL", PG_URL)
    project = make_project(
        [
            sql_source(
                "pg_star",
                {"credentials": {"url_env": "PG_STAR_URL"}, "schema": schema, "tables": "*"},
            )
        ]
    )

    defs = build_definitions(load_project(project))
    keys = {
        tuple(key.path)
        for key in defs.resolve_asset_graph().get_all_asset_keys()
        if key.path[0] == "raw_pg_star"
    }
    assert keys == {("raw_pg_star", "alpha"), ("raw_pg_star", "beta_items")}

    result = materialize_project(project, "group:pg_star")

    assert result.success
    assert scalar(project, "select count(*) from raw_pg_star.alpha") == 1200
    assert query(project, "select id, label from raw_pg_star.beta_items where id = 7") == [
        (7, "b7")
    ]


# --------------------------------------------------------------------------------- MariaDB


@pytest.mark.integration
def test_mariadb_merge_incremental_types_and_reserved_word(make_project, maria):
    engine, database = maria
    execute_sql(
        engine,
        "CREATE TABLE `select` (`ItemId` INT PRIMARY KEY, `ItemName` VARCHAR(100), "
        "`Price` DECIMAL(12, 2), `UpdatedAt` DATETIME(6), `Attributes` JSON, `Note` TEXT)",
        "INSERT INTO `select` VALUES (:id, :name, :price, :updated, :attrs, :note)",
        params=[
            {
                "id": i,
                "name": f"item {i}",
                "price": Decimal(i) / 4,
                "updated": datetime(2024, 5, 1, 8, 0) + timedelta(seconds=i),
                "attrs": json.dumps({"i": i}),
                "note": None if i % 2 else "even",
            }
            for i in range(1, 2001)
        ],
    )
    execute_sql(
        engine,
        "CREATE TABLE events (id INT PRIMARY KEY, kind VARCHAR(20))",
        "INSERT INTO events VALUES (:id, :kind)",
        params=[{"id": i, "kind": "view"} for i in range(1, 3001)],
    )
    project = make_project(
        [
            sql_source(
                "maria_shop",
                {
                    "credentials": {
                        "drivername": "mysql",
                        "host": "127.0.0.1",
                        "port": 3306,
                        "database": database,
                        "username": "root",
                    },
                    "backend": "sqlalchemy",
                    "tables": [
                        {"name": "select", "write_disposition": "merge", "primary_key": "ItemId"},
                        {"name": "events", "incremental": {"cursor": "id"}},
                    ],
                },
            )
        ]
    )

    first = materialize_project(project, "group:maria_shop")

    assert first.success
    assert scalar(project, 'select count(*) from raw_maria_shop."select"') == 2000
    assert scalar(project, "select count(*) from raw_maria_shop.events") == 3000
    assert cursor_state(project, "maria_shop", "events", "id") == 3000
    assert query(
        project,
        'select item_id, item_name, price, updated_at, attributes, note from raw_maria_shop."select" '
        "where item_id in (1, 2) order by item_id",
    ) == [
        # DATETIME has no time zone: it stays a TIMESTAMP without one
        (1, "item 1", Decimal("0.25"), datetime(2024, 5, 1, 8, 0, 1), '{"i": 1}', None),
        (2, "item 2", Decimal("0.50"), datetime(2024, 5, 1, 8, 0, 2), '{"i": 2}', "even"),
    ]

    execute_sql(
        engine,
        "UPDATE `select` SET `Price` = 77.70, `Note` = 'changed' WHERE `ItemId` = 1",
        "INSERT INTO `select` (`ItemId`, `ItemName`) VALUES (5000, 'new')",
        "INSERT INTO events VALUES (:id, :kind)",
        params=[{"id": i, "kind": "buy"} for i in range(3001, 3051)],
    )

    second = materialize_project(project, "group:maria_shop")

    assert second.success
    assert materializations(second)["events"]["rows_loaded"] == 50
    assert scalar(project, "select count(*) from raw_maria_shop.events") == 3050
    assert scalar(project, "select count(*) from raw_maria_shop.events where kind = 'buy'") == 50
    assert cursor_state(project, "maria_shop", "events", "id") == 3050
    assert scalar(project, 'select count(*) from raw_maria_shop."select"') == 2001
    assert scalar(project, 'select count(distinct item_id) from raw_maria_shop."select"') == 2001
    assert query(project, 'select price, note from raw_maria_shop."select" where item_id = 1') == [
        (Decimal("77.70"), "changed")
    ]


@pytest.mark.integration
def test_bad_password_fails_the_run_names_host_never_the_password(
    make_project, maria, tmp_path, monkeypatch, caplog
):
    _, database = maria
    # root's password is empty: any other password is refused
    monkeypatch.setenv("SOURCES__MARIA_BAD__CREDENTIALS__PASSWORD", SECRET)
    monkeypatch.setenv("DOWN_DB_URL", f"postgresql://loader:{SECRET}@127.0.0.1:{CLOSED_PORT}/shop")
    sqlite_file = tmp_path / "good.db"
    with sqlite3.connect(sqlite_file) as conn:
        conn.execute("CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT)")
        conn.executemany("INSERT INTO things VALUES (?, ?)", [(i, f"t{i}") for i in range(1, 101)])
    project = make_project(
        [
            sql_source(
                "maria_bad",
                {
                    "credentials": {
                        "drivername": "mysql",
                        "host": "127.0.0.1",
                        "port": 3306,
                        "database": database,
                        "username": "root",
                    },
                    "tables": ["anything"],
                },
            ),
            # connection refused is transient: without max_retries 0 the step retries with backoff
            {
                **sql_source(
                    "down", {"credentials": {"url_env": "DOWN_DB_URL"}, "tables": ["orders"]}
                ),
                "max_retries": 0,
            },
            sql_source(
                "missing",
                {
                    "credentials": {"drivername": "sqlite", "database": str(sqlite_file)},
                    "tables": ["no_such_table"],
                },
            ),
            sql_source(
                "good",
                {
                    "credentials": {"drivername": "sqlite", "database": str(sqlite_file)},
                    "tables": ["things"],
                },
            ),
        ]
    )
    caplog.set_level(logging.DEBUG)

    result = materialize_project(
        project,
        "group:maria_bad or group:down or group:missing or group:good",
        raise_on_error=False,
    )

    assert not result.success
    failures = {
        event.step_key: event.event_specific_data.error.to_string()
        for event in result.all_events
        if event.event_type_value == "STEP_FAILURE"
    }
    assert set(failures) == {"load_maria_bad", "load_down", "load_missing"}
    assert "source 'maria_bad': table 'anything' in mysql database" in failures["load_maria_bad"]
    assert "at 127.0.0.1:3306 as 'root'" in failures["load_maria_bad"]
    assert "Access denied" in failures["load_maria_bad"]
    assert "source 'down': table 'orders' in postgresql database 'shop'" in failures["load_down"]
    assert f"127.0.0.1:{CLOSED_PORT}" in failures["load_down"]
    assert (
        f"source 'missing': table 'no_such_table' in sqlite database '{sqlite_file}': no such "
        "table in schema (default); check the table name"
    ) in failures["load_missing"]
    event_log = "\n".join(serialize_value(event) for event in result.all_events)
    assert SECRET not in event_log
    assert SECRET not in caplog.text
    # the other source ran
    assert query(project, "select count(*), max(name) from raw_good.things") == [(100, "t99")]


@pytest.mark.e2e
def test_missing_driver_fails_the_run_with_what_to_install(make_project):
    try:
        import oracledb  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("oracledb is installed; this test needs it absent")
    project = make_project(
        [
            sql_source(
                "billing",
                {
                    "credentials": {
                        "drivername": "oracle",
                        "host": "127.0.0.1",
                        "port": CLOSED_PORT,
                        "username": "loader",
                        "query": {"service_name": "BILLPDB1"},
                    },
                    "tables": ["invoices"],
                },
            )
        ]
    )

    result = materialize_project(project, "group:billing", raise_on_error=False)

    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert (
        "source 'billing': table 'invoices' in oracle database '' at 127.0.0.1:1 as 'loader': a "
        "package is missing: No module named 'oracledb'; install it with pip install "
        "'ingest-assets[oracle]'"
    ) in failure.event_specific_data.error.message


# ---------------------------------------------------------------------------------- SQLite


@pytest.mark.e2e
def test_sqlite_file_full_load(make_project):
    project = make_project(
        [
            sql_source(
                "lite",
                {
                    # relative to the project root
                    "credentials": {"drivername": "sqlite", "database": "data/shop.db"},
                    "tables": [{"name": "Customers", "description": "From SQLite."}],
                },
            )
        ]
    )
    (project / "data").mkdir()
    with sqlite3.connect(project / "data" / "shop.db") as conn:
        conn.execute(
            'CREATE TABLE "Customers" (id INTEGER PRIMARY KEY, "FullName" TEXT, balance REAL, '
            "joined TEXT)"
        )
        conn.executemany(
            'INSERT INTO "Customers" VALUES (?, ?, ?, ?)',
            [
                (i, f"name {i}" if i % 10 else None, i / 8, f"2024-01-{1 + i % 28:02d}")
                for i in range(1, 2501)
            ],
        )

    result = materialize_project(project, "group:lite")

    assert result.success
    assert materializations(result)["customers"]["rows_loaded"] == 2500
    assert scalar(project, "select count(*) from raw_lite.customers") == 2500
    assert query(
        project,
        "select id, full_name, balance, joined from raw_lite.customers "
        "where id in (9, 10) order by id",
    ) == [
        (9, "name 9", 1.125, "2024-01-10"),
        (10, None, 1.25, "2024-01-11"),
    ]


# ------------------------------------------------------------------- definitions, unreachable


@pytest.mark.integration
def test_definitions_load_without_connecting_and_with_database_unreachable(
    make_project, caplog, monkeypatch
):
    project = make_project(
        [
            # listed tables: no connection, not even the URL variable is needed to load
            sql_source(
                "listed",
                {
                    "credentials": {"url_env": "LISTED_URL_NOT_SET"},
                    "tables": [
                        "orders",
                        "OrderLines",
                        {"name": "select", "description": "Reserved."},
                    ],
                },
            ),
            sql_source(
                "star",
                {
                    "credentials": {
                        "drivername": "postgresql",
                        "host": "127.0.0.1",
                        "port": CLOSED_PORT,
                        "database": "shop",
                        "username": "loader",
                        "password_env": "STAR_PASSWORD",
                    },
                    "tables": "*",
                    "connect_timeout": 3,
                },
            ),
            {
                "name": "example_shop",
                "type": "dlt_native",
                "dlt_native": {"source_module": "example_shop", "source_function": "example_shop"},
            },
        ]
    )
    monkeypatch.setenv("STAR_PASSWORD", SECRET)
    caplog.set_level(logging.WARNING, logger="ingest_assets.sources.sql_database")

    defs = build_definitions(load_project(project))

    graph = defs.resolve_asset_graph()
    keys = {tuple(key.path) for key in graph.get_all_asset_keys()}
    assert {
        ("raw_listed", "orders"),
        ("raw_listed", "order_lines"),
        ("raw_listed", "select"),
    } <= keys
    assert {("raw_example_shop", "orders"), ("raw_example_shop", "products")} <= keys
    assert not any(key[0] == "raw_star" for key in keys)
    reserved = graph.get(AssetKey(["raw_listed", "select"]))
    assert reserved.group_name == "listed"
    assert reserved.description == "Reserved."
    warning = caplog.text
    assert "source 'star': cannot list the tables of postgresql database 'shop'" in warning
    assert f"127.0.0.1:{CLOSED_PORT}" in warning
    assert SECRET not in warning


# ------------------------------------------------------------------------------ validation

BASE = {"drivername": "postgresql", "host": "db", "database": "shop", "username": "loader"}


@pytest.mark.unit
@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            {"credentials": {**BASE, "password": "hunter2"}, "tables": ["orders"]},
            "sources.yml: source 'shop': sql_database.credentials.password: do not put passwords "
            "in sources.yml: name an environment variable with password_env, or put password = "
            '"..." under [sources.shop.credentials] in .dlt/secrets.toml (or set '
            "SOURCES__SHOP__CREDENTIALS__PASSWORD)",
        ),
        (
            {"credentials": {"url": "postgresql://loader:hunter2@db/shop"}, "tables": ["orders"]},
            "sources.yml: source 'shop': sql_database.credentials.url: the URL holds a password; "
            "remove it from sources.yml and name an environment variable with password_env, or put "
            'password = "..." under [sources.shop.credentials] in .dlt/secrets.toml (or set '
            "SOURCES__SHOP__CREDENTIALS__PASSWORD), or put the whole URL in an environment "
            "variable named by url_env",
        ),
        (
            {"tables": [{"name": "orders", "write_disposition": "merge"}]},
            "sources.yml: source 'shop': sql_database.tables[0]: table 'orders': write_disposition "
            "'merge' needs a primary_key: add primary_key: <column> (or a list of columns) "
            "identifying a row",
        ),
        (
            {"backend": "arrow", "tables": ["orders"]},
            "sources.yml: source 'shop': sql_database.backend: Input should be 'auto', "
            "'connectorx', 'adbc', 'pyarrow', 'sqlalchemy' or 'pandas'",
        ),
        (
            {"credentials": {**BASE, "host_env": "DB_HOST"}, "tables": ["orders"]},
            "sources.yml: source 'shop': sql_database.credentials: give either host or host_env, "
            "not both",
        ),
        (
            {"tables": [{"name": "orders", "query_filter": "1 = 1; DROP TABLE orders"}]},
            "sources.yml: source 'shop': sql_database.tables[0].query_filter: table 'orders': must be one SQL "
            "condition (like status = 'open'), without ';'",
        ),
        (
            {
                "tables": [
                    {
                        "name": "orders",
                        "write_disposition": "replace",
                        "incremental": {"cursor": "id"},
                    }
                ]
            },
            "sources.yml: source 'shop': sql_database.tables[0]: table 'orders': an incremental "
            "cursor with write_disposition 'replace' would keep only the newest rows; use append "
            "or merge",
        ),
        (
            {
                "tables": [
                    {
                        "name": "orders",
                        "columns": ["amount"],
                        "incremental": {"cursor": "updated_at"},
                    }
                ]
            },
            "sources.yml: source 'shop': sql_database.tables[0]: table 'orders': columns must "
            "include the key and cursor columns; add updated_at",
        ),
        (
            {"tables": ["Orders", "orders"]},
            "sources.yml: source 'shop': sql_database.tables: tables 'Orders' and 'orders' both "
            "load into warehouse table 'orders'; list each table once",
        ),
        (
            {"tables": None},
            "sources.yml: source 'shop': sql_database.tables: list the tables to load, or write "
            '"*" for every table of the schema',
        ),
    ],
    ids=[
        "password",
        "url-with-password",
        "merge-without-key",
        "bad-backend",
        "host-and-host_env",
        "query-filter-semicolon",
        "incremental-replace",
        "cursor-not-in-columns",
        "same-warehouse-table",
        "no-tables",
    ],
)
def test_invalid_config_is_reported_by_field(block, message):
    with pytest.raises(ConfigError) as error:
        validate_document({"sources": [sql_source("shop", block)]}, "sources.yml")

    assert error.value.problems == [message]
    assert "hunter2" not in str(error.value)


@pytest.mark.unit
def test_defaults_and_table_names():
    config = validate_document(
        {
            "sources": [
                sql_source(
                    "shop",
                    {
                        "tables": [
                            "OrderLines",
                            {"name": "events", "incremental": {"cursor": "id"}},
                            {"name": "select", "write_disposition": "merge", "primary_key": "id"},
                        ]
                    },
                )
            ]
        },
        "sources.yml",
    ).sources[0]

    block = config.sql_database
    assert (block.backend, block.reflection_level, block.chunk_size) == (
        "auto",
        "full_with_precision",
        50000,
    )
    assert [(t.table_name, t.effective_write_disposition) for t in block.tables] == [
        ("order_lines", "replace"),
        ("events", "append"),
        ("select", "merge"),
    ]
    assert asset_table_name("HTTPLog") == "http_log"


# ------------------------------------------------------------------------------- credentials


def _credentials_url(root: Path, credentials: dict[str, Any], name: str = "db") -> tuple[str, str]:
    """Resolve a source's credentials; return its URL with the password hidden and shown."""
    config = SqlDatabaseSourceConfig.model_validate(
        sql_source(name, {"credentials": credentials, "tables": ["t"]})
    )
    resolved = resolve_credentials(config, ProjectPaths(root))
    url = resolved.to_url()
    return url.render_as_string(hide_password=True), url.render_as_string(hide_password=False)


@pytest.mark.integration
def test_sql_server_and_oracle_urls_are_built_without_their_drivers(make_project, monkeypatch):
    monkeypatch.setenv("MSSQL_PASSWORD", "p@ss:word/1")
    monkeypatch.setenv("ORACLE_PASSWORD", SECRET)
    monkeypatch.setenv("ORACLE_HOST", "ora.internal")
    root = make_project([])

    hidden, shown = _credentials_url(
        root,
        {
            "drivername": "mssql",
            "host": "sql.internal",
            "port": 1433,
            "database": "Shop",
            "username": "loader",
            "password_env": "MSSQL_PASSWORD",
            "query": {"driver": "ODBC Driver 18 for SQL Server", "TrustServerCertificate": "yes"},
        },
    )
    assert hidden == (
        "mssql+pyodbc://loader:***@sql.internal:1433/Shop"
        "?TrustServerCertificate=yes&driver=ODBC+Driver+18+for+SQL+Server"
    )
    assert shown.startswith("mssql+pyodbc://loader:p%40ss%3Aword%2F1@sql.internal")

    hidden, _ = _credentials_url(
        root,
        {"url": "mssql+pymssql://loader@sql.internal:1433/Shop", "password_env": "MSSQL_PASSWORD"},
    )
    assert hidden == "mssql+pymssql://loader:***@sql.internal:1433/Shop"

    hidden, shown = _credentials_url(
        root,
        {
            "drivername": "oracle",
            "host_env": "ORACLE_HOST",
            "port": 1521,
            "username": "loader",
            "password_env": "ORACLE_PASSWORD",
            "query": {"service_name": "ORCLPDB1"},
        },
    )
    assert hidden == "oracle+oracledb://loader:***@ora.internal:1521?service_name=ORCLPDB1"
    assert SECRET in shown


@pytest.fixture
def reload_dlt_providers() -> Iterator[Callable[[], None]]:
    """`reload()` re-reads `.dlt/` of the current `DLT_PROJECT_DIR`, as a fresh process would
    (dlt reads secrets.toml once per process); the providers are reloaded again afterwards."""
    from dlt.common.configuration.container import Container
    from dlt.common.configuration.specs.pluggable_run_context import PluggableRunContext

    def reload() -> None:
        Container()[PluggableRunContext].reload_providers()

    saved = os.environ.get("DLT_PROJECT_DIR")
    yield reload
    if saved is None:
        os.environ.pop("DLT_PROJECT_DIR", None)
    else:
        os.environ["DLT_PROJECT_DIR"] = saved
    reload()


@pytest.mark.integration
def test_credentials_come_from_env_and_secrets_toml(
    make_project, monkeypatch, reload_dlt_providers
):
    root = make_project([])
    (root / ".dlt" / "secrets.toml").write_text(
        "[sources.warehouse_db.credentials]\n"
        'username = "dw"\npassword = "from-secrets-toml"\nport = 6543\n'
    )
    monkeypatch.setenv("DLT_PROJECT_DIR", str(root))
    reload_dlt_providers()
    config = SqlDatabaseSourceConfig.model_validate(
        sql_source(
            "warehouse_db",
            {
                "credentials": {"drivername": "postgresql", "host": "db", "database": "dw"},
                "tables": ["t"],
            },
        )
    )

    resolved = resolve_credentials(config, ProjectPaths(root))

    assert resolved.to_url().render_as_string(hide_password=False) == (
        "postgresql+psycopg2://dw:from-secrets-toml@db:6543/dw"
    )

    monkeypatch.setenv("SOURCES__FROM_ENV__CREDENTIALS", "mysql://app:pw@h:3307/appdb")
    from_env = SqlDatabaseSourceConfig.model_validate(sql_source("from_env", {"tables": ["t"]}))
    assert (
        resolve_credentials(from_env, ProjectPaths(root))
        .to_url()
        .render_as_string(hide_password=True)
        == "mysql+pymysql://app:***@h:3307/appdb"
    )

    nothing = SqlDatabaseSourceConfig.model_validate(sql_source("nothing_set", {"tables": ["t"]}))
    with pytest.raises(SqlDatabaseError) as error:
        resolve_credentials(nothing, ProjectPaths(root))
    assert str(error.value) == (
        "source 'nothing_set': no database credentials: add sql_database.credentials "
        "(drivername, host, database, username, password_env) to sources.yml, or put them under "
        "[sources.nothing_set.credentials] in .dlt/secrets.toml, or set "
        "SOURCES__NOTHING_SET__CREDENTIALS to a connection URL"
    )

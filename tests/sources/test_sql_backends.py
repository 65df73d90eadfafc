"""Every reader (`backend:`) of `sql_database` sources loads the same types and rows, for real.

PostgreSQL and MariaDB on this machine; each test works in its own schema (PostgreSQL) or
database (MariaDB) named `it_<random>`, dropped afterwards. The same table is loaded once per
offered backend (one source per backend, all in one project), and the warehouse tables must have
the same column types and the same rows, with the types the database declares: numeric(p,s) as
DECIMAL(p,s), timestamptz with its time zone, char(n), dates. Incremental cursors, merge,
`query_filter` and key-range `chunks` are checked on each fast reader, and the fallback from a
fast reader to `pyarrow` (a column it cannot carry exactly) is logged.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import execute_sql, materialize_project, query, scalar

from ingest_assets.sources.sql_database.readers import AUTO_CHUNKS, choose_reader

pytestmark = pytest.mark.integration

PG_CREDENTIALS = {
    "drivername": "postgresql",
    "host": "127.0.0.1",
    "port": 5432,
    "database": "test",
    "username": "postgres",
}

PG_BACKENDS = ["auto", "connectorx", "adbc", "pyarrow", "sqlalchemy"]
MARIA_BACKENDS = ["auto", "connectorx", "pyarrow", "sqlalchemy"]


@pytest.fixture
def pg(pg_schema) -> tuple[sa.Engine, str]:
    """A fresh PostgreSQL schema and an engine on `test` (the shared `pg_schema` fixture)."""
    return pg_schema


@pytest.fixture
def maria(maria_database) -> tuple[sa.Engine, str]:
    """A fresh MariaDB database and an engine on it (the shared `maria_database` fixture)."""
    return maria_database


def source(
    name: str, credentials: dict[str, Any], schema: str, backend: str, tables: list[Any]
) -> dict[str, Any]:
    return {
        "name": name,
        "type": "sql_database",
        "sql_database": {
            "credentials": credentials,
            "schema": schema,
            "backend": backend,
            "tables": tables,
        },
    }


def column_types(project, dataset: str, table: str) -> dict[str, str]:
    """`{column: DuckDB type}` of a warehouse table, without dlt's own columns."""
    return dict(
        query(
            project,
            "select column_name, data_type from information_schema.columns where table_schema = ? "
            "and table_name = ? and column_name not like '\\_dlt%' escape '\\'",
            [dataset, table],
        )
    )


def load_each(project, names: list[str]) -> None:
    for name in names:
        assert materialize_project(project, f"group:{name}", checks=False).success, name


PG_TYPES_TABLE = (
    "CREATE TABLE {schema}.typed (id bigint PRIMARY KEY, qty integer, small smallint, "
    "amount numeric(15,2), rate numeric(10,4), ratio double precision, flag boolean, "
    "code char(5), name varchar(20), body text, day date, at_tz timestamptz, at_naive timestamp)"
)
PG_TYPES_ROWS = [
    {
        "id": 1,
        "qty": 17,
        "small": -3,
        "amount": Decimal("1234567890123.45"),
        "rate": Decimal("0.0425"),
        "ratio": 0.125,
        "flag": True,
        "code": "AB",
        "name": "Zoë",
        "body": "line\nbreak",
        "day": date(1996, 3, 13),
        "at_tz": datetime(2024, 3, 31, 2, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2))),
        "at_naive": datetime(2024, 3, 31, 2, 30, 15, 123456),
    },
    {
        "id": 2,
        "qty": None,
        "small": None,
        "amount": None,
        "rate": None,
        "ratio": None,
        "flag": None,
        "code": None,
        "name": None,
        "body": None,
        "day": None,
        "at_tz": None,
        "at_naive": None,
    },
    {
        "id": 3,
        "qty": -2147483648,
        "small": 32767,
        "amount": Decimal("-0.01"),
        "rate": Decimal("-999999.9999"),
        "ratio": -1.5e300,
        "flag": False,
        "code": "ABCDE",
        "name": "",
        "body": "",
        "day": date(1970, 1, 1),
        "at_tz": datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
        "at_naive": datetime(1900, 1, 1),
    },
]


def test_postgres_every_backend_loads_the_same_types_and_rows(make_project, pg):
    engine, schema = pg
    execute_sql(
        engine,
        PG_TYPES_TABLE.format(schema=schema),
        f"INSERT INTO {schema}.typed VALUES (:id, :qty, :small, :amount, :rate, :ratio, :flag, :code, "
        ":name, :body, :day, :at_tz, :at_naive)",
        params=PG_TYPES_ROWS,
    )
    execute_sql(
        engine,
        f"CREATE TABLE {schema}.lines (id bigint PRIMARY KEY, price numeric(12,2), shipped date)",
        f"INSERT INTO {schema}.lines SELECT g, g * 0.25, date '1992-01-01' + g % 2500 "
        "FROM generate_series(1, 120000) g",
    )
    names = [f"pg_{backend}" for backend in PG_BACKENDS]
    project = make_project(
        [
            source(
                f"pg_{backend}",
                PG_CREDENTIALS,
                schema,
                backend,
                ["typed", {"name": "lines", "chunk_size": 25000}],
            )
            for backend in PG_BACKENDS
        ]
    )

    load_each(project, names)

    expected_types = {
        "id": "BIGINT",
        "qty": "BIGINT",
        "small": "INTEGER",
        "amount": "DECIMAL(15,2)",
        "rate": "DECIMAL(10,4)",
        "ratio": "DOUBLE",
        "flag": "BOOLEAN",
        "code": "VARCHAR",
        "name": "VARCHAR",
        "body": "VARCHAR",
        "day": "DATE",
        "at_tz": "TIMESTAMP WITH TIME ZONE",
        "at_naive": "TIMESTAMP",
    }
    columns = ", ".join(expected_types)
    baseline = query(project, f"select {columns} from raw_pg_pyarrow.typed order by id")
    assert baseline[0] == (
        1,
        17,
        -3,
        Decimal("1234567890123.45"),
        Decimal("0.0425"),
        0.125,
        True,
        "AB   ",
        "Zoë",
        "line\nbreak",
        date(1996, 3, 13),
        datetime(2024, 3, 31, 0, 30, 15, 123456, tzinfo=UTC),
        datetime(2024, 3, 31, 2, 30, 15, 123456),
    )
    assert baseline[1] == (2, *([None] * 12))
    assert baseline[2][3:5] == (Decimal("-0.01"), Decimal("-999999.9999"))
    lines_baseline = query(
        project, "select count(*), sum(price), min(shipped), max(shipped) from raw_pg_pyarrow.lines"
    )
    assert lines_baseline == [
        (120000, Decimal("1800015000.00"), date(1992, 1, 1), date(1998, 11, 4))
    ]
    for name in names:
        dataset = f"raw_{name}"
        assert column_types(project, dataset, "typed") == expected_types, name
        assert column_types(project, dataset, "lines") == {
            "id": "BIGINT",
            "price": "DECIMAL(12,2)",
            "shipped": "DATE",
        }, name
        assert query(project, f"select {columns} from {dataset}.typed order by id") == baseline, (
            name
        )
        assert (
            query(
                project,
                f"select count(*), sum(price), min(shipped), max(shipped) from {dataset}.lines",
            )
            == lines_baseline
        ), name
        assert scalar(project, f"select count(distinct _dlt_load_id) from {dataset}.lines") == 1, (
            name
        )


def test_mariadb_every_backend_loads_the_same_types_and_rows(make_project, maria):
    engine, database = maria
    execute_sql(
        engine,
        "CREATE TABLE typed (id BIGINT PRIMARY KEY, qty INT, amount DECIMAL(15,2), rate DECIMAL(10,4), "
        "ratio DOUBLE, code CHAR(5), name VARCHAR(20), body TEXT, day DATE, at_naive DATETIME(6), "
        "at_ts TIMESTAMP(6) NULL)",
        "INSERT INTO typed VALUES (:id, :qty, :amount, :rate, :ratio, :code, :name, :body, :day, :at_naive, :at_ts)",
        params=[
            {
                "id": 1,
                "qty": 17,
                "amount": Decimal("1234567890123.45"),
                "rate": Decimal("0.0425"),
                "ratio": 0.125,
                "code": "AB",
                "name": "Zoë",
                "body": "x",
                "day": date(1996, 3, 13),
                "at_naive": datetime(2024, 3, 31, 2, 30, 15, 123456),
                "at_ts": datetime(2024, 3, 31, 2, 30, 15),
            },
            {
                "id": 2,
                "qty": None,
                "amount": None,
                "rate": None,
                "ratio": None,
                "code": None,
                "name": None,
                "body": None,
                "day": None,
                "at_naive": None,
                "at_ts": None,
            },
            {
                "id": 3,
                "qty": -5,
                "amount": Decimal("-0.01"),
                "rate": Decimal("-999999.9999"),
                "ratio": -2.5,
                "code": "ABCDE",
                "name": "",
                "body": "",
                "day": date(1970, 1, 2),
                "at_naive": datetime(1900, 1, 1),
                "at_ts": datetime(1999, 12, 31, 23, 59, 59),
            },
        ],
    )
    execute_sql(
        engine,
        "CREATE TABLE seq (n BIGINT PRIMARY KEY)",
        "INSERT INTO seq VALUES (:n)",
        params=[{"n": n} for n in range(1, 1001)],
    )
    execute_sql(
        engine,
        "CREATE TABLE `lines` (id BIGINT PRIMARY KEY, price DECIMAL(12,2), shipped DATE)",
        "INSERT INTO `lines` SELECT a.n * 1000 + b.n, (a.n * 1000 + b.n) * 0.25, "
        "DATE_ADD('1992-01-01', INTERVAL (a.n * 1000 + b.n) % 2500 DAY) FROM seq a, seq b WHERE a.n <= 50",
    )
    credentials = {
        "drivername": "mysql",
        "host": "127.0.0.1",
        "port": 3306,
        "database": database,
        "username": "root",
    }
    names = [f"my_{backend}" for backend in MARIA_BACKENDS]
    project = make_project(
        [
            source(
                f"my_{b}",
                credentials,
                database,
                b,
                ["typed", {"name": "lines", "chunk_size": 20000}],
            )
            for b in MARIA_BACKENDS
        ]
    )

    load_each(project, names)

    columns = "id, qty, amount, rate, ratio, code, name, body, day, at_naive, at_ts"
    baseline = query(project, f"select {columns} from raw_my_pyarrow.typed order by id")
    assert baseline[0][:10] == (
        1,
        17,
        Decimal("1234567890123.45"),
        Decimal("0.0425"),
        0.125,
        "AB",
        "Zoë",
        "x",
        date(1996, 3, 13),
        datetime(2024, 3, 31, 2, 30, 15, 123456),
    )
    types = column_types(project, "raw_my_pyarrow", "typed")
    assert {k: types[k] for k in ("amount", "rate", "day", "at_naive")} == {
        "amount": "DECIMAL(15,2)",
        "rate": "DECIMAL(10,4)",
        "day": "DATE",
        "at_naive": "TIMESTAMP",
    }
    lines_baseline = query(
        project, "select count(*), sum(price), min(shipped), max(shipped) from raw_my_pyarrow.lines"
    )
    assert lines_baseline[0][0] == 50000
    for name in names:
        dataset = f"raw_{name}"
        assert column_types(project, dataset, "typed") == types, name
        assert query(project, f"select {columns} from {dataset}.typed order by id") == baseline, (
            name
        )
        assert (
            query(
                project,
                f"select count(*), sum(price), min(shipped), max(shipped) from {dataset}.lines",
            )
            == lines_baseline
        ), name


@pytest.mark.parametrize("backend", ["auto", "adbc", "pyarrow"])
def test_incremental_merge_filter_and_chunks_keep_their_meaning(make_project, pg, backend):
    engine, schema = pg
    execute_sql(
        engine,
        f"CREATE TABLE {schema}.orders (id int PRIMARY KEY, amount numeric(12,2), status text, "
        "updated_at timestamptz NOT NULL)",
        f"INSERT INTO {schema}.orders SELECT g, g * 1.5, CASE WHEN g % 10 = 0 THEN 'deleted' ELSE 'open' END, "
        "timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute' FROM generate_series(1, 5000) g",
    )
    name = f"inc_{backend}"
    project = make_project(
        [
            source(
                name,
                PG_CREDENTIALS,
                schema,
                backend,
                [
                    {
                        "name": "orders",
                        "write_disposition": "merge",
                        "primary_key": "id",
                        "incremental": {"cursor": "updated_at"},
                        "query_filter": "status <> 'deleted' AND updated_at >= '2024-01-01 00:00:00+00'",
                        "chunks": {"column": "id", "count": 3},
                        "chunk_size": 700,
                    }
                ],
            )
        ]
    )

    assert materialize_project(project, f"group:{name}", checks=False).success
    assert scalar(project, f"select count(*) from raw_{name}.orders") == 4500
    assert scalar(project, f"select sum(amount) from raw_{name}.orders") == Decimal(
        sum(g * 1.5 for g in range(1, 5001) if g % 10)
    ).quantize(Decimal("0.01"))

    execute_sql(
        engine,
        # two updates (one of them now filtered out), five new rows (one filtered out)
        f"UPDATE {schema}.orders SET amount = 0.5, updated_at = timestamptz '2025-01-01 00:00:00+00' WHERE id = 7",
        f"UPDATE {schema}.orders SET status = 'deleted', amount = 1, updated_at = timestamptz '2025-01-01 00:00:00+00' WHERE id = 8",
        f"INSERT INTO {schema}.orders SELECT g, 2, CASE WHEN g = 5005 THEN 'deleted' ELSE 'open' END, "
        "timestamptz '2025-01-02 00:00:00+00' FROM generate_series(5001, 5005) g",
    )

    second = materialize_project(project, f"group:{name}", checks=False)

    assert second.success
    # merge on id: id 7 updated in place, the four new open rows added, nothing duplicated;
    # id 8 keeps its earlier row (the filter hides its deletion, as it always did)
    assert scalar(project, f"select count(*) from raw_{name}.orders") == 4504
    assert scalar(project, f"select count(distinct id) from raw_{name}.orders") == 4504
    assert query(
        project, f"select id, amount from raw_{name}.orders where id in (7, 8, 5004) order by id"
    ) == [
        (7, Decimal("0.50")),
        (8, Decimal("12.00")),
        (5004, Decimal("2.00")),
    ]
    rows_loaded = {
        event.asset_key.path[-1]: event.event_specific_data.materialization.metadata[
            "rows_loaded"
        ].value
        for event in second.get_asset_materialization_events()
    }
    assert rows_loaded == {"orders": 5}  # id 7 and the four new rows: the cursor moved on


def test_chunks_read_every_row_once_with_null_and_sparse_keys(make_project, pg):
    engine, schema = pg
    execute_sql(
        engine,
        f"CREATE TABLE {schema}.events (id serial PRIMARY KEY, bucket bigint, payload text)",
        # sparse keys with a gap, negative values and NULLs
        f"INSERT INTO {schema}.events (bucket, payload) SELECT CASE WHEN g % 97 = 0 THEN NULL "
        "WHEN g < 100 THEN -g ELSE g * 1000 END, 'p' || g FROM generate_series(1, 3000) g",
    )
    project = make_project(
        [
            source(
                "chunked",
                PG_CREDENTIALS,
                schema,
                "auto",
                [{"name": "events", "chunks": {"column": "bucket", "count": 7}, "chunk_size": 100}],
            )
        ]
    )

    assert materialize_project(project, "group:chunked", checks=False).success
    assert query(
        project, "select count(*), count(distinct id), count(bucket) from raw_chunked.events"
    ) == [(3000, 3000, 3000 - 3000 // 97)]


def test_chunks_auto_reads_large_tables_in_key_ranges_and_small_ones_in_one_piece(
    make_project, pg, monkeypatch, caplog
):
    engine, schema = pg
    execute_sql(
        engine,
        f"CREATE TABLE {schema}.big (id bigint PRIMARY KEY, v text)",
        f"INSERT INTO {schema}.big SELECT g, 'v' || g FROM generate_series(1, 5000) g",
        f"ANALYZE {schema}.big",
        f"CREATE TABLE {schema}.big_too (id bigint PRIMARY KEY, v text)",
        f"INSERT INTO {schema}.big_too SELECT g, 'v' || g FROM generate_series(1, 5000) g",
        f"ANALYZE {schema}.big_too",
    )
    monkeypatch.setattr("ingest_assets.sources.sql_database.readers.AUTO_CHUNK_ROWS", 1000)
    project = make_project(
        [
            source(
                "auto_chunked",
                PG_CREDENTIALS,
                schema,
                "auto",
                [{"name": "big", "chunks": "auto"}, "big_too"],
            )
        ]
    )

    with caplog.at_level(logging.INFO):
        assert materialize_project(project, "group:auto_chunked", checks=False).success

    assert f"table 'big': ~5000 rows, read in {AUTO_CHUNKS} key ranges of id" in caplog.text
    assert "table 'big_too': ~" not in caplog.text
    for table in ("big", "big_too"):
        assert query(
            project, f"select count(*), count(distinct id) from raw_auto_chunked.{table}"
        ) == [(5000, 5000)]


def test_fast_reader_falls_back_to_pyarrow_for_columns_it_cannot_carry_and_says_so(
    make_project, pg, caplog
):
    engine, schema = pg
    execute_sql(
        engine,
        f"CREATE TABLE {schema}.precise (id int PRIMARY KEY, tiny numeric(30,12), loose numeric, doc jsonb)",
        f"INSERT INTO {schema}.precise VALUES (1, 123456789012345678.123456789012, 1.5, "
        "'{\"a\": 1}')",
    )
    project = make_project([source("precise", PG_CREDENTIALS, schema, "auto", ["precise"])])

    with caplog.at_level(logging.WARNING):
        assert materialize_project(project, "group:precise", checks=False).success

    assert "table 'precise': read with pyarrow instead of connectorx" in caplog.text
    assert query(project, "select tiny, loose from raw_precise.precise") == [
        (Decimal("123456789012345678.123456789012"), Decimal("1.5")),
    ]
    assert column_types(project, "raw_precise", "precise")["tiny"] == "DECIMAL(30,12)"


def test_reader_choice_per_database():
    assert choose_reader("auto", "postgresql+psycopg2") == ("connectorx", None)
    assert choose_reader("auto", "mysql+pymysql") == ("connectorx", None)
    assert choose_reader("auto", "mssql+pyodbc") == ("pyarrow", None)
    assert choose_reader("auto", "sqlite") == ("pyarrow", None)
    assert choose_reader("pyarrow", "postgresql+psycopg2") == ("pyarrow", None)
    reader, note = choose_reader("adbc", "mysql+pymysql")
    assert reader == "pyarrow" and "adbc cannot read mysql" in note
    # a table read at the same time as others: ADBC on PostgreSQL (ConnectorX's streams in one
    # process wait for each other); MySQL has no other fast reader; a configured one is kept
    assert choose_reader("auto", "postgresql+psycopg2", parallel=True) == ("adbc", None)
    assert choose_reader("auto", "mysql+pymysql", parallel=True) == ("connectorx", None)
    assert choose_reader("connectorx", "postgresql+psycopg2", parallel=True) == (
        "connectorx",
        None,
    )

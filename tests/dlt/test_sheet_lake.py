"""The Excel job sheet does what the framework it replaces did: each row's table lands in the
lake at `<lake_base>/<target_container>/<target_folder_path>/raw_<source>/<table>/`, on Azure
Blob Storage (the Azurite emulator, real HTTP) and in a local folder; `both` projects the lake
into the warehouse exactly once; `schedule` and `parallelism` take effect; the audit log has
the framework's fields, row by row.

The database is the machine's PostgreSQL (schema `it_<random>`, dropped afterwards).
"""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
import yaml
from azurite import ACCOUNT, ACCOUNT_KEY
from azurite import azurite as azurite  # the session fixture
from dagster import AssetKey
from helpers import execute_sql, materialize_project, query, scalar
from openpyxl import Workbook

from ingest_assets.config.job_sheet import COLUMN_NAMES, SHEET_NAME
from ingest_assets.project import build_definitions, load_project

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def write_sheet(project: Path, rows: list[dict[str, Any]]) -> None:
    """`<project>/ingestion_config.xlsx` with every column in the header and these rows."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_NAME
    sheet.append(list(COLUMN_NAMES))
    for row in rows:
        sheet.append([row.get(column) for column in COLUMN_NAMES])
    workbook.save(project / "ingestion_config.xlsx")


def row(
    job_id: Any, source: str, schema: str, table: str, load_type: str = "FULL", **cells: Any
) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "source_type": "PostgreSQL",
        "source_name": source,
        "schema_name": schema,
        "table_name": table,
        "load_type": load_type,
        "enabled": "Y",
        **cells,
    }


def project_yaml(**top: Any) -> str:
    return yaml.safe_dump({"version": 1, **top, "sources": []}, sort_keys=False)


def _materialized_rows(result) -> dict[str, int]:
    return {
        "/".join(e.asset_key.path): e.event_specific_data.materialization.metadata[
            "rows_loaded"
        ].value
        for e in result.get_asset_materialization_events()
    }


@pytest.mark.integration
def test_sheet_rows_fill_the_lake_on_azure_blob_and_project_exactly_once(
    make_project,
    pg_schema,
    azurite,
    monkeypatch,  # noqa: F811
):
    engine, schema = pg_schema
    execute_sql(
        engine,
        f"CREATE TABLE {schema}.orders (id int PRIMARY KEY, amount numeric(10, 2))",
        f"INSERT INTO {schema}.orders SELECT g, g * 1.5 FROM generate_series(1, 5) g",
        f"CREATE TABLE {schema}.customers (id int PRIMARY KEY, name text)",
        f"INSERT INTO {schema}.customers SELECT g, 'c' || g FROM generate_series(1, 3) g",
    )
    container = f"raw-{uuid.uuid4().hex[:8]}"
    azurite.blob_service().create_container(container)
    monkeypatch.setenv("SOURCES__PG_CRM__CREDENTIALS", PG_URL)
    # the lake's credentials come from secrets (here the environment), never from the sheet;
    # the connection string points adlfs at the emulator instead of <account>.blob.core.windows.net
    monkeypatch.setenv("SOURCES__PG_CRM_LAKE__CREDENTIALS__AZURE_STORAGE_ACCOUNT_NAME", ACCOUNT)
    monkeypatch.setenv("SOURCES__PG_CRM_LAKE__CREDENTIALS__AZURE_STORAGE_ACCOUNT_KEY", ACCOUNT_KEY)
    monkeypatch.setenv(
        "SOURCES__PG_CRM_LAKE__KWARGS", json.dumps({"connection_string": azurite.connection_string})
    )
    project = make_project(
        project_yaml(lake_base=f"az://{ACCOUNT}", audit_log="metadata/audit_log.jsonl")
    )
    write_sheet(
        project,
        [
            row(
                "J-7",
                "pg_crm",
                schema,
                "orders",
                "INCREMENTAL",
                watermark_column="id",
                target_container=container,
                target_folder_path="crm/daily",
                destination="both",
            ),
            row(
                "J-8",
                "pg_crm",
                schema,
                "customers",
                target_container=container,
                target_folder_path="crm/daily",
            ),
        ],
    )

    graph = build_definitions(load_project(project)).resolve_asset_graph()
    lake_orders = AssetKey(["lake", "raw_pg_crm", "orders"])
    assert graph.get(AssetKey(["raw_pg_crm", "orders"])).parent_keys == {lake_orders}

    first = materialize_project(project, "group:pg_crm", checks=False)
    assert first.success
    execute_sql(
        engine,
        f"INSERT INTO {schema}.orders SELECT g, g * 1.5 FROM generate_series(6, 7) g",
        f"UPDATE {schema}.customers SET name = 'renamed' WHERE id = 2",
    )
    second = materialize_project(project, "group:pg_crm", checks=False)
    assert second.success
    third = materialize_project(project, "group:pg_crm", checks=False)  # nothing new in orders
    assert third.success

    blobs = azurite.blob_service().get_container_client(container)
    prefix = "crm/daily/raw_pg_crm/"
    files = sorted(
        b.name for b in blobs.list_blobs(name_starts_with=prefix) if b.name.endswith(".parquet")
    )
    orders_files = [f for f in files if f.startswith(prefix + "orders/")]
    customers_files = [f for f in files if f.startswith(prefix + "customers/")]
    assert len(orders_files) == 2  # runs 1 and 2; run 3 had no new order
    # a FULL table is loaded with `replace`: dlt's filesystem destination deletes the table's
    # earlier files when it writes the new version, so the folder holds the current table
    assert len(customers_files) == 1
    assert len(files) == 3

    def rows_of(name: str) -> int:
        return pq.read_table(io.BytesIO(blobs.download_blob(name).readall())).num_rows

    assert [rows_of(f) for f in orders_files] == [5, 2]
    assert [rows_of(f) for f in customers_files] == [3]
    # the warehouse: each lake file once; the FULL table is its newest version
    assert scalar(project, "select count(*) from raw_pg_crm.orders") == 7
    assert scalar(project, "select count(distinct id) from raw_pg_crm.orders") == 7
    assert query(project, "select id, name from raw_pg_crm.customers order by id") == [
        (1, "c1"),
        (2, "renamed"),
        (3, "c3"),
    ]
    assert _materialized_rows(third) == {
        "lake/raw_pg_crm/orders": 0,
        "lake/raw_pg_crm/customers": 3,
        "raw_pg_crm/orders": 0,
        "raw_pg_crm/customers": 3,
    }

    # the audit log, row by row: the framework's fields for every table and step of every run
    audit = [
        json.loads(line)
        for line in (project / "metadata" / "audit_log.jsonl").read_text().splitlines()
    ]
    fields = (
        "job_id",
        "source",
        "table",
        "destination",
        "rows_written",
        "watermark_before",
        "watermark_after",
        "status",
        "error",
    )
    lines = [tuple(a[f] for f in fields) for a in audit]
    # one line per table and step, four per run, runs in order (tables in any order in a step);
    # a projection's watermark is the lake files it has read (a FULL table: its newest version)
    by_run = [
        sorted(lines[i : i + 4], key=lambda line: (line[3] != "lake", line[2]))
        for i in range(0, len(lines), 4)
    ]
    assert [line for run in by_run for line in run] == [
        # run 1
        ("J-8", "pg_crm", "customers", "lake", 3, None, None, "success", None),
        ("J-7", "pg_crm", "orders", "lake", 5, None, "id=5", "success", None),
        ("J-8", "pg_crm", "customers", "projection", 3, None, "1 files", "success", None),
        ("J-7", "pg_crm", "orders", "projection", 5, None, "1 files", "success", None),
        # run 2: two new orders after id 5
        ("J-8", "pg_crm", "customers", "lake", 3, None, None, "success", None),
        ("J-7", "pg_crm", "orders", "lake", 2, "id=5", "id=7", "success", None),
        ("J-8", "pg_crm", "customers", "projection", 3, "1 files", "1 files", "success", None),
        ("J-7", "pg_crm", "orders", "projection", 2, "1 files", "2 files", "success", None),
        # run 3: no new order
        ("J-8", "pg_crm", "customers", "lake", 3, None, None, "success", None),
        ("J-7", "pg_crm", "orders", "lake", 0, "id=7", "id=7", "success", None),
        ("J-8", "pg_crm", "customers", "projection", 3, "1 files", "1 files", "success", None),
        ("J-7", "pg_crm", "orders", "projection", 0, "2 files", "2 files", "success", None),
    ]
    for line in audit:
        assert line["started_at"] <= line["finished_at"]
        assert line["run_id"] and line["duration_seconds"] >= 0
    assert ACCOUNT_KEY not in (project / "metadata" / "audit_log.jsonl").read_text()
    # the same job ids are in the warehouse's load ledger
    assert query(
        project,
        "select job_id, destination, count(*) from _ingest.load_history group by all order by all",
    ) == [
        ("J-7", "lake", 3),
        ("J-7", "projection", 3),
        ("J-8", "lake", 3),
        ("J-8", "projection", 3),
    ]


@pytest.mark.integration
def test_sheet_rows_in_a_local_lake_folder_with_schedule_and_parallel_reads(
    make_project, pg_schema, monkeypatch
):
    engine, schema = pg_schema
    # probe(): sleeps, then records how many connections of this test's source (named by their
    # application_name) are running a query at that moment; a sequence keeps the maximum
    # outside the readers' transactions
    execute_sql(
        engine,
        f"CREATE SEQUENCE {schema}.max_seen MINVALUE 0 START 0",
        f"""CREATE FUNCTION {schema}.probe() RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
        DECLARE n int;
        BEGIN
            PERFORM pg_sleep(2.0);  -- long enough to overlap on a busy 2-core machine
            SELECT count(*) INTO n FROM pg_stat_activity
                WHERE state = 'active' AND application_name = '{schema}';
            IF n > (SELECT last_value FROM {schema}.max_seen) THEN
                PERFORM setval('{schema}.max_seen', n);
            END IF;
            RETURN true;
        END $$""",
        f"CREATE TABLE {schema}.t_one (id int PRIMARY KEY, v text)",
        f"INSERT INTO {schema}.t_one VALUES (1, 'a'), (2, 'b')",
        f"CREATE TABLE {schema}.t_two (id int PRIMARY KEY, v text)",
        f"INSERT INTO {schema}.t_two VALUES (1, 'x'), (2, 'y'), (3, 'z')",
    )
    monkeypatch.setenv("SOURCES__PG_LOCAL__CREDENTIALS", f"{PG_URL}?application_name={schema}")
    project = make_project(project_yaml(lake_base="lake_root"))
    probe = f"{schema}.probe()"
    write_sheet(
        project,
        [
            row(
                1,
                "pg_local",
                schema,
                "t_one",
                target_container="landing",
                query_filter=probe,
                parallelism=2,
                schedule="15 3 * * *",
            ),
            row(
                2,
                "pg_local",
                schema,
                "t_two",
                "INCREMENTAL",
                watermark_column="id",
                target_container="landing",
                query_filter=probe,
            ),
        ],
    )

    loaded = load_project(project)
    source = loaded.config.sources[0]
    assert (source.destination, source.extract_workers()) == ("lake", 2)
    defs = build_definitions(loaded)
    schedule = defs.resolve_schedule_def("pg_local_schedule")
    assert (schedule.cron_schedule, schedule.job_name) == ("15 3 * * *", "pg_local_job")
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"lake/raw_pg_local/t_one", "lake/raw_pg_local/t_two"} <= keys
    assert not any(
        key.startswith("raw_pg_local/") for key in keys
    )  # lake only: no warehouse tables

    # `parallelism: 2` reads PostgreSQL with ADBC: ConnectorX's streams in one process wait for
    # each other once it has read there (readers.PARALLEL_READERS), which made this overlap
    # fail when tests/sources/test_sql_backends.py ran first on the same worker
    assert materialize_project(project, "group:pg_local", checks=False).success

    # both tables were read at once
    with engine.connect() as conn:
        seen = conn.exec_driver_sql(f"SELECT last_value FROM {schema}.max_seen").scalar()
    assert seen == 2
    # the incremental cursor works in parallel reads: the second run reads only the new row
    execute_sql(engine, f"INSERT INTO {schema}.t_two VALUES (4, 'w')")
    assert materialize_project(project, "group:pg_local", checks=False).success
    lake = project / "lake_root" / "landing" / "raw_pg_local"
    with duckdb.connect() as conn:
        assert (
            conn.execute(f"select count(*) from read_parquet('{lake}/t_one/*.parquet')").fetchone()[
                0
            ]
            == 2
        )
        assert conn.execute(
            f"select list(v order by v) from read_parquet('{lake}/t_two/*.parquet') group by _dlt_load_id order by 1"
        ).fetchall() == [(["w"],), (["x", "y", "z"],)]
    assert not scalar(
        project,
        "select count(*) from information_schema.tables where table_schema = 'raw_pg_local' and table_name like 't_%'",
    )


@pytest.mark.unit
def test_a_lake_row_needs_a_container_and_a_warehouse_row_takes_no_target(tmp_path):
    from ingest_assets.config import ConfigError, load_project_config

    (tmp_path / "sources.yml").write_text(project_yaml())
    write_sheet(
        tmp_path,
        [
            row(1, "a", "public", "t1", destination="both"),
            row(2, "b", "public", "t2", destination="warehouse", target_container="raw"),
            row(
                3,
                "c",
                "public",
                "t3",
                target_container="raw",
                destination="lakehouse",
                parallelism=9,
            ),
            row(4, "d", "public", "t4", target_container="raw", target_folder_path="x"),
            row(5, "d", "public", "t5", target_container="raw", target_folder_path="y"),
            row(6, "e", "public", "t6", schedule="0 1 * * *"),
            row(7, "e", "public", "t7", schedule="0 2 * * *"),
            row(8, "e", "public", "t8"),
        ],
    )
    with pytest.raises(ConfigError) as error:
        load_project_config(tmp_path / "sources.yml")
    where = "ingestion_config.xlsx: sheet 'SourceConfig'"
    assert error.value.problems == [
        f"{where}: row 2: target_container: required when destination is both (the container the files go to)",
        f"{where}: row 3: target_container: set, but destination is warehouse, which writes no lake "
        "files: clear it, or set destination to lake or both",
        f"{where}: row 4: destination: 'lakehouse' is not lake, both or warehouse",
        f"{where}: row 4: parallelism: 9 is not a whole number from 1 to 8",
        f"{where}: row 6: target_folder_path: 'y' differs from 'x' in row 5; the rows of source_name "
        "'d' are one source with one target_folder_path: give them the same value or use another "
        "source_name for this table",
        f"{where}: row 8: schedule: '0 2 * * *' differs from '0 1 * * *' in row 7; the rows of "
        "source_name 'e' are one source with one schedule: give them the same value or use another "
        "source_name for this table",
    ]

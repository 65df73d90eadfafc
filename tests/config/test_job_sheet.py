"""The Excel job sheet (`ingestion_config.xlsx`): rows -> the same sources as `sources.yml`.

Workbooks are written with openpyxl in each test. The acceptance test loads a real PostgreSQL
table (127.0.0.1:5432, database `test`, in a schema `it_<random>` dropped afterwards).
"""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import execute_sql, materialize_project, run_ingest, scalar
from openpyxl import Workbook, load_workbook
from typer.testing import CliRunner

from ingest_assets.cli import app
from ingest_assets.config import ConfigError, load_project_config
from ingest_assets.config.job_sheet import COLUMN_NAMES, COLUMNS, SHEET_NAME, read_job_sheet
from ingest_assets.project import build_definitions, load_project

REPO = Path(__file__).resolve().parents[2]
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
WHERE = "ingestion_config.xlsx: sheet 'SourceConfig'"


def write_sheet(
    path: Path,
    rows: list[dict[str, Any] | None],
    header: list[str] | None = None,
    sheet: str = SHEET_NAME,
) -> Path:
    """Write a workbook whose `sheet` has `header` (default: every column) in row 1 and one
    row per dict below it (None: a blank row)."""
    header = header or list(COLUMN_NAMES)
    workbook = Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    worksheet.append(header)
    for row in rows:
        worksheet.append([] if row is None else [row.get(column) for column in header])
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def job(
    job_id: Any, source_name: str, table_name: str, load_type: str = "FULL", **cells: Any
) -> dict[str, Any]:
    """A PostgreSQL job row (schema `public`); `cells` add or override columns."""
    return {
        "job_id": job_id,
        "source_type": "PostgreSQL",
        "source_name": source_name,
        "schema_name": "public",
        "table_name": table_name,
        "load_type": load_type,
        "enabled": "Y",
        **cells,
    }


def write_yaml(root: Path, sources: list[dict[str, Any]], **top: Any) -> Path:
    """`root/sources.yml` with these sources and top-level keys."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / "sources.yml"
    path.write_text(yaml.safe_dump({"version": 1, **top, "sources": sources}, sort_keys=False))
    return path


def problems_of(path: Path, job_sheet: Path | None = None) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load_project_config(path, job_sheet=job_sheet)
    return error.value.problems


# ------------------------------------------------------------------------------ validation


@pytest.mark.unit
def test_every_problem_is_reported_with_sheet_row_and_column(tmp_path):
    sheet = write_sheet(
        tmp_path / "ingestion_config.xlsx",
        [
            job(1, "crm", "orders", "INCREMENTAL", watermark_column="updated_at"),  # row 2: good
            job(1, "crm", "customers"),  # row 3
            job(3, "crm", "events", "INCREMENTAL"),  # row 4
            None,  # row 5: blank, skipped
            job(4, "billing", "invoices", source_type="Oracle", schema_name=None),  # row 6
            job(5, "crm", "t", "DELTA", source_type="Postgre", enabled="maybe"),  # row 7
            job(6, "crm", None, source_type=None),  # row 8
            job(7, "crm", "other", source_type="MySQL"),  # row 9
            job(8, "crm", "other", schema_name="sales"),  # row 10
            job(9, "crm", "Orders"),  # row 11: same warehouse table as row 2
            job(
                10, "crm", "items", query_filter="a = 1; drop table x", chunk_size="lots"
            ),  # row 12
            job(11, "CRM_Bad", "t"),  # row 13
            job(12, "Shop-2", "a", source_type="MariaDB"),  # row 14
            job(13, "Shop-2", "b", source_type="MariaDB"),  # row 15
            job(14, "fine", "t", "incremental", watermark_column="id", enabled="n"),  # row 16: good
        ],
    )

    with pytest.raises(ConfigError) as error:
        read_job_sheet(sheet)

    assert error.value.problems == [
        f"{WHERE}: row 3: job_id: 1 is also the job_id of row 2",
        f"{WHERE}: row 4: watermark_column: required when load_type is INCREMENTAL",
        f"{WHERE}: row 6: schema_name: required for Oracle (the schema is the owning user)",
        f"{WHERE}: row 7: source_type: 'Postgre' is not a source type; use PostgreSQL, MySQL, "
        "MariaDB, MSSQL, Oracle, SQLite, or a SQLAlchemy dialect+driver such as mssql+pymssql",
        f"{WHERE}: row 7: load_type: 'DELTA' is not FULL or INCREMENTAL",
        f"{WHERE}: row 7: enabled: 'maybe' is not Y or N",
        f"{WHERE}: row 8: source_type: required",
        f"{WHERE}: row 8: table_name: required",
        f"{WHERE}: row 9: source_type: 'MySQL' differs from 'PostgreSQL' in row 2; the rows of "
        "source_name 'crm' read one database: give them one source_type or use another source_name",
        f"{WHERE}: row 10: schema_name: 'sales' differs from 'public' in row 2; a source reads "
        "one schema: use another source_name for the tables of this schema",
        f"{WHERE}: row 11: table_name: 'Orders' is loaded by row 2 of source 'crm' too (both "
        "load warehouse table 'orders'); list each table once per source_name",
        f"{WHERE}: row 12: query_filter: table 'items': must be one SQL condition (like status = 'open'), without ';'",
        f"{WHERE}: row 12: chunk_size: Input should be a valid integer, unable to parse string as an integer",
        f"{WHERE}: row 13: source_name: 'CRM_Bad' must be lower-case letters, digits and _ and "
        "start with a letter",
        f"{WHERE}: rows 14, 15: source_name: 'Shop-2' must be lower-case letters, digits and _ "
        "and start with a letter",
    ]


@pytest.mark.unit
def test_header_and_file_problems(tmp_path):
    header = ["Job ID", "source_type", "SourceName", "table_name", "watermark colum", "comments"]
    bad_header = write_sheet(
        tmp_path / "h" / "ingestion_config.xlsx", [{"Job ID": 1}], header=header
    )
    with pytest.raises(ConfigError) as error:
        read_job_sheet(bad_header)
    # `Job ID` is job_id; an unknown column is ignored unless it looks like a misspelt one
    assert error.value.problems == [
        f"{WHERE}: row 1: source_name: required column is missing from the header",
        f"{WHERE}: row 1: load_type: required column is missing from the header",
        f"{WHERE}: row 1: SourceName: unknown column; did you mean source_name?",
        f"{WHERE}: row 1: watermark colum: unknown column; did you mean watermark_column?",
    ]

    wrong_sheet = write_sheet(tmp_path / "s" / "jobs.xlsx", [], sheet="Jobs")
    with pytest.raises(ConfigError) as error:
        read_job_sheet(wrong_sheet)
    assert error.value.problems == [
        "jobs.xlsx: no sheet 'SourceConfig' (the workbook has 'Jobs'); put the jobs on a sheet "
        "named SourceConfig"
    ]

    not_excel = tmp_path / "n" / "jobs.xlsx"
    not_excel.parent.mkdir()
    not_excel.write_text("job_id,source_type\n1,PostgreSQL\n")
    with pytest.raises(ConfigError) as error:
        read_job_sheet(not_excel)
    assert error.value.problems[0].startswith("jobs.xlsx: not a readable Excel workbook (.xlsx): ")

    # an empty sheet (header only) defines no sources
    assert read_job_sheet(write_sheet(tmp_path / "e" / "jobs.xlsx", [])).sources == []


# ------------------------------------------------------------------------------ same as sources.yml


@pytest.mark.unit
def test_rows_give_the_same_config_as_sources_yml(tmp_path):
    write_sheet(
        tmp_path / "sheet" / "ingestion_config.xlsx",
        [
            job(
                "J-1",
                "crm",
                "orders",
                "INCREMENTAL",
                watermark_column="updated_at",
                last_watermark="2024-01-01T00:00:00Z",
                query_filter="status <> 'deleted'",
                chunk_size=5000,
                target_container="raw",
                target_folder_path="/crm/",
                parallelism=4,
                schedule="0 6 * * *",
            ),
            job(
                "J-2",
                "crm",
                "Customers",
                "full",
                enabled=None,
                target_container="raw",
                target_folder_path="crm",
                destination="Both",
                parallelism=2,
            ),
            job(
                3,
                "webshop",
                "order",
                "INCREMENTAL",
                source_type="MariaDB",
                schema_name="shop",
                watermark_column="UpdatedAt",
                last_watermark=datetime(2024, 3, 1),
            ),
            job(4, "webshop", "products", source_type="mysql", schema_name="shop", enabled="N"),
            job(
                5,
                "erp",
                "SalesOrderHeader",
                "INCREMENTAL",
                source_type="SQL Server",
                schema_name="dbo",
                watermark_column="SalesOrderID",
                last_watermark=0,
                enabled="N",
            ),
            job(6, "billing", "invoices", source_type="Oracle", schema_name="billing"),
            job(7, "legacy", "t", source_type="SQLite", schema_name=None, chunk_size=100.0),
            job(8, "psycopg3", "t", source_type="postgresql+psycopg"),
        ],
    )
    yaml_file = write_yaml(
        tmp_path / "yaml",
        yaml.safe_load(
            """
            - name: crm
              type: sql_database
              schedule: 0 6 * * *
              destination: both
              lake: {bucket_url: s3://lake/raw, folder_path: crm}
              sql_database:
                credentials: {drivername: postgresql}
                schema: public
                parallelism: 4
                tables:
                  - name: orders
                    job_id: J-1
                    write_disposition: append
                    incremental: {cursor: updated_at, initial_value: 2024-01-01T00:00:00Z}
                    query_filter: status <> 'deleted'
                    chunk_size: 5000
                  - {name: Customers, job_id: J-2, write_disposition: replace}
            - name: webshop
              type: sql_database
              sql_database:
                credentials: {drivername: mysql}
                schema: shop
                tables:
                  - name: order
                    job_id: "3"
                    write_disposition: append
                    incremental: {cursor: UpdatedAt, initial_value: 2024-03-01 00:00:00}
            - name: erp
              type: sql_database
              enabled: false
              sql_database:
                credentials: {drivername: mssql}
                schema: dbo
                tables:
                  - name: SalesOrderHeader
                    job_id: "5"
                    write_disposition: append
                    incremental: {cursor: SalesOrderID, initial_value: 0}
            - name: billing
              type: sql_database
              sql_database:
                credentials: {drivername: oracle}
                schema: billing
                tables: [{name: invoices, job_id: "6", write_disposition: replace}]
            - name: legacy
              type: sql_database
              sql_database:
                credentials: {drivername: sqlite}
                tables: [{name: t, job_id: "7", write_disposition: replace, chunk_size: 100}]
            - name: psycopg3
              type: sql_database
              sql_database:
                credentials: {drivername: postgresql+psycopg}
                schema: public
                tables: [{name: t, job_id: "8", write_disposition: replace}]
            """
        ),
        lake_base="s3://lake",
    )
    empty_yaml = write_yaml(tmp_path / "sheet", [], lake_base="s3://lake")

    from_sheet = load_project_config(empty_yaml)
    from_yaml = load_project_config(yaml_file)

    assert from_sheet.model_dump() == from_yaml.model_dump()
    assert from_sheet.sources[0].sql_database.tables[0].incremental.initial_value == datetime(
        2024, 1, 1, tzinfo=UTC
    )
    assert from_sheet.source_origin("crm") == f"{WHERE}: rows 2, 3"
    assert from_sheet.source_origin("webshop") == f"{WHERE}: rows 4, 5"


@pytest.mark.unit
def test_yaml_and_sheet_merge_and_where_the_sheet_is(tmp_path, monkeypatch):
    monkeypatch.delenv("INGEST_JOB_SHEET", raising=False)
    root = tmp_path / "project"
    yaml_source = {
        "name": "files",
        "type": "filesystem",
        "filesystem": {
            "bucket_url": "data",
            "tables": [{"name": "t", "file_glob": "*.csv", "format": "csv"}],
        },
    }
    sources_file = write_yaml(root, [yaml_source])

    # no sheet at the default place: nothing happens
    assert [s.name for s in load_project_config(sources_file).sources] == ["files"]

    write_sheet(root / "ingestion_config.xlsx", [job(1, "crm", "orders"), job(2, "erp", "t")])
    merged = load_project_config(sources_file)
    assert [s.name for s in merged.sources] == ["files", "crm", "erp"]
    assert merged.source_origin("files") == "sources.yml"
    assert merged.source_origin("erp") == f"{WHERE}: row 3"

    # `job_sheet:` in sources.yml names another file; a named file must exist
    write_sheet(root / "config" / "jobs.xlsx", [job(1, "other", "t")])
    write_yaml(root, [yaml_source], job_sheet="config/jobs.xlsx")
    assert [s.name for s in load_project_config(sources_file).sources] == ["files", "other"]
    write_yaml(root, [yaml_source], job_sheet="config/missing.xlsx")
    assert problems_of(sources_file) == [
        f"missing.xlsx: file not found at {root / 'config' / 'missing.xlsx'}; create it with "
        "`ingest excel-template`, or unset INGEST_JOB_SHEET / remove job_sheet: from sources.yml"
    ]
    # INGEST_JOB_SHEET wins over job_sheet:
    monkeypatch.setenv("INGEST_JOB_SHEET", str(root / "ingestion_config.xlsx"))
    assert [s.name for s in load_project_config(sources_file).sources] == ["files", "crm", "erp"]

    # a name in both files is an error naming both places, reported with every other problem
    monkeypatch.delenv("INGEST_JOB_SHEET")
    crm_in_yaml = {**yaml_source, "name": "crm", "schedule": "61 * * * *"}
    write_yaml(root, [yaml_source, crm_in_yaml])
    write_sheet(
        root / "ingestion_config.xlsx",
        [job(1, "crm", "orders"), job(2, "crm", "lines"), job(3, "erp", "t", "INCREMENTAL")],
    )
    assert problems_of(sources_file) == [
        "sources.yml: source 'crm': schedule: '61 * * * *' is not a valid cron expression",
        f"{WHERE}: row 4: watermark_column: required when load_type is INCREMENTAL",
    ]
    write_sheet(root / "ingestion_config.xlsx", [job(1, "crm", "orders"), job(2, "crm", "lines")])
    assert problems_of(sources_file) == [
        "sources.yml: source 'crm': schedule: '61 * * * *' is not a valid cron expression",
        f"{WHERE}: rows 2, 3: source_name: 'crm' is also a source in sources.yml; define a "
        "source in one place: use another source_name here or remove it from sources.yml",
    ]


@pytest.mark.unit
def test_docs_describe_every_column():
    docs = (REPO / "docs" / "excel_job_sheet.md").read_text()
    documented = re.findall(r"^\| `([a-z_]+)` \|", docs, flags=re.MULTILINE)
    assert documented == list(COLUMN_NAMES)


# ------------------------------------------------------------------------------ acceptance


def _assets_by_group(root: Path) -> dict[str, str | None]:
    graph = build_definitions(load_project(root)).resolve_asset_graph()
    return {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}


@pytest.mark.integration
def test_the_same_jobs_as_excel_rows_produce_the_same_assets(make_project, pg_schema, monkeypatch):
    engine, schema = pg_schema
    execute_sql(
        engine,
        f"CREATE TABLE {schema}.orders (id int PRIMARY KEY, amount numeric(10, 2))",
        f"INSERT INTO {schema}.orders SELECT g, g * 1.5 FROM generate_series(1, 100) g",
        f'CREATE TABLE {schema}."Customers" (id int PRIMARY KEY, name text)',
        f"""INSERT INTO {schema}."Customers" SELECT g, 'c' || g FROM generate_series(1, 20) g""",
    )
    monkeypatch.setenv("SOURCES__PG_JOBS__CREDENTIALS", PG_URL)  # the whole connection
    yaml_project = make_project(
        [
            {
                "name": "pg_jobs",
                "type": "sql_database",
                "sql_database": {
                    "credentials": {"drivername": "postgresql"},
                    "schema": schema,
                    "tables": [
                        {
                            "name": "orders",
                            "write_disposition": "append",
                            "incremental": {"cursor": "id", "initial_value": 11},
                        },
                        {"name": "Customers", "write_disposition": "replace"},
                    ],
                },
            }
        ],
        name="yaml_project",
    )
    excel_project = make_project([], name="excel_project")
    write_sheet(
        excel_project / "ingestion_config.xlsx",
        [
            job(
                1,
                "pg_jobs",
                "orders",
                "INCREMENTAL",
                schema_name=schema,
                watermark_column="id",
                last_watermark=11,
            ),
            job(2, "pg_jobs", "Customers", schema_name=schema),
        ],
    )

    excel_assets = _assets_by_group(excel_project)
    assert excel_assets == _assets_by_group(yaml_project)
    assert excel_assets["raw_pg_jobs/orders"] == "pg_jobs"
    assert excel_assets["raw_pg_jobs/customers"] == "pg_jobs"

    assert materialize_project(excel_project, "group:pg_jobs").success
    assert scalar(excel_project, "select count(*) from raw_pg_jobs.orders") == 90  # ids 11..100
    assert scalar(excel_project, "select count(*) from raw_pg_jobs.customers") == 20

    execute_sql(
        engine,
        f"INSERT INTO {schema}.orders SELECT g, g * 1.5 FROM generate_series(101, 130) g",
        f'DELETE FROM {schema}."Customers" WHERE id <= 5',
    )
    second = materialize_project(excel_project, "group:pg_jobs")

    assert second.success
    loaded = {
        e.asset_key.path[-1]: e.event_specific_data.materialization.metadata["rows_loaded"].value
        for e in second.get_asset_materialization_events()
    }
    assert loaded["orders"] == 30  # only the new rows
    assert scalar(excel_project, "select count(*) from raw_pg_jobs.orders") == 120
    assert scalar(excel_project, "select count(distinct id) from raw_pg_jobs.orders") == 120
    assert scalar(excel_project, "select count(*) from raw_pg_jobs.customers") == 15


# ------------------------------------------------------------------------------ CLI


def _ingest(project: Path, *args: str) -> subprocess.CompletedProcess:
    return run_ingest(project, *args, columns=300, timeout=300, unset=("INGEST_JOB_SHEET",))


@pytest.mark.e2e
def test_excel_template_is_an_example_that_changes_nothing_until_saved_as_the_sheet(make_project):
    project = make_project([])

    written = _ingest(project, "excel-template")
    assert written.returncode == 0, written.stderr
    example = project / "ingestion_config.example.xlsx"
    sheet = project / "ingestion_config.xlsx"
    assert example.exists() and not sheet.exists()
    assert f"save it as {sheet}" in written.stdout
    workbook = load_workbook(example, read_only=True)
    help_rows = list(workbook["Columns"].iter_rows(values_only=True))
    jobs = [row for row in workbook[SHEET_NAME].iter_rows(values_only=True) if any(row)]
    workbook.close()
    assert [row[0] for row in help_rows[1 : len(COLUMNS) + 1]] == list(COLUMN_NAMES)
    assert all(all(row[:5]) for row in help_rows[1 : len(COLUMNS) + 1])
    # every column has an example value in some row; every example is disabled
    assert list(jobs[0]) == list(COLUMN_NAMES)
    for index, name in enumerate(COLUMN_NAMES):
        assert any(row[index] is not None for row in jobs[1:]), name
    assert {row[COLUMN_NAMES.index("enabled")] for row in jobs[1:]} == {"N"}
    # the example is a valid sheet: what it would give once saved as the job sheet
    example_sources = {s.name: s for s in read_job_sheet(example).sources}
    assert list(example_sources) == ["crm", "webshop", "erp"]
    assert not any(s.enabled for s in example_sources.values())
    crm = example_sources["crm"]
    assert (crm.destination, crm.lake.bucket_url, crm.lake.folder_path) == (
        "both",
        "data/lake/raw",
        "crm",
    )
    assert (crm.schedule, crm.sql_database.parallelism) == ("0 6 * * *", 2)
    assert example_sources["erp"].destination == "lake"
    assert example_sources["webshop"].destination == "warehouse"

    # the project is unchanged: validate reads no sheet
    validated = _ingest(project, "validate")
    assert validated.returncode == 0, validated.stderr
    assert "0 sources, enabled: none" in validated.stdout

    # the same commands in this process (typer's runner), to spare the start-up of more processes
    runner = CliRunner()
    again = runner.invoke(app, ["excel-template", "--project", str(project)])
    assert again.exit_code == 1
    assert f"{example} exists; pass --force to overwrite it" in again.stderr
    assert (
        runner.invoke(app, ["excel-template", "-p", str(project), "-o", str(sheet)]).exit_code == 0
    )
    saved = runner.invoke(app, ["validate", "--project", str(project)])
    assert saved.exit_code == 0, saved.stderr
    said = "".join(saved.stdout.split())  # rich wraps lines at the runner's terminal width
    assert f"and{sheet}(3sources):3sources,enabled:none" in said

    workbook = load_workbook(sheet)
    workbook[SHEET_NAME]["K2"] = None  # watermark_column of job 1 (INCREMENTAL), row 2
    workbook[SHEET_NAME]["P4"] = "61 * * * *"  # schedule of job 3, row 4
    workbook.save(sheet)
    broken = runner.invoke(app, ["validate", "--project", str(project)])
    assert broken.exit_code == 1
    assert broken.stderr.strip().splitlines() == [
        f"✗ {WHERE}: row 2: watermark_column: required when load_type is INCREMENTAL",
        f"✗ {WHERE}: row 4: schedule: '61 * * * *' is not a valid cron expression",
    ]
    assert (
        runner.invoke(
            app, ["excel-template", "--force", "-p", str(project), "-o", str(sheet)]
        ).exit_code
        == 0
    )
    assert runner.invoke(app, ["validate", "--project", str(project), "--no-build"]).exit_code == 0

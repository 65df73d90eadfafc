"""The Excel job sheet: SQL-database load jobs as rows of `ingestion_config.xlsx`.

Users of a hand-written ingestion framework keep their jobs in a workbook: sheet `SourceConfig`,
one row per database table (see `COLUMNS` and docs/excel_job_sheet.md). This module reads that
sheet with openpyxl (read-only) and turns its rows into the same `sql_database` source models
`sources.yml` gives: the rows sharing a `source_name` become one source, one table per row, in
row order; `FULL` is `write_disposition: replace`, `INCREMENTAL` is `append` with the incremental
cursor `watermark_column` starting at `last_watermark`; each table keeps its row's `job_id` (for
the load ledger and audit log). The source-wide columns: `target_container` and
`target_folder_path` make the source write the lake (`destination: lake`, or `both` when the
`destination` column says so) under `sources.yml`'s `lake_base` (see `lake_location`);
`schedule` is its cron schedule; `parallelism` (the largest of its rows) is
`sql_database.parallelism`, the number of tables read at once. `ingest_assets.config.loader`
merges these sources into the YAML's; `ingest_assets.excel_template` writes a sample workbook.

Every problem is reported at once, one message per problem, naming the file, the sheet, the
Excel row (the header is row 1) and the column, e.g.
`ingestion_config.xlsx: sheet 'SourceConfig': row 4: watermark_column: required when load_type is INCREMENTAL`.
Errors of the built source model are mapped back to the row and column they come from.

Credentials never come from the sheet: `source_type` sets only the SQLAlchemy driver, and host,
port, database, user and password resolve like those of any `sql_database` source without a
`credentials:` block, from `[sources.<source_name>.credentials]` in `.dlt/secrets.toml` or the
`SOURCES__<SOURCE_NAME>__CREDENTIALS[__<PART>]` environment variables.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

# the loader's pydantic message wording, so that sheet and YAML problems read alike
from ingest_assets.config.common import LakeConfig
from ingest_assets.config.loader import ConfigError, field_message
from ingest_assets.sources.sql_database import SqlDatabaseSourceConfig, asset_table_name

MAX_PARALLELISM = 8
"""The largest `parallelism`: tables of one source read at once (the `sql_database.parallelism`
bound)."""

DESTINATIONS = ("lake", "both", "warehouse")
"""Values of the `destination` column."""

AZURE_SCHEMES = ("az", "abfs", "abfss", "azure")
"""fsspec schemes of Azure storage: `az://<account>` as `lake_base` names a storage account."""

SHEET_NAME = "SourceConfig"
"""The worksheet holding the jobs; other sheets (such as the template's help) are ignored."""


@dataclass(frozen=True)
class Column:
    """One column of the job sheet, as documented in the template's help sheet and the docs.

    Attributes:
        name: the header cell (case, spaces and hyphens in the header are ignored).
        required: when a row needs a value: `yes`, `no`, or the condition.
        values: what may be written.
        meaning: what it is.
        maps_to: where it goes in the `sql_database` source model.
    """

    name: str
    required: str
    values: str
    meaning: str
    maps_to: str


COLUMNS: tuple[Column, ...] = (
    Column("job_id", "yes", "any text or number, unique in the sheet",
           "Identifies the job (row) for people and messages.",
           "nothing (checked for uniqueness only)"),
    Column("source_type", "yes",
           "PostgreSQL, MySQL, MariaDB, MSSQL (SQL Server), Oracle, SQLite, or a SQLAlchemy "
           "dialect+driver such as mssql+pymssql",
           "The kind of database. MariaDB is read as MySQL. Rows of one source_name must agree.",
           "sql_database.credentials.drivername (postgresql, mysql, mssql, oracle, sqlite)"),
    Column("source_name", "yes", "lower-case letters, digits and _, starting with a letter",
           "The source: rows sharing it are one source (one asset group, one dlt pipeline, one "
           "connection). Also names its credentials in .dlt/secrets.toml.",
           "name (source); warehouse dataset raw_<source_name>"),
    Column("schema_name", "with Oracle", "a schema name, or blank for the connection's default",
           "The database schema holding the table (PostgreSQL public, a MySQL database, SQL "
           "Server dbo, an Oracle owner). Rows of one source_name must agree.",
           "sql_database.schema"),
    Column("table_name", "yes", "the table as the database spells it",
           "The table to load; warehouse table and asset key are its snake_case form. Each "
           "table once per source_name.",
           "sql_database.tables[].name"),
    Column("load_type", "yes", "FULL or INCREMENTAL",
           "FULL reloads the whole table every run; INCREMENTAL appends only rows whose "
           "watermark_column is at or above the last value loaded.",
           "tables[].write_disposition: replace (FULL) or append (INCREMENTAL)"),
    Column("enabled", "no", "Y or N (blank: Y)",
           "N keeps the row out of the loads. A source_name whose rows are all N is a disabled "
           "source (no assets).",
           "the row's table is left out; enabled (source) when every row is N"),
    Column("target_container", "with lake or both", "a container, bucket or folder name",
           "The data-lake container the table's parquet files go to: files land in "
           "<lake_base>/<target_container>/<target_folder_path>/raw_<source_name>/<table>/ "
           "(lake_base in sources.yml; default data/lake). Rows of one source_name must agree.",
           "lake.bucket_url: <lake_base>/<target_container> (az://<account>: that container)"),
    Column("target_folder_path", "no", "a folder path such as crm or sales/daily",
           "The folder inside target_container. Rows of one source_name must agree.",
           "lake.folder_path"),
    Column("destination", "no", "lake, both or warehouse (blank: lake when target_container "
           "is set, else warehouse)",
           "lake writes parquet files only; both writes them and then loads each new lake file "
           "into the warehouse once; warehouse loads the DuckDB warehouse only. Rows of one "
           "source_name must agree.",
           "destination"),
    Column("watermark_column", "with INCREMENTAL", "a column name as the database spells it",
           "The column that grows with every new or changed row (an id, updated_at). Blank "
           "with FULL.",
           "tables[].incremental.cursor"),
    Column("last_watermark", "no",
           "a number, a date/time cell, or text such as 2024-01-01T00:00:00Z",
           "Where the first INCREMENTAL run starts; blank loads everything. Later runs continue "
           "from the value kept in dlt's state, not from this cell. Blank with FULL.",
           "tables[].incremental.initial_value"),
    Column("query_filter", "no", "one SQL condition without ;",
           "Only rows matching it are loaded, e.g. status <> 'deleted'.",
           "tables[].query_filter"),
    Column("chunk_size", "no", "a whole number above 0 (blank: 50000)",
           "Rows read per batch.",
           "tables[].chunk_size"),
    Column("parallelism", "no", f"a whole number from 1 to {MAX_PARALLELISM} (blank: 1)",
           "How many of the source's tables are read from the database at once; the source "
           "uses the largest value of its rows. Writing the warehouse stays one load at a time.",
           "sql_database.parallelism (the largest of the source's rows)"),
    Column("schedule", "no", "a cron expression such as 0 6 * * * (blank: no schedule)",
           "Runs the row's source on that schedule (<source_name>_schedule, in sources.yml's "
           "timezone, starting stopped as every schedule). Rows of one source_name that set it "
           "must agree.",
           "schedule"),
)
"""Every column the sheet knows, in the template's order."""

COLUMN_NAMES: tuple[str, ...] = tuple(column.name for column in COLUMNS)
REQUIRED_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.required == "yes")
"""Columns the header must have; the others may be left out (all their cells blank)."""

SOURCE_TYPES: dict[str, str] = {
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
    "mssql": "mssql",
    "sqlserver": "mssql",
    "oracle": "oracle",
    "sqlite": "sqlite",
}
"""`source_type` (lower-case, without spaces, `_` and `-`) -> SQLAlchemy drivername; a bare
dialect gets the driver of `sql_database.DEFAULT_DRIVERS` (MariaDB: `mysql+pymysql`)."""

_YES = {"y", "yes", "true", "1"}
_NO = {"n", "no", "false", "0"}
_DIALECT_DRIVER = re.compile(r"^[a-z][a-z0-9_]*\+[a-z][a-z0-9_]*$")

_TABLE_FIELD_COLUMNS: dict[tuple[str, ...], str] = {
    ("name",): "table_name",
    ("write_disposition",): "load_type",
    ("incremental",): "watermark_column",
    ("incremental", "cursor"): "watermark_column",
    ("incremental", "initial_value"): "last_watermark",
    ("query_filter",): "query_filter",
    ("chunk_size",): "chunk_size",
    ("job_id",): "job_id",
}
_SOURCE_FIELD_COLUMNS: dict[tuple[str, ...], str] = {
    ("name",): "source_name",
    ("enabled",): "enabled",
    ("sql_database", "schema"): "schema_name",
    ("sql_database", "credentials"): "source_type",
    ("sql_database", "tables"): "table_name",
    ("sql_database", "parallelism"): "parallelism",
    ("destination",): "destination",
    ("lake",): "target_container",
    ("lake", "bucket_url"): "target_container",
    ("lake", "folder_path"): "target_folder_path",
    ("schedule",): "schedule",
}
"""Model field paths (a source's, a table's) -> the sheet column a value of theirs comes from."""


@dataclass(frozen=True)
class SheetRow:
    """One non-blank row below the header.

    Attributes:
        number: the Excel row number (the header is row 1).
        cells: column name -> cell value: text stripped, blank as None, whole floats as int.
    """

    number: int
    cells: dict[str, Any]

    def get(self, column: str) -> Any:
        """The cell of `column`; None when blank or when the sheet has no such column."""
        return self.cells.get(column)


@dataclass(frozen=True)
class Job:
    """A row that passed the row checks, with its values read.

    Attributes:
        row: the sheet row.
        source_name, table_name: as written (text).
        drivername: the SQLAlchemy drivername `source_type` maps to.
        schema_name: the schema, or None for the connection's default.
        incremental: `load_type` INCREMENTAL (else FULL).
        enabled: `enabled` is Y (or blank).
        container, folder_path: `target_container`, `target_folder_path` as text, or None.
        destination: `lake`, `both` or `warehouse` as written, or None when blank (then the
            source's other rows decide, or the default: `lake` with a `target_container`,
            else `warehouse`).
        parallelism: the `parallelism` cell, or None when blank.
        schedule: the `schedule` cell, or None when blank.
    """

    row: SheetRow
    source_name: str
    table_name: str
    drivername: str
    schema_name: str | None
    incremental: bool
    enabled: bool
    container: str | None = None
    folder_path: str | None = None
    destination: str | None = None
    parallelism: int | None = None
    schedule: str | None = None


@dataclass(frozen=True)
class Problem:
    """One problem of the sheet, on one or more rows and one column."""

    rows: tuple[int, ...]
    column: str
    message: str

    def text(self, where: str) -> str:
        """The message as reported: `<file>: sheet 'SourceConfig': row 4: <column>: <message>`."""
        return f"{where}: {rows_text(self.rows)}: {self.column}: {self.message}"

    def sort_key(self) -> tuple[int, int]:
        order = COLUMN_NAMES.index(self.column) if self.column in COLUMN_NAMES else len(COLUMN_NAMES)
        return (self.rows[0] if self.rows else 0, order)


@dataclass
class JobSheet:
    """The sources of a valid job sheet.

    Attributes:
        path: the workbook.
        sources: one `sql_database` source per `source_name`, in order of first row.
        rows: source name -> the Excel rows defining it.
    """

    path: Path
    sources: list[SqlDatabaseSourceConfig] = field(default_factory=list)
    rows: dict[str, list[int]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """`ingestion_config.xlsx: sheet 'SourceConfig'`: the start of every message."""
        return sheet_label(self.path)

    def origin(self, name: str) -> str:
        """Where source `name` is defined: `ingestion_config.xlsx: sheet 'SourceConfig': rows 2, 3`."""
        return f"{self.label}: {rows_text(self.rows[name])}"

    def conflicts(self, yaml_names: Iterable[str], yaml_label: str) -> list[str]:
        """One message per source name the sheet defines that the YAML defines too.

        Args:
            yaml_names: the source names of `sources.yml`.
            yaml_label: the YAML file's name, e.g. `sources.yml`.
        """
        taken = set(yaml_names)
        return [
            Problem(
                tuple(self.rows[source.name]),
                "source_name",
                f"{source.name!r} is also a source in {yaml_label}; define a source in one "
                f"place: use another source_name here or remove it from {yaml_label}",
            ).text(self.label)
            for source in self.sources
            if source.name in taken
        ]


def rows_text(numbers: Iterable[int]) -> str:
    """`row 4`, or `rows 2, 3` for several Excel row numbers."""
    numbers = list(numbers)
    label = "row" if len(numbers) == 1 else "rows"
    return f"{label} {', '.join(str(number) for number in numbers)}"


def sheet_label(path: Path) -> str:
    """The start of every message about the sheet: `<file name>: sheet 'SourceConfig'`."""
    return f"{path.name}: sheet {SHEET_NAME!r}"


def read_job_sheet(path: Path, lake_base: str | None = None) -> JobSheet:
    """Read and validate the job sheet of workbook `path`.

    Args:
        path: an `.xlsx` workbook with a `SourceConfig` sheet (header in row 1).
        lake_base: `lake_base` of `sources.yml`: where lake rows write (see `lake_location`);
            None is the default local folder `data/lake`.

    Returns:
        The sources its rows define (an empty sheet defines none).

    Raises:
        ConfigError: the file is missing or is not a readable workbook, has no `SourceConfig`
            sheet, or any row is invalid; one message per problem, naming row and column.
    """
    header, rows = _read_sheet(path)
    return build_job_sheet(path, header, rows, lake_base)


def build_job_sheet(
    path: Path, header: list[Any], rows: list[SheetRow], lake_base: str | None = None
) -> JobSheet:
    """Validate the header and rows of a job sheet and build its sources.

    Args:
        path: the workbook, for messages.
        header: the cells of row 1.
        rows: the non-blank rows below it, their cells by column (see `SheetRow`).
        lake_base: where lake rows write (see `lake_location`); None is `data/lake`.

    Raises:
        ConfigError: one message per problem, sorted by row and column.
    """
    problems = _header_problems(header)
    if not {_column_key(value) for value in header}.issuperset(REQUIRED_COLUMNS):
        # without a required column every row would repeat the problem: report the header alone
        raise ConfigError([p.text(sheet_label(path)) for p in problems])
    jobs: list[Job] = []
    for row in rows:
        job, row_problems = _read_job(row)
        problems += row_problems
        if job is not None:
            jobs.append(job)
    problems += _duplicate_job_ids(rows)
    sheet = JobSheet(path)
    for name, group in _by_source(jobs).items():
        consistent, group_problems = _consistent(group)
        problems += group_problems
        source, source_problems = _build_source(consistent, lake_base)
        problems += source_problems
        if source is not None:
            sheet.sources.append(source)
            sheet.rows[name] = [job.row.number for job in group]
    if problems:
        problems.sort(key=Problem.sort_key)
        raise ConfigError([problem.text(sheet_label(path)) for problem in problems])
    return sheet


# ------------------------------------------------------------------------------ reading cells


def _read_sheet(path: Path) -> tuple[list[Any], list[SheetRow]]:
    """The header cells and the non-blank rows of the `SourceConfig` sheet of `path`.

    Raises:
        ConfigError: missing file, not a workbook, no such sheet, or an empty header row.
    """
    import openpyxl

    if not path.exists():
        raise ConfigError([
            f"{path.name}: file not found at {path}; create it with `ingest excel-template`, "
            "or unset INGEST_JOB_SHEET / remove job_sheet: from sources.yml"
        ])
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # noqa: BLE001 - zip, XML or format errors all mean "unreadable"
        raise ConfigError([
            f"{path.name}: not a readable Excel workbook (.xlsx): {type(error).__name__}: {error}"
        ]) from None
    try:
        if SHEET_NAME not in workbook.sheetnames:
            found = ", ".join(repr(name) for name in workbook.sheetnames)
            raise ConfigError([
                f"{path.name}: no sheet {SHEET_NAME!r} (the workbook has {found}); put the jobs "
                f"on a sheet named {SHEET_NAME}"
            ])
        sheet = workbook[SHEET_NAME]
        sheet.reset_dimensions()  # do not trust the stored size: read every row that exists
        lines = list(sheet.iter_rows(values_only=True))
    finally:
        workbook.close()
    header = list(lines[0]) if lines else []
    if not any(_cell(value) is not None for value in header):
        raise ConfigError([
            f"{sheet_label(path)}: row 1: the header row is empty; write the column names "
            f"({', '.join(COLUMN_NAMES)}) in row 1"
        ])
    columns = [_column_key(value) for value in header]
    rows = []
    for number, values in enumerate(lines[1:], start=2):
        cells = {
            name: _cell(value)
            for name, value in zip(columns, values)
            if name in COLUMN_NAMES
        }
        if any(value is not None for value in cells.values()):
            rows.append(SheetRow(number, cells))
    return header, rows


def _column_key(value: Any) -> str | None:
    """A header cell as a column name: lower case, spaces and hyphens as `_`; None when blank."""
    if value is None or not str(value).strip():
        return None
    return re.sub(r"[\s\-]+", "_", str(value).strip().lower())


def _cell(value: Any) -> Any:
    """A cell value as read: text stripped (blank text is None), whole floats as int."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _header_problems(header: list[Any]) -> list[Problem]:
    """Missing required columns, columns given twice, and likely misspelt column names."""
    problems = []
    keys = [_column_key(value) for value in header]
    for name in REQUIRED_COLUMNS:
        if name not in keys:
            problems.append(Problem((1,), name, "required column is missing from the header"))
    for index, key in enumerate(keys):
        if key is None:
            continue
        if key in COLUMN_NAMES and keys.index(key) < index:
            problems.append(Problem((1,), key, "the column appears twice in the header"))
        elif key not in COLUMN_NAMES:
            close = difflib.get_close_matches(key, COLUMN_NAMES, n=1, cutoff=0.8)
            if close and close[0] not in keys:
                problems.append(
                    Problem((1,), str(header[index]).strip(), f"unknown column; did you mean {close[0]}?")
                )
    return problems


# ------------------------------------------------------------------------------ row checks


def _read_job(row: SheetRow) -> tuple[Job | None, list[Problem]]:
    """Check one row on its own: required values, known source and load types, Y/N, the
    watermark of INCREMENTAL and the schema of Oracle. Returns the job, or None with problems."""
    problems = [
        Problem((row.number,), column, "required")
        for column in ("job_id", "source_type", "source_name", "table_name", "load_type")
        if row.get(column) is None
    ]
    drivername = _drivername(row.get("source_type"))
    if row.get("source_type") is not None and drivername is None:
        problems.append(Problem(
            (row.number,),
            "source_type",
            f"{row.get('source_type')!r} is not a source type; use PostgreSQL, MySQL, MariaDB, "
            "MSSQL, Oracle, SQLite, or a SQLAlchemy dialect+driver such as mssql+pymssql",
        ))
    load_type = str(row.get("load_type") or "").upper()
    if row.get("load_type") is not None and load_type not in ("FULL", "INCREMENTAL"):
        problems.append(Problem(
            (row.number,), "load_type", f"{row.get('load_type')!r} is not FULL or INCREMENTAL"
        ))
    enabled = _yes_no(row.get("enabled"))
    if enabled is None:
        problems.append(Problem((row.number,), "enabled", f"{row.get('enabled')!r} is not Y or N"))
    if load_type == "INCREMENTAL" and row.get("watermark_column") is None:
        problems.append(
            Problem((row.number,), "watermark_column", "required when load_type is INCREMENTAL")
        )
    if load_type == "FULL":
        problems += [
            Problem((row.number,), column, (
                "set, but load_type is FULL, which reads the whole table every run: clear it, "
                "or use INCREMENTAL"
            ))
            for column in ("watermark_column", "last_watermark")
            if row.get(column) is not None
        ]
    if drivername is not None and drivername.startswith("oracle") and row.get("schema_name") is None:
        problems.append(Problem(
            (row.number,), "schema_name", "required for Oracle (the schema is the owning user)"
        ))
    container = _text(row.get("target_container"))
    folder_path = _text(row.get("target_folder_path"))
    destination = str(row.get("destination") or ("lake" if container else "warehouse")).lower()
    if destination not in DESTINATIONS:
        problems.append(Problem(
            (row.number,), "destination", f"{row.get('destination')!r} is not lake, both or warehouse"
        ))
    elif destination != "warehouse" and container is None:
        problems.append(Problem(
            (row.number,), "target_container",
            f"required when destination is {destination} (the container the files go to)",
        ))
    elif destination == "warehouse" and (container or folder_path):
        column = "target_container" if container else "target_folder_path"
        problems.append(Problem(
            (row.number,), column,
            "set, but destination is warehouse, which writes no lake files: clear it, or set "
            "destination to lake or both",
        ))
    parallelism = row.get("parallelism")
    if parallelism is not None and (
        isinstance(parallelism, bool)
        or not isinstance(parallelism, int)
        or not 1 <= parallelism <= MAX_PARALLELISM
    ):
        problems.append(Problem(
            (row.number,), "parallelism",
            f"{parallelism!r} is not a whole number from 1 to {MAX_PARALLELISM}",
        ))
    if problems:
        return None, problems
    schema = row.get("schema_name")
    return Job(
        row=row,
        source_name=str(row.get("source_name")),
        table_name=str(row.get("table_name")),
        drivername=drivername,  # type: ignore[arg-type] - checked above
        schema_name=None if schema is None else str(schema),
        incremental=load_type == "INCREMENTAL",
        enabled=bool(enabled),
        container=container,
        folder_path=folder_path,
        destination=None if row.get("destination") is None else destination,
        parallelism=parallelism,
        schedule=None if row.get("schedule") is None else str(row.get("schedule")),
    ), []


def _text(value: Any) -> str | None:
    """A cell as text (None when blank); a folder path without leading or trailing `/`."""
    if value is None:
        return None
    text = str(value).strip().strip("/")
    return text or None


def _drivername(source_type: Any) -> str | None:
    """The SQLAlchemy drivername of a `source_type` cell, or None when it names none."""
    if source_type is None:
        return None
    text = str(source_type).strip().lower()
    if _DIALECT_DRIVER.match(text):
        return text
    return SOURCE_TYPES.get(re.sub(r"[\s_\-]+", "", text))


def _yes_no(value: Any) -> bool | None:
    """`enabled` as a bool (blank is Y), or None when it is neither Y nor N."""
    if value is None:
        return True
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return True if text in _YES else False if text in _NO else None


def _duplicate_job_ids(rows: list[SheetRow]) -> list[Problem]:
    """A problem on every row repeating the `job_id` of an earlier row (`1` and `1.0` are equal)."""
    first: dict[str, int] = {}
    problems = []
    for row in rows:
        job_id = row.get("job_id")
        if job_id is None:
            continue
        key = str(job_id)
        if key in first:
            problems.append(Problem(
                (row.number,), "job_id", f"{job_id!r} is also the job_id of row {first[key]}"
            ))
        else:
            first[key] = row.number
    return problems


# ------------------------------------------------------------------------------ sources


def _by_source(jobs: list[Job]) -> dict[str, list[Job]]:
    """The jobs grouped by `source_name`, groups in order of their first row."""
    groups: dict[str, list[Job]] = {}
    for job in jobs:
        groups.setdefault(job.source_name, []).append(job)
    return groups


def _consistent(group: list[Job]) -> tuple[list[Job], list[Problem]]:
    """The jobs of one source that agree with its first row on database and schema and load a
    table no earlier row loads; a problem for each of the others."""
    first = group[0]
    kept = [first]
    problems = []
    tables = {asset_table_name(first.table_name): first}
    for job in group[1:]:
        number = (job.row.number,)
        earlier = tables.get(asset_table_name(job.table_name))
        if job.drivername != first.drivername:
            problems.append(Problem(number, "source_type", (
                f"{job.row.get('source_type')!r} differs from {first.row.get('source_type')!r} "
                f"in row {first.row.number}; the rows of source_name {job.source_name!r} read "
                "one database: give them one source_type or use another source_name"
            )))
        elif job.schema_name != first.schema_name:
            problems.append(Problem(number, "schema_name", (
                f"{job.schema_name or '(blank)'!r} differs from {first.schema_name or '(blank)'!r} "
                f"in row {first.row.number}; a source reads one schema: use another source_name "
                "for the tables of this schema"
            )))
        elif (column := _disagreeing_column(job, group)) is not None:
            value, other = _source_setting(column, job, group)
            problems.append(Problem(number, column, (
                f"{_shown(value)} differs from {_shown(other.setting)} in row {other.row}; the rows of "
                f"source_name {job.source_name!r} are one source with one {column}: give them "
                "the same value or use another source_name for this table"
            )))
        elif earlier is not None:
            same = "" if earlier.table_name == job.table_name else (
                f" (both load warehouse table {asset_table_name(job.table_name)!r})"
            )
            problems.append(Problem(number, "table_name", (
                f"{job.table_name!r} is loaded by row {earlier.row.number} of source "
                f"{job.source_name!r} too{same}; list each table once per source_name"
            )))
        else:
            tables[asset_table_name(job.table_name)] = job
            kept.append(job)
    return kept, problems


_SOURCE_SETTINGS: dict[str, tuple[str, bool]] = {
    "target_container": ("container", False),
    "target_folder_path": ("folder_path", False),
    "destination": ("destination", True),
    "schedule": ("schedule", True),
}
"""Row columns that are settings of the whole source: column -> (`Job` attribute, whether a
blank cell leaves the setting to the other rows). Rows of one source must agree on them."""


@dataclass(frozen=True)
class _Setting:
    setting: Any
    row: int


def _source_setting(column: str, job: Job, group: list[Job]) -> tuple[Any, _Setting]:
    """`job`'s value of source setting `column`, and the first earlier row's value it is
    compared with (the first row of the group, or for a blank-tolerant setting the first row
    that sets it)."""
    attribute, blank_ok = _SOURCE_SETTINGS[column]
    value = getattr(job, attribute)
    for other in group:
        if other is job:
            break
        if blank_ok and getattr(other, attribute) is None:
            continue
        return value, _Setting(getattr(other, attribute), other.row.number)
    return value, _Setting(value, job.row.number)


def _shown(value: Any) -> str:
    """A cell value in a message: quoted, or `(blank)`."""
    return "(blank)" if value is None else repr(value)


def _disagreeing_column(job: Job, group: list[Job]) -> str | None:
    """The first source-setting column whose value in `job` differs from an earlier row's."""
    for column, (attribute, blank_ok) in _SOURCE_SETTINGS.items():
        if blank_ok and getattr(job, attribute) is None:
            continue
        value, other = _source_setting(column, job, group)
        if value != other.setting:
            return column
    return None


def lake_location(lake_base: str | None, container: str) -> str:
    """The lake `bucket_url` of a source whose rows write to `target_container` `container`.

    Args:
        lake_base: `lake_base` of `sources.yml`; None is `data/lake` (a project folder).
        container: the rows' `target_container`.

    Returns:
        For an Azure storage account base `az://<account>` (also `abfs://`, `abfss://`,
        `azure://`; nothing after the account), the container of that account:
        `az://<container>@<account>.blob.core.windows.net` (`abfs`/`abfss`:
        `<container>@<account>.dfs.core.windows.net`), the form dlt and adlfs read the
        account from. For any other base (a local folder, `s3://bucket/prefix`, `gs://...`, an
        Azure URL naming a container), the folder `<lake_base>/<container>`.
    """
    base = (lake_base or LakeConfig.model_fields["bucket_url"].default).rstrip("/")
    scheme, _, rest = base.partition("://")
    if scheme.lower() in AZURE_SCHEMES and rest and "/" not in rest and "@" not in rest:
        host = "dfs" if scheme.lower() in ("abfs", "abfss") else "blob"
        return f"{scheme}://{container}@{rest}.{host}.core.windows.net"
    return f"{base}/{container}"


def _build_source(
    jobs: list[Job], lake_base: str | None = None
) -> tuple[SqlDatabaseSourceConfig | None, list[Problem]]:
    """The `sql_database` source of one `source_name`'s jobs, or None with the problems of its
    model, each mapped to a row and column.

    All jobs are validated, disabled ones too; the source holds the enabled jobs' tables, or,
    when every job is disabled, all its tables with `enabled: false`.
    """
    try:
        SqlDatabaseSourceConfig.model_validate(source_document(jobs, lake_base))
    except ValidationError as error:
        return None, [_model_problem(e, jobs) for e in error.errors()]
    enabled = [job for job in jobs if job.enabled]
    return SqlDatabaseSourceConfig.model_validate(source_document(enabled or jobs, lake_base)), []


def source_document(jobs: list[Job], lake_base: str | None = None) -> dict[str, Any]:
    """The `sources.yml` entry (a raw dict) of one source's jobs, the same that a YAML user
    would write: `name`, `type`, `enabled` (false when every job is disabled), `schedule` when
    a row sets one, `destination` and `lake` for lake rows (see `lake_location`), and
    `sql_database` with `credentials: {drivername}`, `schema` when set, `parallelism` (the
    largest of the rows') when set and one table per job.

    Args:
        jobs: the jobs of one source, agreeing on its settings (see `_consistent`).
        lake_base: `lake_base` of `sources.yml`, or None for `data/lake`.
    """
    first = jobs[0]
    block: dict[str, Any] = {"credentials": {"drivername": first.drivername}}
    if first.schema_name is not None:
        block["schema"] = first.schema_name
    block["tables"] = [_table_document(job) for job in jobs]
    parallelism = [job.parallelism for job in jobs if job.parallelism is not None]
    if parallelism:
        block["parallelism"] = max(parallelism)
    document: dict[str, Any] = {
        "name": first.source_name,
        "type": "sql_database",
        "enabled": any(job.enabled for job in jobs),
    }
    schedule = next((job.schedule for job in jobs if job.schedule is not None), None)
    if schedule is not None:
        document["schedule"] = schedule
    destination = next((job.destination for job in jobs if job.destination is not None), None)
    destination = destination or ("lake" if first.container else "warehouse")
    if destination != "warehouse":
        document["destination"] = destination
        document["lake"] = {"bucket_url": lake_location(lake_base, str(first.container))}
        if first.folder_path:
            document["lake"]["folder_path"] = first.folder_path
    document["sql_database"] = block
    return document


def _table_document(job: Job) -> dict[str, Any]:
    """The table entry of one job; optional keys only when their cell is set."""
    row = job.row
    table: dict[str, Any] = {"name": job.table_name}
    if job.incremental:
        table["write_disposition"] = "append"
        table["incremental"] = {
            "cursor": str(row.get("watermark_column")),
            "initial_value": watermark_value(row.get("last_watermark")),
        }
    else:
        table["write_disposition"] = "replace"
    if row.get("query_filter") is not None:
        table["query_filter"] = str(row.get("query_filter"))
    if row.get("chunk_size") is not None:
        table["chunk_size"] = row.get("chunk_size")
    table["job_id"] = str(row.get("job_id"))
    return table


def watermark_value(value: Any) -> Any:
    """A `last_watermark` cell as an incremental `initial_value`, read as YAML would read it.

    Numbers and date/time cells are taken as they are (a date cell is a timestamp at midnight,
    without time zone). Text that YAML reads as a number, date or timestamp becomes one
    (`2024-01-01T00:00:00Z` is a UTC timestamp, `2024-01-01` a date, `42` an integer); any other
    text stays text. Blank is None: load everything.
    """
    if not isinstance(value, str):
        return value
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        return value
    if isinstance(parsed, (int, float, date, datetime)) and not isinstance(parsed, bool):
        return parsed
    return value


def _model_problem(error: dict, jobs: list[Job]) -> Problem:
    """A pydantic error of a source built from `jobs`, placed on the row(s) and column its
    value came from: a table's field on that table's row, a source's field on all its rows."""
    loc = tuple(error["loc"])
    fields = tuple(part for part in loc if isinstance(part, str) and "[" not in part)
    if loc[:2] == ("sql_database", "tables") and len(loc) > 2 and isinstance(loc[2], int):
        rows: tuple[int, ...] = (jobs[loc[2]].row.number,)
        table_fields = tuple(p for p in loc[3:] if isinstance(p, str) and "[" not in p)
        column = _lookup(_TABLE_FIELD_COLUMNS, table_fields) or "table_name"
    else:
        column = _lookup(_SOURCE_FIELD_COLUMNS, fields) or "source_name"
        # a setting some rows give (schedule, parallelism, ...): on those rows
        rows = tuple(job.row.number for job in jobs if job.row.get(column) is not None) or tuple(
            job.row.number for job in jobs
        )
    return Problem(rows, column, field_message(error))


def _lookup(columns: dict[tuple[str, ...], str], fields: tuple[str, ...]) -> str | None:
    """The column of the longest prefix of `fields` that `columns` knows."""
    for end in range(len(fields), 0, -1):
        if fields[:end] in columns:
            return columns[fields[:end]]
    return None

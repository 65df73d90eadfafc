"""The columns of the job sheet (`SourceConfig`): names, meaning, and which model field each fills."""

from __future__ import annotations

from dataclasses import dataclass

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
    Column(
        "job_id",
        "yes",
        "any text or number, unique in the sheet",
        "Identifies the job (row) for people and messages.",
        "nothing (checked for uniqueness only)",
    ),
    Column(
        "source_type",
        "yes",
        "PostgreSQL, MySQL, MariaDB, MSSQL (SQL Server), Oracle, SQLite, or a SQLAlchemy "
        "dialect+driver such as mssql+pymssql",
        "The kind of database. MariaDB is read as MySQL. Rows of one source_name must agree.",
        "sql_database.credentials.drivername (postgresql, mysql, mssql, oracle, sqlite)",
    ),
    Column(
        "source_name",
        "yes",
        "lower-case letters, digits and _, starting with a letter",
        "The source: rows sharing it are one source (one asset group, one dlt pipeline, one "
        "connection). Also names its credentials in .dlt/secrets.toml.",
        "name (source); warehouse dataset raw_<source_name>",
    ),
    Column(
        "schema_name",
        "with Oracle",
        "a schema name, or blank for the connection's default",
        "The database schema holding the table (PostgreSQL public, a MySQL database, SQL "
        "Server dbo, an Oracle owner). Rows of one source_name must agree.",
        "sql_database.schema",
    ),
    Column(
        "table_name",
        "yes",
        "the table as the database spells it",
        "The table to load; warehouse table and asset key are its snake_case form. Each "
        "table once per source_name.",
        "sql_database.tables[].name",
    ),
    Column(
        "load_type",
        "yes",
        "FULL or INCREMENTAL",
        "FULL reloads the whole table every run; INCREMENTAL appends only rows whose "
        "watermark_column is at or above the last value loaded.",
        "tables[].write_disposition: replace (FULL) or append (INCREMENTAL)",
    ),
    Column(
        "enabled",
        "no",
        "Y or N (blank: Y)",
        "N keeps the row out of the loads. A source_name whose rows are all N is a disabled "
        "source (no assets).",
        "the row's table is left out; enabled (source) when every row is N",
    ),
    Column(
        "target_container",
        "with lake or both",
        "a container, bucket or folder name",
        "The data-lake container the table's parquet files go to: files land in "
        "<lake_base>/<target_container>/<target_folder_path>/raw_<source_name>/<table>/ "
        "(lake_base in sources.yml; default data/lake). Rows of one source_name must agree.",
        "lake.bucket_url: <lake_base>/<target_container> (az://<account>: that container)",
    ),
    Column(
        "target_folder_path",
        "no",
        "a folder path such as crm or sales/daily",
        "The folder inside target_container. Rows of one source_name must agree.",
        "lake.folder_path",
    ),
    Column(
        "destination",
        "no",
        "lake, both or warehouse (blank: lake when target_container is set, else warehouse)",
        "lake writes parquet files only; both writes them and then loads each new lake file "
        "into the warehouse once; warehouse loads the DuckDB warehouse only. Rows of one "
        "source_name must agree.",
        "destination",
    ),
    Column(
        "watermark_column",
        "with INCREMENTAL",
        "a column name as the database spells it",
        "The column that grows with every new or changed row (an id, updated_at). Blank with FULL.",
        "tables[].incremental.cursor",
    ),
    Column(
        "last_watermark",
        "no",
        "a number, a date/time cell, or text such as 2024-01-01T00:00:00Z",
        "Where the first INCREMENTAL run starts; blank loads everything. Later runs continue "
        "from the value kept in dlt's state, not from this cell. Blank with FULL.",
        "tables[].incremental.initial_value",
    ),
    Column(
        "query_filter",
        "no",
        "one SQL condition without ;",
        "Only rows matching it are loaded, e.g. status <> 'deleted'.",
        "tables[].query_filter",
    ),
    Column(
        "chunk_size",
        "no",
        "a whole number above 0 (blank: 50000)",
        "Rows read per batch.",
        "tables[].chunk_size",
    ),
    Column(
        "parallelism",
        "no",
        f"a whole number from 1 to {MAX_PARALLELISM} (blank: 1)",
        "How many of the source's tables are read from the database at once; the source "
        "uses the largest value of its rows. Writing the warehouse stays one load at a time.",
        "sql_database.parallelism (the largest of the source's rows)",
    ),
    Column(
        "schedule",
        "no",
        "a cron expression such as 0 6 * * * (blank: no schedule)",
        "Runs the row's source on that schedule (<source_name>_schedule, in sources.yml's "
        "timezone, starting stopped as every schedule). Rows of one source_name that set it "
        "must agree.",
        "schedule",
    ),
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


def _lookup(columns: dict[tuple[str, ...], str], fields: tuple[str, ...]) -> str | None:
    """The column of the longest prefix of `fields` that `columns` knows."""
    for end in range(len(fields), 0, -1):
        if fields[:end] in columns:
            return columns[fields[:end]]
    return None

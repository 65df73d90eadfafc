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

Modules: `columns` (the sheet's columns), `rows` (reading rows, how problems name them),
`jobs` (one row as a load job; a source's rows agreeing), `documents` (a source's jobs as the
`sql_database` document sources.yml would hold); this module reads and builds the sheet.

Credentials never come from the sheet: `source_type` sets only the SQLAlchemy driver, and host,
port, database, user and password resolve like those of any `sql_database` source without a
`credentials:` block, from `[sources.<source_name>.credentials]` in `.dlt/secrets.toml` or the
`SOURCES__<SOURCE_NAME>__CREDENTIALS[__<PART>]` environment variables.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest_assets.config.errors import ConfigError
from ingest_assets.config.job_sheet.columns import (
    COLUMN_NAMES,
    COLUMNS,
    REQUIRED_COLUMNS,
    SHEET_NAME,
    SOURCE_TYPES,
    Column,
)
from ingest_assets.config.job_sheet.documents import _build_source, lake_location, source_document
from ingest_assets.config.job_sheet.jobs import (
    Job,
    _by_source,
    _consistent,
    _duplicate_job_ids,
    _read_job,
    watermark_value,
)
from ingest_assets.config.job_sheet.rows import (
    Problem,
    SheetRow,
    _column_key,
    _header_problems,
    _read_sheet,
    rows_text,
    sheet_label,
)
from ingest_assets.sources.sql_database import SqlDatabaseSourceConfig

__all__ = [
    "COLUMNS",
    "COLUMN_NAMES",
    "REQUIRED_COLUMNS",
    "SHEET_NAME",
    "SOURCE_TYPES",
    "Column",
    "Job",
    "JobSheet",
    "Problem",
    "SheetRow",
    "build_job_sheet",
    "lake_location",
    "read_job_sheet",
    "rows_text",
    "sheet_label",
    "source_document",
    "watermark_value",
]


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


# ------------------------------------------------------------------------------ row checks


# ------------------------------------------------------------------------------ sources

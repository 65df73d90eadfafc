"""Write a sample Excel job sheet (`ingest excel-template`): the jobs sheet and a help sheet.

The workbook has the `SourceConfig` sheet that `ingest_assets.config.job_sheet` reads (header
row, a few example jobs, drop-down lists for the fixed values) and a `Columns` sheet explaining
every column, made from `job_sheet.COLUMNS` so the help never drifts from what is read.

Without `--output` the workbook is `ingestion_config.example.xlsx` at the project root, which
nothing reads, and its example jobs are disabled: writing the template never changes what the
project loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingest_assets.config.job_sheet import COLUMN_NAMES, COLUMNS, SHEET_NAME
from ingest_assets.settings import ProjectPaths

HELP_SHEET_NAME = "Columns"

EXAMPLE_FILE_NAME = "ingestion_config.example.xlsx"
"""Where `ingest excel-template` writes without `--output`: beside the project's job sheet, under
a name no definitions load reads (the job sheet is `ingestion_config.xlsx`), and git-ignored."""

EXAMPLE_JOBS: tuple[dict[str, Any], ...] = (
    {
        "job_id": 1,
        "source_type": "PostgreSQL",
        "source_name": "crm",
        "schema_name": "public",
        "table_name": "orders",
        "load_type": "INCREMENTAL",
        "enabled": "N",
        "target_container": "raw",
        "target_folder_path": "crm",
        "destination": "both",
        "watermark_column": "updated_at",
        "last_watermark": "2024-01-01T00:00:00Z",
        "query_filter": "status <> 'deleted'",
        "chunk_size": 50000,
        "parallelism": 2,
        "schedule": "0 6 * * *",
    },
    {
        "job_id": 2,
        "source_type": "PostgreSQL",
        "source_name": "crm",
        "schema_name": "public",
        "table_name": "customers",
        "load_type": "FULL",
        "enabled": "N",
        "target_container": "raw",
        "target_folder_path": "crm",
        "parallelism": 2,
    },
    {
        "job_id": 3,
        "source_type": "MySQL",
        "source_name": "webshop",
        "schema_name": "webshop",
        "table_name": "products",
        "load_type": "FULL",
        "enabled": "N",
        "chunk_size": 10000,
        "schedule": "30 * * * *",
    },
    {
        "job_id": 4,
        "source_type": "MSSQL",
        "source_name": "erp",
        "schema_name": "dbo",
        "table_name": "SalesOrderHeader",
        "load_type": "INCREMENTAL",
        "enabled": "N",
        "target_container": "landing",
        "target_folder_path": "erp/sales",
        "destination": "lake",
        "watermark_column": "SalesOrderID",
        "last_watermark": 0,
    },
)
"""The template's example rows, all disabled (`enabled` N) so that a template saved as the job
sheet loads nothing until edited: PostgreSQL incremental + full into the lake and the warehouse
(`both`) daily at 06:00 with two tables read at once, MySQL full into the warehouse hourly, and
SQL Server incremental into the lake only."""

NOTES: tuple[str, ...] = (
    "Rows sharing a source_name are one source: one asset group, one connection, one schema, "
    "one lake folder, one schedule.",
    "Credentials never go in this workbook. Put them in .dlt/secrets.toml of the project: "
    '[sources.<source_name>] credentials = "postgresql://user:password@host:5432/database", '
    "or the parts under [sources.<source_name>.credentials] (host, port, database, username, "
    "password), or set SOURCES__<SOURCE_NAME>__CREDENTIALS. source_type picks the driver. "
    "Lake credentials go under [sources.<source_name>_lake.credentials].",
    "Lake rows write <lake_base>/<target_container>/<target_folder_path>/raw_<source_name>/<table>/; "
    "lake_base is set in sources.yml (a folder, s3://bucket, or az://<storage account>; "
    "default data/lake).",
    "The header must be row 1; blank rows are skipped; columns not listed here are not read.",
    "The example jobs are disabled (enabled N). Replace them with yours, set enabled to Y, save "
    "the workbook as ingestion_config.xlsx in the project (or name it with job_sheet: in "
    "sources.yml), then run ingest validate.",
    "A source_name must not also be a source in sources.yml.",
    "Reference: docs/excel_job_sheet.md.",
)


def default_template_path(paths: ProjectPaths) -> Path:
    """`<project>/ingestion_config.example.xlsx`: where the template goes without `--output`."""
    return paths.root / EXAMPLE_FILE_NAME


def write_template(path: Path, force: bool = False) -> Path:
    """Write the sample job sheet workbook to `path`.

    Args:
        path: the `.xlsx` file to write; missing parent folders are created.
        force: overwrite an existing file.

    Returns:
        `path`.

    Raises:
        FileExistsError: `path` exists and `force` is False (the file is left as it is).
    """
    from openpyxl import Workbook

    if path.exists() and not force:
        raise FileExistsError(f"{path} exists; pass --force to overwrite it")
    workbook = Workbook()
    _jobs_sheet(workbook.active)
    _help_sheet(workbook.create_sheet(HELP_SHEET_NAME))
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def _jobs_sheet(sheet: Any) -> None:
    """Fill `sheet` as the `SourceConfig` sheet: header, example jobs, drop-downs."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    sheet.title = SHEET_NAME
    sheet.append(list(COLUMN_NAMES))
    for job in EXAMPLE_JOBS:
        sheet.append([job.get(name) for name in COLUMN_NAMES])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for index, name in enumerate(COLUMN_NAMES, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(14, len(name) + 4)
        if name in ("last_watermark", "schedule"):  # text: Excel must not turn them into numbers
            for row in range(2, 1001):
                sheet[f"{letter}{row}"].number_format = "@"
    choices = {
        "source_type": "PostgreSQL,MySQL,MariaDB,MSSQL,Oracle,SQLite",
        "load_type": "FULL,INCREMENTAL",
        "enabled": "Y,N",
        "destination": "lake,both,warehouse",
    }
    for name, values in choices.items():
        letter = get_column_letter(COLUMN_NAMES.index(name) + 1)
        # a warning, not a stop: a dialect+driver such as mssql+pymssql is valid too
        validation = DataValidation(type="list", formula1=f'"{values}"', errorStyle="warning")
        validation.add(f"{letter}2:{letter}1000")
        sheet.add_data_validation(validation)


def _help_sheet(sheet: Any) -> None:
    """Fill `sheet` with one row per column (required, values, meaning, maps to) and notes."""
    from openpyxl.styles import Alignment, Font

    sheet.append(["column", "required", "values", "meaning", "maps to (sources.yml)"])
    for column in COLUMNS:
        sheet.append([column.name, column.required, column.values, column.meaning, column.maps_to])
    sheet.append([])
    sheet.append(["notes"])
    notes_row = sheet.max_row
    for note in NOTES:
        sheet.append([note])
    for cell in (*sheet[1], sheet.cell(notes_row, 1)):
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDE", (20, 16, 40, 70, 45)):
        sheet.column_dimensions[letter].width = width
    for row in sheet.iter_rows(min_row=2, max_row=len(COLUMNS) + 1):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"

"""Write a sample Excel job sheet (`ingest excel-template`): the jobs sheet and a help sheet.

The workbook has the `SourceConfig` sheet that `ingest_assets.config.job_sheet` reads (header
row, a few example jobs, drop-down lists for the fixed values) and a `Columns` sheet explaining
every column, made from `job_sheet.COLUMNS` so the help never drifts from what is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingest_assets.config.job_sheet import COLUMN_NAMES, COLUMNS, SHEET_NAME

HELP_SHEET_NAME = "Columns"

EXAMPLE_JOBS: tuple[dict[str, Any], ...] = (
    {
        "job_id": 1, "source_type": "PostgreSQL", "source_name": "crm", "schema_name": "public",
        "table_name": "orders", "load_type": "INCREMENTAL", "enabled": "Y",
        "target_container": "raw", "target_folder_path": "crm/orders",
        "watermark_column": "updated_at", "last_watermark": "2024-01-01T00:00:00Z",
        "query_filter": "status <> 'deleted'", "chunk_size": 50000, "parallelism": 1,
    },
    {
        "job_id": 2, "source_type": "PostgreSQL", "source_name": "crm", "schema_name": "public",
        "table_name": "customers", "load_type": "FULL", "enabled": "Y",
        "target_container": "raw", "target_folder_path": "crm/customers", "parallelism": 1,
    },
    {
        "job_id": 3, "source_type": "MySQL", "source_name": "webshop", "schema_name": "webshop",
        "table_name": "products", "load_type": "FULL", "enabled": "Y", "chunk_size": 10000,
    },
    {
        "job_id": 4, "source_type": "MSSQL", "source_name": "erp", "schema_name": "dbo",
        "table_name": "SalesOrderHeader", "load_type": "INCREMENTAL", "enabled": "N",
        "watermark_column": "SalesOrderID", "last_watermark": 0,
    },
)
"""The template's example rows: PostgreSQL incremental + full, MySQL full, a disabled SQL Server job."""

NOTES: tuple[str, ...] = (
    "Rows sharing a source_name are one source: one asset group, one connection, one schema.",
    "Credentials never go in this workbook. Put them in .dlt/secrets.toml of the project: "
    '[sources.<source_name>] credentials = "postgresql://user:password@host:5432/database", '
    "or the parts under [sources.<source_name>.credentials] (host, port, database, username, "
    "password), or set SOURCES__<SOURCE_NAME>__CREDENTIALS. source_type picks the driver.",
    "The header must be row 1; blank rows are skipped; other columns are ignored.",
    "The example rows are real jobs once saved: replace them with yours, then run ingest validate.",
    "A source_name must not also be a source in sources.yml.",
    "Reference: docs/excel_job_sheet.md.",
)


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
        if name == "last_watermark":  # text, so that Excel does not turn timestamps into numbers
            for row in range(2, 1001):
                sheet[f"{letter}{row}"].number_format = "@"
    choices = {
        "source_type": "PostgreSQL,MySQL,MariaDB,MSSQL,Oracle,SQLite",
        "load_type": "FULL,INCREMENTAL",
        "enabled": "Y,N",
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

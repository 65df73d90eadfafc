"""Reading the job sheet's rows with openpyxl, and how its problems name rows and columns."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest_assets.config.errors import ConfigError
from ingest_assets.config.job_sheet.columns import COLUMN_NAMES, REQUIRED_COLUMNS, SHEET_NAME


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
class Problem:
    """One problem of the sheet, on one or more rows and one column."""

    rows: tuple[int, ...]
    column: str
    message: str

    def text(self, where: str) -> str:
        """The message as reported: `<file>: sheet 'SourceConfig': row 4: <column>: <message>`."""
        return f"{where}: {rows_text(self.rows)}: {self.column}: {self.message}"

    def sort_key(self) -> tuple[int, int]:
        order = (
            COLUMN_NAMES.index(self.column) if self.column in COLUMN_NAMES else len(COLUMN_NAMES)
        )
        return (self.rows[0] if self.rows else 0, order)


def rows_text(numbers: Iterable[int]) -> str:
    """`row 4`, or `rows 2, 3` for several Excel row numbers."""
    numbers = list(numbers)
    label = "row" if len(numbers) == 1 else "rows"
    return f"{label} {', '.join(str(number) for number in numbers)}"


def sheet_label(path: Path) -> str:
    """The start of every message about the sheet: `<file name>: sheet 'SourceConfig'`."""
    return f"{path.name}: sheet {SHEET_NAME!r}"


def _read_sheet(path: Path) -> tuple[list[Any], list[SheetRow]]:
    """The header cells and the non-blank rows of the `SourceConfig` sheet of `path`.

    Raises:
        ConfigError: missing file, not a workbook, no such sheet, or an empty header row.
    """
    import openpyxl

    if not path.exists():
        raise ConfigError(
            [
                f"{path.name}: file not found at {path}; create it with `ingest excel-template`, "
                "or unset INGEST_JOB_SHEET / remove job_sheet: from sources.yml"
            ]
        )
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # noqa: BLE001 - zip, XML or format errors all mean "unreadable"
        raise ConfigError(
            [f"{path.name}: not a readable Excel workbook (.xlsx): {type(error).__name__}: {error}"]
        ) from None
    try:
        if SHEET_NAME not in workbook.sheetnames:
            found = ", ".join(repr(name) for name in workbook.sheetnames)
            raise ConfigError(
                [
                    f"{path.name}: no sheet {SHEET_NAME!r} (the workbook has {found}); put the jobs "
                    f"on a sheet named {SHEET_NAME}"
                ]
            )
        sheet = workbook[SHEET_NAME]
        sheet.reset_dimensions()  # do not trust the stored size: read every row that exists
        lines = list(sheet.iter_rows(values_only=True))
    finally:
        workbook.close()
    header = list(lines[0]) if lines else []
    if not any(_cell(value) is not None for value in header):
        raise ConfigError(
            [
                f"{sheet_label(path)}: row 1: the header row is empty; write the column names "
                f"({', '.join(COLUMN_NAMES)}) in row 1"
            ]
        )
    columns = [_column_key(value) for value in header]
    rows = []
    for number, values in enumerate(lines[1:], start=2):
        cells = {name: _cell(value) for name, value in zip(columns, values) if name in COLUMN_NAMES}
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
                    Problem(
                        (1,),
                        str(header[index]).strip(),
                        f"unknown column; did you mean {close[0]}?",
                    )
                )
    return problems

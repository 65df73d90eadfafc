"""How a table's files are read: format, csv and JSON reader options, column types, and the
error a file that cannot be read raises."""

from __future__ import annotations

import codecs
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field, field_validator

from ingest_assets.config.common import StrictModel
from ingest_assets.errors import IngestError

FileFormat = Literal["csv", "jsonl", "json", "parquet"]


class FileReadError(IngestError):
    """A file matched a table's glob but could not be read as its configured format, or its
    values do not fit the table's existing column types.

    Attributes:
        line: where the reader stopped, when it knows: the line of a csv or jsonl file (the
            header is line 1), the row of a parquet or JSON-array file (first row is 1).
        column: the column whose value could not be read, when known.
    """

    def __init__(self, message: str, line: int | None = None, column: str | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


DLT_COLUMNS = frozenset(
    {"_dlt_load_id", "_dlt_id", "_dlt_parent_id", "_dlt_root_id", "_dlt_list_idx"}
)
"""Columns dlt writes itself; a file column with one of these names (after dlt's name
normalization) would be overwritten or mistaken for dlt's own, so such a file is refused."""


NATIVE_ENCODINGS = {"utf-8": "utf-8", "utf-16": "utf-16", "iso8859-1": "latin-1"}
"""Python codec name -> the name DuckDB's CSV reader decodes natively. Any other Python codec
(cp1252, iso8859-15, utf-16-le, ...) is transcoded to UTF-8 first, streaming, into a work file."""


def canonical_type(type_text: str) -> str:
    """DuckDB's own spelling of a SQL type (`int` -> `INTEGER`, `text` -> `VARCHAR`).

    Raises:
        ValueError: DuckDB does not know the type; the message has its did-you-mean.
    """
    import duckdb  # only a table with `columns:` types needs it, not a definitions load

    try:
        return str(duckdb.sqltype(type_text))
    except duckdb.Error as error:
        raise ValueError(
            f"{type_text!r} is not a DuckDB type: {str(error).splitlines()[0]}"
        ) from None


class CsvOptions(StrictModel):
    """How DuckDB's CSV reader reads a table's csv files (`csv:` on the table). Anything not set
    is detected by DuckDB's sniffer, except `skip_rows` (0: no line is ever skipped silently).

    Attributes:
        delimiter: field separator, e.g. `;` or `"\\t"`.
        quote: quote character, e.g. `'"'`.
        escape: character that escapes a quote inside a quoted field.
        header: whether the first line (after `skip_rows`) holds the column names.
        skip_rows: lines to skip at the top of the file (a preamble).
        null_values: strings that mean NULL, e.g. `["NA", ""]` for R/SAS exports.
        encoding: any Python codec name: `utf-8` (default), `utf-16` and `latin-1` are decoded
            by DuckDB, others (`cp1252`, `iso8859-15`, ...) are transcoded to UTF-8 first.
        date_format, timestamp_format: strftime formats, e.g. `%d.%m.%Y`, `%d/%m/%Y %H:%M`.
        decimal_separator: `.` or `,` (for numbers like `3,14`).
    """

    delimiter: str | None = Field(default=None, min_length=1, max_length=4)
    quote: str | None = Field(default=None, max_length=1)
    escape: str | None = Field(default=None, max_length=1)
    header: bool | None = None
    skip_rows: int = Field(default=0, ge=0)
    null_values: list[str] | None = None
    encoding: str = "utf-8"
    date_format: str | None = Field(default=None, min_length=1)
    timestamp_format: str | None = Field(default=None, min_length=1)
    decimal_separator: Literal[".", ","] | None = None

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            return codecs.lookup(value).name
        except LookupError:
            raise ValueError(
                f"unknown encoding {value!r}; use e.g. utf-8, utf-16, latin-1, cp1252"
            ) from None


class JsonOptions(StrictModel):
    """How DuckDB's JSON reader reads a table's files (`json:` on the table).

    Attributes:
        format: `newline_delimited` (one object per line; the default of `format: jsonl`),
            `array` (one top-level array of objects), or `auto` (the default of `format: json`).
    """

    format: Literal["newline_delimited", "array", "auto"] | None = None


@dataclass(frozen=True)
class ReadSpec:
    """Everything that decides how one file is read and typed.

    Attributes:
        format: `csv`, `jsonl`, `json` or `parquet`.
        csv: csv reader options.
        json: JSON reader options.
        columns: `{column: DuckDB type}` set in sources.yml (`columns:` on the table) for columns
            the table does not have yet; names as in the file or as dlt normalizes them.
        existing: dlt column schemas of the table as the pipeline's schema has them, by
            (normalized) name: a file's values are cast to these types, so a value that does
            not fit fails this file alone, naming line and column, instead of the warehouse load.
        normalize: dlt's name normalization (the schema's naming convention), to match file
            columns with `existing` and `columns`.
        keep_dlt_columns: keep file columns named like dlt's own (`_dlt_load_id`, ...): only
            for files dlt wrote itself (the lake); otherwise such a file is refused.
    """

    format: FileFormat
    csv: CsvOptions = field(default_factory=CsvOptions)
    json: JsonOptions = field(default_factory=JsonOptions)
    columns: Mapping[str, str] = field(default_factory=dict)
    existing: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    normalize: Callable[[str], str] = str
    keep_dlt_columns: bool = False

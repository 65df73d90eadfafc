"""Read one csv, jsonl or parquet file into Arrow record batches, all of it or nothing.

CSV and JSONL go through DuckDB's readers (type sniffing, native speed), which first convert the
whole file to a temporary parquet file: a file that is malformed half-way fails before a single
row is handed on, so its rows are never half-loaded and the files around it still load. Parquet
is read with pyarrow. Batches reach dlt as Arrow, so dlt never sees row-by-row Python dicts.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Literal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from dlt.common.storages.fsspec_filesystem import FileItemDict

FileFormat = Literal["csv", "jsonl", "parquet"]

BATCH_ROWS = 250_000
"""Rows per Arrow batch: large enough to amortise per-batch cost, small enough to bound memory."""


class FileReadError(Exception):
    """A file matched a table's glob but could not be read as its configured format."""


def read_arrow_batches(file: FileItemDict, file_format: FileFormat) -> Iterator[pa.RecordBatch]:
    """Yield the rows of one file as Arrow record batches of at most `BATCH_ROWS` rows.

    Args:
        file: a dlt file item (from `glob_files`); local files are read by path, remote ones
            through their fsspec file object.
        file_format: `csv`, `jsonl` (newline-delimited JSON) or `parquet`.

    Raises:
        FileReadError: the file is not valid `file_format`; the message names the file and
            carries the reader's own position information.
    """
    try:
        if file_format == "parquet":
            yield from _parquet_batches(file)
        else:
            yield from _duckdb_batches(file, file_format)
    except (duckdb.Error, pa.ArrowException, UnicodeDecodeError) as error:
        raise FileReadError(
            f"cannot read {file['relative_path']} as {file_format}: {error}"
        ) from error


def _open(file: FileItemDict, stack: ExitStack) -> str | IO[bytes]:
    """A local path (fastest: the reader memory-maps it) or an fsspec file object kept open."""
    if file["file_url"].startswith("file://"):
        return file.local_file_path
    return stack.enter_context(file.open())


def _duckdb_batches(file: FileItemDict, file_format: FileFormat) -> Iterator[pa.RecordBatch]:
    with tempfile.TemporaryDirectory(prefix="ingest_") as work:
        converted = Path(work) / "file.parquet"
        # one connection per file: a DuckDB connection holds one pending result at a time
        with duckdb.connect() as conn, ExitStack() as stack:
            source = _open(file, stack)
            if file_format == "csv":
                relation = conn.read_csv(source)
            else:
                relation = conn.read_json(source, format="newline_delimited")
            relation.write_parquet(str(converted))
        parquet = pq.ParquetFile(converted)
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
            yield _without_view_types(batch)


def _parquet_batches(file: FileItemDict) -> Iterator[pa.RecordBatch]:
    with ExitStack() as stack:
        parquet = pq.ParquetFile(_open(file, stack))
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
            yield _without_view_types(batch)


def _without_view_types(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Cast Arrow `string_view`/`binary_view` columns to `string`/`binary`: dlt rejects views."""
    schema = batch.schema
    if not any(_is_view(field.type) for field in schema):
        return batch
    target = pa.schema(
        [field.with_type(_plain_type(field.type)) for field in schema], metadata=schema.metadata
    )
    return batch.cast(target)


def _is_view(data_type: pa.DataType) -> bool:
    return pa.types.is_string_view(data_type) or pa.types.is_binary_view(data_type)


def _plain_type(data_type: pa.DataType) -> pa.DataType:
    if pa.types.is_string_view(data_type):
        return pa.string()
    if pa.types.is_binary_view(data_type):
        return pa.binary()
    return data_type

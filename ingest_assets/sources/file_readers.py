"""Turn one csv, jsonl or parquet file into a load file for dlt, all of it or nothing.

Every format goes through DuckDB (its CSV and JSON readers sniff types at native speed; its parquet
reader validates every page), which writes the whole file to one parquet file first: a file that
is malformed half-way fails before a single row is handed on, so its rows are never half-loaded
and the files around it still load.

That parquet file is what dlt loads. `write_load_file` adds dlt's `_dlt_load_id` column in the
same DuckDB pass, so dlt can put the file into the load package as it is (`dlt.mark.with_file_import`,
a hard link): no Arrow batches through Python, no second parquet write by dlt's extract, and the
warehouse ingests it with one `INSERT ... SELECT * FROM read_parquet(...)`. `read_arrow_batches`
streams the same conversion as Arrow batches, for resources whose rows must pass through Python
(an incremental cursor, a map, a schema contract that filters rows or values).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from dlt.common.storages.fsspec_filesystem import FileItemDict

FileFormat = Literal["csv", "jsonl", "parquet"]

BATCH_ROWS = 250_000
"""Rows per Arrow batch: large enough to amortise per-batch cost, small enough to bound memory."""

LOAD_FILE_COMPRESSION = "snappy"
"""Compression of the load files: cheap to write and to read (zstd costs ~2x the write time at SF1,
uncompressed doubles the bytes written and kept in the load package)."""

LOAD_FILE_ROW_GROUP_ROWS = 116_000
"""Rows per row group of a load file (DuckDB's writer overshoots by up to ~2,000). DuckDB's
order-preserving INSERT (dlt's load job) is fastest when each parquet row group fills most of one
of its own row groups (122,880 rows) without exceeding it. Measured at TPC-H SF1 (lineitem,
6M rows, 2 cores): 110,000-120,000 rows per group load in ~3.1 s and 0.42 GB, like the original
file; 100,000 or 61,440 take ~4.4 s and 0.75 GB; DuckDB's default (122,880, overshooting) takes
3-4x the time and 1.4 GB. See benchmarks/README.md."""

CONVERT_SETTINGS = (
    "SET enable_progress_bar = false",
    # rows of a file need no order in the table (dlt's merge deduplicates without one); keeping
    # it made DuckDB buffer the whole parquet input: 0.88 GB instead of 0.27 GB at TPC-H SF1
    "SET preserve_insertion_order = false",
)
"""Settings of the DuckDB connection that converts one file."""


class FileReadError(Exception):
    """A file matched a table's glob but could not be read as its configured format."""


@dataclass(frozen=True)
class LoadFile:
    """A parquet file made by `write_load_file`, ready for `dlt.mark.with_file_import`.

    Attributes:
        path: the parquet file.
        rows: its row count (from the parquet footer).
        schema: its Arrow schema with view types made plain, for dlt's column hints.
    """

    path: Path
    rows: int
    schema: pa.Schema


def write_load_file(
    file: FileItemDict, file_format: FileFormat, target: Path, load_id: str | None
) -> LoadFile:
    """Convert one file to the parquet file `target`, with column `_dlt_load_id` = `load_id`.

    Args:
        file: a dlt file item (from `glob_files`); local files are read by path, remote ones
            through their fsspec file object.
        file_format: `csv`, `jsonl` (newline-delimited JSON) or `parquet`.
        target: where to write; replaced if present.
        load_id: the load package's id for the `_dlt_load_id` column (replacing a column of that
            name in the file); None adds no column.

    Raises:
        FileReadError: the file is not valid `file_format`; the message names the file and
            carries the reader's own position information. `target` may then be partial.
    """
    with _converted(file, file_format):
        with duckdb.connect() as conn, ExitStack() as stack:
            relation = _relation(conn, file, file_format, stack)
            if load_id is not None:
                relation = _with_load_id(relation, load_id)
            relation.write_parquet(
                str(target),
                compression=LOAD_FILE_COMPRESSION,
                row_group_size=LOAD_FILE_ROW_GROUP_ROWS,
            )
        metadata = pq.read_metadata(target)
        return LoadFile(target, metadata.num_rows, _plain_schema(metadata.schema.to_arrow_schema()))


def read_arrow_batches(file: FileItemDict, file_format: FileFormat) -> Iterator[pa.RecordBatch]:
    """Yield the rows of one file as Arrow record batches of at most `BATCH_ROWS` rows.

    The whole file is converted before the first batch is yielded (see the module docstring).

    Args:
        file: a dlt file item (from `glob_files`).
        file_format: `csv`, `jsonl` (newline-delimited JSON) or `parquet`.

    Raises:
        FileReadError: the file is not valid `file_format` (raised before any batch).
    """
    with tempfile.TemporaryDirectory(prefix="ingest_") as work:
        converted = write_load_file(file, file_format, Path(work) / "file.parquet", None)
        with _converted(file, file_format):
            parquet = pq.ParquetFile(converted.path)
            for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
                yield _without_view_types(batch)


@contextmanager
def _converted(file: FileItemDict, file_format: FileFormat) -> Iterator[None]:
    """Turn a reader's exception into `FileReadError` naming the file."""
    try:
        yield
    except (duckdb.Error, pa.ArrowException, UnicodeDecodeError) as error:
        raise FileReadError(
            f"cannot read {file['relative_path']} as {file_format}: {error}"
        ) from error


def _relation(
    conn: duckdb.DuckDBPyConnection, file: FileItemDict, file_format: FileFormat, stack: ExitStack
) -> duckdb.DuckDBPyRelation:
    for setting in CONVERT_SETTINGS:
        conn.execute(setting)
    source = _open(file, stack)
    if file_format == "csv":
        return conn.read_csv(source)
    if file_format == "jsonl":
        return conn.read_json(source, format="newline_delimited")
    if isinstance(source, str):
        return conn.read_parquet(source)
    # a remote parquet file: pyarrow reads the fsspec file object, DuckDB scans the stream
    parquet = pq.ParquetFile(source)
    reader = pa.RecordBatchReader.from_batches(
        _plain_schema(parquet.schema_arrow),
        (_without_view_types(b) for b in parquet.iter_batches(batch_size=BATCH_ROWS)),
    )
    stack.callback(reader.close)
    return conn.from_arrow(reader)


def _with_load_id(relation: duckdb.DuckDBPyRelation, load_id: str) -> duckdb.DuckDBPyRelation:
    kept = ", ".join(_quote(c) for c in relation.columns if c != "_dlt_load_id")
    literal = "'" + load_id.replace("'", "''") + "'"
    return relation.project(f"{kept}, {literal}::VARCHAR AS _dlt_load_id")


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _open(file: FileItemDict, stack: ExitStack) -> str | IO[bytes]:
    """A local path (fastest: the reader memory-maps it) or an fsspec file object kept open."""
    if file["file_url"].startswith("file://"):
        return file.local_file_path
    return stack.enter_context(file.open())


def _without_view_types(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Cast Arrow `string_view`/`binary_view` columns to `string`/`binary`: dlt rejects views."""
    schema = batch.schema
    if not any(_is_view(field.type) for field in schema):
        return batch
    return batch.cast(_plain_schema(schema))


def _plain_schema(schema: pa.Schema) -> pa.Schema:
    if not any(_is_view(field.type) for field in schema):
        return schema
    return pa.schema(
        [field.with_type(_plain_type(field.type)) for field in schema], metadata=schema.metadata
    )


def _is_view(data_type: pa.DataType) -> bool:
    return pa.types.is_string_view(data_type) or pa.types.is_binary_view(data_type)


def _plain_type(data_type: pa.DataType) -> pa.DataType:
    if pa.types.is_string_view(data_type):
        return pa.string()
    if pa.types.is_binary_view(data_type):
        return pa.binary()
    return data_type


def count_rows(file: FileItemDict, file_format: FileFormat) -> int:
    """The data rows of one file, read as `write_load_file` reads it, without converting it
    (DuckDB counts; for CSV it skips most of the parsing). Used by the `reconcile` check.

    Raises:
        FileReadError: the file is not valid `file_format`.
    """
    with _converted(file, file_format):
        with duckdb.connect() as conn, ExitStack() as stack:
            return int(_relation(conn, file, file_format, stack).aggregate("count(*)").fetchall()[0][0])

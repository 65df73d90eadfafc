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

How a file is read is a `ReadSpec`: the table's reader options (`CsvOptions`, `JsonOptions`,
`columns:` types, all validated with the source config) and the column types the table already
has in the pipeline's dlt schema. Columns whose detected type is another kind than the table's
are read as the table's type (by DuckDB's CSV reader itself, which then names line and column of
a value that does not fit; by a cast for JSON and parquet, after which the first misfit is looked
up), so such a file fails here, alone, instead of failing the whole load package at the
warehouse's INSERT. Local files are read in place; remote files are first copied (streaming)
into the work folder, and a csv in an encoding DuckDB does not decode (anything but utf-8,
utf-16, latin-1) is transcoded to UTF-8 there.
"""

from __future__ import annotations

import codecs
import gzip
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from dlt.common.storages.fsspec_filesystem import FileItemDict

from ingest_assets.sources.filesystem.options import (
    DLT_COLUMNS,
    NATIVE_ENCODINGS,
    FileReadError,
    ReadSpec,
)

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
    file: FileItemDict, spec: ReadSpec, target: Path, load_id: str | None
) -> LoadFile:
    """Convert one file to the parquet file `target`, with column `_dlt_load_id` = `load_id`.

    Args:
        file: a dlt file item (from `glob_files`); local files are read in place, remote ones
            are first copied (streaming) next to `target`.
        spec: format, reader options and the table's column types (see `ReadSpec`).
        target: where to write; replaced if present. Work files go into its folder.
        load_id: the load package's id for the `_dlt_load_id` column; None adds no column.

    Raises:
        FileReadError: the file is not valid for its format and options, a value does not fit
            its column's type (the table's existing type, or `columns:`), or it has a column
            named like dlt's own; the message names the file and, where known, line and column.
            `target` may then be partial.
    """
    name = file["relative_path"]
    with ExitStack() as stack:
        try:
            local = _local_copy(file, spec, target.parent, stack)
        except (UnicodeError, gzip.BadGzipFile, EOFError) as error:
            raise FileReadError(
                f"cannot read {name} as {spec.format} in {spec.csv.encoding}: {error}"
            ) from error
        with duckdb.connect() as conn:
            for setting in CONVERT_SETTINGS:
                conn.execute(setting)
            casts: dict[str, str] = {}
            source: str | None = None
            try:
                relation, casts, source = _relation(conn, local, spec, name)
                if load_id is not None:
                    relation = _with_load_id(relation, load_id)
                relation.write_parquet(
                    str(target),
                    compression=LOAD_FILE_COMPRESSION,
                    row_group_size=LOAD_FILE_ROW_GROUP_ROWS,
                )
            except FileReadError:
                raise
            except (duckdb.Error, pa.ArrowException, UnicodeDecodeError) as error:
                raise _read_error(conn, name, spec, error, casts, source) from error
    try:
        metadata = pq.read_metadata(target)
    except (pa.ArrowException, OSError) as error:
        raise FileReadError(f"cannot read {name} as {spec.format}: {error}") from error
    return LoadFile(target, metadata.num_rows, _plain_schema(metadata.schema.to_arrow_schema()))


def read_arrow_batches(file: FileItemDict, spec: ReadSpec) -> Iterator[pa.RecordBatch]:
    """Yield the rows of one file as Arrow record batches of at most `BATCH_ROWS` rows.

    The whole file is converted (as by `write_load_file`, without a load id column) before the
    first batch is yielded (see the module docstring).

    Raises:
        FileReadError: as `write_load_file`, before any batch.
    """
    with tempfile.TemporaryDirectory(prefix="ingest_") as work:
        converted = write_load_file(file, spec, Path(work) / "file.parquet", None)
        parquet = pq.ParquetFile(converted.path)
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
            yield _without_view_types(batch)


def dlt_type_of(duckdb_type: str) -> str:
    """The dlt data type a DuckDB column type becomes (`VARCHAR` -> `text`, `INTEGER` -> `bigint`)."""
    text = duckdb_type.upper()
    if text == "JSON" or text.endswith("]") or text.startswith(("STRUCT", "MAP", "UNION", "LIST")):
        return "json"
    if text.startswith(("DECIMAL", "NUMERIC")):
        return "decimal"
    if text in _INTEGER_TYPES:
        return "bigint"
    if text in ("DOUBLE", "FLOAT", "REAL"):
        return "double"
    if text.startswith("TIMESTAMP"):
        return "timestamp"
    if text.startswith("TIME"):
        return "time"
    return {"DATE": "date", "BOOLEAN": "bool", "BLOB": "binary"}.get(text, "text")


def duckdb_type_of(column: Mapping[str, Any]) -> str:
    """The DuckDB type that holds values of a dlt column schema as dlt's duckdb destination does."""
    data_type = column.get("data_type")
    if data_type == "timestamp":
        return "TIMESTAMP" if column.get("timezone") is False else "TIMESTAMP WITH TIME ZONE"
    if data_type == "decimal":
        return f"DECIMAL({column.get('precision') or 38},{column.get('scale') or 9})"
    return _DUCKDB_TYPES.get(data_type or "text", "VARCHAR")


_INTEGER_TYPES = frozenset(
    {
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "UHUGEINT",
    }
)
_DUCKDB_TYPES = {
    "text": "VARCHAR",
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "bool": "BOOLEAN",
    "date": "DATE",
    "time": "TIME",
    "binary": "BLOB",
    "json": "JSON",
    "wei": "DECIMAL(38,0)",
}


def _relation(
    conn: duckdb.DuckDBPyConnection, local: str, spec: ReadSpec, name: str
) -> tuple[duckdb.DuckDBPyRelation, dict[str, str], str]:
    """The file as a relation typed for its table, the casts it applies (JSON, parquet), and
    the reader call (SQL) the casts read from."""
    source = _reader_call(local, spec, {})
    relation = conn.sql(f"SELECT * FROM {source}")
    names, types = list(relation.columns), [str(t) for t in relation.types]
    if spec.format == "csv" and spec.csv.delimiter is None and len(names) == 1:
        # the sniffer falls back to "no delimiter" when rows have different numbers of fields:
        # read with the delimiter the header shows, so the reader names the ragged line
        delimiter = next((d for d in ",;|\t" if d in names[0]), None)
        if delimiter is not None:
            _probe_fields(conn, local, spec, names[0].split(delimiter), delimiter)
            strict = replace(spec, csv=spec.csv.model_copy(update={"delimiter": delimiter}))
            source = _reader_call(local, strict, {})
            relation = conn.sql(f"SELECT * FROM {source}")
            names, types = list(relation.columns), [str(t) for t in relation.types]
    if not spec.keep_dlt_columns:
        reserved = [n for n in names if spec.normalize(n) in DLT_COLUMNS]
        if reserved:
            raise FileReadError(
                f"cannot load {name}: its column {reserved[0]!r} has the name of a column dlt writes "
                "itself (_dlt_load_id, _dlt_id, ...); rename the column in the file",
                column=reserved[0],
            )
    targets = _target_types(names, types, spec, name)
    if not targets:
        return relation, {}, source
    if spec.format == "csv":
        # the CSV reader parses straight into the types and names line and column of a bad value
        source = _reader_call(local, spec, targets)
        return conn.sql(f"SELECT * FROM {source}"), {}, source
    columns = [
        f"CAST({_quote(n)} AS {targets[n]}) AS {_quote(n)}" if n in targets else _quote(n)
        for n in names
    ]
    return relation.project(", ".join(columns)), targets, source


def _probe_fields(
    conn: duckdb.DuckDBPyConnection, local: str, spec: ReadSpec, header: list[str], delimiter: str
) -> None:
    """Read a csv file with the columns of its header and no detection, so that a row with more
    or fewer fields raises the reader's error with its line (the sniffer only says it failed)."""
    options = {
        "auto_detect": False,
        "delim": delimiter,
        "header": True,
        "skip": spec.csv.skip_rows,
        "quote": spec.csv.quote or '"',
        "escape": spec.csv.escape or '"',
        "encoding": NATIVE_ENCODINGS.get(spec.csv.encoding, "utf-8"),
        "columns": {column: "VARCHAR" for column in header},
    }
    arguments = ", ".join([_literal(local), *(f"{k} = {_literal(v)}" for k, v in options.items())])
    conn.sql(f"SELECT count(*) FROM read_csv({arguments})").fetchall()


def _target_types(names: list[str], types: list[str], spec: ReadSpec, name: str) -> dict[str, str]:
    """`{file column: DuckDB type}` for the columns to read as another type than the sniffed one:
    the table's existing type where the kinds differ, else the type set in `columns:`."""
    configured = {spec.normalize(column): type_text for column, type_text in spec.columns.items()}
    targets: dict[str, str] = {}
    for column, sniffed in zip(names, types):
        key = spec.normalize(column)
        wanted = configured.get(key)
        existing = spec.existing.get(key)
        if existing and existing.get("data_type"):
            data_type = existing["data_type"]
            if wanted and dlt_type_of(wanted) != data_type:
                raise FileReadError(
                    f"cannot load {name}: `columns:` reads column {column!r} as {wanted}, but the table "
                    f"already has it as {data_type}; a full refresh (`ingest sync <source> --full-refresh`) "
                    "reloads the table with the new type",
                    column=column,
                )
            if dlt_type_of(sniffed) != data_type:
                targets[column] = duckdb_type_of(existing)
        elif wanted and wanted != sniffed:
            targets[column] = wanted
    return targets


def _reader_call(local: str, spec: ReadSpec, types: Mapping[str, str]) -> str:
    """The DuckDB table function call (SQL) that reads `local` with the spec's options."""
    arguments = [_literal(local)]
    if spec.format == "csv":
        csv = spec.csv
        options: dict[str, Any] = {
            "delim": csv.delimiter,
            "quote": csv.quote,
            "escape": csv.escape,
            "header": csv.header,
            "skip": csv.skip_rows,
            "nullstr": csv.null_values,
            "encoding": NATIVE_ENCODINGS.get(csv.encoding, "utf-8"),
            "dateformat": csv.date_format,
            "timestampformat": csv.timestamp_format,
            "decimal_separator": csv.decimal_separator,
            "types": dict(types) or None,
        }
        arguments += [
            f"{key} = {_literal(value)}" for key, value in options.items() if value is not None
        ]
        return f"read_csv({', '.join(arguments)})"
    if spec.format in ("jsonl", "json"):
        layout = spec.json.format or ("newline_delimited" if spec.format == "jsonl" else "auto")
        return f"read_json({arguments[0]}, format = {_literal(layout)})"
    return f"read_parquet({arguments[0]})"


def _read_error(
    conn: duckdb.DuckDBPyConnection,
    name: str,
    spec: ReadSpec,
    error: BaseException,
    casts: Mapping[str, str],
    source: str | None,
) -> FileReadError:
    """A `FileReadError` naming the file, with line and column from the reader's message, or
    found by looking for the first value that does not fit a cast (JSON, parquet)."""
    # DuckDB appends its dialect settings and the SQL it ran: noise for the user
    text = re.split(r"\n\s*file = |\n\s*LINE \d+:", str(error))[0].strip()
    line_match = re.search(r"Line: (\d+)", text)
    column_match = re.search(r'converting column "([^"]+)"', text)
    line = int(line_match[1]) if line_match else None
    column = column_match[1] if column_match else None
    record = re.search(r"in record/value (\d+)", text)
    if record and line is None:
        line = int(record[1])
    if casts and source and isinstance(error, duckdb.Error):
        found = _first_misfit(conn, source, casts)
        if found is not None:
            line, column, value, target = found
            text = f"value {value} does not fit the column's type {target}"
    unit = "row" if spec.format in ("parquet", "json") else "line"
    where = ", ".join(
        ([f"{unit} {line}"] if line is not None else [])
        + ([f"column {column!r}"] if column else [])
    )
    return FileReadError(
        f"cannot read {name} as {spec.format}{f' ({where})' if where else ''}: {text}",
        line=line,
        column=column,
    )


def _first_misfit(
    conn: duckdb.DuckDBPyConnection, source: str, casts: Mapping[str, str]
) -> tuple[int, str, str, str] | None:
    """`(row from 1, column, value, type)` of the first value that does not cast, or None."""
    try:
        conn.execute("SET preserve_insertion_order = true")
        for column, target in casts.items():
            found = conn.sql(
                f"SELECT n, v::VARCHAR FROM (SELECT row_number() OVER () AS n, {_quote(column)} AS v "
                f"FROM {source}) WHERE v IS NOT NULL AND TRY_CAST(v AS {target}) IS NULL ORDER BY n LIMIT 1"
            ).fetchall()
            if found:
                return int(found[0][0]), column, found[0][1], target
    except duckdb.Error:
        return None
    return None


def _local_copy(file: FileItemDict, spec: ReadSpec, work: Path, stack: ExitStack) -> str:
    """A local path DuckDB reads: the file itself when local, else a streamed copy in `work`;
    a csv in an encoding DuckDB does not decode is transcoded to UTF-8 into `work` first."""
    suffixes = "".join(Path(file["relative_path"]).suffixes[-2:])
    if file["file_url"].startswith("file://"):
        local = file.local_file_path
    else:
        copy = work / f"remote{suffixes}"
        stack.callback(copy.unlink, missing_ok=True)
        with file.open(compression="disable") as remote, copy.open("wb") as out:
            shutil.copyfileobj(remote, out, COPY_CHUNK_BYTES)
        local = str(copy)
    if spec.format != "csv" or spec.csv.encoding in NATIVE_ENCODINGS:
        return local
    transcoded = work / f"utf8{suffixes}"
    stack.callback(transcoded.unlink, missing_ok=True)
    opener = gzip.open if local.endswith(".gz") else open
    with opener(local, "rb") as raw, opener(transcoded, "wb") as out:
        reader = codecs.getreader(spec.csv.encoding)(raw, errors="strict")
        writer = codecs.getwriter("utf-8")(out)
        while chunk := reader.read(COPY_CHUNK_BYTES):
            writer.write(chunk)
    return str(transcoded)


COPY_CHUNK_BYTES = 1 << 20
"""Bytes (or characters, when transcoding) per read while copying or transcoding a file."""


def _literal(value: Any) -> str:
    """A Python value as a DuckDB SQL literal (str, bool, int, list, dict -> struct)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_literal(str(k))}: {_literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no SQL literal for {value!r}")


def _with_load_id(relation: duckdb.DuckDBPyRelation, load_id: str) -> duckdb.DuckDBPyRelation:
    kept = ", ".join(_quote(c) for c in relation.columns if c != "_dlt_load_id")
    return relation.project(f"{kept}, {_literal(load_id)}::VARCHAR AS _dlt_load_id")


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


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


def count_rows(file: FileItemDict, spec: ReadSpec) -> int:
    """The data rows of one file, read with the reader and options `write_load_file` uses,
    without converting it (DuckDB counts; for CSV it skips most of the parsing). Used by the
    `reconcile` check.

    Args:
        file: a dlt file item; a remote file is first copied (streaming) to a temporary folder.
        spec: the table's format and reader options (its column types are not needed).

    Raises:
        FileReadError: the file is not valid for its format and options.
    """
    name = file["relative_path"]
    with tempfile.TemporaryDirectory(prefix="ingest_count_") as work, ExitStack() as stack:
        try:
            local = _local_copy(file, spec, Path(work), stack)
        except (UnicodeError, gzip.BadGzipFile, EOFError) as error:
            raise FileReadError(
                f"cannot read {name} as {spec.format} in {spec.csv.encoding}: {error}"
            ) from error
        with duckdb.connect() as conn:
            for setting in CONVERT_SETTINGS:
                conn.execute(setting)
            try:
                return int(
                    conn.execute(
                        f"SELECT count(*) FROM {_reader_call(local, spec, {})}"
                    ).fetchone()[0]
                )
            except (duckdb.Error, UnicodeDecodeError) as error:
                raise FileReadError(f"cannot read {name} as {spec.format}: {error}") from error

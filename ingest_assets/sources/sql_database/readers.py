"""How a `sql_database` table's rows are read: the reader (backend) per database, key-range chunks.

dlt's `table_rows` reflects the table, yields its column hints and hands the reading to a table
loader class (`table_loader_class`, a public dlt argument). `ProjectTableLoader` is that class:
it builds dlt's own SELECT (incremental conditions, `query_filter`) with dlt's `make_query`, and
reads it with the reader chosen for the table (`choose_reader`):

- `connectorx`: ConnectorX streams Arrow record batches straight from the database's wire
  protocol (Rust; no Python per row). The default for PostgreSQL and MySQL/MariaDB: measured at
  TPC-H `lineitem` SF1 it reads 4-10x faster than the `pyarrow` backend (psycopg2/PyMySQL rows
  converted to Arrow in Python) and holds one batch at a time (benchmarks/README.md, SQL).
- `adbc`: the ADBC PostgreSQL driver (`adbc-driver-postgresql`), Arrow record batches over
  PostgreSQL's binary COPY; PostgreSQL only. The default for a PostgreSQL table read at the
  same time as others (`parallelism` > 1 or `chunks`: ConnectorX's streams in one process wait
  for each other, see `PARALLEL_READERS`); alone, ConnectorX measured ~8% faster.
- `pyarrow`, `sqlalchemy`, `pandas`: dlt's own loader (SQLAlchemy with a server-side cursor,
  `yield_per` = `chunk_size`). `pyarrow` is the default for every other database.

A table whose columns a fast reader cannot carry exactly (a `numeric` with more than 10 decimal
places or without a declared scale, JSON, arrays, intervals, ...: see `_fast_reader_problem`)
is read with `pyarrow` instead, and a warning in the run log says so; so is a table when the
reader's package is not installed and the reader was the default, not configured.

Decimals come out of ConnectorX as DECIMAL(38,10) and out of ADBC as text; both are cast to the
column's reflected DECIMAL(p,s) (an exact cast, it fails rather than round), so the warehouse
gets the same types and values from every reader.

Key-range chunks (`chunks: {column: l_orderkey, count: 4}` on a table): the SELECT's rows are
split into `count` ranges of one integer column between its min and max (read with the same
conditions), read by `count` threads at once, each with its own connection; batches are handed
on through a queue of bounded size, so memory holds a few batches per thread whatever the table
size. Chunks need a plain SELECT: with a `row_order` on the incremental cursor or a resource
`limit`, the table is read in one piece (logged). With `chunks: auto`, a full read (no
incremental start value yet) by a fast reader of a table with an integer primary key and more
than `AUTO_CHUNK_ROWS` rows by the database's statistics is chunked (`AUTO_CHUNKS` ranges of the
key's first column). Chunks are opt-in: the ranges are read on separate connections, so unlike
one SELECT they are not one snapshot of the table (rows written during the read may be seen in
one range and not another); the default (`chunks` unset or `off`) is one SELECT. Measured at
TPC-H `lineitem` SF1 on 2 cores (PostgreSQL, whose chunks read with ADBC): 2 ranges made the
load step 18% faster than one SELECT (35.5 s vs 43.4 s) at the same peak RSS (757 vs 765 MB);
with ConnectorX, 4 ranges took 1.13 GB (it buffers ahead per stream).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import logging
import os
import queue
import threading
from collections.abc import Iterator
from typing import Any, Literal

import sqlalchemy as sa
from dlt.sources.sql_database import BaseTableLoader, TableLoader
from dlt.sources.sql_database.helpers import ConnectorXTableLoader

from ingest_assets.sources.sql_database.config import Backend, ChunksConfig

logger = logging.getLogger(__name__)


DEFAULT_READERS = {"postgresql": "connectorx", "mysql": "connectorx", "mariadb": "connectorx"}
"""SQLAlchemy dialect -> the reader `backend: auto` uses, chosen by measurement (module doc);
any other dialect reads with `pyarrow`."""

PARALLEL_READERS = {"postgresql": "adbc"}
"""SQLAlchemy dialect -> the reader `backend: auto` uses instead when a table is read at the same
time as others in the process: its source reads tables in parallel (`parallelism` > 1) or the
table is read in key-range `chunks`.

ConnectorX's streaming reads in one process wait for each other: measured with two threads each
reading a query that sleeps 2 s in PostgreSQL, two ConnectorX streams took 4.05 s (one after the
other) in most processes that had read with ConnectorX before, and 2.06-2.09 s only in a fresh
one; two ADBC reads took 2.09-2.12 s every time. Alone, ADBC reads TPC-H `lineitem` SF1 as fast
as ConnectorX (18.8 s vs 19.0 s) and the load step is ~8% slower (47.0 s vs 43.7 s), so one table
at a time keeps ConnectorX. MySQL/MariaDB has no ADBC driver here: its parallel reads stay on
ConnectorX and may run one after the other (benchmarks/README.md, SQL sources)."""

READER_PACKAGES = {"connectorx": "connectorx", "adbc": "adbc_driver_postgresql"}
"""Reader -> the module it needs (installed by the project's default dependencies)."""

READER_DIALECTS = {
    "connectorx": {"postgresql", "mysql", "mariadb", "mssql", "oracle", "sqlite"},
    "adbc": {"postgresql"},
}
"""Reader -> the SQLAlchemy dialects it reads here."""

CONNECTORX_MAX_SCALE = 10
"""ConnectorX reads every decimal as DECIMAL(38,10): more decimal places would be rounded."""

AUTO_CHUNK_ROWS = 1_000_000
"""With `chunks: auto`, a table whose estimated row count is above this is read in key ranges."""

AUTO_CHUNKS = max(2, min(8, os.cpu_count() or 2))
"""Key ranges of an automatically chunked table: one per core, 2 to 8. Measured at TPC-H
`lineitem` SF1 on 2 cores (PostgreSQL, ADBC, quiet machine): 2 ranges 35.5 s, 4 ranges 44.5 s, one
SELECT 43.4 s (ConnectorX); more ranges than cores only compete for them."""

ROW_ESTIMATES = {
    "postgresql": "SELECT c.reltuples::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = COALESCE(:schema, current_schema()) AND c.relname = :table",
    "mysql": "SELECT table_rows FROM information_schema.tables "
    "WHERE table_schema = COALESCE(:schema, DATABASE()) AND table_name = :table",
    "mariadb": "SELECT table_rows FROM information_schema.tables "
    "WHERE table_schema = COALESCE(:schema, DATABASE()) AND table_name = :table",
}
"""The database's own row estimate of a table (statistics, no scan), per SQLAlchemy dialect."""

QUEUE_BATCHES_PER_CHUNK = 2
"""Batches waiting in the queue per chunk thread before the thread waits (bounds memory)."""


def choose_reader(
    backend: Backend, drivername: str, parallel: bool = False
) -> tuple[str, str | None]:
    """The reader for `backend` on a database of `drivername`, and why it differs (or None).

    Args:
        backend: the configured `backend:` (`auto` by default).
        drivername: the SQLAlchemy driver name, e.g. `postgresql+psycopg2`.
        parallel: the table is read while other reads of the same process run (its source's
            `parallelism` is above 1, or the table has `chunks`).

    Returns:
        (reader, note): `auto` becomes `PARALLEL_READERS`' reader for the dialect when
        `parallel` and its package is installed, else `DEFAULT_READERS`' reader when its package
        is installed, else `pyarrow` with a note saying what to install; a configured reader is
        returned as is (a missing package then fails the read with a message saying what to
        install), except `adbc` on a database it cannot read, which becomes `pyarrow` with a note.
    """
    dialect = drivername.split("+")[0]
    if backend == "auto":
        concurrent = PARALLEL_READERS.get(dialect) if parallel else None
        if concurrent and importlib.util.find_spec(READER_PACKAGES[concurrent]) is not None:
            return concurrent, None
        reader = DEFAULT_READERS.get(dialect, "pyarrow")
        package = READER_PACKAGES.get(reader)
        if package and importlib.util.find_spec(package) is None:
            return (
                "pyarrow",
                f"{reader} is not installed (pip install {package}), reading with pyarrow",
            )
        return reader, None
    if backend in READER_DIALECTS and dialect not in READER_DIALECTS[backend]:
        return "pyarrow", f"backend {backend} cannot read {dialect}, reading with pyarrow"
    return backend, None


def table_loader(
    reader: str, chunks: ChunksConfig | Literal["auto", "off"] | None, label: str
) -> Any:
    """A dlt `table_loader_class` reading with `reader` (see `choose_reader`) and `chunks`.

    Args:
        reader: `connectorx`, `adbc`, `pyarrow`, `sqlalchemy` or `pandas`.
        chunks: key-range chunks; `"auto"`: `AUTO_CHUNKS` ranges of an integer primary key when
            the table has more than `AUTO_CHUNK_ROWS` rows by the database's estimate, on a full
            read with a fast reader; None or `"off"`: one SELECT.
        label: `source 'x': table 'y'`, for the run log.

    Returns:
        A callable with `BaseTableLoader`'s constructor arguments.
    """
    return functools.partial(ProjectTableLoader, reader=reader, chunks=chunks, label=label)


def dlt_backend(reader: str) -> str:
    """The `backend` argument for dlt's `table_rows`: dlt's name of the data items' kind."""
    return reader if reader in ("sqlalchemy", "pandas") else "pyarrow"


def floats_as_floats(table: sa.Table) -> None:
    """dlt `table_adapter_callback`: floating point columns read as floats, not decimals.

    MySQL/MariaDB `DOUBLE`/`FLOAT` reflect as SQLAlchemy floats with `asdecimal=True`, so the
    SQLAlchemy readers (`pyarrow`, `sqlalchemy`, `pandas`) got Python `Decimal`s and the warehouse
    column became a DECIMAL inferred from the data (`DECIMAL(11,10)` for 0.125); read as floats,
    every reader loads `DOUBLE`, as ConnectorX does.
    """
    for column in table.columns:
        if isinstance(column.type, sa.Float) and getattr(column.type, "asdecimal", False):
            column.type.asdecimal = False


def run_log() -> logging.Logger:
    """Dagster's logger of the running step (its records go to the run's event log), else ours."""
    try:
        from dagster import get_dagster_logger

        return get_dagster_logger("ingest_assets.sql")
    except Exception:  # noqa: BLE001 - outside Dagster
        return logger


class ProjectTableLoader(BaseTableLoader):
    """dlt table loader of this project: dlt's query, read with the chosen reader, in chunks.

    Constructed by dlt's `table_rows` (through `table_loader`) with the reflected table and
    column hints; `load_rows` yields Arrow tables (or dicts/DataFrames for `sqlalchemy`/`pandas`).

    Raises (from `load_rows`):
        ModuleNotFoundError / dlt's MissingDependencyException: the configured reader's package
            is missing.
        sqlalchemy errors and the readers' own errors: the database refused the query.
    """

    def __init__(
        self,
        *args: Any,
        reader: str,
        chunks: ChunksConfig | Literal["auto", "off"] | None,
        label: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.reader = reader
        self.chunks = chunks
        self.label = label

    def load_rows(self, backend_kwargs: dict[str, Any] | None = None) -> Iterator[Any]:
        """Yield the table's rows (dlt's SELECT with incremental and filter conditions)."""
        reader = self.reader
        if reader in READER_PACKAGES:
            problem = _fast_reader_problem(self.table, self.columns)
            if problem:
                run_log().warning(
                    "%s: read with pyarrow instead of %s: %s", self.label, reader, problem
                )
                reader = "pyarrow"
        query = self.make_query()
        chunks = self.chunks
        if chunks == "auto":
            full_read = reader in READER_PACKAGES and self.last_value is None and not self.limit
            chunks = self._automatic_chunks() if full_read else None
        if chunks == "off":
            chunks = None
        ranges = self._ranges(query, chunks) if chunks else None
        if not ranges:
            yield from self._read(reader, query)
            return
        yield from _parallel(
            [functools.partial(self._read, reader, query.where(condition)) for condition in ranges],
            len(ranges) * QUEUE_BATCHES_PER_CHUNK,
        )

    def _read(self, reader: str, query: Any) -> Iterator[Any]:
        if reader == "connectorx":
            loader = ConnectorXTableLoader(
                self.engine, "connectorx", self.table, self.columns, chunk_size=self.chunk_size
            )
            batches = loader._load_rows_connectorx(
                query, {"return_type": "arrow_stream", "batch_size": self.chunk_size}
            )
            for batch in batches:
                yield _exact_decimals(batch, self.columns)
        elif reader == "adbc":
            yield from self._read_adbc(query)
        else:
            loader = TableLoader(
                self.engine, reader, self.table, self.columns, chunk_size=self.chunk_size
            )
            yield from loader._load_rows(query, {})

    def _read_adbc(self, query: Any) -> Iterator[Any]:
        import adbc_driver_postgresql.dbapi as adbc
        import pyarrow as pa

        with adbc.connect(self.get_connection_url()) as conn, conn.cursor() as cursor:
            cursor.adbc_statement.set_options(
                **{"adbc.postgresql.batch_size_hint_bytes": str(16 * 2**20)}
            )
            cursor.execute(self.compile_query(query))
            for batch in cursor.fetch_record_batch():
                yield _exact_decimals(pa.Table.from_batches([batch]), self.columns)

    def _automatic_chunks(self) -> ChunksConfig | None:
        """`AUTO_CHUNKS` ranges of the primary key's first column when it is an integer and the
        database estimates more than `AUTO_CHUNK_ROWS` rows (PostgreSQL, MySQL/MariaDB), else None."""
        key = [c for c in self.table.primary_key.columns]
        if not key or not isinstance(key[0].type, sa.Integer):
            return None
        estimate = ROW_ESTIMATES.get(self.engine.dialect.name)
        if estimate is None:
            return None
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    sa.text(estimate), {"schema": self.table.schema, "table": self.table.name}
                ).scalar()
        except sa.exc.SQLAlchemyError:
            return None
        if not rows or rows < AUTO_CHUNK_ROWS:
            return None
        run_log().info(
            "%s: ~%d rows, read in %d key ranges of %s", self.label, rows, AUTO_CHUNKS, key[0].name
        )
        return ChunksConfig(column=key[0].name, count=AUTO_CHUNKS)

    def _ranges(self, query: Any, chunks: ChunksConfig) -> list[Any] | None:
        """`count` conditions splitting `query`'s rows by `chunks.column`, or None (one read)."""
        column = self.table.c.get(chunks.column)
        problem = None
        if column is None:
            problem = f"the table has no column {chunks.column!r}"
        elif not isinstance(column.type, sa.Integer):
            problem = f"column {chunks.column!r} is not an integer column"
        elif (
            not isinstance(query, sa.Select)
            or query._order_by_clauses
            or query._limit_clause is not None
        ):
            problem = "the incremental cursor's row_order or a limit needs one ordered SELECT"
        if problem:
            run_log().warning("%s: read in one piece, not in chunks: %s", self.label, problem)
            return None
        bounds = query.with_only_columns(sa.func.min(column), sa.func.max(column)).order_by(None)
        with self.engine.connect() as conn:
            low, high = conn.execute(bounds).one()
        if low is None:
            return None
        step = max(1, -(-(high - low + 1) // chunks.count))
        edges = list(range(low, high + 1, step)) + [high + 1]
        conditions = [sa.and_(column >= a, column < b) for a, b in zip(edges, edges[1:])]
        # rows whose chunk column is NULL are in no range: read them with the last chunk
        conditions[-1] = sa.or_(conditions[-1], column.is_(None))
        return conditions


def _fast_reader_problem(table: sa.Table, columns: dict[str, Any]) -> str | None:
    """Why ConnectorX/ADBC cannot carry a column of `table` exactly, or None when they can."""
    for column in table.columns:
        kind = column.type
        if isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float):
            if kind.scale is None or kind.precision is None:
                return f"column {column.name!r} is a numeric without a declared precision and scale"
            if kind.scale > CONNECTORX_MAX_SCALE or kind.precision > 38:
                return f"column {column.name!r} is numeric({kind.precision},{kind.scale})"
            continue
        if isinstance(kind, sa.Enum):
            return f"column {column.name!r} is an enum"
        if isinstance(kind, (sa.Integer, sa.Float, sa.String, sa.Boolean, sa.Date, sa.DateTime)):
            continue
        if type(kind).__name__ in ("BIT", "TINYINT", "YEAR", "UUID"):
            continue
        return f"column {column.name!r} has type {kind!r}"
    return None


def _exact_decimals(table: Any, columns: dict[str, Any]) -> Any:
    """`table` with each decimal (or ADBC numeric text) column cast to its reflected DECIMAL(p,s),
    and integer columns to int64 (as the `pyarrow` backend makes them).

    The cast is pyarrow's safe cast: a value that does not fit raises instead of being rounded.
    """
    import pyarrow as pa

    for index, field in enumerate(table.schema):
        hint = columns.get(field.name) or {}
        if hint.get("data_type") == "bigint" and pa.types.is_integer(field.type):
            # integers as the pyarrow backend gives them (by the hint's precision), so every
            # reader makes the same warehouse column type
            target = {8: pa.int8(), 16: pa.int16(), 32: pa.int32()}.get(
                hint.get("precision"), pa.int64()
            )
        elif pa.types.is_floating(field.type) and field.type != pa.float64():
            target = pa.float64()  # the SQLAlchemy readers give Python floats: DOUBLE
        elif hint.get("data_type") == "decimal" and hint.get("precision") is not None:
            target = pa.decimal128(hint["precision"], hint.get("scale") or 0)
        else:
            continue
        column = table.column(index)
        if isinstance(field.type, pa.ExtensionType):
            column = pa.chunked_array(
                [chunk.storage for chunk in column.chunks], field.type.storage_type
            )
        if column.type != target:
            table = table.set_column(
                index, pa.field(field.name, target, field.nullable), column.cast(target)
            )
    return table


_DONE = object()


def _parallel(readers: list[Any], max_waiting: int) -> Iterator[Any]:
    """Run each `readers[i]()` (an iterator of batches) in its own thread; yield every batch.

    At most `max_waiting` batches wait in the queue (a thread blocks until the consumer takes
    one), so memory is bounded by the threads' current batches. The first error of any thread
    stops the others and is raised here.
    """
    batches: queue.Queue[Any] = queue.Queue(maxsize=max_waiting)
    stop = threading.Event()
    errors: list[BaseException] = []

    def run(read: Any) -> None:
        try:
            for batch in read():
                while not stop.is_set():
                    try:
                        batches.put(batch, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as error:  # noqa: BLE001 - handed to the consumer
            errors.append(error)
            stop.set()
        finally:
            batches.put(_DONE)

    threads = [
        threading.Thread(target=run, args=(read,), daemon=True, name=f"sql-chunk-{i}")
        for i, read in enumerate(readers)
    ]
    for thread in threads:
        thread.start()
    running = len(threads)
    try:
        while running:
            item = batches.get()
            if item is _DONE:
                running -= 1
                continue
            if errors:
                break
            yield item
    finally:
        stop.set()
        while any(thread.is_alive() for thread in threads):
            with contextlib.suppress(queue.Empty):
                batches.get(timeout=0.1)
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]


__all__ = [
    "Backend",
    "ChunksConfig",
    "DEFAULT_READERS",
    "ProjectTableLoader",
    "choose_reader",
    "dlt_backend",
    "floats_as_floats",
    "run_log",
    "table_loader",
]

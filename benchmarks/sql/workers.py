"""What runs inside one measured process of the `sql` suite: `python -m benchmarks.sql.workers <case>`.

Each case does its work once and reports its own timings and row count with `measure.report`
(the runner measures the whole process from outside). Cases:

- `duckdb-ext`: DuckDB 1.4.4's `postgres`/`mysql` extension (from the `duckdb-ext-postgres` /
  `duckdb-ext-mysql` wheels, loaded from the wheel's folder), `CREATE TABLE AS SELECT *` from the
  attached database into a fresh DuckDB file. Runs in its own venv (DuckDB 1.4.4).
- `plain-dlt`: dlt's `sql_table(backend=...)` with every dlt default into a fresh DuckDB file.
- `reader`: one reader of `ingest_assets.sources.sql_database.readers` alone (no warehouse): rows read
  and batches, to compare the readers' own cost.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from benchmarks.measure import report

URLS = {
    "postgresql": "postgresql+psycopg2://postgres@127.0.0.1:5432/test",
    "mysql": "mysql+pymysql://root@127.0.0.1:3306/sql13_bench",
}
SCHEMAS = {"postgresql": "bench", "mysql": "sql13_bench"}


def duckdb_ext(args: argparse.Namespace) -> None:
    import duckdb
    import duckdb_ext  # the namespace package of the duckdb-ext-* wheels

    folder = Path(list(duckdb_ext.__path__)[0]) / "extensions" / f"v{duckdb.__version__}"
    platform_dir = next(folder.iterdir())
    extension = {"postgresql": "postgres_scanner", "mysql": "mysql_scanner"}[args.db]
    started = time.perf_counter()
    conn = duckdb.connect(args.out)
    conn.execute("SET enable_progress_bar = false")
    conn.execute(f"LOAD '{platform_dir / (extension + '.duckdb_extension')}'")
    if args.db == "postgresql":
        conn.execute(
            "ATTACH 'host=127.0.0.1 port=5432 dbname=test user=postgres' AS src (TYPE postgres, READ_ONLY)"
        )
    else:
        conn.execute(
            "ATTACH 'host=127.0.0.1 port=3306 database=sql13_bench user=root' AS src (TYPE mysql, READ_ONLY)"
        )
    query_started = time.perf_counter()
    conn.execute(f"CREATE TABLE {args.table} AS SELECT * FROM src.{SCHEMAS[args.db]}.{args.table}")
    conn.close()  # includes the checkpoint: the table is on disk
    done = time.perf_counter()
    with duckdb.connect(args.out, read_only=True) as check:
        rows = check.execute(f"SELECT count(*) FROM {args.table}").fetchone()[0]
        types = check.execute(
            f"SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '{args.table}'"
        ).fetchall()
    report(
        work_s=done - query_started,
        connect_s=query_started - started,
        rows=rows,
        types=dict(types),
        duckdb=duckdb.__version__,
    )


def plain_dlt(args: argparse.Namespace) -> None:
    """dlt with default settings (no .dlt/config.toml): `sql_table` -> DuckDB."""
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    os.environ["DLT_PROJECT_DIR"] = args.workdir
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.chdir(args.workdir)
    import dlt
    from dlt.sources.sql_database import sql_table

    started = time.perf_counter()
    resource = sql_table(
        credentials=URLS[args.db],
        schema=SCHEMAS[args.db],
        table=args.table,
        backend=args.backend,
        reflection_level="full_with_precision",
    )
    pipeline = dlt.pipeline(
        pipeline_name="plain_sql",
        destination=dlt.destinations.duckdb(args.out),
        dataset_name="plain",
    )
    info = pipeline.run(resource)
    done = time.perf_counter()
    trace = pipeline.last_trace
    steps = {
        step.step: (step.finished_at - step.started_at).total_seconds()
        for step in trace.steps
        if step.finished_at
    }
    del info
    import duckdb

    with duckdb.connect(args.out, read_only=True) as conn:
        rows = conn.execute(f"SELECT count(*) FROM plain.{args.table}").fetchone()[0]
    report(work_s=done - started, rows=rows, steps=steps)


def reader(args: argparse.Namespace) -> None:
    """One reader alone: rows of the table through `ProjectTableLoader`, nothing written."""
    import sqlalchemy as sa

    from ingest_assets.sources.sql_database import readers as sql_readers

    engine = sa.create_engine(URLS[args.db])
    started = time.perf_counter()
    table = sa.Table(args.table, sa.MetaData(schema=SCHEMAS[args.db]), autoload_with=engine)
    from dlt.sources.sql_database.schema_types import table_to_columns

    columns = table_to_columns(table, "full_with_precision")
    chunks = (
        sql_readers.ChunksConfig(column=args.chunk_column, count=args.chunks)
        if args.chunks
        else "off"
    )
    loader = sql_readers.ProjectTableLoader(
        engine,
        sql_readers.dlt_backend(args.reader),
        table,
        columns,
        chunk_size=args.chunk_size,
        reader=args.reader,
        chunks=chunks,
        label=f"table {args.table}",
    )
    rows = batches = 0
    for item in loader.load_rows():
        rows += len(item)
        batches += 1
    report(work_s=time.perf_counter() - started, rows=rows, batches=batches)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sql.workers")
    sub = parser.add_subparsers(dest="case", required=True)
    p = sub.add_parser("duckdb-ext")
    p.add_argument("--db", required=True, choices=sorted(URLS))
    p.add_argument("--table", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=duckdb_ext)
    p = sub.add_parser("plain-dlt")
    p.add_argument("--db", required=True, choices=sorted(URLS))
    p.add_argument("--table", required=True)
    p.add_argument("--backend", default="pyarrow")
    p.add_argument("--out", required=True)
    p.add_argument("--workdir", required=True)
    p.set_defaults(func=plain_dlt)
    p = sub.add_parser("reader")
    p.add_argument("--db", required=True, choices=sorted(URLS))
    p.add_argument("--table", required=True)
    p.add_argument("--reader", required=True)
    p.add_argument("--chunk-size", type=int, default=50000)
    p.add_argument("--chunks", type=int, default=0)
    p.add_argument("--chunk-column", default="l_orderkey")
    p.set_defaults(func=reader)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    sys.exit(main())

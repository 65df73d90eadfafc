"""What runs inside one measured process: `python -m benchmarks.workers <case> [options]`.

Each case does its work once and reports its own timings with `measure.report` (the runner
measures the whole process from outside). Cases:

- `native`: DuckDB's own `CREATE TABLE AS SELECT * FROM read_parquet/read_csv/read_json(...)`.
- `plain-dlt-files`: a plain dlt pipeline with default settings over the same file, with dlt's
  filesystem source readers (`read_parquet`, `read_csv_duckdb(use_pyarrow=True)`, `read_jsonl`)
  or dlt's file import of the parquet file as it is (`import`).
- `plain-dlt-dicts`: a plain dlt pipeline with default settings over the benchmark's dict source.
- `plain-dlt-rest`: a plain dlt pipeline with default settings over dlt's `rest_api_source`.
- `defs-load`: import `ingest_assets` and build the project's `Definitions`, counting network
  connections, DuckDB connections and subprocesses made while doing so.
- `sensor-tick`: one tick of a filesystem source's file sensor.
- `events`: (not measured) step timings of the last run in a Dagster instance.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from benchmarks.measure import report

NATIVE_READERS = {
    "parquet": "read_parquet('{file}')",
    "csv": "read_csv('{file}')",
    "jsonl": "read_json('{file}', format='newline_delimited')",
}


def native(args: argparse.Namespace) -> None:
    import duckdb

    started = time.perf_counter()
    conn = duckdb.connect(args.db)
    conn.execute("SET enable_progress_bar = false")
    select = "*, '1795260638.4138832'::VARCHAR AS _dlt_load_id" if args.load_id else "*"
    reader = NATIVE_READERS[args.format].format(file=args.file)
    query_started = time.perf_counter()
    conn.execute(f"CREATE TABLE lineitem AS SELECT {select} FROM {reader}")
    conn.close()  # includes DuckDB's checkpoint: the table is on disk
    done = time.perf_counter()
    rows = _count(args.db, "lineitem")
    report(work_s=done - query_started, connect_s=query_started - started, rows=rows)


def plain_dlt_files(args: argparse.Namespace) -> None:
    """dlt with default settings: no .dlt/config.toml, default loader file format and buffers."""
    _isolated_dlt(args.workdir)
    import dlt
    from dlt.sources.filesystem import filesystem, read_csv_duckdb, read_jsonl, read_parquet

    file = Path(args.file)
    pipeline = dlt.pipeline(
        pipeline_name="plain",
        destination=dlt.destinations.duckdb(credentials=args.db),
        dataset_name="raw_plain",
        pipelines_dir=str(Path(args.workdir) / "pipelines"),
    )
    files = filesystem(bucket_url=str(file.parent), file_glob=file.name)
    if args.reader == "import":
        import pyarrow as pa
        import pyarrow.parquet as pq

        metadata = pq.read_metadata(file)
        # dlt takes the columns from an Arrow schema but rejects view types: give it plain ones
        schema = pa.schema(
            [
                f.with_type(pa.string()) if pa.types.is_string_view(f.type) else f
                for f in pq.read_schema(file)
            ]
        )

        @dlt.resource(name="lineitem")
        def imported():
            yield dlt.mark.with_file_import(
                str(file), "parquet", items_count=metadata.num_rows, hints=schema.empty_table()
            )

        data = imported()
    else:
        reader = {
            # Arrow batches of pyarrow's default size; dlt rejects string_view columns, which
            # pyarrow gives for files written by arrow-rs (tpchgen-cli): cast them to string
            "read_parquet_arrow": lambda: read_parquet(use_pyarrow=True, chunksize=65_536),
            "read_csv_duckdb": lambda: read_csv_duckdb(use_pyarrow=True),
            "read_jsonl": read_jsonl,
        }[args.reader]()
        data = (files | reader).with_name("lineitem")
        if args.reader == "read_parquet_arrow":
            data.add_map(_plain_strings)
    started = time.perf_counter()
    info = pipeline.run(data, loader_file_format=args.loader_file_format)
    done = time.perf_counter()
    formats = sorted(
        {
            job.job_file_info.file_format
            for package in info.load_packages
            for job in package.jobs["completed_jobs"]
        }
    )
    report(
        work_s=done - started,
        rows=_count(args.db, "lineitem", "raw_plain"),
        loader_file_formats=formats,
    )


def _plain_strings(batch):
    import pyarrow as pa

    if not any(pa.types.is_string_view(f.type) for f in batch.schema):
        return batch
    return batch.cast(
        pa.schema(
            [
                f.with_type(pa.string()) if pa.types.is_string_view(f.type) else f
                for f in batch.schema
            ]
        )
    )


def plain_dlt_dicts(args: argparse.Namespace) -> None:
    _isolated_dlt(args.workdir)
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_sources.bench_dicts import bench_dicts

    _run_plain(args, "plain_dicts", bench_dicts(rows=args.rows), "lineitem")


def plain_dlt_rest(args: argparse.Namespace) -> None:
    _isolated_dlt(args.workdir)
    from dlt.sources.rest_api import rest_api_source

    _run_plain(args, "plain_rest", rest_api_source(json.loads(args.config)), "items")


def _run_plain(args: argparse.Namespace, pipeline_name: str, source, table: str) -> None:
    """`pipeline.run(source)` into `raw_plain` of `args.db` with every dlt default, timed; report
    the time, the rows of `table` and the loader file formats dlt chose."""
    import dlt

    pipeline = dlt.pipeline(
        pipeline_name=pipeline_name,
        destination=dlt.destinations.duckdb(credentials=args.db),
        dataset_name="raw_plain",
        pipelines_dir=str(Path(args.workdir) / "pipelines"),
    )
    started = time.perf_counter()
    info = pipeline.run(source)
    done = time.perf_counter()
    formats = sorted(
        {
            job.job_file_info.file_format
            for package in info.load_packages
            for job in package.jobs["completed_jobs"]
        }
    )
    report(
        work_s=done - started, rows=_count(args.db, table, "raw_plain"), loader_file_formats=formats
    )


def defs_load(args: argparse.Namespace) -> None:
    """The entry point's definitions as a code server loads them, timed in parts, with a count of
    what definitions load must not do (network or database connections, subprocesses)."""
    started = time.perf_counter()
    calls = _watch_side_effects()
    watched = time.perf_counter()
    import dagster  # noqa: F401 - the libraries a code location imports, timed apart
    import dagster_dbt  # noqa: F401
    import dagster_dlt  # noqa: F401
    import dlt  # noqa: F401

    libraries = time.perf_counter()
    import ingest_assets.definitions as entry_point
    from ingest_assets.project import load_project

    own_modules = time.perf_counter()
    project = load_project(Path(args.root))
    loaded = time.perf_counter()
    defs = entry_point.defs()  # the `@dg.definitions` function: every component of defs/
    built = time.perf_counter()
    graph = defs.resolve_asset_graph()  # what the code server does next: resolve the asset graph
    resolved = time.perf_counter()
    report(
        libraries_import_s=libraries - watched,
        project_import_s=own_modules - libraries,
        load_project_s=loaded - own_modules,
        load_defs_folder_s=built - loaded,
        resolve_asset_graph_s=resolved - built,
        defs_load_s=resolved - started,
        defs_load_after_imports_s=resolved - own_modules,
        assets=len(list(graph.get_all_asset_keys())),
        sources=len(project.config.enabled_sources),
        socket_connects=calls["socket_connect"],
        duckdb_connects=calls["duckdb_connect"],
        subprocesses=calls["subprocess"],
        dbt_invocations=calls["dbt"],
    )


def sensor_tick(args: argparse.Namespace) -> None:
    from dagster import DagsterInstance, build_sensor_context

    from ingest_assets.orchestration.sensors import build_file_sensor
    from ingest_assets.project import load_project

    project = load_project(Path(args.root))
    source = next(s for s in project.config.enabled_sources if s.name == args.source)
    sensor = build_file_sensor(source, project.paths)
    cursor = Path(args.cursor).read_text() if args.cursor else None
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(cursor=cursor, instance=instance)
        started = time.perf_counter()
        result = sensor(context)
        done = time.perf_counter()
    run_requests = getattr(result, "run_requests", None) or []
    files = 0
    for request in run_requests:
        for op in request.run_config.get("ops", {}).values():
            files += sum(len(v) for v in (op.get("config", {}).get("files") or {}).values())
    new_cursor = getattr(result, "cursor", None)
    if args.write_cursor and new_cursor is not None:
        Path(args.write_cursor).write_text(new_cursor)
    skip = getattr(result, "skip_reason", None) or (
        result if type(result).__name__ == "SkipReason" else None
    )
    report(
        work_s=done - started,
        run_requests=len(run_requests),
        files_requested=files,
        skip_reason=str(getattr(skip, "skip_message", skip))[:200] if skip else None,
        cursor_bytes=len(new_cursor or ""),
    )


def events(args: argparse.Namespace) -> None:
    """Print (JSON) the step timings of the newest run in the instance at `--home`."""
    print(json.dumps(run_timings(Path(args.home))))


def run_timings(home: Path) -> dict:
    """Durations of the newest run of a Dagster instance: its steps (STEP_START -> STEP_SUCCESS or
    STEP_FAILURE), the run (RUN_START -> RUN_SUCCESS/RUN_FAILURE), and the wall-clock time of its
    first and last events, so a caller can tell process start and exit apart."""
    from dagster import DagsterEventType, DagsterInstance

    names = {
        DagsterEventType.RUN_START: "run_start",
        DagsterEventType.RUN_SUCCESS: "run_success",
        DagsterEventType.RUN_FAILURE: "run_failure",
    }
    with DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs(limit=1)
        if not runs:
            return {}
        run = runs[0]
        logs = instance.all_logs(run.run_id)
    steps: dict[str, dict[str, float]] = {}
    timings: dict = {"run_id": run.run_id, "status": run.status.value, "steps": {}}
    first_materialization: dict[str, float] = {}
    for entry in logs:
        event = entry.dagster_event
        if event is None:
            continue
        kind = event.event_type
        if kind in names:
            timings[names[kind]] = entry.timestamp
        key = event.step_key
        if key and kind == DagsterEventType.STEP_START:
            steps.setdefault(key, {})["start"] = entry.timestamp
        elif key and kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            steps.setdefault(key, {})["end"] = entry.timestamp
        elif key and kind == DagsterEventType.ASSET_MATERIALIZATION:
            first_materialization.setdefault(key, entry.timestamp)
    for key, span in steps.items():
        if "start" in span and "end" in span:
            timings["steps"][key] = {
                "seconds": span["end"] - span["start"],
                "start": span["start"],
                "end": span["end"],
                "first_materialization_s": (
                    first_materialization[key] - span["start"]
                    if key in first_materialization
                    else None
                ),
            }
    end = timings.get("run_success") or timings.get("run_failure")
    if "run_start" in timings and end:
        timings["run_s"] = end - timings["run_start"]
    return timings


def _count(db: str, table: str, schema: str | None = None) -> int:
    import duckdb

    with duckdb.connect(db, read_only=True) as conn:
        qualified = f"{schema}.{table}" if schema else table
        return conn.execute(f"SELECT count(*) FROM {qualified}").fetchone()[0]


def _isolated_dlt(workdir: str) -> None:
    """Run dlt with its defaults: a project folder without `.dlt/config.toml`."""
    Path(workdir).mkdir(parents=True, exist_ok=True)
    os.environ["DLT_PROJECT_DIR"] = workdir
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.chdir(workdir)


def _watch_side_effects() -> dict[str, int]:
    """Count socket connects, DuckDB connects and subprocesses (dbt ones apart) from now on."""
    import socket
    import subprocess

    calls = {"socket_connect": 0, "duckdb_connect": 0, "subprocess": 0, "dbt": 0}
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def counted_connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            calls["socket_connect"] += 1
        return connect(self, address)

    def counted_connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            calls["socket_connect"] += 1
        return connect_ex(self, address)

    socket.socket.connect, socket.socket.connect_ex = counted_connect, counted_connect_ex
    popen_init = subprocess.Popen.__init__

    def counted_popen(self, args, *rest, **kwargs):
        calls["subprocess"] += 1
        if "dbt" in " ".join(map(str, args if isinstance(args, (list, tuple)) else [args])):
            calls["dbt"] += 1
        return popen_init(self, args, *rest, **kwargs)

    subprocess.Popen.__init__ = counted_popen
    import duckdb

    duckdb_connect = duckdb.connect

    def counted_duckdb(*a, **k):
        calls["duckdb_connect"] += 1
        return duckdb_connect(*a, **k)

    duckdb.connect = counted_duckdb
    return calls


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.workers")
    sub = parser.add_subparsers(dest="case", required=True)
    p = sub.add_parser("native")
    p.add_argument("--format", required=True, choices=sorted(NATIVE_READERS))
    p.add_argument("--file", required=True)
    p.add_argument("--db", required=True)
    p.add_argument("--load-id", action="store_true", help="add a constant _dlt_load_id column")
    p.set_defaults(func=native)
    p = sub.add_parser("plain-dlt-files")
    p.add_argument(
        "--reader",
        required=True,
        choices=["read_parquet_arrow", "read_csv_duckdb", "read_jsonl", "import"],
    )
    p.add_argument("--loader-file-format", help="dlt's loader_file_format (default: dlt's choice)")
    p.add_argument("--file", required=True)
    p.add_argument("--db", required=True)
    p.add_argument("--workdir", required=True)
    p.set_defaults(func=plain_dlt_files)
    p = sub.add_parser("plain-dlt-dicts")
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--db", required=True)
    p.add_argument("--workdir", required=True)
    p.set_defaults(func=plain_dlt_dicts)
    p = sub.add_parser("plain-dlt-rest")
    p.add_argument("--config", required=True, help="rest_api_source config as JSON")
    p.add_argument("--db", required=True)
    p.add_argument("--workdir", required=True)
    p.set_defaults(func=plain_dlt_rest)
    p = sub.add_parser("defs-load")
    p.add_argument("--root", required=True)
    p.set_defaults(func=defs_load)
    p = sub.add_parser("sensor-tick")
    p.add_argument("--root", required=True)
    p.add_argument("--source", required=True)
    p.add_argument("--cursor", help="file holding the cursor to start from")
    p.add_argument("--write-cursor", help="file to write the tick's cursor to")
    p.set_defaults(func=sensor_tick)
    p = sub.add_parser("events")
    p.add_argument("--home", required=True)
    p.set_defaults(func=events)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()

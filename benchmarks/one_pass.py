"""Prototype measurement of a one-pass file load: `python -m benchmarks.one_pass [--sf 1]`.

Issue 13, point 4: the file path is two passes today (DuckDB converts each file into a parquet
load file with `_dlt_load_id`, then dlt's load job INSERTs that file), 1.6-2.0x DuckDB-native
CTAS on parquet. The one-pass route is a load job for imported files that adds `_dlt_load_id` in
its own `INSERT ... SELECT` from the user's file, inside the transaction that also records the
file as loaded. This measures that route at the DuckDB level, side by side with the two passes
and with native CTAS, on TPC-H `lineitem` parquet and JSONL (the files of `benchmarks.run`,
generated when missing), each statement in a fresh DuckDB file with the project's memory cap on
the load connection (300 MB). It also checks the two guarantees of the one-pass route: a corrupt
file fails its INSERT, the transaction rolls back, so neither its rows nor its "loaded" record
remain; and every row carries the load id.

Each route runs in a fresh process (`--route`), so timings and peak RSS are its own; the parent
prints the table. Not wired into dlt: it measures the floor such a load job would have.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

LOAD_ID = "1795260638.4138832"
READERS = {
    "parquet": "read_parquet('{file}')",
    "jsonl": "read_json('{file}', format='newline_delimited')",
}
ROUTES = ["native", "two_pass", "one_pass"]


def _fresh(path: Path) -> str:
    for candidate in (path, Path(f"{path}.wal")):
        candidate.unlink(missing_ok=True)
    return str(path)


def run_route(route: str, file_format: str, file: Path, work: Path) -> dict:
    """One route over `file`; returns its timings (seconds) and the loaded rows."""
    import duckdb

    reader = READERS[file_format].format(file=file)
    db = _fresh(work / f"{route}.duckdb")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    if route == "native":
        with duckdb.connect(db) as conn:
            conn.execute("SET enable_progress_bar = false")
            conn.execute(f"CREATE TABLE lineitem AS SELECT * FROM {reader}")
    elif route == "two_pass":
        load_file = work / "load.parquet"
        load_file.unlink(missing_ok=True)
        with duckdb.connect() as conv:  # the conversion, as file_readers.write_load_file does it
            conv.execute("SET preserve_insertion_order = false")
            conv.execute(
                f"COPY (SELECT *, '{LOAD_ID}'::VARCHAR AS _dlt_load_id FROM {reader}) TO '{load_file}' "
                "(FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 116000)"
            )
        timings["convert_s"] = time.perf_counter() - started
        with duckdb.connect(db, config={"memory_limit": "300MB"}) as conn:  # dlt's load job
            conn.execute(
                f"CREATE TABLE lineitem AS SELECT * FROM read_parquet('{load_file}') LIMIT 0"
            )
            conn.execute(f"INSERT INTO lineitem BY NAME SELECT * FROM read_parquet('{load_file}')")
    else:  # one_pass: the load job reads the user's file itself, in the transaction recording it
        with duckdb.connect(db, config={"memory_limit": "300MB"}) as conn:
            conn.execute(
                f"CREATE TABLE lineitem AS SELECT *, ''::VARCHAR AS _dlt_load_id FROM {reader} LIMIT 0"
            )
            conn.execute("CREATE TABLE loaded_files (file VARCHAR, load_id VARCHAR, rows BIGINT)")
            conn.execute("BEGIN")
            rows = conn.execute(
                f"INSERT INTO lineitem BY NAME SELECT *, '{LOAD_ID}'::VARCHAR AS _dlt_load_id FROM {reader}"
            ).fetchone()[0]
            conn.execute("INSERT INTO loaded_files VALUES (?, ?, ?)", [str(file), LOAD_ID, rows])
            conn.execute("COMMIT")
    timings["work_s"] = time.perf_counter() - started
    with duckdb.connect(db, read_only=True) as conn:
        rows, ids = conn.execute(
            "SELECT count(*), "
            + ("count(DISTINCT _dlt_load_id)" if route != "native" else "1")
            + " FROM lineitem"
        ).fetchone()
    return {**timings, "rows": rows, "load_ids": ids}


def corrupt_file_check(file_format: str, file: Path, work: Path) -> dict:
    """The one-pass route over a truncated copy of `file`: it must fail and leave nothing."""
    import duckdb

    broken = work / f"broken.{file_format}"
    data = file.read_bytes()
    broken.write_bytes(
        data[: len(data) // 2] if file_format == "jsonl" else data[: len(data) - 1000]
    )
    if file_format == "jsonl":
        with open(broken, "ab") as handle:
            handle.write(b'{"l_orderkey": "not a number"\n')
    reader = READERS[file_format].format(file=broken)
    db = _fresh(work / "broken.duckdb")
    with duckdb.connect(db) as conn:
        conn.execute(
            f"CREATE TABLE lineitem AS SELECT *, ''::VARCHAR AS _dlt_load_id FROM {READERS[file_format].format(file=file)} LIMIT 0"
        )
        conn.execute("CREATE TABLE loaded_files (file VARCHAR, load_id VARCHAR, rows BIGINT)")
        error = None
        conn.execute("BEGIN")
        try:
            conn.execute(
                f"INSERT INTO lineitem BY NAME SELECT *, '{LOAD_ID}' AS _dlt_load_id FROM {reader}"
            )
            conn.execute("INSERT INTO loaded_files VALUES (?, ?, 0)", [str(broken), LOAD_ID])
            conn.execute("COMMIT")
        except duckdb.Error as failure:
            error = str(failure).splitlines()[0][:160]
            conn.execute("ROLLBACK")
        rows = conn.execute("SELECT count(*) FROM lineitem").fetchone()[0]
        recorded = conn.execute("SELECT count(*) FROM loaded_files").fetchone()[0]
    return {
        "failed": error is not None,
        "error": error,
        "rows_left": rows,
        "files_recorded": recorded,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.one_pass",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sf", type=float, default=1.0)
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=Path(os.environ.get("TMPDIR", "/tmp")) / "ingest_assets_bench",
    )
    parser.add_argument("--formats", default="parquet,jsonl")
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--route", choices=ROUTES, help=argparse.SUPPRESS)
    parser.add_argument("--format", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "one-pass.json"
    )
    args = parser.parse_args(argv)
    work = args.work_dir.resolve() / "one_pass"
    work.mkdir(parents=True, exist_ok=True)
    if args.route:  # inside the measured process
        print(json.dumps(run_route(args.route, args.format, args.file, work)))
        return
    from benchmarks import data
    from benchmarks.measure import MeasuredProcessFailed, run_measured

    tpch = data.tpch(args.sf, args.work_dir.resolve(), 50_000)
    results: dict = {
        "sf": args.sf,
        "load_avg_start": os.getloadavg()[0],
        "routes": {},
        "corrupt": {},
    }
    print(f"one-pass prototype, SF{args.sf:g}; load average {os.getloadavg()[0]:.2f}")
    print(f"{'format':<8} {'route':<9} {'work s':>8} {'x native':>9} {'peak MB':>8} {'rows':>10}")
    for file_format in [f.strip() for f in args.formats.split(",") if f.strip()]:
        file = tpch.file(file_format)
        native = None
        for route in ROUTES:
            samples = []
            for _ in range(args.reps):
                log = work / f"{file_format}.{route}.log"
                cmd = [
                    sys.executable,
                    "-m",
                    "benchmarks.one_pass",
                    "--route",
                    route,
                    "--format",
                    file_format,
                    "--file",
                    str(file),
                    "--work-dir",
                    str(args.work_dir),
                ]
                env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
                try:
                    sample = run_measured(cmd, env=env, log=log)
                except MeasuredProcessFailed as error:
                    print(f"{file_format:<8} {route:<9} FAILED {str(error)[-200:]}")
                    break
                outcome = json.loads(log.read_text().strip().splitlines()[-1])
                samples.append(
                    {
                        **outcome,
                        "wall_s": sample.wall_s,
                        "peak_rss_mb": sample.peak_rss_mb,
                        "cpu_s": sample.cpu_s,
                    }
                )
            if not samples:
                continue
            best = sorted(samples, key=lambda s: s["work_s"])[len(samples) // 2]
            if route == "native":
                native = best["work_s"]
            best["ratio"] = best["work_s"] / native if native else None
            results["routes"][f"{file_format}.{route}"] = {**best, "samples": samples}
            ratio = f"{best['ratio']:.2f}" if best["ratio"] else ""
            print(
                f"{file_format:<8} {route:<9} {best['work_s']:>8.2f} {ratio:>9} {best['peak_rss_mb']:>8.0f} {best['rows']:>10,}",
                flush=True,
            )
        results["corrupt"][file_format] = corrupt_file_check(file_format, file, work)
        print(
            f"{file_format:<8} corrupt file, one pass: {results['corrupt'][file_format]}",
            flush=True,
        )
    results["load_avg_end"] = os.getloadavg()[0]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, default=str) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

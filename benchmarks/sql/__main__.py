"""The `sql` benchmark suite: `python -m benchmarks.sql [--sf 1] [--reps 1] [--db postgresql,mysql]`.

TPC-H `lineitem` at `--sf` is loaded into the local PostgreSQL (`COPY`) and MariaDB (`LOAD DATA`)
once (`benchmarks.sql.data`), then copied into DuckDB by each configuration, side by side in one
run, each in its own measured process (wall time, peak RSS of the process tree, CPU; see
`benchmarks.measure`):

- DuckDB 1.4.4's `postgres` / `mysql` extension, `CREATE TABLE AS SELECT *` (the baseline; in its
  own venv `.cache/bench-duckdb144`, made with uv when missing, since the project's DuckDB cannot
  download extensions here and the `duckdb-ext-*` wheels ship them for 1.4.4);
- plain dlt `sql_table(backend="pyarrow")` with dlt's defaults;
- the project's load step (a throw-away project with one `sql_database` source, materialized with
  `dagster asset materialize`), with `backend: auto` (the default) and each reader as override,
  and with key-range `chunks`;
- the whole `ingest sync <source>` command (default backend);
- an incremental project (cursor `l_orderkey`) run twice: the second run finds no new rows;
- each reader alone (`reader`: rows read, nothing written).

Results: a table and the targets on stdout, JSON in `benchmarks/results/sql-sf<SF>.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.measure import REPO, Sample
from benchmarks.project import make_project, project_env
from benchmarks.run import RESULTS, Settings, Suite, _fresh, _fresh_file
from benchmarks.sql import data

DUCKDB_VENV = REPO / ".cache" / "bench-duckdb144"
DEFAULT_WORK = Path(os.environ.get("TMPDIR", "/tmp")) / "ingest_assets_bench_sql"
TARGETS = {"load_ratio": 1.5, "peak_rss_mb": 1024, "rss_growth": 0.10, "noop_step_s": 3.0}

CREDENTIALS = {
    "postgresql": {
        "drivername": "postgresql",
        "host": "127.0.0.1",
        "port": 5432,
        "database": "test",
        "username": "postgres",
    },
    "mysql": {
        "drivername": "mysql",
        "host": "127.0.0.1",
        "port": 3306,
        "database": data.MYSQL_DATABASE,
        "username": "root",
    },
}
SCHEMAS = {"postgresql": data.PG_SCHEMA, "mysql": data.MYSQL_DATABASE}
READERS = {"postgresql": ["connectorx", "adbc", "pyarrow"], "mysql": ["connectorx", "pyarrow"]}
"""The readers measured per database (each as `backend:` override and alone)."""


def duckdb_python() -> str:
    """The Python of the DuckDB 1.4.4 venv with the extension wheels, made when missing."""
    python = DUCKDB_VENV / "bin" / "python"
    if not python.exists():
        uv = Path(sys.executable).parent / "uv"
        print(f"  creating {DUCKDB_VENV} (duckdb 1.4.4 + duckdb-ext-postgres/mysql)", flush=True)
        subprocess.run([str(uv), "venv", "-q", "--python", "3.11", str(DUCKDB_VENV)], check=True)
        subprocess.run(
            [
                str(uv),
                "pip",
                "install",
                "-q",
                "--python",
                str(python),
                "duckdb==1.4.4",
                "duckdb-ext-postgres",
                "duckdb-ext-mysql",
                "psutil",
            ],
            check=True,
        )
    return str(python)


def worker_cmd(python: str, *args: str) -> list[str]:
    return [python, "-m", "benchmarks.sql.workers", *args]


def sql_source(
    name: str, db: str, table: dict[str, Any], backend: str | None = None
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "credentials": CREDENTIALS[db],
        "schema": SCHEMAS[db],
        "tables": [table],
    }
    if backend:
        block["backend"] = backend
    return {"name": name, "type": "sql_database", "sql_database": block}


class SqlSuite(Suite):
    """`Suite` of benchmarks.run (measure, Dagster timings) with the SQL configurations."""

    def __init__(self, settings: Settings, dbs: list[str], args: argparse.Namespace) -> None:
        super().__init__(settings)
        self.dbs = dbs
        self.args = args
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        }

    def run_all(self) -> None:
        item = data.lineitem_csv(self.s.sf, self.s.work)
        self.rows = item.rows
        if "postgresql" in self.dbs:
            data.load_postgres(item)
        if "mysql" in self.dbs:
            data.load_mariadb(item)
        for db in self.dbs:
            print(f"\n## {db}: {item.table} ({item.rows:,} rows) -> DuckDB", flush=True)
            self.database(db, item)

    def database(self, db: str, item: data.Lineitem) -> None:
        table, out = item.table, self.s.work / "dbs"
        out.mkdir(parents=True, exist_ok=True)
        only = set(self.args.only.split(",")) if self.args.only else None

        def want(name: str) -> bool:
            return only is None or name in only

        if want("ext"):
            self.measure(
                f"{db}.duckdb_ext",
                f"{db}: DuckDB 1.4.4 {'postgres' if db == 'postgresql' else 'mysql'} extension, CTAS",
                lambda rep: (
                    worker_cmd(
                        duckdb_python(),
                        "duckdb-ext",
                        "--db",
                        db,
                        "--table",
                        table,
                        "--out",
                        _fresh_file(out / "ext.duckdb"),
                    ),
                    self.env,
                    None,
                ),
                after=self.expect_rows,
                extra_keys=("work_s", "rows"),
            )
        slow_skipped = self.args.skip_slow
        if want("plain") and not (slow_skipped and db != "postgresql"):
            self.measure(
                f"{db}.plain_dlt_pyarrow",
                f"{db}: plain dlt sql_table(backend='pyarrow'), dlt defaults",
                lambda rep: (
                    worker_cmd(
                        sys.executable,
                        "plain-dlt",
                        "--db",
                        db,
                        "--table",
                        table,
                        "--backend",
                        "pyarrow",
                        "--out",
                        _fresh_file(out / "plain_sql.duckdb"),
                        "--workdir",
                        _fresh(self.s.work / "plain"),
                    ),
                    self.env,
                    None,
                ),
                after=self.expect_rows,
                extra_keys=("work_s", "rows"),
            )
        if want("readers"):
            for reader in READERS[db]:
                if slow_skipped and reader == "pyarrow":
                    continue
                self.measure(
                    f"{db}.reader_{reader}",
                    f"{db}: reader {reader} alone (rows read, nothing written)",
                    lambda rep, reader=reader: (
                        worker_cmd(
                            sys.executable,
                            "reader",
                            "--db",
                            db,
                            "--table",
                            table,
                            "--reader",
                            reader,
                        ),
                        self.env,
                        None,
                    ),
                    after=self.expect_rows,
                    extra_keys=("work_s", "rows", "batches"),
                )
        variants: dict[str, tuple[str | None, dict[str, Any]]] = {"auto": (None, {})}
        if want("variants"):
            for reader in READERS[db]:
                if not (slow_skipped and reader == "pyarrow"):
                    variants[reader] = (reader, {})
            variants["auto_off"] = (None, {"chunks": "off"})
            variants["auto_chunks4"] = (None, {"chunks": {"column": "l_orderkey", "count": 4}})
            if not slow_skipped:
                variants["auto_chunks2"] = (None, {"chunks": {"column": "l_orderkey", "count": 2}})
        if want("project"):
            chosen = set(self.args.variants.split(",")) if self.args.variants else None
            for variant, (backend, extra) in variants.items():
                if variant == "connectorx" or (chosen and variant not in chosen):
                    continue  # connectorx: the same as auto
                self.project_step(db, table, variant, backend, extra)
        if want("sync"):
            self.sync(db, table)
        if want("noop") and db == "postgresql":
            self.incremental_noop(db, table)

    def expect_rows(self, rep: int, sample: Sample, cwd: Path | None) -> None:
        assert sample.result.get("rows") == self.rows, (
            f"{sample.result.get('rows')} rows, expected {self.rows}"
        )

    def project_step(
        self, db: str, table: str, variant: str, backend: str | None, extra: dict[str, Any]
    ) -> None:
        name = f"sql_{db[:2]}_{variant}"
        root = self.s.work / "projects" / name
        source = sql_source(name, db, {"name": table, **extra}, backend)

        def run(rep: int):
            make_project(root, [source], self.dbt_target)
            return self.dagster_materialize(root, f"group:{name}")

        self.measure(
            f"{db}.project_{variant}",
            f"{db}: project load step, backend {backend or 'auto'}{' + chunks ' + str(extra['chunks']['count'] if isinstance(extra['chunks'], dict) else extra['chunks']) if 'chunks' in extra else ''}",
            run,
            after=self.counting_rows(f"load_{name}", root, f"raw_{name}.{table}", self.rows),
            extra_keys=("work_s", "rows", "run_s", "process_overhead_s"),
        )

    def sync(self, db: str, table: str) -> None:
        name = f"sql_{db[:2]}_sync"
        root = self.s.work / "projects" / name

        def run(rep: int):
            make_project(root, [sql_source(name, db, {"name": table})], self.dbt_target)
            return (
                [str(Path(sys.executable).parent / "ingest"), "sync", name],
                project_env(root),
                root,
            )

        def after(rep: int, sample: Sample, cwd: Path | None) -> None:
            import duckdb

            with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as conn:
                sample.result["rows"] = conn.execute(
                    f"SELECT count(*) FROM raw_{name}.{table}"
                ).fetchone()[0]
            assert sample.result["rows"] == self.rows
            sample.result["work_s"] = sample.wall_s

        self.measure(
            f"{db}.sync", f"{db}: `ingest sync` whole command, backend auto", run, after=after
        )

    def incremental_noop(self, db: str, table: str) -> None:
        name = f"sql_{db[:2]}_incremental"
        root = self.s.work / "projects" / name
        source = sql_source(
            name,
            db,
            {
                "name": table,
                "incremental": {"cursor": "l_orderkey"},
                "primary_key": ["l_orderkey", "l_linenumber"],
            },
        )
        make_project(root, [source], self.dbt_target)
        self.measure(
            f"{db}.incremental_first",
            f"{db}: incremental (cursor l_orderkey) first run: every row",
            lambda rep: self.dagster_materialize(root, f"group:{name}"),
            after=self.counting_rows(f"load_{name}", root, f"raw_{name}.{table}", self.rows),
            reps=1,
            extra_keys=("work_s", "rows", "run_s", "process_overhead_s"),
        )
        self.measure(
            f"{db}.incremental_noop",
            f"{db}: incremental run with no new rows",
            lambda rep: self.dagster_materialize(root, f"group:{name}"),
            after=self.counting_rows(f"load_{name}", root, f"raw_{name}.{table}", self.rows),
            extra_keys=("work_s", "rows", "run_s", "process_overhead_s"),
        )

    def targets(self) -> list[dict[str, Any]]:
        r = self.results
        out: list[dict[str, Any]] = []

        def ok(key: str) -> dict[str, Any] | None:
            return r.get(key) if key in r and "error" not in r[key] else None

        def add(
            name: str, value: float | None, limit: float, held: bool | None, detail: str
        ) -> None:
            out.append(
                {
                    "target": name,
                    "value": None if value is None else round(value, 3),
                    "limit": limit,
                    "held": held,
                    "detail": detail,
                }
            )

        for db in self.dbs:
            base = ok(f"{db}.duckdb_ext")
            for key, result in r.items():
                if not key.startswith(f"{db}.") or "error" in result:
                    continue
                if base and result is not base and result.get("work_s"):
                    result["ratio_to_ext"] = round(result["work_s"] / base["work_s"], 2)
                    result["wall_ratio_to_ext"] = round(result["wall_s"] / base["wall_s"], 2)
            step = ok(f"{db}.project_auto")
            if base and step:
                ratio = step["work_s"] / base["work_s"]
                add(
                    f"{db}: project load step / DuckDB extension CTAS (SF{self.s.sf:g})",
                    ratio,
                    TARGETS["load_ratio"],
                    ratio <= TARGETS["load_ratio"],
                    f"step {step['work_s']:.1f}s vs {base['work_s']:.1f}s; whole processes {step['wall_s']:.1f}s vs {base['wall_s']:.1f}s",
                )
            for key in (f"{db}.project_auto_chunks2", f"{db}.project_auto_chunks4"):
                chunked = ok(key)
                if base and chunked:
                    ratio = chunked["work_s"] / base["work_s"]
                    add(
                        f"{key}: load step / extension CTAS",
                        ratio,
                        TARGETS["load_ratio"],
                        ratio <= TARGETS["load_ratio"],
                        f"step {chunked['work_s']:.1f}s",
                    )
            sync = ok(f"{db}.sync")
            if base and sync:
                ratio = sync["wall_s"] / base["wall_s"]
                add(
                    f"{db}: `ingest sync` process / extension process",
                    ratio,
                    TARGETS["load_ratio"],
                    ratio <= TARGETS["load_ratio"],
                    f"{sync['wall_s']:.1f}s vs {base['wall_s']:.1f}s",
                )
            for key in (f"{db}.project_auto", f"{db}.project_auto_chunks4", f"{db}.sync"):
                if v := ok(key):
                    add(
                        f"{key}: peak RSS (SF{self.s.sf:g}), MB",
                        v["peak_rss_mb_max"],
                        TARGETS["peak_rss_mb"],
                        v["peak_rss_mb_max"] <= TARGETS["peak_rss_mb"],
                        f"median {v['peak_rss_mb']:.0f} MB",
                    )
            if n := ok(f"{db}.incremental_noop"):
                add(
                    f"{db}: incremental run with no new rows, work in the step, s",
                    n["work_s"],
                    TARGETS["noop_step_s"],
                    n["work_s"] <= TARGETS["noop_step_s"],
                    f"whole run {n['run_s']:.2f}s, process {n['wall_s']:.2f}s",
                )
        if self.args.compare_rss and self.args.compare_rss.exists():
            before = json.loads(self.args.compare_rss.read_text())
            for key, result in r.items():
                earlier = before.get("results", {}).get(key, {})
                if (
                    "error" in result
                    or not earlier.get("peak_rss_mb_max")
                    or ".project" not in key
                    and ".sync" not in key
                ):
                    continue
                growth = result["peak_rss_mb_max"] / earlier["peak_rss_mb_max"] - 1
                add(
                    f"{key}: peak RSS growth SF{before['meta']['sf']:g} -> SF{self.s.sf:g}",
                    growth,
                    TARGETS["rss_growth"],
                    growth <= TARGETS["rss_growth"],
                    f"{earlier['peak_rss_mb_max']:.0f} MB -> {result['peak_rss_mb_max']:.0f} MB",
                )
        return out

    def print_table(self, targets: list[dict[str, Any]]) -> None:
        print(
            "\n## results (median of runs; work = the statement / load step / pipeline.run, wall = whole process)"
        )
        header = f"{'configuration':<72} {'work s':>8} {'wall s':>8} {'x ext':>6} {'peak MB':>8} {'cpu s':>7} {'load':>5}"
        print(header)
        print("-" * len(header))
        for _key, res in self.results.items():
            if "error" in res:
                print(
                    f"{res['label'][:72]:<72} FAILED: {res['error'].splitlines()[0][:60] if res['error'] else ''}"
                )
                continue
            ratio = f"{res['ratio_to_ext']:.2f}" if res.get("ratio_to_ext") else ""
            work = f"{res['work_s']:.2f}" if res.get("work_s") is not None else ""
            print(
                f"{res['label'][:72]:<72} {work:>8} {res['wall_s']:>8.2f} {ratio:>6} {res['peak_rss_mb']:>8.0f} {res['cpu_s']:>7.2f} {res['load_avg']:>5.2f}"
            )
        print("\n## targets")
        for t in targets:
            mark = {True: "HELD", False: "NOT HELD", None: "n/a"}[t["held"]]
            print(f"[{mark:>8}] {t['target']}: {t['value']} (limit {t['limit']}) - {t['detail']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.sql",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sf", type=float, default=1.0, help="TPC-H scale factor (default 1)")
    parser.add_argument("--reps", type=int, default=1, help="runs per configuration (default 1)")
    parser.add_argument("--db", default="postgresql,mysql", help="databases: postgresql,mysql")
    parser.add_argument(
        "--only", help="parts: ext,plain,readers,project,variants,sync,noop (default all)"
    )
    parser.add_argument(
        "--skip-slow",
        action="store_true",
        help="leave out the pyarrow reader and backend, MariaDB's plain dlt and 2 chunks (for SF1 and up on a busy machine; measure them at SF0.1)",
    )
    parser.add_argument(
        "--variants",
        help="project variants to run: auto,auto_off,adbc,pyarrow,auto_chunks4,auto_chunks2 (default all)",
    )
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--compare-rss",
        type=Path,
        help="an earlier results JSON (e.g. sql-sf0.1.json) to compare peak RSS with",
    )
    args = parser.parse_args(argv)
    work = args.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    out = args.out or RESULTS / f"sql-sf{args.sf:g}.json"
    settings = Settings(
        sf=args.sf,
        reps=args.reps,
        work=work,
        out=out,
        sections=["sql"],
        formats=[],
        jsonl_small_rows=0,
        sensor_files=0,
        dict_rows=0,
        plain_dict_rows=0,
        rest_rows=0,
        compare_rss=None,
        all_variants=False,
        code_dir=None,
        no_plain=False,
    )
    dbs = [d.strip() for d in args.db.split(",") if d.strip()]
    print(
        f"sql benchmark: SF{args.sf:g}, {args.reps} run(s) each, {', '.join(dbs)}; work dir {work}; "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs",
        flush=True,
    )
    started = time.perf_counter()
    suite = SqlSuite(settings, dbs, args)
    suite.run_all()
    targets = suite.targets()
    suite.print_table(targets)
    path = suite.write(targets)
    print(
        f"\nwrote {path} in {time.perf_counter() - started:.0f} s; load average now {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()

"""Run the benchmark suite: `python -m benchmarks.run [--sf 1] [--quick] [--only ...]`.

See benchmarks/README.md for what is measured and how to read the table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from benchmarks import data
from benchmarks.measure import MeasuredProcessFailed, Sample, python_cmd, run_measured, summarize
from benchmarks.project import (
    REPO,
    VENV_BIN,
    file_source,
    make_project,
    parsed_dbt_target,
    project_env,
)

SECTIONS = ["files", "noop", "defs", "sensor", "demo", "dicts"]
FORMATS = ["parquet", "csv", "jsonl"]
RESULTS = Path(__file__).parent / "results"
DEFAULT_WORK = Path(os.environ.get("TMPDIR", "/tmp")) / "ingest_assets_bench"

TARGETS = {
    "parquet_ratio": 1.25,
    "csv_ratio": 1.5,
    "jsonl_ratio": 1.5,
    "peak_rss_mb": 1024,
    "sf3_rss_growth": 0.10,
    "dict_speedup": 4.0,
    "noop_step_s": 3.0,
    "defs_load_s": 3.0,
    "sensor_tick_s": 1.0,
    "demo_s": 60.0,
}


@dataclass
class Settings:
    sf: float
    reps: int
    work: Path
    out: Path
    sections: list[str]
    formats: list[str]
    jsonl_small_rows: int
    sensor_files: int
    dict_rows: int
    plain_dict_rows: int
    rest_rows: int
    compare_rss: Path | None
    all_variants: bool
    code_dir: Path | None
    no_plain: bool


class Suite:
    """Runs the configurations, keeps their summaries, prints the table and writes the JSON."""

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.results: dict[str, dict[str, Any]] = {}
        self.notes: list[str] = []
        self.logs = settings.work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.dbt_target = parsed_dbt_target(settings.work / "cache")
        self.started = datetime.now(UTC)
        self.load_start = os.getloadavg()

    # --- running one configuration -----------------------------------------------------------

    def counting_rows(
        self, step: str, root: Path, table: str, expected: int
    ) -> Callable[[int, Sample, Path | None], None]:
        """An `after` for `measure`: the timings of `step` (`add_step_timings`), then the rows of
        `table` in the project's warehouse, which must be `expected`."""
        timings = self.add_step_timings(step)

        def after(rep: int, sample: Sample, cwd: Path | None) -> None:
            timings(rep, sample, cwd)
            with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as conn:
                sample.result["rows"] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            assert sample.result["rows"] == expected

        return after

    def measure_variants(
        self,
        key: str,
        label: str,
        variants: dict[str, dict[str, str]],
        make_run: Callable[
            [int, dict[str, str]], tuple[list[str], dict[str, str] | None, Path | None]
        ],
        **options: Any,
    ) -> None:
        """`measure` once per variant (`{name: extra environment}`), as `<key>_<name>`, with
        `make_run(rep, extra_environment)`."""
        for variant, env_extra in variants.items():
            self.measure(
                f"{key}_{variant}",
                f"{label} + {' '.join(f'{k}={v}' for k, v in env_extra.items())}",
                lambda rep, env_extra=env_extra: make_run(rep, env_extra),
                **options,
            )

    def measure(
        self,
        key: str,
        label: str,
        make_run: Callable[[int], tuple[list[str], dict[str, str] | None, Path | None]],
        *,
        after: Callable[[int, Sample, Path | None], None] | None = None,
        reps: int | None = None,
        extra_keys: tuple[str, ...] = ("work_s", "rows"),
        meta: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Run one configuration `reps` times, each in a fresh process from `make_run(rep)` ->
        (command, env, cwd); `after(rep, sample, cwd)` may add to `sample.result` (e.g. step
        timings read from Dagster's event log). Failures are recorded, not raised."""
        reps = reps or self.s.reps
        samples: list[Sample] = []
        print(f"- {label} ", end="", flush=True)
        for rep in range(reps):
            cmd, env, cwd = make_run(rep)
            log = self.logs / f"{key}.{rep}.log"
            try:
                sample = run_measured(cmd, env=env, cwd=cwd, log=log)
                if after:
                    after(rep, sample, cwd)
            except (MeasuredProcessFailed, AssertionError) as error:
                print(f"FAILED ({log})", flush=True)
                self.results[key] = {"label": label, "error": str(error)[-2000:]}
                return None
            samples.append(sample)
            print(f"{sample.result.get('work_s', sample.wall_s):.2f}s ", end="", flush=True)
        summary = {"label": label, **(meta or {}), **summarize(samples, list(extra_keys))}
        rows, work = summary.get("rows"), summary.get("work_s")
        if rows and work:
            summary["rows_per_s"] = rows / work
        self.results[key] = summary
        print(
            f"| median work {summary.get('work_s') or summary['wall_s']:.2f}s, peak {summary['peak_rss_mb']:.0f} MB",
            flush=True,
        )
        return summary

    def dagster_materialize(
        self, root: Path, selection: str
    ) -> tuple[list[str], dict[str, str], Path]:
        """`dagster asset materialize` of `selection` in the project at `root`, as a user runs it."""
        cmd = [
            str(VENV_BIN / "dagster"),
            "asset",
            "materialize",
            "-m",
            "ingest_assets.definitions",
            "--select",
            selection,
        ]
        return cmd, project_env(root), root

    def add_step_timings(self, step: str | None) -> Callable[[int, Sample, Path | None], None]:
        """After a Dagster run: the run's step durations from its event log; `work_s` is the
        duration of `step` (or of the whole run when None)."""
        from benchmarks.workers import run_timings

        def after(rep: int, sample: Sample, root: Path | None) -> None:
            timings = run_timings(root / "dagster_home")
            assert timings.get("status") == "SUCCESS", (
                f"run did not succeed: {timings.get('status')}"
            )
            steps = {k: round(v["seconds"], 3) for k, v in timings["steps"].items()}
            sample.result["steps"] = steps
            sample.result["run_s"] = timings.get("run_s")
            sample.result["work_s"] = timings.get("run_s") if step is None else steps[step]
            sample.result["process_overhead_s"] = sample.wall_s - (timings.get("run_s") or 0)

        return after

    # --- sections ------------------------------------------------------------------------------

    def files(self) -> None:
        sf = self.s.sf
        print(f"\n## files -> warehouse, TPC-H lineitem SF{sf:g}", flush=True)
        tpch = data.tpch(sf, self.s.work, self.s.jsonl_small_rows)
        for file_format in self.s.formats:
            self.file_format(tpch, file_format)

    def file_format(self, tpch: data.TpchFiles, file_format: str) -> None:
        file = tpch.file(file_format)
        dbs = self.s.work / "dbs"
        dbs.mkdir(exist_ok=True)

        def fresh_db(name: str) -> str:
            path = dbs / f"{name}.duckdb"
            for candidate in (path, path.with_suffix(".duckdb.wal")):
                candidate.unlink(missing_ok=True)
            return str(path)

        meta = {"format": file_format, "file_mb": round(file.stat().st_size / 2**20, 1)}
        native = self.measure(
            f"{file_format}.a_native",
            f"{file_format} (a) DuckDB native CTAS",
            lambda rep: (
                python_cmd(
                    "native",
                    "--format",
                    file_format,
                    "--file",
                    str(file),
                    "--db",
                    fresh_db("native"),
                ),
                None,
                None,
            ),
            meta=meta,
        )
        self.measure(
            f"{file_format}.a_native_load_id",
            f"{file_format} (a') DuckDB native CTAS + constant _dlt_load_id column",
            lambda rep: (
                python_cmd(
                    "native",
                    "--format",
                    file_format,
                    "--file",
                    str(file),
                    "--db",
                    fresh_db("native"),
                    "--load-id",
                ),
                None,
                None,
            ),
            meta=meta,
        )
        expected = native["rows"] if native else None
        name = f"tpch_{file_format}"
        root = self.s.work / "projects" / name

        def project_run(rep: int, env_extra: dict[str, str] | None = None):
            make_project(
                root,
                [file_source(name, file.parent, "lineitem", file.name, file_format)],
                self.dbt_target,
            )
            cmd, env, cwd = self.dagster_materialize(root, f"group:{name}")
            return cmd, {**env, **(env_extra or {})}, cwd

        timings = self.add_step_timings(f"load_{name}")

        def after(rep: int, sample: Sample, cwd: Path | None) -> None:
            timings(rep, sample, cwd)
            with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as conn:
                rows, load_ids = conn.execute(
                    f"SELECT count(*), count(DISTINCT _dlt_load_id) FROM raw_{name}.lineitem"
                ).fetchone()
            assert expected is None or rows == expected, f"loaded {rows} rows, expected {expected}"
            assert load_ids == 1, f"{load_ids} load ids"
            sample.result["rows"] = rows

        self.measure(
            f"{file_format}.b_project",
            f"{file_format} (b) project filesystem source via `dagster asset materialize`",
            project_run,
            after=after,
            extra_keys=("work_s", "rows", "run_s", "process_overhead_s"),
            meta=meta,
        )
        if file_format == "parquet" and "noop" in self.s.sections:
            self.noop(root, name)
        self.measure_variants(
            f"{file_format}.b_project",
            f"{file_format} (b') project",
            FILE_VARIANTS,
            project_run,
            after=after,
            extra_keys=("work_s", "rows", "run_s", "process_overhead_s"),
            meta=meta,
        )
        # dlt's defaults are unusable for files of this size: read_parquet yields dicts, and the
        # default loader file format for DuckDB is insert_values (measured: 265 s and 6 GB for
        # SF0.1 parquet). The Arrow readers run with loader_file_format="parquet"; only the small
        # JSONL subset runs with every default (the dict path).
        readers = {
            "parquet": [
                (
                    "read_parquet_arrow",
                    file,
                    "parquet",
                    "dlt filesystem + read_parquet(use_pyarrow=True), loader_file_format=parquet",
                ),
                (
                    "import",
                    file,
                    None,
                    "dlt.mark.with_file_import of the file as is (no _dlt_load_id)",
                ),
            ],
            "csv": [
                (
                    "read_csv_duckdb",
                    file,
                    "parquet",
                    "dlt filesystem + read_csv_duckdb(use_pyarrow=True), loader_file_format=parquet",
                )
            ],
            "jsonl": [
                (
                    "read_jsonl",
                    tpch.jsonl_small,
                    None,
                    f"dlt filesystem + read_jsonl (dicts), all defaults, first {tpch.small_rows:,} rows",
                )
            ],
        }[file_format]
        for reader, reader_file, loader_format, text in readers if not self.s.no_plain else []:
            workdir = self.s.work / "plain" / f"{file_format}_{reader}"
            extra = ["--loader-file-format", loader_format] if loader_format else []
            self.measure(
                f"{file_format}.c_plain_dlt_{reader}",
                f"{file_format} (c) plain dlt: {text}",
                lambda rep, reader=reader, reader_file=reader_file, workdir=workdir, extra=extra: (
                    python_cmd(
                        "plain-dlt-files",
                        "--reader",
                        reader,
                        "--file",
                        str(reader_file),
                        "--db",
                        fresh_db("plain"),
                        "--workdir",
                        _fresh(workdir),
                        *extra,
                    ),
                    None,
                    None,
                ),
                extra_keys=("work_s", "rows"),
                meta=meta,
            )

    def noop(self, root: Path, name: str) -> None:
        """(d) the same materialization again on the loaded project: nothing new to load."""
        print(f"\n## (d) incremental no-op run of the loaded source {name}", flush=True)
        self.measure(
            "noop.project",
            f"(d) no-op run of {name} (all files loaded)",
            lambda rep: self.dagster_materialize(root, f"group:{name}"),
            after=self.add_step_timings(f"load_{name}"),
            extra_keys=("work_s", "run_s", "process_overhead_s"),
        )

    def defs(self) -> None:
        print(
            "\n## (e) definitions load: 100 sources, 300 dbt models (manifest prepared)", flush=True
        )
        root = data.large_project(self.s.work / "projects" / "large_defs")
        env = {**project_env(root), "BENCH_DB_PASSWORD": "not-used"}
        self.measure(
            "defs.large",
            "(e) import ingest_assets + build Definitions, 100 sources / 300 models",
            lambda rep: (python_cmd("defs-load", "--root", str(root)), env, root),
            extra_keys=(
                "defs_load_s",
                "libraries_import_s",
                "project_import_s",
                "load_project_s",
                "load_defs_folder_s",
                "resolve_asset_graph_s",
                "defs_load_after_imports_s",
                "assets",
                "sources",
                "socket_connects",
                "duckdb_connects",
                "subprocesses",
                "dbt_invocations",
            ),
        )
        self._work_is("defs.large", "defs_load_s")

    def sensor(self) -> None:
        count = self.s.sensor_files
        print(f"\n## (f) file sensor tick over {count:,} files", flush=True)
        folder = data.many_files(self.s.work, count)
        root = self.s.work / "projects" / "sensor"
        source = file_source("landing", folder, "parts", "*.csv", "csv")
        make_project(root, [source], self.dbt_target)
        env = project_env(root)
        cursor = root / "cursor.json"
        cursor.unlink(missing_ok=True)
        self.measure(
            "sensor.first_tick",
            f"(f) tick 1: {count:,} new files, no cursor (all become pending)",
            lambda rep: (
                python_cmd(
                    "sensor-tick",
                    "--root",
                    str(root),
                    "--source",
                    "landing",
                    "--write-cursor",
                    str(cursor),
                ),
                env,
                root,
            ),
            extra_keys=("work_s", "run_requests", "files_requested", "cursor_bytes"),
        )
        self.measure(
            "sensor.request_tick",
            f"(f) tick 2: the {count:,} files settled -> one run request naming them",
            lambda rep: (
                python_cmd(
                    "sensor-tick",
                    "--root",
                    str(root),
                    "--source",
                    "landing",
                    "--cursor",
                    str(cursor),
                ),
                env,
                root,
            ),
            extra_keys=("work_s", "run_requests", "files_requested", "cursor_bytes"),
        )
        _write_loaded_state(root, source)
        self.measure(
            "sensor.steady_tick",
            f"(f) steady tick: all {count:,} files loaded (dlt state), nothing new",
            lambda rep: (
                python_cmd("sensor-tick", "--root", str(root), "--source", "landing"),
                env,
                root,
            ),
            extra_keys=("work_s", "run_requests", "files_requested", "cursor_bytes"),
        )

    def demo(self) -> None:
        print(
            "\n## (g) the demo: jaffle_shop + example_shop + dbt build, `dagster asset materialize --select '*'`",
            flush=True,
        )
        root = self.s.work / "projects" / "demo"

        def demo_run(rep: int):
            make_project(root, [], self.dbt_target)
            shutil.copy2(REPO / "sources.yml", root / "sources.yml")
            data.jaffle_landing(root)
            return self.dagster_materialize(root, "*")

        self.measure(
            "demo.materialize",
            "(g) demo materialize, every asset (dlt loads + dbt build with tests)",
            demo_run,
            after=self.add_step_timings(None),
            extra_keys=("work_s", "run_s", "process_overhead_s"),
        )
        if "demo.materialize" in self.results and "error" not in self.results["demo.materialize"]:
            self.results["demo.materialize"]["wall_is_target"] = True
        env = {**project_env(root), "INGEST_WAREHOUSE_PATH": str(root / "warehouse.duckdb")}
        self.measure(
            "demo.step_process_start",
            "(g) a step process's start: python + import + Definitions of the demo project",
            lambda rep: (python_cmd("defs-load", "--root", str(root)), env, root),
            extra_keys=("defs_load_s", "libraries_import_s", "load_defs_folder_s"),
        )
        self._work_is("demo.step_process_start", "defs_load_s")
        self.measure(
            "demo.dbt_start",
            "(g) dbt's start: `dbt build` selecting nothing in the demo's dbt project",
            lambda rep: (
                [
                    str(VENV_BIN / "dbt"),
                    "build",
                    "--select",
                    "tag:bench_nothing",
                    "--profiles-dir",
                    ".",
                ],
                env,
                root / "dbt_project",
            ),
            extra_keys=(),
        )

    def dicts(self) -> None:
        rows = self.s.dict_rows
        print(
            f"\n## (h) the dict path: dlt_native source of {rows:,} dicts; rest_api over a local server",
            flush=True,
        )
        root = self.s.work / "projects" / "dicts"

        def project_run(rep: int, env_extra: dict[str, str] | None = None):
            make_project(root, [_dicts_source(rows)], self.dbt_target)
            shutil.copy2(
                Path(__file__).parent / "bench_sources" / "bench_dicts.py",
                root / "custom_sources" / "bench_dicts.py",
            )
            cmd, env, cwd = self.dagster_materialize(root, "group:bench_dicts")
            return cmd, {**env, **(env_extra or {})}, cwd

        after = self.counting_rows("load_bench_dicts", root, "raw_bench_dicts.lineitem", rows)

        self.measure(
            "dicts.project",
            f"(h) dlt_native, {rows:,} dicts, project settings (.dlt/config.toml)",
            project_run,
            after=after,
            extra_keys=("work_s", "rows", "run_s"),
        )
        variants = {**DICT_VARIANTS, **(MORE_DICT_VARIANTS if self.s.all_variants else {})}
        self.measure_variants(
            "dicts.project",
            f"(h) dlt_native, {rows:,} dicts, project",
            variants,
            project_run,
            after=after,
            extra_keys=("work_s", "rows", "run_s"),
        )
        plain_rows = self.s.plain_dict_rows
        dbs = self.s.work / "dbs"
        dbs.mkdir(exist_ok=True)
        self.measure(
            "dicts.plain_dlt",
            f"(h) plain dlt, default settings, {plain_rows:,} of the same dicts",
            lambda rep: (
                python_cmd(
                    "plain-dlt-dicts",
                    "--rows",
                    str(plain_rows),
                    "--db",
                    _fresh_file(dbs / "plain_dicts.duckdb"),
                    "--workdir",
                    _fresh(self.s.work / "plain" / "dicts"),
                ),
                None,
                None,
            ),
        )
        rest_rows = self.s.rest_rows
        with data.ApiServer(rest_rows, page_size=1_000) as api:
            rest_root = self.s.work / "projects" / "rest"

            def rest_run(rep: int):
                make_project(
                    rest_root, [data.rest_source("bench_api", api.base_url)], self.dbt_target
                )
                return self.dagster_materialize(rest_root, "group:bench_api")

            rest_after = self.counting_rows(
                "load_bench_api", rest_root, "raw_bench_api.items", rest_rows
            )

            self.measure(
                "rest.project",
                f"(h) rest_api, {rest_rows:,} records in pages of 1,000 from 127.0.0.1, project",
                rest_run,
                after=rest_after,
                extra_keys=("work_s", "rows", "run_s"),
            )
            config = json.dumps(data.rest_config(api.base_url))
            self.measure(
                "rest.plain_dlt",
                f"(h) rest_api, {rest_rows:,} records, plain dlt rest_api_source, default settings",
                lambda rep: (
                    python_cmd(
                        "plain-dlt-rest",
                        "--config",
                        config,
                        "--db",
                        _fresh_file(dbs / "plain_rest.duckdb"),
                        "--workdir",
                        _fresh(self.s.work / "plain" / "rest"),
                    ),
                    None,
                    None,
                ),
            )
            self.notes.append(f"rest_api server answered {api.requests} requests in all")

    def _work_is(self, key: str, field: str) -> None:
        if key in self.results and "error" not in self.results[key]:
            self.results[key]["work_s"] = self.results[key].get(field)

    # --- targets, table, JSON ----------------------------------------------------------------

    def targets(self) -> list[dict[str, Any]]:
        r = self.results
        out: list[dict[str, Any]] = []

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

        def ok(key: str) -> dict[str, Any] | None:
            return r.get(key) if key in r and "error" not in r[key] else None

        for fmt in self.s.formats:
            a, b = ok(f"{fmt}.a_native"), ok(f"{fmt}.b_project")
            limit = TARGETS[f"{fmt}_ratio"]
            if a and b:
                ratio = b["work_s"] / a["work_s"]
                process_ratio = b["wall_s"] / a["wall_s"]
                add(
                    f"{fmt}: load step / DuckDB-native CTAS (SF{self.s.sf:g})",
                    ratio,
                    limit,
                    ratio <= limit,
                    f"step {b['work_s']:.2f}s vs native {a['work_s']:.2f}s; whole processes {b['wall_s']:.2f}s vs {a['wall_s']:.2f}s = {process_ratio:.2f}x",
                )
            if b:
                add(
                    f"{fmt}: peak RSS of the project load (SF{self.s.sf:g}), MB",
                    b["peak_rss_mb_max"],
                    TARGETS["peak_rss_mb"],
                    b["peak_rss_mb_max"] <= TARGETS["peak_rss_mb"],
                    f"median {b['peak_rss_mb']:.0f} MB, max of {b['runs']} runs",
                )
            for variant in FILE_VARIANTS:
                v = ok(f"{fmt}.b_project_{variant}")
                if v and a:
                    add(
                        f"{fmt}: load step / native with {variant} (SF{self.s.sf:g})",
                        v["work_s"] / a["work_s"],
                        limit,
                        v["work_s"] / a["work_s"] <= limit,
                        f"step {v['work_s']:.2f}s",
                    )
                if v:
                    add(
                        f"{fmt}: peak RSS with {variant} (SF{self.s.sf:g}), MB",
                        v["peak_rss_mb_max"],
                        TARGETS["peak_rss_mb"],
                        v["peak_rss_mb_max"] <= TARGETS["peak_rss_mb"],
                        f"median {v['peak_rss_mb']:.0f} MB, max of {v['runs']} runs",
                    )
        if self.s.compare_rss and self.s.compare_rss.exists():
            base = json.loads(self.s.compare_rss.read_text())
            for fmt in self.s.formats:
                for key in [f"{fmt}.b_project", *(f"{fmt}.b_project_{v}" for v in FILE_VARIANTS)]:
                    b = ok(key)
                    before = base.get("results", {}).get(key, {})
                    if b and before.get("peak_rss_mb_max"):
                        growth = b["peak_rss_mb_max"] / before["peak_rss_mb_max"] - 1
                        add(
                            f"{key}: peak RSS growth SF{base['meta']['sf']:g} -> SF{self.s.sf:g}",
                            growth,
                            TARGETS["sf3_rss_growth"],
                            growth <= TARGETS["sf3_rss_growth"],
                            f"{before['peak_rss_mb_max']:.0f} MB -> {b['peak_rss_mb_max']:.0f} MB",
                        )
        pairs = [("dicts.project", "dicts.plain_dlt", "dlt_native dicts")]
        pairs += [
            (f"dicts.project_{v}", "dicts.plain_dlt", f"dlt_native dicts with {v}")
            for v in DICT_VARIANTS
        ]
        pairs += [("rest.project", "rest.plain_dlt", "rest_api")]
        for project_key, plain_key, what in pairs:
            p, q = ok(project_key), ok(plain_key)
            if p and q and p.get("rows_per_s") and q.get("rows_per_s"):
                speedup = p["rows_per_s"] / q["rows_per_s"]
                add(
                    f"{what}: project rows/s / plain dlt default rows/s",
                    speedup,
                    TARGETS["dict_speedup"],
                    speedup >= TARGETS["dict_speedup"],
                    f"{p['rows_per_s']:,.0f} vs {q['rows_per_s']:,.0f} rows/s",
                )
        if n := ok("noop.project"):
            add(
                "incremental no-op: work inside the load step, s",
                n["work_s"],
                TARGETS["noop_step_s"],
                n["work_s"] <= TARGETS["noop_step_s"],
                f"whole run {n['run_s']:.2f}s, whole process {n['wall_s']:.2f}s",
            )
        if d := ok("defs.large"):
            add(
                "definitions load, 100 sources / 300 models (fresh process: imports + build), s",
                d["defs_load_s"],
                TARGETS["defs_load_s"],
                d["defs_load_s"] <= TARGETS["defs_load_s"],
                f"libraries {d['libraries_import_s']:.2f}s, project modules {d['project_import_s']:.2f}s, load_project {d['load_project_s']:.2f}s, build {d['build_definitions_s']:.2f}s, asset graph {d['resolve_asset_graph_s']:.2f}s; "
                f"{d['socket_connects']:.0f} network connects, {d['duckdb_connects']:.0f} DuckDB connects, {d['dbt_invocations']:.0f} dbt runs",
            )
        for key in ("sensor.first_tick", "sensor.request_tick", "sensor.steady_tick"):
            if t := ok(key):
                add(
                    f"sensor {key.split('.')[1].replace('_', ' ')} over {self.s.sensor_files:,} files, s",
                    t["work_s"],
                    TARGETS["sensor_tick_s"],
                    t["work_s"] <= TARGETS["sensor_tick_s"],
                    f"{t.get('files_requested') or 0:.0f} files requested; whole process {t['wall_s']:.2f}s",
                )
        if g := ok("demo.materialize"):
            add(
                "demo end to end (`dagster asset materialize --select '*'` process), s",
                g["wall_s"],
                TARGETS["demo_s"],
                g["wall_s"] <= TARGETS["demo_s"],
                f"run {g['run_s']:.2f}s + process start/exit {g['process_overhead_s']:.2f}s",
            )
        return out

    def print_table(self, targets: list[dict[str, Any]]) -> None:
        print(
            "\n## results (median of runs; work = the measured step/query/tick, wall = whole process)"
        )
        header = f"{'configuration':<84} {'runs':>4} {'work s':>8} {'wall s':>8} {'rows/s':>11} {'peak MB':>8} {'cpu s':>7} {'load':>5}"
        print(header)
        print("-" * len(header))
        for _key, r in self.results.items():
            if "error" in r:
                print(
                    f"{r['label'][:84]:<84} FAILED: {r['error'].splitlines()[0][:60] if r['error'] else ''}"
                )
                continue
            rows_s = f"{r['rows_per_s']:,.0f}" if r.get("rows_per_s") else ""
            work = f"{r['work_s']:.2f}" if r.get("work_s") is not None else ""
            print(
                f"{r['label'][:84]:<84} {r['runs']:>4} {work:>8} {r['wall_s']:>8.2f} {rows_s:>11} {r['peak_rss_mb']:>8.0f} {r['cpu_s']:>7.2f} {r['load_avg']:>5.2f}"
            )
        print("\n## targets")
        for t in targets:
            mark = {True: "HELD", False: "NOT HELD", None: "n/a"}[t["held"]]
            print(f"[{mark:>8}] {t['target']}: {t['value']} (limit {t['limit']}) - {t['detail']}")
        for note in self.notes:
            print(f"note: {note}")

    def write(self, targets: list[dict[str, Any]]) -> Path:
        meta = {
            "sf": self.s.sf,
            "reps": self.s.reps,
            "sections": self.s.sections,
            "started": self.started.isoformat(timespec="seconds"),
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {
                "cpus": os.cpu_count(),
                "memory_gb": round(_memory_gb(), 1),
                "platform": platform.platform(),
                "python": platform.python_version(),
            },
            "load_avg_start": [round(x, 2) for x in self.load_start],
            "load_avg_end": [round(x, 2) for x in os.getloadavg()],
            "versions": _versions(),
            "git": _git(),
            "code_dir": str(self.s.code_dir) if self.s.code_dir else None,
        }
        document = {"meta": meta, "targets": targets, "results": self.results, "notes": self.notes}
        self.s.out.parent.mkdir(parents=True, exist_ok=True)
        partial = self.s.out.with_suffix(".json.tmp")
        partial.write_text(json.dumps(document, indent=1, default=str) + "\n")
        partial.rename(self.s.out)
        return self.s.out


FILE_VARIANTS: dict[str, dict[str, str]] = {
    # the project caps DuckDB's memory on dlt's warehouse connection (150 MB per core, at least
    # 300 MB: `ingest_assets.dlt.pipeline.load_memory_limit`). A `global_config` of the user's
    # own replaces the cap; `{}` gives DuckDB's default (80% of RAM), whose INSERT keeps every
    # block it wrote cached: 0.45 GB at SF1, 0.8 GB at SF3, on top of ~0.31 GB of Python
    "duckdb_default_memory": {"DESTINATION__DUCKDB__CREDENTIALS__GLOBAL_CONFIG": "{}"},
}
"""Project runs of the files section with other dlt settings (environment variables = config.toml keys)."""

DICT_VARIANTS: dict[str, dict[str, str]] = {
    # dlt's default gzips the typed-jsonl files extract writes for dict rows, one small write per
    # row: 28 of 55 s for 1M rows (py-spy). The project turns it off (`[data_writer]
    # disable_compression = true` in .dlt/config.toml); this variant turns it back on
    "gzip": {"DATA_WRITER__DISABLE_COMPRESSION": "false"},
}
"""Extra project runs of the dict path with dlt settings given as environment variables (what
`.dlt/config.toml` would set)."""

MORE_DICT_VARIANTS: dict[str, dict[str, str]] = {
    # normalize in 2 processes over 4 extract files; larger writer buffers (with --all-variants)
    "2_workers": {"NORMALIZE__WORKERS": "2", "DATA_WRITER__FILE_MAX_ITEMS": "250000"},
    "buffer_50k": {"DATA_WRITER__BUFFER_MAX_ITEMS": "50000"},
}


def _dicts_source(rows: int) -> dict[str, Any]:
    return {
        "name": "bench_dicts",
        "type": "dlt_native",
        "dlt_native": {
            "source_module": "bench_dicts",
            "source_function": "bench_dicts",
            "function_kwargs": {"rows": rows},
        },
    }


def _write_loaded_state(root: Path, source_config: dict[str, Any]) -> None:
    """Record every listed file as loaded in the source's local dlt state (as after a load of them
    all), using the project's own listing, so the steady tick sees a bucket with nothing new."""
    from ingest_assets.orchestration.sensors import listed_fingerprints
    from ingest_assets.project import load_project

    os.environ["INGEST_PROJECT_DIR"] = str(root)
    project = load_project(root)
    source = next(s for s in project.config.enabled_sources if s.name == source_config["name"])
    resources = {
        table.name: {"loaded_files": listed_fingerprints(source, project.paths, table)}
        for table in source.filesystem.tables
    }
    state = {"sources": {source.name: {"resources": resources}}}
    state_file = project.paths.pipelines_dir / source.name / "state.json"
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps(state))


def _fresh(folder: Path) -> str:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return str(folder)


def _fresh_file(path: Path) -> str:
    path.unlink(missing_ok=True)
    Path(str(path) + ".wal").unlink(missing_ok=True)
    return str(path)


def _memory_gb() -> float:
    import psutil

    return psutil.virtual_memory().total / 2**30


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in (
        "dagster",
        "dagster-dlt",
        "dagster-dbt",
        "dlt",
        "duckdb",
        "pyarrow",
        "dbt-core",
        "dbt-duckdb",
        "tpchgen-cli",
    ):
        with contextlib.suppress(PackageNotFoundError):
            out[name] = version(name)
    return out


def _git() -> dict[str, Any]:
    """Commit and whether the working tree had changes (read-only git commands)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "ingest_assets"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return {
            "commit": commit,
            "ingest_assets_modified": sorted(line[3:] for line in dirty.splitlines()),
        }
    except (OSError, subprocess.CalledProcessError):
        return {}


def parse_args(argv: list[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--sf", type=float, help="TPC-H scale factor (default 1; 0.1 with --quick)")
    parser.add_argument(
        "--quick", action="store_true", help="SF 0.1, 1 run each, smaller inputs: for trying"
    )
    parser.add_argument(
        "--reps", type=int, help="runs per configuration (default 3; 1 with --quick)"
    )
    parser.add_argument(
        "--only", help=f"comma-separated sections: {','.join(SECTIONS)} (default all)"
    )
    parser.add_argument(
        "--formats", default=",".join(FORMATS), help="file formats of the files section"
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=DEFAULT_WORK,
        help=f"generated data and throw-away projects (default {DEFAULT_WORK})",
    )
    parser.add_argument(
        "--out", type=Path, help="results JSON (default benchmarks/results/sf<SF>[-quick].json)"
    )
    parser.add_argument(
        "--compare-rss",
        type=Path,
        help="an earlier results JSON (e.g. SF1) to compare peak RSS with",
    )
    parser.add_argument(
        "--code-dir",
        type=Path,
        help="a folder holding another `ingest_assets` package to measure instead of this checkout's (put first on PYTHONPATH), e.g. an older version for before/after numbers",
    )
    parser.add_argument(
        "--no-plain",
        action="store_true",
        help="skip the plain-dlt (c) baselines of the files section",
    )
    parser.add_argument(
        "--all-variants",
        action="store_true",
        help="also the other dlt settings tried for the dict path",
    )
    parser.add_argument(
        "--sensor-files",
        type=int,
        help="files in the sensor's folder (default 100,000; 10,000 with --quick)",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    sf = args.sf if args.sf is not None else (0.1 if quick else 1.0)
    sections = SECTIONS if not args.only else [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    suffix = "-quick" if quick else ""
    return Settings(
        sf=sf,
        reps=args.reps or (1 if quick else 3),
        work=args.work_dir.resolve(),
        out=args.out or RESULTS / f"sf{sf:g}{suffix}.json",
        sections=sections,
        formats=[f.strip() for f in args.formats.split(",") if f.strip()],
        jsonl_small_rows=20_000 if quick else 50_000,
        sensor_files=args.sensor_files or (10_000 if quick else 100_000),
        dict_rows=100_000 if quick else 1_000_000,
        plain_dict_rows=10_000 if quick else 50_000,
        rest_rows=20_000 if quick else 100_000,
        compare_rss=args.compare_rss,
        all_variants=args.all_variants,
        code_dir=args.code_dir.resolve() if args.code_dir else None,
        no_plain=args.no_plain,
    )


def main(argv: list[str] | None = None) -> None:
    settings = parse_args(argv)
    settings.work.mkdir(parents=True, exist_ok=True)
    if settings.code_dir:
        if not (settings.code_dir / "ingest_assets" / "__init__.py").exists():
            raise SystemExit(f"--code-dir {settings.code_dir} holds no ingest_assets package")
        os.environ["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(settings.code_dir), os.environ.get("PYTHONPATH")])
        )
    print(
        f"benchmark: SF{settings.sf:g}, {settings.reps} run(s) per configuration, sections {', '.join(settings.sections)}; "
        f"work dir {settings.work}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs",
        flush=True,
    )
    started = time.perf_counter()
    suite = Suite(settings)
    for section in SECTIONS:
        if section in settings.sections and section != "noop":
            try:
                getattr(suite, section)()
            except Exception as error:  # noqa: BLE001 - one broken section must not lose the others
                print(f"section {section} failed: {type(error).__name__}: {error}", flush=True)
                suite.notes.append(
                    f"section {section} failed: {type(error).__name__}: {str(error)[:300]}"
                )
    if "noop" in settings.sections and "files" not in settings.sections:
        suite.notes.append("noop needs the files section (it re-runs the loaded parquet project)")
    targets = suite.targets()
    suite.print_table(targets)
    out = suite.write(targets)
    print(
        f"\nwrote {out} in {time.perf_counter() - started:.0f} s; load average now {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()

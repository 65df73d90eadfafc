"""The fixed-costs suite: measure, compare with the baselines of the same run, print, save JSON.

Order of work (all in throw-away project copies under `--work-dir`):

1. a copy of the repo's demo project (its sources.yml, dbt project, custom sources), demo data
   written by `ingest demo-data`, the dbt manifest parsed once (not timed);
2. the demo load: `ingest sync jaffle_shop` on the fresh copy (loads every file, builds every
   model): the reference of the no-op target;
3. `--reps` rounds; each round runs every configuration once, baselines included, so a burst
   of load on the shared machine hits all of them alike: `python -c pass`,
   `import yaml, pydantic`, `import dagster`, `import dagster, dagster_dbt, dagster_dlt`, each
   `ingest` command, the definitions load of the demo copy and of the generated large project,
   and a no-op `ingest sync jaffle_shop` (up to date: no run) and `ingest sync jaffle_shop --force`
   (a Dagster run that loads nothing);
4. once: which top-level libraries each CLI command imports (`python -X importtime`), the
   definitions load split into parts with a count of dbt starts (`benchmarks.workers
   defs-load`), and the run start latency under `dagster dev` (`benchmarks.fixed_costs.launch`).

Medians of wall and CPU seconds are reported, each with its ratio to `import dagster` of the
same run; the targets of issue 11 are printed as HELD / NOT HELD.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.data import jaffle_landing, large_project
from benchmarks.measure import MeasuredProcessFailed, median, run_measured
from benchmarks.project import REPO, make_project, parsed_dbt_target, project_env

PY = sys.executable
BIN = Path(PY).parent

BASELINES = {
    "python -c pass": [PY, "-c", "pass"],
    "import yaml, pydantic": [PY, "-c", "import yaml, pydantic"],
    "import dagster": [PY, "-c", "import dagster"],
    "import dagster, dagster_dbt, dagster_dlt": [
        PY,
        "-c",
        "import dagster, dagster_dbt, dagster_dlt",
    ],
}
"""Bare interpreter and library imports, measured in every round."""

CLI = {
    "ingest validate": ["validate"],
    "ingest validate --build": ["validate", "--build"],
    "ingest status": ["status"],
    "ingest summary": ["summary"],
    "ingest excel-template": ["excel-template", "--force", "-o", "{work}/template.xlsx"],
    "ingest demo-data": ["demo-data"],
}
"""The commands that need no Dagster (issue 11, point 1); `{work}` is the work directory."""

UNTARGETED = {"ingest validate --build"}
"""Measured for comparison, no target: `--build` imports every enabled source's code (dlt)."""

HEAVY = (
    "dagster",
    "dagster_dbt",
    "dagster_dlt",
    "dlt",
    "dbt",
    "sqlalchemy",
    "pyarrow",
    "openpyxl",
    "duckdb",
    "pandas",
)
"""Top-level packages whose import `-X importtime` reports per command."""

DEFINITIONS_LOAD = (
    "import warnings; warnings.simplefilter('ignore'); import ingest_assets.definitions as d; "
    "d.defs().resolve_asset_graph()"
)
"""What a code server does with the entry point: import it, call its `@dg.definitions` function
(which loads every component of the defs folder) and resolve the asset graph. Importing the module
alone builds nothing since the definitions became a `@dg.definitions` function (issue 12)."""

CLI_LIMIT_S = 1.5
DEFS_RATIO = 1.3
NOOP_OF_LOAD = 0.15
NOOP_OF_DEFS = 1.5
START_OF_DEFS = 1.3


def _demo_project(work: Path, cache: Path) -> Path:
    root = make_project(work / "demo", (REPO / "sources.yml").read_text(), parsed_dbt_target(cache))  # type: ignore[arg-type]
    jaffle_landing(root)
    return root


def _measure(
    name: str, cmd: list[str], env: dict[str, str], cwd: Path, logs: Path, samples: dict
) -> None:
    log = logs / (
        name.replace(" ", "_").replace("/", "_").replace(",", "")
        + f"-{len(samples.get(name, []))}.log"
    )
    try:
        sample = run_measured(cmd, env=env, cwd=cwd, log=log, timeout=1800)
    except MeasuredProcessFailed as error:
        print(f"  {name}: FAILED ({str(error).splitlines()[0]}; log {log})", flush=True)
        samples.setdefault(name, []).append(None)
        return
    samples.setdefault(name, []).append(
        {
            "wall_s": round(sample.wall_s, 3),
            "cpu_s": round(sample.cpu_s, 3),
            "load": round(sample.load_avg_before, 2),
        }
    )
    print(
        f"  {name}: {sample.wall_s:.2f} s wall, {sample.cpu_s:.2f} s CPU (load {sample.load_avg_before:.1f})",
        flush=True,
    )


def _imports(command: list[str], env: dict[str, str], cwd: Path) -> dict[str, float]:
    """Top-level packages of `HEAVY` the command imports, with their cumulative import seconds."""
    done = subprocess.run(
        [PY, "-X", "importtime", "-m", "ingest_assets.cli", *command],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )
    found: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|", 2)
        module = name.strip()
        if module in HEAVY:
            found[module] = round(int(cumulative.split(":")[-1]) / 1e6, 3)
    return found


NOOP = {
    "ingest sync (no-op)": "",
    "ingest sync --force (no-op run)": " --force (a Dagster run that loads nothing)",
}
"""The no-op syncs measured, with their label in the targets: the plain one finds the source up
to date and starts no run (`orchestration.sync_record`); `--force` starts the run anyway."""


def _summary(samples: dict[str, list]) -> dict[str, dict[str, Any]]:
    out = {}
    for name, values in samples.items():
        ok = [v for v in values if v]
        out[name] = {
            "wall_s": median([v["wall_s"] for v in ok]),
            "cpu_s": median([v["cpu_s"] for v in ok]),
            "runs": len(ok),
            "failed": len(values) - len(ok),
            "samples": values,
        }
    return out


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


def _targets(s: dict[str, dict], load: dict, start: dict) -> list[dict[str, Any]]:
    """The issue's targets, each with the measured value and HELD / NOT HELD."""

    def wall(name: str) -> float | None:
        return (s.get(name) or {}).get("wall_s")

    def cpu(name: str) -> float | None:
        return (s.get(name) or {}).get("cpu_s")

    targets = []
    for name in CLI:
        if name in UNTARGETED:
            continue
        targets.append(
            {
                "target": f"{name} <= {CLI_LIMIT_S} s wall (quiet machine)",
                "value_s": wall(name),
                "held": bool(wall(name) and wall(name) <= CLI_LIMIT_S),
            }
        )
    base = "import dagster, dagster_dbt, dagster_dlt"
    for kind, get in (("wall", wall), ("CPU", cpu)):
        ratio = _ratio(get("definitions load (demo)"), get(base))
        targets.append(
            {
                "target": f"demo definitions load <= {DEFS_RATIO}x `{base}` ({kind})",
                "ratio": ratio,
                "held": bool(ratio and ratio <= DEFS_RATIO),
            }
        )
    full = load.get("wall_s")
    for name, label in NOOP.items():
        noop = wall(name)
        for limit, reference, what in (
            (NOOP_OF_LOAD, full, f"{NOOP_OF_LOAD:.0%} of the demo load"),
            (
                NOOP_OF_DEFS,
                wall("definitions load (demo)"),
                f"{NOOP_OF_DEFS}x a definitions load (wall)",
            ),
        ):
            ratio = _ratio(noop, reference)
            targets.append(
                {
                    "target": f"no-op sync{label} <= {what}",
                    "value_s": noop,
                    "ratio": ratio,
                    "held": bool(ratio and ratio <= limit),
                }
            )
    for number, launch in enumerate(start.get("launches", [])):
        latency = launch.get("first_step_start_s")
        ratio = _ratio(latency, wall("definitions load (demo)"))
        targets.append(
            {
                "target": f"run start latency (launch {number + 1}: creation -> first STEP_START) <= {START_OF_DEFS}x a definitions load",
                "value_s": latency,
                "ratio": ratio,
                "held": bool(ratio and ratio <= START_OF_DEFS),
                "no_dbt_parse": not launch.get("manifest_rewritten"),
            }
        )
    return targets


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fixed_costs")
    parser.add_argument(
        "--reps", type=int, default=3, help="rounds of every configuration (median reported)"
    )
    parser.add_argument(
        "--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "ingest_assets_bench"
    )
    parser.add_argument(
        "--only",
        default="cli,defs,large,noop,start",
        help="comma list of: cli, defs, large, noop, start",
    )
    parser.add_argument(
        "--output", type=Path, default=REPO / "benchmarks" / "results" / "fixed_costs.json"
    )
    parser.add_argument("--port", type=int, default=3931)
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    work = args.work_dir.resolve() / "fixed_costs"
    cache = args.work_dir.resolve() / "cache"
    logs = work / "logs"
    shutil.rmtree(work, ignore_errors=True)
    logs.mkdir(parents=True)
    cache.mkdir(parents=True, exist_ok=True)

    print("setting up the demo project copy (not timed)", flush=True)
    demo = _demo_project(work, cache)
    env = project_env(demo)
    large = large_project(cache / "large") if "large" in only else None

    print("demo load: ingest sync jaffle_shop on a fresh copy", flush=True)
    samples: dict[str, list] = {}
    _measure(
        "ingest sync (demo load)",
        [str(BIN / "ingest"), "sync", "jaffle_shop"],
        env,
        demo,
        logs,
        samples,
    )
    load = _summary(samples).get("ingest sync (demo load)", {})
    samples.clear()

    for rep in range(args.reps):
        print(f"round {rep + 1}/{args.reps}", flush=True)
        for name, cmd in BASELINES.items():
            _measure(name, cmd, env, demo, logs, samples)
        if "cli" in only:
            for name, command in CLI.items():
                _measure(
                    name,
                    [str(BIN / "ingest"), *(c.format(work=work) for c in command)],
                    env,
                    demo,
                    logs,
                    samples,
                )
        if "defs" in only:
            _measure(
                "definitions load (demo)",
                [PY, "-c", DEFINITIONS_LOAD],
                env,
                demo,
                logs,
                samples,
            )
        if large is not None:
            _measure(
                "definitions load (100 sources / 300 models)",
                [PY, "-c", DEFINITIONS_LOAD],
                project_env(large),
                large,
                logs,
                samples,
            )
        if "noop" in only:
            for name, extra in (
                ("ingest sync (no-op)", []),
                ("ingest sync --force (no-op run)", ["--force"]),
            ):
                _measure(
                    name,
                    [str(BIN / "ingest"), "sync", "jaffle_shop", *extra],
                    env,
                    demo,
                    logs,
                    samples,
                )
    summary = _summary(samples)

    imports = {}
    if "cli" in only:
        print("imports per command (-X importtime)", flush=True)
        for name, command in CLI.items():
            imports[name] = _imports([c.format(work=work) for c in command], env, demo)
            print(
                f"  {name}: {', '.join(f'{m} {t:.2f}s' for m, t in imports[name].items()) or 'none of ' + ', '.join(HEAVY)}",
                flush=True,
            )

    parts: dict[str, Any] = {}
    if "defs" in only:
        print("definitions load in parts (benchmarks.workers defs-load)", flush=True)
        for label, root in (("demo", demo), ("large", large)):
            if root is None:
                continue
            try:
                parts[label] = run_measured(
                    [PY, "-m", "benchmarks.workers", "defs-load", "--root", str(root)],
                    env=project_env(root),
                    cwd=root,
                    log=logs / f"defs-parts-{label}.log",
                ).result
                print(f"  {label}: {json.dumps(parts[label])}", flush=True)
            except MeasuredProcessFailed as error:
                print(f"  {label}: FAILED {str(error).splitlines()[0]}", flush=True)

    start: dict[str, Any] = {}
    if "start" in only:
        print("run start latency under dagster dev (2 launches: a load, then a no-op)", flush=True)
        try:
            start = run_measured(
                [
                    PY,
                    "-m",
                    "benchmarks.fixed_costs.launch",
                    "--root",
                    str(demo),
                    "--port",
                    str(args.port),
                    "--launches",
                    "2",
                    "--log",
                    str(logs / "dagster-dev.log"),
                ],
                env={**env, "PYTHONPATH": str(REPO)},
                cwd=demo,
                log=logs / "launch.log",
                timeout=2400,
            ).result
            print(f"  {json.dumps(start)}", flush=True)
        except MeasuredProcessFailed as error:
            print(f"  FAILED {str(error).splitlines()[0]}", flush=True)

    base = summary.get("import dagster", {})
    table = []
    for name, row in summary.items():
        table.append(
            {
                "what": name,
                "wall_s": row["wall_s"],
                "cpu_s": row["cpu_s"],
                "wall_x_import_dagster": _ratio(row["wall_s"], base.get("wall_s")),
                "cpu_x_import_dagster": _ratio(row["cpu_s"], base.get("cpu_s")),
            }
        )
    table.append(
        {
            "what": "ingest sync (demo load)",
            "wall_s": load.get("wall_s"),
            "cpu_s": load.get("cpu_s"),
            "wall_x_import_dagster": _ratio(load.get("wall_s"), base.get("wall_s")),
            "cpu_x_import_dagster": _ratio(load.get("cpu_s"), base.get("cpu_s")),
        }
    )
    targets = _targets(summary, load, start)
    print(
        "\n| what | wall s | CPU s | wall x `import dagster` | CPU x `import dagster` |\n|---|---|---|---|---|"
    )
    for row in table:
        print(
            f"| {row['what']} | {row['wall_s']} | {row['cpu_s']} | {row['wall_x_import_dagster']} | {row['cpu_x_import_dagster']} |"
        )
    print("\nTargets:")
    for target in targets:
        print(
            f"  {'HELD' if target['held'] else 'NOT HELD'}: {target['target']}: "
            + ", ".join(f"{k}={v}" for k, v in target.items() if k not in ("target", "held"))
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {
                "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "load_avg_end": os.getloadavg(),
                },
                "git": subprocess.run(
                    ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True
                ).stdout.strip(),
                "reps": args.reps,
                "table": table,
                "measurements": summary,
                "demo_load": load,
                "cli_imports": imports,
                "definitions_load_parts": parts,
                "run_start": start,
                "targets": targets,
            },
            indent=2,
            default=str,
        )
    )
    print(f"\nresults: {args.output}")


if __name__ == "__main__":
    main()

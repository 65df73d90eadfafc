"""A dbt step that is cancelled or fails mid-build leaves no `dbt` process behind: the DuckDB
warehouse opens for writing as soon as the run has ended."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jaffle import jaffle_source

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent

SLOW_MODEL = """
import os
import pathlib
import time


def model(dbt, session):
    {ref}
    pathlib.Path(os.environ["SLOW_MODEL_MARKER"]).write_text(str(os.getpid()))
    time.sleep(300)
    return session.sql("select 1 as x")
"""


def _dbt_processes(dbt_project_dir: Path) -> list[int]:
    """Pids of live processes working in `dbt_project_dir` (a dbt started for that project)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (
                Path(os.readlink(entry / "cwd")) == dbt_project_dir
                and "dbt" in (entry / "cmdline").read_text()
            ):
                status = (entry / "status").read_text()
                if "\nState:\tZ" not in status:
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def _assert_warehouse_writable(project: Path) -> None:
    """Another process (as the next run would be) opens the warehouse for writing at once."""
    script = (
        "import duckdb, sys; conn = duckdb.connect(sys.argv[1]); "
        "conn.execute('create or replace table main.after_cancel as select 1 as x'); conn.close()"
    )
    subprocess.run(
        [sys.executable, "-c", script, str(project / "warehouse.duckdb")], check=True, timeout=30
    )


def _wait_for(path: Path, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(
                f"exited before dbt started the model: {process.stdout.read()[-3000:]}"
            )
        if time.monotonic() > deadline:
            raise AssertionError("dbt never started the slow model")
        time.sleep(0.2)


@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="reads /proc to find dbt processes")
def test_sigterm_mid_dbt_build_leaves_no_dbt_process(make_project, tmp_path):
    """`dagster asset materialize` (as `ingest sync`) gets SIGTERM while dbt runs a model.
    Dagster maps SIGTERM to its SIGINT handler during a run, so Ctrl-C takes the same path
    (one signal is tested: each round costs a process start and a dbt start)."""
    project = make_project([jaffle_source("data/landing/jaffle_shop")])
    dbt_dir = project / "dbt_project"
    (dbt_dir / "models" / "marts" / "slow_model.py").write_text(SLOW_MODEL.format(ref=""))
    marker = tmp_path / "started"
    env = {
        **os.environ,
        "INGEST_PROJECT_DIR": str(project),
        "DAGSTER_HOME": str(project / "dagster_home"),
        "SLOW_MODEL_MARKER": str(marker),
    }
    for signum in (signal.SIGTERM,):
        marker.unlink(missing_ok=True)
        run = subprocess.Popen(
            [
                str(BIN / "dagster"),
                "asset",
                "materialize",
                "-m",
                "ingest_assets.definitions",
                "--select",
                "slow_model",
            ],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            begun = time.monotonic()
            _wait_for(marker, run)
            print(f"{signum.name}: dbt model started after {time.monotonic() - begun:.1f} s")
            begun = time.monotonic()
            assert _dbt_processes(dbt_dir), "dbt should be running the slow model"
            run.send_signal(signum)
            run.wait(timeout=60)
        finally:
            if run.poll() is None:
                run.kill()
        print(f"{signum.name}: run ended {time.monotonic() - begun:.1f} s after the signal")
        assert run.returncode != 0, signum
        assert _dbt_processes(dbt_dir) == [], f"dbt survived {signum.name}"
        _assert_warehouse_writable(project)


def test_failing_dbt_step_stops_dbt_and_says_to_reload(make_project, tmp_path, monkeypatch):
    """The definitions were loaded before two models were added: dbt builds a model the
    manifest lacks (the stale-manifest KeyError), the step fails with what to do, and the
    model dbt is still running is stopped with it."""
    project = make_project([jaffle_source("data/landing/jaffle_shop")])
    dbt_dir = project / "dbt_project"
    marker = tmp_path / "started"
    monkeypatch.setenv("SLOW_MODEL_MARKER", str(marker))

    from dagster import AssetSelection, DagsterInstance, materialize

    from ingest_assets.project import build_definitions, load_project

    defs = build_definitions(load_project(project))
    (dbt_dir / "models" / "marts" / "a_new_model.sql").write_text("select 1 as x")
    (dbt_dir / "models" / "marts" / "z_slow_model.py").write_text(
        SLOW_MODEL.format(ref='dbt.ref("a_new_model")')
    )
    started = time.monotonic()
    # every dbt model and test (source tests included): dbt runs `--select fqn:*`, which takes
    # in the new models
    dbt_models = next(a for a in defs.assets if a.op.name == "dbt_models")
    selection = AssetSelection.assets(*dbt_models.keys) | AssetSelection.checks(
        *dbt_models.check_keys
    )
    result = materialize(
        [*defs.assets, *defs.asset_checks],
        resources=defs.resources,
        instance=DagsterInstance.ephemeral(),
        selection=selection,
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure and e.step_key == "dbt_models")
    message = failure.event_specific_data.error.message
    assert "model.ingest_dbt.a_new_model" in message and "Reload the definitions" in message
    assert time.monotonic() - started < 120  # not the slow model's 300 s
    assert _dbt_processes(dbt_dir) == []
    _assert_warehouse_writable(project)
    # the run's target folder is gone
    assert not list((dbt_dir / "target").glob("dbt_models-*"))


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="dbt dies with its parent through Linux's prctl"
)
def test_kill_9_mid_dbt_build_leaves_no_dbt_and_the_next_sync_loads_exactly(
    make_project, tmp_path, jaffle_small
):
    """`ingest sync` is killed with -9 while dbt runs a model: dbt dies with it (no orphan keeps
    the warehouse locked), and the next `ingest sync` (which ends the dead run and frees its
    pool slot) finishes with exactly the files' rows, no manual step."""
    import shutil

    from helpers import read_csv, scalar
    from jaffle import JAFFLE_TABLES

    project = make_project([jaffle_source("data/landing/jaffle_shop")])
    landing = project / "data" / "landing" / "jaffle_shop"
    shutil.copytree(jaffle_small, landing)
    dbt_dir = project / "dbt_project"
    slow = dbt_dir / "models" / "marts" / "slow_model.py"
    # downstream of the source, so the source's job builds it
    slow.write_text(SLOW_MODEL.format(ref='dbt.ref("stg_jaffle_shop__orders")'))
    marker = tmp_path / "started"
    env = {
        **os.environ,
        "INGEST_PROJECT_DIR": str(project),
        "DAGSTER_HOME": str(project / "dagster_home"),
        "SLOW_MODEL_MARKER": str(marker),
    }
    run = subprocess.Popen(
        [str(BIN / "ingest"), "sync", "jaffle_shop"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for(marker, run)
        assert _dbt_processes(dbt_dir), "dbt should be running the slow model"
        run.kill()
        run.wait(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
    deadline = time.monotonic() + 15
    while _dbt_processes(dbt_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _dbt_processes(dbt_dir) == [], "dbt outlived the killed run"
    _assert_warehouse_writable(project)

    slow.unlink()
    rerun = subprocess.run(
        [str(BIN / "ingest"), "sync", "jaffle_shop"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    for table, file in JAFFLE_TABLES.items():
        expected = len(read_csv(jaffle_small / file))
        assert scalar(project, f"select count(*) from raw_jaffle_shop.{table}") == expected, table

"""kill -9 of a real load at each of dlt's stages, then a rerun: the final row counts equal the
source's rows exactly, with no manual step.

The killed load is `dagster asset materialize` in a subprocess, on Dagster's ephemeral instance
(no DAGSTER_HOME): it takes no `duckdb` pool slot, so a killed run cannot hold one (freeing the
slot of a dead run is the run-recovery's job, tested with it). The kill lands at a chosen point:
- extract: the custom source below stalls half-way through a table and says so in a marker file;
- normalize: the test polls dlt's pipeline folder until `load/new/<load_id>` exists (normalize
  writes the load package there, then moves it to `load/normalized`); dict rows make normalize
  take about a second;
- load: a `sitecustomize` hook in the child (tests only) stalls a load job after its rows are
  committed but before dlt records the job as done (`CRASH_STALL_LOAD=after_commit:<marker>`;
  `before_second:<marker>` stalls the second job before it starts instead).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import materialize_project, query, scalar

pytestmark = pytest.mark.e2e

ROWS = 10_000
TABLES = ("t0", "t1", "t2")

CRASH_SOURCE = '''
import os
import time
from pathlib import Path

import dlt


@dlt.source(name="crash")
def crash(rows: int = 1000):
    """Three tables of `rows` dict rows each, with an incremental cursor on `id`; with
    CRASH_STALL_EXTRACT=<marker> the extract of t1 stalls half-way after writing the marker."""

    def table(name):
        @dlt.resource(name=name, write_disposition="append")
        def rows_(id=dlt.sources.incremental("id")):
            stall = os.environ.get("CRASH_STALL_EXTRACT")
            for start in range(0, rows, 1000):
                if stall and name == "t1" and start >= rows // 2:
                    Path(stall).write_text("extract")
                    time.sleep(120)
                yield [{"id": i, "name": f"row {i}", "value": i * 1.5} for i in range(start, min(rows, start + 1000))]

        return rows_

    return [table(f"t{n}") for n in range(3)]
'''

SITECUSTOMIZE = """
import os

if os.environ.get("CRASH_STALL_LOAD"):
    import time
    from pathlib import Path

    from dlt.destinations.impl.duckdb import duck

    _original = duck.DuckDbCopyJob.run
    _started = []
    _committed = []

    def _stalling_run(self):
        mode, marker = os.environ["CRASH_STALL_LOAD"].split(":", 1)
        table = self.load_table_name
        if table.startswith("t"):
            _started.append(table)
            if mode == "before_second" and len(_started) == 2:
                Path(marker).write_text("load")
                time.sleep(120)
            _original(self)
            _committed.append(table)
            if mode == "after_commit" and len(_committed) == 1:
                Path(marker).write_text("load")
                time.sleep(120)
            return
        _original(self)

    duck.DuckDbCopyJob.run = _stalling_run
"""


def _crash_project(make_project, tmp_path: Path) -> Path:
    project = make_project(
        [
            {
                "name": "crash",
                "type": "dlt_native",
                "dlt_native": {
                    "source_module": "crash",
                    "source_function": "crash",
                    "function_kwargs": {"rows": ROWS},
                },
            }
        ]
    )
    (project / "custom_sources" / "crash.py").write_text(CRASH_SOURCE)
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return project


def _start_load(project: Path, tmp_path: Path, **env: str) -> subprocess.Popen:
    child_env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    child_env.update(
        INGEST_PROJECT_DIR=str(project),
        PYTHONPATH=str(tmp_path / "hooks"),
        **env,
    )
    dagster = Path(sys.executable).parent / "dagster"
    return subprocess.Popen(
        [
            str(dagster),
            "asset",
            "materialize",
            "-m",
            "ingest_assets.definitions",
            "--select",
            "group:crash",
        ],
        cwd=project,
        env=child_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _kill_when(process: subprocess.Popen, ready, timeout: float = 90) -> None:
    """Poll `ready()` every 10 ms and kill -9 the child (and its group) once it is true."""
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            if process.poll() is not None:
                pytest.fail(f"the load finished (exit {process.returncode}) before the kill point")
            if time.monotonic() > deadline:
                pytest.fail("the kill point was not reached")
            time.sleep(0.01)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _assert_exact_after_rerun(project: Path) -> None:
    result = materialize_project(project, "group:crash", checks=False)
    assert result.success
    for table in TABLES:
        assert scalar(project, f"select count(*) from raw_crash.{table}") == ROWS
        assert scalar(project, f"select count(distinct id) from raw_crash.{table}") == ROWS
        assert (
            scalar(
                project,
                f"select count(*) from raw_crash.{table} where _dlt_load_id not in "
                "(select load_id from raw_crash._dlt_loads where status = 0)",
            )
            == 0
        )
    # the killed run committed no package: the rerun committed all rows (the killed run's
    # package, completed, included) and the ledger says so
    loaded = dict(
        query(
            project,
            "select table_name, rows_loaded from _ingest.load_history where run_id = ?",
            [result.run_id],
        )
    )
    assert loaded == {t: ROWS for t in TABLES}
    # nothing of the killed run is left in dlt's working folder
    working = project / ".dlt" / "pipelines" / "crash"
    assert sorted(p.name for p in (working / "normalize").iterdir() if p.is_dir()) == ["extracted"]
    assert not any((working / "normalize" / "extracted").iterdir())
    assert not any((working / "load" / "normalized").iterdir())
    # a second rerun loads nothing more
    assert materialize_project(project, "group:crash", checks=False).success
    assert [scalar(project, f"select count(*) from raw_crash.{t}") for t in TABLES] == [ROWS] * len(
        TABLES
    )


def test_kill_during_extract(make_project, tmp_path):
    project = _crash_project(make_project, tmp_path)
    marker = tmp_path / "stalled"
    process = _start_load(project, tmp_path, CRASH_STALL_EXTRACT=str(marker))
    _kill_when(process, marker.exists)

    _assert_exact_after_rerun(project)


def test_kill_during_normalize(make_project, tmp_path):
    project = _crash_project(make_project, tmp_path)
    new_packages = project / ".dlt" / "pipelines" / "crash" / "load" / "new"
    process = _start_load(project, tmp_path)
    _kill_when(process, lambda: new_packages.is_dir() and any(new_packages.iterdir()))

    _assert_exact_after_rerun(project)


def test_kill_during_load(make_project, tmp_path):
    """The worst moment: a job's rows are committed, dlt has not recorded the job as done."""
    project = _crash_project(make_project, tmp_path)
    marker = tmp_path / "stalled"
    process = _start_load(project, tmp_path, CRASH_STALL_LOAD=f"after_commit:{marker}")
    _kill_when(process, marker.exists)
    normalized = project / ".dlt" / "pipelines" / "crash" / "load" / "normalized"
    assert any(normalized.iterdir())  # the killed run left its package half-loaded

    _assert_exact_after_rerun(project)

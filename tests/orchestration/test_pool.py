"""The `duckdb` concurrency pool really serializes loads of two runs started at the same time.

Two `dagster asset materialize` processes (one per source, the way two schedules or sensors firing
together would start them) run against a real instance: a fresh DAGSTER_HOME holding the
project's `dagster_home/dagster.yaml` (pools `default_limit: 1`, granularity `op`). To make sure
the two runs are really alive at the same time, whatever the machine's speed, the test itself
holds the pool's only slot until both runs have started and both load steps wait in the pool's
queue; then it frees the slot and the two runs contend for it with each other. Nothing is mocked:
the runs load CSVs into one DuckDB file, and step times come from the instance's event log.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus
from helpers import scalar, source, write_csv

pytestmark = pytest.mark.e2e

POOL = "duckdb"
HOLDER_RUN_ID = "test-holds-the-duckdb-slot"
TIMEOUT_SECONDS = 120
ROWS = 5000


def _wait_for(condition, what: str, processes: list[subprocess.Popen]):
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        for process in processes:
            if process.poll() is not None:
                output = process.stdout.read() if process.stdout else ""
                raise AssertionError(
                    f"a run process exited while waiting for {what}:\n{output[-4000:]}"
                )
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_two_runs_at_once_load_one_after_the_other(make_project):
    project = make_project([source("east"), source("west")])
    for name in ("east", "west"):
        rows = [{"id": i, "source": name, "amount": i % 97} for i in range(ROWS)]
        write_csv(project / "data" / "landing" / name / "rows.csv", rows)
    home = project / "dagster_home"
    env = {**os.environ, "DAGSTER_HOME": str(home), "INGEST_PROJECT_DIR": str(project)}
    # create the instance's storage before two processes race to create it, then take the slot
    instance = DagsterInstance.from_config(str(home))
    storage = instance.event_log_storage
    assert storage.supports_global_concurrency_limits
    assert storage.initialize_concurrency_limit_to_default(POOL)
    assert storage.claim_concurrency_slot(POOL, HOLDER_RUN_ID, "hold").is_claimed

    dagster = str(Path(sys.executable).parent / "dagster")
    processes = [
        subprocess.Popen(
            [
                dagster,
                "asset",
                "materialize",
                "-m",
                "ingest_assets.definitions",
                "--select",
                f"group:{name}",
            ],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in ("east", "west")
    ]
    try:
        waiting = _wait_for(
            lambda: (info := storage.get_concurrency_info(POOL)).pending_step_count == 2 and info,
            "both load steps to queue for the duckdb slot",
            processes,
        )
        runs = instance.get_runs()
        # both runs started and alive at this moment, each with its load step queued in the pool
        assert {run.status for run in runs} == {DagsterRunStatus.STARTED}
        assert waiting.pending_run_ids == {run.run_id for run in runs}
        assert {
            step.step_key for step in waiting.pending_steps if step.run_id != HOLDER_RUN_ID
        } == {
            "load_east",
            "load_west",
        }
        assert all(process.poll() is None for process in processes)

        storage.free_concurrency_slot_for_step(HOLDER_RUN_ID, "hold")
        holders: set[str] = set()
        while any(process.poll() is None for process in processes):
            claimed = storage.get_concurrency_info(POOL).claimed_slots
            assert len(claimed) <= 1
            holders.update(slot.run_id for slot in claimed)
            time.sleep(0.05)
        outputs = [process.communicate(timeout=TIMEOUT_SECONDS)[0] for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()

    for process, output in zip(processes, outputs):
        assert process.returncode == 0, output[-4000:]
        assert "Could not set lock" not in output and "IO Error" not in output, output[-4000:]
    records = {r.dagster_run.run_id: r for r in instance.get_run_records()}
    assert len(records) == 2
    assert all(r.dagster_run.status == DagsterRunStatus.SUCCESS for r in records.values())
    earlier, later = sorted(records.values(), key=lambda r: r.start_time)
    assert later.start_time < earlier.end_time  # the runs overlapped in time

    steps = {
        stat.step_key: stat
        for record in records.values()
        for stat in instance.get_run_step_stats(record.dagster_run.run_id)
        if stat.step_key.startswith("load_")
    }
    assert set(steps) == {"load_east", "load_west"}
    first, second = sorted(steps.values(), key=lambda s: s.start_time)
    assert first.end_time <= second.start_time, "the two load steps overlapped"
    assert holders <= set(records)  # only the runs held the slot after the test let go
    assert storage.get_concurrency_info(POOL).claimed_slots == []

    assert scalar(project, "select count(*) from raw_east.rows") == ROWS
    assert scalar(project, "select count(*) from raw_west.rows") == ROWS

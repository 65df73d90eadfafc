"""No stuck runs: a killed run gives its `duckdb` pool slot back, and a signalled command ends its
run as canceled. Real processes (`ingest sync`, `dagster asset materialize`, a Dagster job in a
child Python) on a real instance: a fresh DAGSTER_HOME with the project's `dagster.yaml`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus
from helpers import scalar, source, write_csv

from ingest_assets.orchestration.run_recovery import (
    RUN_PID_TAG,
    process_alive,
    recover_dead_runs,
    recover_on_definitions_load,
)

POOL = "duckdb"
ROWS = 40_000
TIMEOUT = 120
BIN = Path(sys.executable).parent


@pytest.fixture
def project(make_project, monkeypatch) -> Path:
    root = make_project([source("east")])
    rows = [{"id": i, "name": f"n{i}", "amount": i % 97} for i in range(ROWS)]
    write_csv(root / "data" / "landing" / "east" / "rows.csv", rows)
    monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    DagsterInstance.get().dispose()  # create the storage before processes race to
    return root


def _env(project: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DAGSTER_HOME": str(project / "dagster_home"),
        "INGEST_PROJECT_DIR": str(project),
    }


def _start(project: Path, *command: str) -> subprocess.Popen:
    return subprocess.Popen(
        list(command),
        cwd=project,
        env=_env(project),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(condition, what: str, process: subprocess.Popen | None = None):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if process is not None and process.poll() is not None:
            raise AssertionError(
                f"process exited while waiting for {what}:\n{process.stdout.read()[-3000:]}"
            )
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _claimed(instance: DagsterInstance) -> set[str]:
    return {
        slot.run_id for slot in instance.event_log_storage.get_concurrency_info(POOL).claimed_slots
    }


@pytest.mark.e2e
def test_killed_sync_frees_its_slot_and_the_next_sync_loads_exact_rows(project):
    instance = DagsterInstance.get()
    killed = _start(project, str(BIN / "ingest"), "sync", "east")
    try:
        [run_id] = _wait_for(
            lambda: _claimed(instance), "the sync's load step to hold the slot", killed
        )
    finally:
        killed.kill()  # SIGKILL while its load step runs
        killed.communicate()
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.STARTED
    assert _claimed(instance) == {run_id}  # what used to block every later run

    again = subprocess.run(
        [str(BIN / "ingest"), "sync", "east"],
        cwd=project,
        env=_env(project),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )

    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert (
        f"run {run_id} of east_job was STARTED but its process (pid {killed.pid}) is gone"
        in again.stderr
    )
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.FAILURE
    assert "is gone (killed or crashed)" in instance.all_logs(run_id)[-1].message
    assert _claimed(instance) == set()
    assert scalar(project, "select count(*) from raw_east.rows") == ROWS
    assert scalar(project, "select count(distinct id) from raw_east.rows") == ROWS


COMMANDS = {
    signal.SIGTERM: ["ingest", "sync", "east"],
    signal.SIGINT: [
        "dagster",
        "asset",
        "materialize",
        "-m",
        "ingest_assets.definitions",
        "--select",
        "group:east",
    ],
}


@pytest.mark.e2e
def test_signals_cancel_runs_waiting_for_the_pool(project):
    """`ingest sync` gets SIGTERM, `dagster asset materialize` SIGINT, both while their load step
    waits for the slot the test holds (as the issue's `timeout 150` found the command)."""
    instance = DagsterInstance.get()
    storage = instance.event_log_storage
    storage.initialize_concurrency_limit_to_default(POOL)
    assert storage.claim_concurrency_slot(POOL, "test-holder", "hold").is_claimed
    processes = {
        signo: _start(project, str(BIN / cmd[0]), *cmd[1:]) for signo, cmd in COMMANDS.items()
    }
    outputs, took, run_ids = {}, {}, {}
    try:
        for signo, process in processes.items():
            run_ids[signo] = _wait_for(
                lambda pid=process.pid: [
                    r.run_id for r in instance.get_runs() if _pid_of(instance, r.run_id) == pid
                ],
                "the run to start",
                process,
            )[0]
        _wait_for(
            lambda: storage.get_concurrency_info(POOL).pending_run_ids >= set(run_ids.values()),
            "both load steps to queue for the slot",
        )
        time.sleep(1)
        for signo, process in processes.items():
            sent = time.monotonic()
            process.send_signal(signo)
            outputs[signo], _ = process.communicate(timeout=30)
            took[signo] = time.monotonic() - sent
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
        storage.free_concurrency_slot_for_step("test-holder", "hold")

    for signo, process in processes.items():
        assert process.returncode == 128 + signo, outputs[signo][-3000:]
        assert took[signo] < 20
        assert f"run {run_ids[signo]} canceled" in outputs[signo]
        assert instance.get_run_by_id(run_ids[signo]).status == DagsterRunStatus.CANCELED
    info = storage.get_concurrency_info(POOL)
    assert info.pending_run_ids == set() and info.claimed_slots == []


def _pid_of(instance: DagsterInstance, run_id: str) -> int | None:
    from ingest_assets.orchestration.run_recovery import run_pid

    return run_pid(instance, run_id, instance.get_run_by_id(run_id).tags)


CHILD_RUN = textwrap.dedent(
    """
    import time
    from dagster import DagsterInstance, job, op

    @op(pool="duckdb")
    def hold():
        time.sleep(600)

    @job
    def holder():
        hold()

    holder.execute_in_process(instance=DagsterInstance.get())
    """
)


@pytest.mark.e2e
def test_definitions_load_ends_a_dead_run_and_frees_its_slot(project):
    instance = DagsterInstance.get()
    child = _start(project, sys.executable, "-c", CHILD_RUN)
    try:
        [run_id] = _wait_for(lambda: _claimed(instance), "the child's run to hold the slot", child)
        assert recover_dead_runs(instance) == []  # alive: left alone
    finally:
        child.kill()
        child.communicate()
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.STARTED
    assert RUN_PID_TAG not in instance.get_run_by_id(run_id).tags  # pid from Dagster's own event

    recover_on_definitions_load()

    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.FAILURE
    assert _claimed(instance) == set()
    assert recover_dead_runs(instance) == []


@pytest.mark.e2e
def test_a_reused_pid_does_not_count_as_the_runs_process():
    me = os.getpid()
    started = time.time()

    assert process_alive(me, started)  # created before the run started: may be its process
    assert not process_alive(me, started - 3600)  # created after the run started: pid reused
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    assert not process_alive(int(finished.stdout), None)


@pytest.mark.unit
def test_definitions_load_without_dagster_home_or_with_a_broken_one_never_fails(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    recover_on_definitions_load()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "missing"))
    recover_on_definitions_load()  # DagsterInstance.get raises: logged, not raised

"""No stuck runs: runs whose process died are ended and free their pool slots; a run executed by
`ingest sync` or `dagster asset materialize` ends as canceled on SIGTERM/SIGINT.

DuckDB's single writer is guarded by the `duckdb` pool (limit 1). A run holds its slot until it
ends, so a run whose process was killed (`kill -9`, OOM killer, a closed laptop lid...) would keep
the slot forever: Dagster's daemon only ends such runs for launchers that report worker health,
and `ingest sync`/`dagster asset materialize` execute runs in their own process, without one.

Dead runs (`recover_dead_runs`). A run's process is the one that executes its steps: the pid in
the run's tags (`ingest/pid`, `ingest/host`, set by `ingest sync` via `launch_tags`), else the pid
Dagster's in-process executor records in its "Executing steps in process (pid: N)" event. A run
that is STARTING, STARTED or CANCELING (or NOT_STARTED with `ingest/pid`) is dead when that
process no longer exists, or the pid now belongs to a process created after the run started
(pid reuse). Dead runs are marked failed (`DagsterInstance.report_run_failed`; a CANCELING run
is marked canceled) and their pool slots and queued claims freed
(`event_log_storage.free_concurrency_slots_for_run`). A run whose process is unknown (it died
before its first step) or lives on another host is left alone. A run without a host tag counts
as this machine's only when the instance keeps its runs in local SQLite files (the project's
`dagster_home`); on a shared instance (PostgreSQL), rely on Dagster's run monitoring and a run
launcher that checks worker health. Slots still held by runs that already ended are freed too.

This runs when `ingest sync` starts and whenever the definitions are loaded
(`recover_on_definitions_load`: `dagster dev`'s code server, `dagster asset materialize`, run
workers); it never fails definitions load. When the instance's default SQLite files show no run
in progress, no held pool slot and no queued claim (`instance_state.may_need_recovery`, a
read-only look without Dagster), the definitions load does not build a `DagsterInstance` at all.

Signals (`cancel_on_signal`). Dagster's in-process executor turns SIGTERM/SIGINT into an
interruption of the step that is running, but while a step waits for a pool slot it only notes
the signal, so the command waited forever. A watchdog thread sees every SIGTERM/SIGINT (via
`signal.set_wakeup_fd`, whatever Python handler Dagster installed) and marks the process's runs
CANCELING. A run that holds no pool slot (waiting for one, or between steps) is then marked
canceled, its queued claims freed, and the process exits with 128 + the signal number. A run in
a step that holds a slot is left to Dagster, which interrupts the step and ends the run as
canceled; if it has not ended `grace_seconds` later, or on a second signal, the watchdog ends it
the same way.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from ingest_assets.instance_state import may_need_recovery

logger = logging.getLogger(__name__)

RUN_PID_TAG = "ingest/pid"
"""Run tag: pid of the process that executes the run's steps (set by `ingest sync`)."""
RUN_HOST_TAG = "ingest/host"
"""Run tag: host name of that process."""

IN_PROGRESS = (DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING)
"""Statuses of runs that may hold a pool slot and have a process."""
PID_REUSE_SLACK_SECONDS = 1.0
"""A process created up to this long after the run started may still be the run's process
(the run is created, then started, by the process that executes it)."""
DEFAULT_GRACE_SECONDS = 30.0
"""How long a signalled run that holds a pool slot gets to end by itself (see module docstring)."""
EXECUTING_COMMANDS = (("asset", "materialize"), ("job", "execute"))
"""`dagster <group> <command>` invocations that execute runs in their own process."""


@dataclass(frozen=True)
class RecoveredRun:
    """A run `recover_dead_runs` ended.

    Attributes:
        run_id: the run.
        job_name: its job.
        previous_status: its status before (`STARTED`, `STARTING`, `CANCELING`, `NOT_STARTED`).
        status: its status now (`FAILURE`, or `CANCELED` for a run that was canceling).
        pid: the dead process's pid.
    """

    run_id: str
    job_name: str
    previous_status: str
    status: str
    pid: int


def launch_tags() -> dict[str, str]:
    """Tags for a run executed in this process: `{RUN_PID_TAG: pid, RUN_HOST_TAG: host}`."""
    return {RUN_PID_TAG: str(os.getpid()), RUN_HOST_TAG: socket.gethostname()}


def recover_dead_runs(instance: DagsterInstance) -> list[RecoveredRun]:
    """End the runs of `instance` whose process died, and free their pool slots.

    Args:
        instance: the Dagster instance (e.g. `DagsterInstance.get()`, DAGSTER_HOME).

    Returns:
        The runs ended, in the order found (see the module docstring for which runs count as
        dead). Also frees the slots still held by runs that had already ended.

    Raises:
        Exception: whatever the instance's storage raises (unreadable or locked database).
    """
    recovered: list[RecoveredRun] = []
    local_storage = "sqlite" in type(instance.run_storage).__name__.lower()
    host = socket.gethostname()
    records = instance.get_run_records(
        filters=RunsFilter(statuses=[*IN_PROGRESS, DagsterRunStatus.NOT_STARTED])
    )
    for record in records:
        run = record.dagster_run
        if run.status == DagsterRunStatus.NOT_STARTED and RUN_PID_TAG not in run.tags:
            continue  # queued or about to be launched by the daemon: no process yet
        run_host = run.tags.get(RUN_HOST_TAG)
        if run_host != host and not (run_host is None and local_storage):
            continue
        pid, recorded = _run_pid_recorded(instance, run.run_id, run.tags)
        # a run worker is created after its run (queued, then launched): its pid is checked
        # against the time the pid was recorded, not the run's creation
        started = max(
            t for t in (record.start_time, record.create_timestamp.timestamp(), recorded) if t
        )
        if pid is None or pid == os.getpid() or process_alive(pid, started):
            continue
        current = instance.get_run_by_id(run.run_id)  # another process may have ended it
        if current is None or current.status != run.status:
            continue
        message = (
            f"The process that executed this run (pid {pid} on {host}) is gone (killed or "
            "crashed); marked ended by ingest_assets.orchestration.run_recovery and its pool "
            "slots freed."
        )
        if run.status == DagsterRunStatus.CANCELING:
            instance.report_run_canceled(run, message=message)
        else:
            instance.report_run_failed(run, message=message)
        _free_slots(instance, run.run_id)
        ended = instance.get_run_by_id(run.run_id)
        recovered.append(
            RecoveredRun(
                run_id=run.run_id,
                job_name=run.job_name,
                previous_status=run.status.value,
                status=ended.status.value if ended else "UNKNOWN",
                pid=pid,
            )
        )
    free_slots_of_ended_runs(instance)
    return recovered


def free_slots_of_ended_runs(instance: DagsterInstance) -> list[str]:
    """Free the pool slots and queued claims that runs which already ended still hold.

    Returns:
        The ids of those runs. Nothing when the instance has no concurrency pools.
    """
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    run_ids = storage.get_concurrency_run_ids()
    if not run_ids:
        return []
    ended = [
        run.run_id
        for run in instance.get_runs(filters=RunsFilter(run_ids=list(run_ids)))
        if run.is_finished
    ]
    for run_id in ended:
        _free_slots(instance, run_id)
    return ended


def run_pid(instance: DagsterInstance, run_id: str, tags: dict[str, str]) -> int | None:
    """The pid of the process that executes the run: its `ingest/pid` tag, else the pid of
    Dagster's in-process executor event; None when neither is recorded (or not a number)."""
    return _run_pid_recorded(instance, run_id, tags)[0]


def _run_pid_recorded(
    instance: DagsterInstance, run_id: str, tags: dict[str, str]
) -> tuple[int | None, float | None]:
    """`run_pid`, and when it comes from an engine event, that event's time (UNIX seconds)."""
    if RUN_PID_TAG in tags:
        return _as_pid(tags[RUN_PID_TAG]), None
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        data = entry.dagster_event.engine_event_data if entry.dagster_event else None
        value = data.metadata.get("pid") if data and data.metadata else None
        if value is not None:
            return _as_pid(getattr(value, "value", value)), entry.timestamp
    return None, None


def process_alive(pid: int, run_started: float | None) -> bool:
    """True when process `pid` exists on this machine and may be the run's process: it was
    created before the run started (`run_started`, UNIX seconds; None skips that check)."""
    import psutil  # only a dead-run check needs it, not every definitions load

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        created = process.create_time()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.AccessDenied:
        return True
    return run_started is None or created <= run_started + PID_REUSE_SLACK_SECONDS


def recover_on_definitions_load() -> None:
    """Called when the definitions load: end dead runs on the instance in DAGSTER_HOME, and in
    a `dagster asset materialize`/`job execute` process end its run on SIGTERM/SIGINT.

    Never raises: without DAGSTER_HOME it does nothing; any error is logged as a warning.
    """
    if not os.environ.get("DAGSTER_HOME"):
        return
    try:
        # a quick read-only look first: building the instance costs more than the load's rest
        if may_need_recovery(Path(os.environ["DAGSTER_HOME"])):
            with DagsterInstance.get() as instance:
                for run in recover_dead_runs(instance):
                    logger.warning(_recovered_message(run))
        if _executing_command(sys.argv) and threading.current_thread() is threading.main_thread():
            _install_watchdog(run_ids=None, grace_seconds=DEFAULT_GRACE_SECONDS)
    except Exception as error:  # noqa: BLE001 - must never break definitions load
        logger.warning(
            f"could not check for runs whose process died: {type(error).__name__}: {error}"
        )


def describe(run: RecoveredRun) -> str:
    """One line about an ended run, for the CLI."""
    return _recovered_message(run)


@contextmanager
def cancel_on_signal(
    run_ids: Collection[str] | None = None, grace_seconds: float = DEFAULT_GRACE_SECONDS
) -> Iterator[SignalWatch]:
    """Within the block, SIGTERM/SIGINT end this process's runs as canceled (module docstring).

    Args:
        run_ids: the runs this process executes (e.g. the `run_id` passed to
            `execute_in_process`); None means every in-progress run whose process is this one.
        grace_seconds: how long a run holding a pool slot may take to end by itself.

    Yields a `SignalWatch` whose `signal` is the first SIGTERM/SIGINT received (None if none),
    for the exit code. Only in the main thread (signals are delivered there); elsewhere the
    block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield SignalWatch()
        return
    watchdog = _install_watchdog(run_ids, grace_seconds)
    try:
        yield watchdog.watch
    finally:
        watchdog.stop()


@dataclass
class SignalWatch:
    """What `cancel_on_signal` saw: `signal`, the first SIGTERM/SIGINT number, or None."""

    signal: int | None = None


class _Watchdog:
    """A daemon thread that reads signal numbers from the wakeup socket and ends the runs."""

    def __init__(self, run_ids: Collection[str] | None, grace_seconds: float) -> None:
        self.run_ids = None if run_ids is None else list(run_ids)
        self.grace_seconds = grace_seconds
        self.reader, self.writer = socket.socketpair()
        self.writer.setblocking(False)
        self.previous_fd = signal.set_wakeup_fd(self.writer.fileno(), warn_on_full_buffer=False)
        self.signals = 0
        self.watch = SignalWatch()
        self.stopped = False
        self.thread = threading.Thread(target=self._run, name="ingest-run-watchdog", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopped = True
        signal.set_wakeup_fd(self.previous_fd)
        self.writer.close()  # ends the reader's recv
        self.thread.join(timeout=5)
        self.reader.close()

    def _run(self) -> None:
        while True:
            try:
                data = self.reader.recv(64)
            except OSError:
                return
            if not data or self.stopped:
                return
            for signo in data:
                if signo in (signal.SIGTERM, signal.SIGINT):
                    self.signals += 1
                    if self.signals == 1:
                        self.watch.signal = signo
                        threading.Thread(target=self._cancel, args=(signo,), daemon=True).start()
                    else:
                        self._end_and_exit(signo)

    def _cancel(self, signo: int) -> None:
        try:
            with DagsterInstance.get() as instance:
                runs = self._runs(instance)
                name = signal.Signals(signo).name
                for run in runs:
                    instance.report_run_canceling(
                        run, message=f"Received {name}: canceling the run."
                    )
                deadline = time.monotonic() + self.grace_seconds
                while time.monotonic() < deadline and not self.stopped:
                    current = [instance.get_run_by_id(run.run_id) for run in runs]
                    if all(run is None or run.is_finished for run in current):
                        return  # Dagster ended them; the process ends normally
                    if not _holds_slot(instance, [run.run_id for run in runs]):
                        break
                    time.sleep(0.2)
        except Exception as error:  # noqa: BLE001 - still exit on the signal
            print(f"error while canceling on signal: {error}", file=sys.stderr)
        if not self.stopped:
            self._end_and_exit(signo)

    def _end_and_exit(self, signo: int) -> None:
        name = signal.Signals(signo).name
        try:
            with DagsterInstance.get() as instance:
                for run in self._runs(instance):
                    instance.report_run_canceled(
                        run,
                        message=f"Received {name}: the run was canceled and its process exited.",
                    )
                    _free_slots(instance, run.run_id)
                    print(f"run {run.run_id} canceled ({name})", file=sys.stderr, flush=True)
        except Exception as error:  # noqa: BLE001
            print(f"error while canceling on signal: {error}", file=sys.stderr, flush=True)
        os._exit(128 + signo)

    def _runs(self, instance: DagsterInstance) -> list:
        if self.run_ids is not None:
            runs = instance.get_runs(filters=RunsFilter(run_ids=self.run_ids))
        else:
            host, pid = socket.gethostname(), os.getpid()
            runs = [
                record.dagster_run
                for record in instance.get_run_records(
                    filters=RunsFilter(statuses=list(IN_PROGRESS))
                )
                if record.dagster_run.tags.get(RUN_HOST_TAG, host) == host
                and run_pid(instance, record.dagster_run.run_id, record.dagster_run.tags) == pid
            ]
        return [run for run in runs if not run.is_finished]


def _install_watchdog(run_ids: Collection[str] | None, grace_seconds: float) -> _Watchdog:
    return _Watchdog(run_ids, grace_seconds)


def _holds_slot(instance: DagsterInstance, run_ids: Sequence[str]) -> bool:
    """True when one of the runs holds a pool slot (it is executing a step of a pool)."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return True
    for pool in storage.get_concurrency_keys():
        info = storage.get_concurrency_info(pool)
        if any(slot.run_id in run_ids for slot in info.claimed_slots):
            return True
    return False


def _free_slots(instance: DagsterInstance, run_id: str) -> None:
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        storage.free_concurrency_slots_for_run(run_id)


def _executing_command(argv: Sequence[str]) -> bool:
    """True for `dagster asset materialize ...`, `dagster job execute ...` (run in-process)."""
    if not argv or os.path.basename(argv[0]) not in ("dagster", "dagster.exe"):
        return False
    words = [word for word in argv[1:] if not word.startswith("-")]
    return tuple(words[:2]) in EXECUTING_COMMANDS


def _as_pid(value: object) -> int | None:
    try:
        pid = int(str(value))
    except ValueError:
        return None
    return pid if pid > 0 else None


def _recovered_message(run: RecoveredRun) -> str:
    return (
        f"run {run.run_id} of {run.job_name} was {run.previous_status} but its process "
        f"(pid {run.pid}) is gone: marked {run.status}, pool slots freed"
    )

"""Run start latency under `dagster dev`: launch a job through GraphQL, as the UI does, and
read from the instance when its first step started.

`python -m benchmarks.fixed_costs.launch --root <project copy> --port <port> --launches 2`
starts `dagster dev` in the copy (its own `DAGSTER_HOME`), waits until the code location
answers, launches `jaffle_shop_job` `--launches` times one after the other (the first loads the
demo data, the next ones find nothing new: a no-op run as a schedule would start it), and
reports per launch: run creation -> dequeued -> STARTING -> RUN_START -> first STEP_START, the
run's duration, and whether the dbt manifest was rewritten meanwhile (a `dbt parse`). Stops
`dagster dev` (its process group, which this module started) at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.measure import report
from benchmarks.project import project_env

READY_TIMEOUT = 900
RUN_TIMEOUT = 900


def _manifest_state(root: Path) -> tuple[int, int] | None:
    manifest = root / "dbt_project" / "target" / "manifest.json"
    if not manifest.exists():
        return None
    stat = manifest.stat()
    return stat.st_mtime_ns, stat.st_size


def _submit(client, job: str) -> str:
    from dagster_graphql import DagsterGraphQLClientError

    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        try:
            return client.submit_job_execution(job)
        except (DagsterGraphQLClientError, OSError, Exception) as error:  # noqa: BLE001 - not ready yet
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"dagster dev did not accept a launch of {job}: {error}"
                ) from error
            time.sleep(1)


def _phases(instance, run_id: str) -> dict:
    from dagster import DagsterEventType

    record = instance.get_run_record_by_id(run_id)
    created = record.create_timestamp.timestamp()
    names = {
        DagsterEventType.RUN_ENQUEUED: "enqueued",
        DagsterEventType.RUN_DEQUEUED: "dequeued",
        DagsterEventType.RUN_STARTING: "starting",
        DagsterEventType.RUN_START: "run_start",
        DagsterEventType.RUN_SUCCESS: "run_end",
        DagsterEventType.RUN_FAILURE: "run_end",
    }
    at: dict[str, float] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type in names:
            at.setdefault(names[event.event_type], entry.timestamp)
        elif event.event_type == DagsterEventType.STEP_START:
            at.setdefault("first_step_start", entry.timestamp)
    return {
        "status": record.dagster_run.status.value,
        **{f"{name}_s": round(value - created, 3) for name, value in at.items()},
    }


def _wait_done(instance, run_id: str) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        run = instance.get_run_by_id(run_id)
        if run is not None and run.is_finished:
            return
        time.sleep(0.5)
    raise TimeoutError(f"run {run_id} did not finish in {RUN_TIMEOUT} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fixed_costs.launch")
    parser.add_argument("--root", required=True, type=Path)
    parser.add_argument("--port", type=int, default=3931)
    parser.add_argument("--launches", type=int, default=2)
    parser.add_argument("--job", default="jaffle_shop_job")
    parser.add_argument("--log", type=Path)
    args = parser.parse_args(argv)
    root = args.root.resolve()
    env = project_env(root)
    log = open(args.log or os.devnull, "wb")  # noqa: SIM115 - closed in the finally below
    dagster = str(Path(sys.executable).parent / "dagster")
    started = time.monotonic()
    dev = subprocess.Popen(
        [
            dagster,
            "dev",
            "-m",
            "ingest_assets.definitions",
            "-p",
            str(args.port),
            "-h",
            "127.0.0.1",
        ],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, stopped as one below
    )
    results: dict = {"launches": []}
    try:
        os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
        from dagster import DagsterInstance
        from dagster_graphql import DagsterGraphQLClient

        client = DagsterGraphQLClient("127.0.0.1", port_number=args.port, timeout=60)
        with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
            for number in range(args.launches):
                manifest_before = _manifest_state(root)
                launched = time.time()
                run_id = _submit(client, args.job)
                if number == 0:
                    results["dev_ready_s"] = round(time.monotonic() - started, 3)
                _wait_done(instance, run_id)
                phases = _phases(instance, run_id)
                phases["submit_call_s"] = round(time.time() - launched, 3) if number else None
                phases["manifest_rewritten"] = _manifest_state(root) != manifest_before
                phases["run_id"] = run_id
                results["launches"].append(phases)
    finally:
        try:
            os.killpg(dev.pid, signal.SIGINT)
            dev.wait(timeout=60)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(dev.pid, signal.SIGKILL)
            dev.wait(timeout=30)
        log.close()
    report(**results)


if __name__ == "__main__":
    main()

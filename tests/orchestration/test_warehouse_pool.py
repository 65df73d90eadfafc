"""The warehouse pool's limit follows the warehouse: loads of two sources started together run at
the same time on PostgreSQL (limit 4) and one after the other on a DuckDB file (limit 1).

As in test_pool.py, two `dagster asset materialize` processes (one per source, as two schedules
firing together would start them) run against a real instance (a fresh DAGSTER_HOME with the
project's dagster.yaml). The test sets the pool limits as every definitions load does
(`apply_pool_limits`), then holds every slot of the pool until both load steps wait in its queue,
so the two runs are alive at the same time whatever the machine's speed; then it lets go and
samples the pool's claimed slots. Step times come from the instance's event log. Nothing is
mocked: the runs load CSVs into the warehouse, whose rows are counted at the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance, DagsterRunStatus
from helpers import write_csv
from warehouses_support import fresh_database, postgres_warehouse, warehouse_scalar

from ingest_assets.project import load_project
from ingest_assets.warehouses.pool import WAREHOUSE_POOL, apply_pool_limits

pytestmark = pytest.mark.e2e

HOLDER_RUN_ID = "test-holds-the-warehouse-slots"
TIMEOUT_SECONDS = 240
ROWS = 20000


def _source(name: str) -> dict:
    return {
        "name": name,
        "type": "filesystem",
        "filesystem": {
            "bucket_url": f"data/landing/{name}",
            "tables": [{"name": "rows", "file_glob": "*.csv", "format": "csv"}],
        },
    }


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


@pytest.mark.parametrize("kind", ["postgres", "duckdb"])
def test_two_sources_load_in_parallel_on_postgres_and_one_at_a_time_on_duckdb(make_project, kind):
    with ExitStack() as stack:
        warehouse = (
            postgres_warehouse(stack.enter_context(fresh_database("wh14_pool")))
            if kind == "postgres"
            else "warehouse.duckdb"
        )
        document = {
            "version": 1,
            "warehouse": warehouse,
            "sources": [_source("east"), _source("west")],
        }
        project = make_project(yaml.safe_dump(document, sort_keys=False))
        for name in ("east", "west"):
            rows = [{"id": i, "source": name, "amount": i % 97} for i in range(ROWS)]
            write_csv(project / "data" / "landing" / name / "rows.csv", rows)
        home = project / "dagster_home"
        env = {**os.environ, "DAGSTER_HOME": str(home), "INGEST_PROJECT_DIR": str(project)}

        instance = DagsterInstance.from_config(str(home))
        storage = instance.event_log_storage
        limit = load_project(project).warehouse.pool_limit
        assert limit == (4 if kind == "postgres" else 1)
        apply_pool_limits(
            instance, load_project(project).warehouse
        )  # as every definitions load does
        assert storage.get_concurrency_info(WAREHOUSE_POOL).slot_count == limit
        for slot in range(limit):
            assert storage.claim_concurrency_slot(
                WAREHOUSE_POOL, HOLDER_RUN_ID, f"hold{slot}"
            ).is_claimed

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
            _wait_for(
                lambda: storage.get_concurrency_info(WAREHOUSE_POOL).pending_step_count == 2,
                "both load steps to queue for the warehouse pool",
                processes,
            )
            assert {run.status for run in instance.get_runs()} == {DagsterRunStatus.STARTED}
            for slot in range(limit):
                storage.free_concurrency_slot_for_step(HOLDER_RUN_ID, f"hold{slot}")
            most_at_once = 0
            while any(process.poll() is None for process in processes):
                claimed = [
                    s
                    for s in storage.get_concurrency_info(WAREHOUSE_POOL).claimed_slots
                    if s.run_id != HOLDER_RUN_ID
                ]
                most_at_once = max(most_at_once, len(claimed))
                time.sleep(0.05)
            outputs = [process.communicate(timeout=TIMEOUT_SECONDS)[0] for process in processes]
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()

        for process, output in zip(processes, outputs):
            assert process.returncode == 0, output[-4000:]
        records = instance.get_run_records()
        assert len(records) == 2
        assert all(r.dagster_run.status == DagsterRunStatus.SUCCESS for r in records)
        steps = {
            stat.step_key: stat
            for record in records
            for stat in instance.get_run_step_stats(record.dagster_run.run_id)
            if stat.step_key.startswith("load_")
        }
        assert set(steps) == {"load_east", "load_west"}
        first, second = sorted(steps.values(), key=lambda s: s.start_time)
        overlap = first.end_time - second.start_time
        print(
            f"{kind}: pool limit {limit}, most load steps holding a slot at once {most_at_once}; "
            f"load_east {steps['load_east'].end_time - steps['load_east'].start_time:.1f} s, "
            f"load_west {steps['load_west'].end_time - steps['load_west'].start_time:.1f} s, "
            f"overlap {overlap:.1f} s"
        )
        if kind == "postgres":
            assert most_at_once == 2
            assert overlap > 0, "the two loads did not overlap in time"
        else:
            assert most_at_once == 1
            assert overlap <= 0, "the two load steps overlapped on DuckDB"
        assert storage.get_concurrency_info(WAREHOUSE_POOL).claimed_slots == []
        assert warehouse_scalar(project, "select count(*) from raw_east.rows") == ROWS
        assert warehouse_scalar(project, "select count(*) from raw_west.rows") == ROWS

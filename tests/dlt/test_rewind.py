"""Rewind for real: loads undone (rows, child rows, dlt state), killed with -9 in the middle,
and the next run loading the same data again exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance
from helpers import execute_job, query, scalar, write_csv

from ingest_assets.dlt.run_config import LoadConfig, load_run_config

pytestmark = pytest.mark.e2e

INGEST = str(Path(sys.executable).parent / "ingest")


def _loads(project: Path, dataset: str) -> list[str]:
    rows = query(project, f"SELECT load_id FROM {dataset}._dlt_loads WHERE status = 0")
    return sorted((r[0] for r in rows), key=float)


def _drops(project: Path) -> None:
    from helpers import write_sources

    write_sources(
        project,
        [
            {
                "name": "drops",
                "type": "filesystem",
                "filesystem": {
                    "bucket_url": "data/drops",
                    "tables": [{"name": "orders", "file_glob": "orders*.csv", "format": "csv"}],
                },
            }
        ],
    )


def _write_file(project: Path, n: int) -> None:
    write_csv(
        project / "data" / "drops" / f"orders{n}.csv",
        [{"id": n * 100 + i, "file": n} for i in range(n * 10)],
    )


def _kill_when(process: subprocess.Popen, ready, timeout: float = 60) -> bool:
    """kill -9 `process` as soon as `ready()` holds; False when it ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if ready():
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.02)
    raise TimeoutError("the process neither ended nor reached the point to kill it")


def test_rewind_files_with_kill_9_then_exactly_once(make_project):
    project = make_project([])
    _drops(project)
    for n in (1, 2, 3):
        _write_file(project, n)
        execute_job(project, "drops_job")
    assert scalar(project, "SELECT count(*) FROM raw_drops.orders") == 60
    first, *_ = _loads(project, "raw_drops")
    env = {**os.environ, "INGEST_PROJECT_DIR": str(project)}

    # a rewind killed while it works: the warehouse is either untouched or fully rewound
    rewinding = subprocess.Popen(
        [INGEST, "rewind", "drops", "--to", first, "--yes"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert rewinding.stdout is not None
    _kill_when(rewinding, lambda: rewinding.stdout.readline().startswith("rewinding"))
    assert scalar(project, "SELECT count(*) FROM raw_drops.orders") in (10, 60)

    from typer.testing import CliRunner

    from ingest_assets.cli import app

    done = CliRunner().invoke(
        app, ["rewind", "drops", "--to", first, "--yes"]
    )  # again, in this process
    assert done.exit_code == 0, done.output
    assert f"rewound to load {first}" in done.output
    listed = CliRunner().invoke(app, ["rewind", "drops", "--list"])
    assert listed.exit_code == 0 and first in listed.output
    unknown = CliRunner().invoke(app, ["rewind", "drops", "--to", "123.4", "--yes"])
    assert (
        unknown.exit_code == 1 and "'123.4' is not a completed load of raw_drops" in unknown.output
    )
    assert scalar(project, "SELECT count(*) FROM raw_drops.orders") == 10
    assert _loads(project, "raw_drops") == [first]
    assert not (project / ".dlt" / "pipelines" / "drops").exists()
    assert (
        scalar(
            project,
            "SELECT count(*) FROM _ingest.load_history WHERE status = 'rewound' AND load_id = ?",
            [first],
        )
        >= 1
    )

    # the next run killed once it has restored the rewound state from the warehouse, then run
    # again: files 2 and 3 loaded again, once
    syncing = subprocess.Popen(
        [INGEST, "sync", "drops"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    state = project / ".dlt" / "pipelines" / "drops" / "state.json"
    _kill_when(syncing, state.exists)
    execute_job(project, "drops_job")
    assert query(
        project,
        "SELECT file, count(*), count(DISTINCT id) FROM raw_drops.orders GROUP BY file ORDER BY file",
    ) == [
        (1, 10, 10),
        (2, 20, 20),
        (3, 30, 30),
    ]


NESTED_SOURCE = """
import json

import dlt


@dlt.source(name="nested")
def nested(path: str):
    @dlt.resource(write_disposition="append")
    def orders(id=dlt.sources.incremental("id", initial_value=0)):
        with open(path) as handle:
            yield from json.load(handle)

    return orders
"""


def test_rewind_run_config_with_child_tables_and_cursor(make_project):
    project = make_project([])
    (project / "custom_sources" / "nested_orders.py").write_text(NESTED_SOURCE)
    data = project / "orders.json"
    from helpers import write_sources

    write_sources(
        project,
        [
            {
                "name": "nested",
                "type": "dlt_native",
                "dlt_native": {
                    "source_module": "nested_orders",
                    "source_function": "nested",
                    "function_kwargs": {"path": str(data)},
                },
            }
        ],
    )

    def order(i: int) -> dict:
        return {"id": i, "lines": [{"sku": f"s{i}-{n}", "parts": [{"p": n}]} for n in range(i)]}

    with DagsterInstance.ephemeral() as instance:
        for upto in (3, 5, 6):
            data.write_text(json.dumps([order(i) for i in range(1, upto + 1)]))
            execute_job(project, "nested_job", instance=instance)
        first = _loads(project, "raw_nested")[0]
        assert scalar(project, "SELECT count(*) FROM raw_nested.orders__lines") == 21
        assert scalar(project, "SELECT count(*) FROM raw_nested.orders__lines__parts") == 21

        result = execute_job(
            project,
            "nested_job",
            run_config=load_run_config("nested", LoadConfig(rewind_to=first)),
            instance=instance,
        )

    # rows 4..6 deleted (with their lines and parts) and loaded again by the same run, once
    assert query(project, "SELECT id, count(*) FROM raw_nested.orders GROUP BY id ORDER BY id") == [
        (i, 1) for i in range(1, 7)
    ]
    assert scalar(project, "SELECT count(*) FROM raw_nested.orders__lines") == 21
    assert scalar(project, "SELECT count(DISTINCT sku) FROM raw_nested.orders__lines") == 21
    assert scalar(project, "SELECT count(*) FROM raw_nested.orders__lines__parts") == 21
    rewound = query(
        project,
        "SELECT table_name, error FROM _ingest.load_history WHERE status = 'rewound' AND run_id = ?",
        [result.run_id],
    )
    assert [r[0] for r in rewound] == ["orders"]
    assert rewound[0][1].startswith(f"rewound to load {first}: 3 rows of loads ")

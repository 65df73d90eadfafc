"""`ingest sync` of a `filesystem` source that has nothing new starts no run, and anything new
(a file, a changed file, a load by another run, a sources.yml or dbt model edit) makes it run
again.

The e2e test runs the real CLI on the Jaffle Shop slice and counts runs in the project's Dagster
instance and rows in the warehouse; the unit tests drive `sync_record.up_to_date` over a
project whose dlt state and record are written as a run leaves them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import DagsterInstance
from helpers import CLI_IMPORTS_PROBE, read_csv, run_ingest, scalar, write_csv, write_sources
from jaffle import jaffle_source

from ingest_assets.loaded_project import load_project
from ingest_assets.orchestration.sync_record import (
    RECORD_FILE,
    SyncCheck,
    check_sync,
    eligible,
    forget_sync,
    record_sync,
    settings_digest,
    up_to_date,
)
from ingest_assets.sources.filesystem.file_state import local_fingerprints

UP_TO_DATE = "up to date, no run started"


def _sync(project: Path, *args: str) -> subprocess.CompletedProcess:
    done = run_ingest(project, "sync", "jaffle_shop", *args, columns=400, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done


def _runs(project: Path) -> int:
    with DagsterInstance.from_config(str(project / "dagster_home")) as instance:
        return instance.get_runs_count()


@pytest.mark.e2e
def test_an_up_to_date_sync_starts_no_run_and_anything_new_runs_again(make_project, jaffle_small):
    project = make_project([jaffle_source("data/landing/jaffle_shop")])
    landing = project / "data" / "landing" / "jaffle_shop"
    shutil.copytree(jaffle_small, landing)
    orders = read_csv(jaffle_small / "raw_orders.csv")

    assert UP_TO_DATE not in _sync(project).stdout  # the first sync loads everything
    assert _runs(project) == 1
    assert (project / ".dlt" / "pipelines" / "jaffle_shop" / RECORD_FILE).exists()

    # run as a fresh `ingest sync`, which imports none of Dagster, dlt or dbt to find that out
    heavy = ["dagster", "dagster_dbt", "dagster_dlt", "dlt", "dbt", "sqlalchemy", "pyarrow"]
    again = subprocess.run(
        [
            sys.executable,
            "-c",
            CLI_IMPORTS_PROBE,
            json.dumps(["sync", "jaffle_shop"]),
            json.dumps(heavy),
        ],
        cwd=project,
        env={
            **os.environ,
            "INGEST_PROJECT_DIR": str(project),
            "DAGSTER_HOME": str(project / "dagster_home"),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert UP_TO_DATE in again.stdout, again.stdout
    assert f"the {len(list(landing.iterdir()))} file(s) its 7 table(s) match" in again.stdout
    assert json.loads(again.stdout.splitlines()[-1]) == []
    assert _runs(project) == 1  # no run: nothing in the instance, nothing in the warehouse

    # a new orders file: a run, which loads exactly its rows and builds the models on them
    extra = [{**row, "id": f"extra-{row['id']}"} for row in orders[:25]]
    write_csv(landing / "raw_orders_2.csv", extra)
    loads = _sync(project).stdout
    assert "jaffle_shop: 1 new or changed file(s): raw_orders_2.csv: starting a run" in loads
    assert _runs(project) == 2
    assert scalar(project, "select count(*) from raw_jaffle_shop.orders") == len(orders) + 25
    assert scalar(project, "select count(*) from main.orders") == len(orders) + 25
    assert UP_TO_DATE in _sync(project).stdout
    assert _runs(project) == 2

    # --force runs anyway, and loads nothing twice
    assert UP_TO_DATE not in _sync(project, "--force").stdout
    assert _runs(project) == 3
    assert scalar(project, "select count(*) from raw_jaffle_shop.orders") == len(orders) + 25


def _state(project: Path, loaded: dict[str, dict[str, str]]) -> None:
    """The pipeline's local dlt state as a filesystem source's load leaves it."""
    state = project / ".dlt" / "pipelines" / "files" / "state.json"
    state.parent.mkdir(parents=True, exist_ok=True)
    resources = {table: {"loaded_files": files} for table, files in loaded.items()}
    state.write_text(json.dumps({"sources": {"files": {"resources": resources}}}))


def _files_source(landing: Path, disposition: str = "append") -> dict:
    return {
        "name": "files",
        "type": "filesystem",
        "filesystem": {
            "bucket_url": str(landing),
            "tables": [
                {
                    "name": "events",
                    "file_glob": "events_*.csv",
                    "format": "csv",
                    "write_disposition": disposition,
                }
            ],
        },
    }


@pytest.mark.unit
def test_up_to_date_only_when_every_file_was_loaded_and_nothing_changed_since(
    make_project, tmp_path
):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "events_1.csv").write_text("id\n1\n")
    project_dir = make_project([_files_source(landing)])
    project = load_project(project_dir)
    (source,) = project.config.enabled_sources
    listed = local_fingerprints(landing, "events_*.csv")
    assert list(listed) == ["events_1.csv"]

    _state(project_dir, {"events": listed})
    assert up_to_date(project, source) is None  # no sync recorded yet
    record_sync(project, source, settings_digest(project, source), "run-1")
    fresh = up_to_date(project, source)
    assert fresh is not None and (fresh.files, fresh.tables, fresh.run_id) == (1, 1, "run-1")

    # a new file: a run is needed, and the CLI says why
    (landing / "events_2.csv").write_text("id\n2\n")
    assert check_sync(project, source) == SyncCheck(reason="1 new or changed file(s): events_2.csv")
    # ...which loads it and is recorded
    _state(project_dir, {"events": local_fingerprints(landing, "events_*.csv")})
    record_sync(project, source, settings_digest(project, source), "run-2")
    assert up_to_date(project, source) is not None

    # a file rewritten in place (new size and modification time)
    (landing / "events_2.csv").write_text("id\n2\n3\n")
    assert up_to_date(project, source) is None
    _state(project_dir, {"events": local_fingerprints(landing, "events_*.csv")})
    record_sync(project, source, settings_digest(project, source), "run-3")
    assert up_to_date(project, source) is not None

    # another run (a sensor's, the UI's) loaded since the record: its models may be unbuilt
    loaded = local_fingerprints(landing, "events_*.csv")
    _state(project_dir, {"events": {**loaded, "events_0.csv": "1:2024-01-01T00:00:00+00:00"}})
    assert check_sync(project, source).reason == "another run loaded files since its last sync"
    _state(project_dir, {"events": loaded})
    assert up_to_date(project, source) is not None

    # the source's settings changed in sources.yml
    settings = settings_digest(project, source)
    write_sources(project_dir, [{**_files_source(landing), "description": "edited"}])
    edited = load_project(project_dir)
    assert check_sync(edited, edited.config.enabled_sources[0]).reason == (
        "sources.yml or the dbt project changed since its last sync"
    )
    write_sources(project_dir, [_files_source(landing)])
    assert up_to_date(load_project(project_dir), source) is not None

    # a dbt model edited: its models must be built from the new SQL
    model = project_dir / "dbt_project" / "models" / "marts" / "orders.sql"
    sql = model.read_text()
    model.write_text(sql + "\n-- edited\n")
    assert up_to_date(project, source) is None
    model.write_text(sql)
    assert up_to_date(project, source) is not None

    # a sync that starts forgets the record: a failed or killed run leaves the next to run
    forget_sync(project, "files")
    assert check_sync(project, source) == SyncCheck()  # no record: a run, no reason to give
    # an unreadable record is no record
    record_sync(project, source, settings, "run-4")
    (project_dir / ".dlt" / "pipelines" / "files" / RECORD_FILE).write_text("{not json")
    assert up_to_date(project, source) is None


@pytest.mark.unit
def test_replace_tables_and_other_source_types_always_run(make_project, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    project = load_project(make_project([_files_source(landing, "replace")]))
    assert not eligible(project.config.enabled_sources[0])
    project = load_project(make_project([_files_source(landing)], name="append"))
    assert eligible(project.config.enabled_sources[0])
    rest = {
        "name": "api",
        "type": "rest_api",
        "rest_api": {"client": {"base_url": "http://127.0.0.1:1/"}, "resources": ["items"]},
    }
    project = load_project(make_project([rest], name="rest"))
    assert not eligible(project.config.enabled_sources[0])

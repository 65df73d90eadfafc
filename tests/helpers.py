"""Plain helpers for tests (and the benchmarks' project copies): project copies, CSV files,
warehouse queries, in-process runs, service checks."""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa
import yaml

REPO = Path(__file__).resolve().parent.parent
PROJECT_FILES = ["dbt_project", "custom_sources", ".dlt/config.toml", "dagster_home/dagster.yaml"]
"""What a throw-away project copy takes from the repo; its sources.yml is written per copy."""


def copy_project_files(target: Path, files: list[str] = PROJECT_FILES) -> None:
    """Copy `files` (paths relative to the repo) into `target`, without dbt's target/ and logs/."""
    for name in files:
        source = REPO / name
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(
                source, destination, ignore=shutil.ignore_patterns("target", "logs", "__pycache__")
            )
        else:
            shutil.copy2(source, destination)


def dbt_parse(dbt_project_dir: Path, warehouse: Path) -> None:
    """`dbt parse` in `dbt_project_dir` (writes target/manifest.json and its fingerprint, so a
    definitions load of a copy parsed against a warehouse of the same name parses nothing); no
    warehouse connection."""
    from ingest_assets.dbt.project import write_fingerprint

    env = {**os.environ, "INGEST_WAREHOUSE_PATH": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "parse", "--quiet", "--profiles-dir", "."],
        cwd=dbt_project_dir,
        env=env,
        check=True,
    )
    write_fingerprint(dbt_project_dir, warehouse)


def write_sources(root: Path, sources: list[dict[str, Any]] | str) -> None:
    """Write `root/sources.yml`: the `sources:` list (dicts) or a whole YAML document."""
    text = sources if isinstance(sources, str) else yaml.safe_dump(
        {"version": 1, "sources": sources}, sort_keys=False
    )
    (root / "sources.yml").write_text(text)


def read_csv(path: Path) -> list[dict[str, str]]:
    """All rows of a CSV file as dicts keyed by its header."""
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write dict rows (all with the same keys) as a CSV file with a header."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def query(project_root: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Run one read-only query against the project's warehouse and return all rows."""
    with duckdb.connect(str(project_root / "warehouse.duckdb"), read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()


def scalar(project_root: Path, sql: str, params: list | None = None) -> Any:
    """The single value of a one-row, one-column query against the project's warehouse."""
    return query(project_root, sql, params)[0][0]


def materialize_project(
    project_root: Path, selection: str | None = None, raise_on_error: bool = True, checks: bool = True
):
    """Load the project at `project_root` and materialize `selection` (default: every asset)
    in this process, as a fresh definitions load would; returns dagster's execution result.

    `checks=False` leaves out the asset checks of the selection (e.g. dbt's source tests, which
    would start a dbt step), for tests about the load alone."""
    from dagster import DagsterInstance, materialize

    from ingest_assets.project import build_definitions, load_project

    defs = build_definitions(load_project(project_root))
    assets = [*(defs.assets or []), *(defs.asset_checks or [])]
    return materialize(
        assets,
        resources=defs.resources,
        instance=DagsterInstance.ephemeral(),
        selection=_selection(selection, checks),
        raise_on_error=raise_on_error,
    )



def execute_job(
    project_root: Path,
    job: str,
    run_config: dict | None = None,
    instance: Any = None,
    raise_on_error: bool = True,
):
    """Load the project at `project_root` and execute its job `job` in this process with
    `run_config` (e.g. a sensor's run request), as a launched run would; returns dagster's
    execution result. `instance` defaults to an ephemeral one."""
    from dagster import DagsterInstance

    from ingest_assets.project import build_definitions, load_project

    defs = build_definitions(load_project(project_root))
    return defs.resolve_job_def(job).execute_in_process(
        run_config=run_config or {},
        instance=instance or DagsterInstance.ephemeral(),
        raise_on_error=raise_on_error,
    )

def service_available(host: str, port: int) -> bool:
    """True when a TCP server accepts connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip the test when the server is absent, saying so; under CI (`CI=true`) fail instead."""
    if service_available(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}, and CI=true requires it")
    pytest.skip(f"{message}; start it to run this test")


def _selection(selection: str | None, checks: bool):
    from dagster import AssetSelection

    if checks:
        return selection
    return AssetSelection.from_string(selection or "*").without_checks()


def execute_sql(engine: sa.Engine, *statements: str, params: list[dict] | None = None) -> None:
    """Run statements in one transaction (the last one with `params` rows when given)."""
    with engine.begin() as conn:
        for index, statement in enumerate(statements):
            last = index == len(statements) - 1
            conn.execute(sa.text(statement), params if (last and params) else {})

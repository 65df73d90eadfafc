"""Plain helpers for tests: CSV files, warehouse queries, in-process runs, service checks."""

from __future__ import annotations

import csv
import os
import socket
from pathlib import Path
from typing import Any

import duckdb
import pytest


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


def materialize_project(project_root: Path, selection: str | None = None, raise_on_error: bool = True):
    """Load the project at `project_root` and materialize `selection` (default: every asset)
    in this process, as a fresh definitions load would; returns dagster's execution result."""
    from dagster import DagsterInstance, materialize

    from ingest_assets.project import build_definitions, load_project

    defs = build_definitions(load_project(project_root))
    assets = list(defs.assets or [])
    return materialize(
        assets,
        resources=defs.resources,
        instance=DagsterInstance.ephemeral(),
        selection=selection,
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

"""Helpers for tests that run on a PostgreSQL warehouse: a fresh database of their own on the
machine's server (dropped afterwards), and queries against a project's warehouse, whatever it is."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from helpers import require_service

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"


def _admin():
    import psycopg2

    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="test")
    conn.autocommit = True
    return conn


@contextmanager
def fresh_database(name: str) -> Iterator[str]:
    """A new, empty PostgreSQL database `name` (prefix it with the branch or test), dropped
    afterwards. Skips the test when the server is absent (fails under `CI=true`)."""
    require_service("PostgreSQL", PG_HOST, PG_PORT)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    name = f"{name}_{worker}" if worker else name
    admin = _admin()
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def postgres_warehouse(database: str, **extra: Any) -> dict[str, Any]:
    """A `warehouse:` mapping for the machine's PostgreSQL, database `database`."""
    return {
        "type": "postgres",
        "host": PG_HOST,
        "port": PG_PORT,
        "database": database,
        "user": PG_USER,
        **extra,
    }


def warehouse_query(project_root: Path, sql: str) -> list[tuple]:
    """All rows of `sql` on the warehouse of the project at `project_root` (its active
    environment), read through the project's own connection helper."""
    from ingest_assets.project import load_project
    from ingest_assets.warehouses import connect

    with connect(load_project(project_root).warehouse, read_only=True) as conn:
        return conn.execute(sql).fetchall()


def warehouse_scalar(project_root: Path, sql: str) -> Any:
    """The one value of `sql` on the project's warehouse."""
    return warehouse_query(project_root, sql)[0][0]

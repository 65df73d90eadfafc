"""The schedule states of the project's Dagster instance, read without importing Dagster.

`ingest status` shows whether each source's schedule is started. Importing Dagster to ask the
instance costs seconds; with the instance's default storage (SQLite files under
`DAGSTER_HOME`, what `dagster_home/dagster.yaml` of this project uses) the states are one
read-only query of `schedules/schedules.db`. Any other storage (PostgreSQL, a custom class), or a
file this reader does not understand, falls back to `DagsterInstance.all_instigator_state()`.
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import closing
from pathlib import Path

import yaml

from ingest_assets.yaml_files import YAML_LOADER

_STORAGE_KEYS = ("storage", "schedule_storage")
"""Keys of dagster.yaml that move the schedule storage away from the default SQLite file."""


def instance_home(root: Path) -> Path:
    """`DAGSTER_HOME`, or `<root>/dagster_home` when it is not set."""
    return Path(os.environ.get("DAGSTER_HOME") or root / "dagster_home")


def schedule_states(root: Path) -> dict[str, str]:
    """`{schedule name: "running" | "stopped"}` as the project's Dagster instance records them
    (started or stopped in the UI or with `dagster schedule start/stop`); schedules never touched
    there are absent. {} when the instance does not exist yet.

    Args:
        root: the project root (its `dagster_home/` is the instance unless `DAGSTER_HOME` is set).
    """
    home = instance_home(root)
    if not (home / "dagster.yaml").exists() and not (home / "schedules").exists():
        return {}
    states = _sqlite_states(home)
    return states if states is not None else _dagster_states(home)


def _instance_settings(home: Path) -> dict | None:
    """The top-level settings of `<home>/dagster.yaml` ({} when there is none or it is not a
    mapping), or None when it cannot be read or parsed."""
    try:
        path = home / "dagster.yaml"
        settings = yaml.load(path.read_text(), Loader=YAML_LOADER) if path.exists() else {}
    except (OSError, yaml.YAMLError):
        return None
    return settings if isinstance(settings, dict) else {}


_RUN_STORAGE_KEYS = ("storage", "run_storage", "event_log_storage")
"""Keys of dagster.yaml that move the run and event storage away from the default SQLite files."""


def _index_database(home: Path) -> Path | None:
    """The default SQLite event log's index (`history/runs/index.db`, where pool slots live) of
    the instance at `home`, or None when dagster.yaml moves the storage elsewhere or cannot be
    read. The file itself may not exist yet."""
    settings = _instance_settings(home)
    if settings is None or any(key in settings for key in _RUN_STORAGE_KEYS):
        return None
    return home / "history" / "runs" / "index.db"


def _sqlite_states(home: Path) -> dict[str, str] | None:
    """The states from the default SQLite schedule storage, or None when the instance uses
    another storage or the file cannot be read as expected."""
    settings = _instance_settings(home)
    if settings is None or any(key in settings for key in _STORAGE_KEYS):
        return None
    database = home / "schedules" / "schedules.db"
    if not database.exists():
        return {}
    try:
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)) as conn:
            tables = {
                row[0]
                for row in conn.execute("select name from sqlite_master where type = 'table'")
            }
            rows = []
            if "instigators" in tables:
                rows = conn.execute(
                    "select status, instigator_type, instigator_body from instigators"
                ).fetchall()
            if not rows and "jobs" in tables:
                rows = conn.execute("select status, job_type, job_body from jobs").fetchall()
    except sqlite3.Error:
        return None
    states: dict[str, str] = {}
    for status, kind, body in rows:
        try:
            name = json.loads(body)["origin"]["job_name"]
        except (ValueError, KeyError, TypeError):
            return None  # a format this reader does not know: ask Dagster
        if kind == "SCHEDULE" and status in ("RUNNING", "STOPPED"):
            states[name] = status.lower()
    return states


def _dagster_states(home: Path) -> dict[str, str]:
    """The states through Dagster's own API (any storage)."""
    from dagster import DagsterInstance

    os.environ.setdefault("DAGSTER_HOME", str(home))
    states: dict[str, str] = {}
    with DagsterInstance.get() as instance:
        for state in instance.all_instigator_state():
            status = getattr(state.status, "value", str(state.status))
            if getattr(state.instigator_type, "value", "") == "SCHEDULE" and status in (
                "RUNNING",
                "STOPPED",
            ):
                states[state.instigator_name] = status.lower()
    return states


IN_PROGRESS_STATUSES = ("NOT_STARTED", "STARTING", "STARTED", "CANCELING")
"""Run statuses `run_recovery.recover_dead_runs` looks at (a run not yet ended)."""


def may_need_recovery(home: Path) -> bool:
    """False only when the instance at `home` certainly has nothing for dead-run recovery: its
    storage is the default SQLite files, no run is in progress, no pool slot is held and no
    slot claim is queued. Then `recover_dead_runs` would find nothing, and the definitions
    load skips building a `DagsterInstance` (its storage and migration checks cost a
    noticeable part of the load). Anything else, including a file this reader cannot read,
    is True (recovery runs as before).

    Args:
        home: the instance folder (`DAGSTER_HOME`).
    """
    index = _index_database(home)
    if index is None:
        return True
    runs = home / "history" / "runs.db"
    if not runs.exists():
        return index.exists()  # no run storage yet: nothing in progress, unless events exist anyway
    try:
        with closing(sqlite3.connect(f"file:{runs}?mode=ro", uri=True, timeout=5)) as conn:
            marks = ", ".join("?" for _ in IN_PROGRESS_STATUSES)
            if conn.execute(
                f"select 1 from runs where status in ({marks}) limit 1", IN_PROGRESS_STATUSES
            ).fetchone():
                return True
        if not index.exists():
            return False
        with closing(sqlite3.connect(f"file:{index}?mode=ro", uri=True, timeout=5)) as conn:
            tables = {
                row[0]
                for row in conn.execute("select name from sqlite_master where type = 'table'")
            }
            if (
                "concurrency_slots" in tables
                and conn.execute(
                    "select 1 from concurrency_slots where run_id is not null limit 1"
                ).fetchone()
            ):
                return True
            if (
                "pending_steps" in tables
                and conn.execute("select 1 from pending_steps limit 1").fetchone()
            ):
                return True
    except sqlite3.Error:
        return True
    return False


def pool_slots_match(home: Path, limits: dict[str, int]) -> bool:
    """True only when the instance at `home` certainly has every pool of `limits` at its limit
    already: its storage is the default SQLite files and each pool has exactly `limit` slots
    (the `slot_count` that `warehouses.pool.apply_pool_limits` compares). Then the definitions
    load skips building a `DagsterInstance` to set them. Anything else (no instance yet, other
    storage, a file this reader cannot read, a different count) is False: the limits are set
    through Dagster as before.

    Args:
        home: the instance folder (`DAGSTER_HOME`).
        limits: `{pool name: slot limit}`, as `warehouses.pool.pool_limits` gives them.
    """
    index = _index_database(home)
    if index is None or not index.exists():
        return False
    try:
        with closing(sqlite3.connect(f"file:{index}?mode=ro", uri=True, timeout=5)) as conn:
            for pool, limit in limits.items():
                (count,) = conn.execute(
                    "select count(*) from concurrency_slots"
                    " where concurrency_key = ? and not deleted",
                    (pool,),
                ).fetchone()
                if count != limit:
                    return False
    except sqlite3.Error:
        return False
    return True

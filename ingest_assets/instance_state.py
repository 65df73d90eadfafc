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


def _sqlite_states(home: Path) -> dict[str, str] | None:
    """The states from the default SQLite schedule storage, or None when the instance uses
    another storage or the file cannot be read as expected."""
    try:
        settings = yaml.safe_load((home / "dagster.yaml").read_text()) if (home / "dagster.yaml").exists() else {}
    except (OSError, yaml.YAMLError):
        return None
    if isinstance(settings, dict) and any(key in settings for key in _STORAGE_KEYS):
        return None
    database = home / "schedules" / "schedules.db"
    if not database.exists():
        return {}
    try:
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)) as conn:
            tables = {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
            rows = []
            if "instigators" in tables:
                rows = conn.execute("select status, instigator_type, instigator_body from instigators").fetchall()
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
            if getattr(state.instigator_type, "value", "") == "SCHEDULE" and status in ("RUNNING", "STOPPED"):
                states[state.instigator_name] = status.lower()
    return states

"""What users see of the definitions (their "surface"): asset keys with groups, asset check keys,
jobs, schedules (cron, time zone, default status), sensors (default status, job).

`tests/test_definitions_surface.py` compares today's definitions with the baseline recorded in
`tests/data/definitions_surface.json`, the proof that a restructure changed nothing users see.
Regenerate the baseline (only when a change of the surface is intended) with
`.venv/bin/python tests/definitions_surface.py` from the repo root.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
BASELINE = Path(__file__).resolve().parent / "data" / "definitions_surface.json"
ALERTS = {
    "base_url": "http://127.0.0.1:3000",
    "webhook": {"url_secret": "alerts.hook_url"},
    "email": {
        "host": "127.0.0.1",
        "port": 25,
        "from": "ingest@example.com",
        "to": ["data@example.com"],
    },
}
"""The `alerts:` block of the full project (no server is contacted when definitions load)."""


def demo_document() -> str:
    """The repo's sources.yml as it is."""
    return (REPO / "sources.yml").read_text()


SQLITE_FILE = "shop.db"
"""The SQLite database (in the project copy) the full project's sql_database sources read."""


def full_document() -> str:
    """The repo's sources.yml with every source enabled (filesystem, dlt_native, two
    sql_database, rest_api) and alerts set. The sql_database sources read a SQLite file made by
    `make_copy` (their table list is reflected when definitions load): builds offline."""
    document = copy.deepcopy(yaml.safe_load(demo_document()))
    for source in document["sources"]:
        source["enabled"] = True
        if source["type"] == "sql_database":
            source["sql_database"]["credentials"] = {
                "drivername": "sqlite",
                "database": SQLITE_FILE,
            }
            source["sql_database"].pop("schema", None)
    document["alerts"] = ALERTS
    return yaml.safe_dump(document, sort_keys=False)


def write_sqlite(root: Path) -> None:
    """Create the SQLite file of `full_document` in the project copy at `root`."""
    with sqlite3.connect(root / SQLITE_FILE) as conn:
        conn.execute("create table orders (id int primary key, updated_at text, amount real)")
        conn.execute("create table customers (id int primary key, name text)")


def surface(defs: Any) -> dict[str, Any]:
    """The user-visible names of `defs` (a `dagster.Definitions`) as JSON-ready sorted lists."""
    graph = defs.resolve_asset_graph()
    repository = defs.get_repository_def()
    assets = sorted(
        ["/".join(key.path), graph.get(key).group_name] for key in graph.get_all_asset_keys()
    )
    checks = sorted(["/".join(c.asset_key.path), c.name] for c in graph.asset_check_keys)
    schedules = sorted(
        [s.name, s.cron_schedule, s.execution_timezone, s.default_status.value, s.job_name]
        for s in repository.schedule_defs
    )
    sensors = []
    for sensor in repository.sensor_defs:
        try:
            job = sensor.job_name
        except Exception:  # noqa: BLE001 - a sensor on several jobs or none
            job = None
        sensors.append([sensor.name, sensor.default_status.value, job])
    return {
        "assets": assets,
        "asset_checks": checks,
        "jobs": sorted(
            job.name for job in repository.get_all_jobs() if not job.name.startswith("__")
        ),
        "schedules": schedules,
        "sensors": sorted(sensors, key=lambda s: s[0]),
    }


def make_copy(root: Path, document: str) -> Path:
    """A project copy at `root` with `document` as its sources.yml and the dbt manifest parsed."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from helpers import copy_project_files, write_sources

    copy_project_files(root)
    write_sources(root, document)
    write_sqlite(root)
    return root


def build(root: Path) -> Any:
    """The `Definitions` of the project copy at `root`, loaded through the Dagster entry point
    (`ingest_assets.definitions`, what `dagster dev`, `dg` and `dagster asset materialize` load)."""
    os.environ["INGEST_PROJECT_DIR"] = str(root)
    os.environ.pop("INGEST_WAREHOUSE", None)
    from ingest_assets.definitions import defs

    return defs() if callable(defs) else defs


def record() -> dict[str, Any]:
    """Build both projects in temporary copies and return {"demo": ..., "full": ...}."""
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, document in (("demo", demo_document()), ("full", full_document())):
            root = make_copy(Path(tmp) / name, document)
            result[name] = surface(build(root))
            shutil.rmtree(root)
    return result


if __name__ == "__main__":
    BASELINE.parent.mkdir(parents=True, exist_ok=True)
    BASELINE.write_text(json.dumps(record(), indent=1) + "\n")
    print(f"wrote {BASELINE}")

"""Plain helpers for tests (and the benchmarks' project copies): project copies, the one
`sources.yml` entry factory `source(...)`, CSV files, warehouse queries, in-process runs, service
checks, and the one S3 emulator fixture `moto_s3` (registered for every test by conftest.py)."""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa
import yaml

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
"""The venv's scripts folder (`ingest`, `dagster`)."""
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

    env = {
        **os.environ,
        "INGEST_WAREHOUSE_PATH": str(warehouse),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "parse", "--quiet", "--profiles-dir", "."],
        cwd=dbt_project_dir,
        env=env,
        check=True,
    )
    write_fingerprint(dbt_project_dir, warehouse)


def write_sources(root: Path, sources: list[dict[str, Any]] | str) -> None:
    """Write `root/sources.yml`: the `sources:` list (dicts) or a whole YAML document."""
    text = (
        sources
        if isinstance(sources, str)
        else yaml.safe_dump({"version": 1, "sources": sources}, sort_keys=False)
    )
    (root / "sources.yml").write_text(text)


def source(
    name: str,
    type: str = "filesystem",
    *,
    block: dict[str, Any] | None = None,
    tables: list[dict[str, Any]] | None = None,
    bucket_url: str | Path | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """One `sources.yml` entry (a dict, as `make_project`/`write_sources` take them).

    Args:
        name: the source's name (its dataset is `raw_<name>`).
        type: the source type; its block goes under the key of the same name.
        block: the whole type block (e.g. `{"schema": ..., "tables": [...]}` for sql_database).
            For `filesystem` it may be left out: then it is `bucket_url` (default
            `data/landing/<name>`, relative to the project) with `tables` (default one table
            `rows` of `*.csv`; see `file_table`).
        **settings: source-level fields (`sensor`, `schedule`, `settle_seconds`, ...).

    Raises:
        ValueError: a type other than filesystem without a `block`.
    """
    if block is None:
        if type != "filesystem":
            raise ValueError(f"source({name!r}, {type!r}): give the {type} block")
        block = {
            "bucket_url": str(bucket_url or f"data/landing/{name}"),
            "tables": tables or [file_table("rows", "*.csv")],
        }
    return {"name": name, "type": type, type: block, **settings}


def file_table(name: str, file_glob: str, format: str = "csv", **options: Any) -> dict[str, Any]:
    """One table of a filesystem source: `{"name", "file_glob", "format", **options}`."""
    return {"name": name, "file_glob": file_glob, "format": format, **options}


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
    project_root: Path,
    selection: str | None = None,
    raise_on_error: bool = True,
    checks: bool = True,
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


MOTO_ACCESS_KEY = "AKIATESTKEY"
MOTO_SECRET_KEY = "s3cr3t-never-shown"
"""The emulator's credentials; tests assert the secret shows up in no message."""


@dataclass
class MotoS3:
    """A running S3 emulator. `client` is a boto3 S3 client on `endpoint`."""

    endpoint: str
    client: Any

    def credentials_env(self, source_name: str) -> dict[str, str]:
        """The environment variables from which dlt reads source `source_name`'s S3
        credentials (`SOURCES__<NAME>__CREDENTIALS__...`) for this emulator."""
        values = {
            "AWS_ACCESS_KEY_ID": MOTO_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": MOTO_SECRET_KEY,
            "ENDPOINT_URL": self.endpoint,
            "REGION_NAME": "us-east-1",
        }
        return {f"SOURCES__{source_name.upper()}__CREDENTIALS__{k}": v for k, v in values.items()}


@pytest.fixture
def moto_s3() -> Iterator[MotoS3]:
    """An S3 API on 127.0.0.1 (moto's server in a thread, a free port): the code under test talks
    real S3 HTTP to it. Create buckets with `moto_s3.client.create_bucket(Bucket=...)`; point a
    source at it with `monkeypatch.setenv` over `moto_s3.credentials_env(name)`. Moto's state
    (buckets, objects) is reset afterwards."""
    import boto3
    import requests
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=MOTO_ACCESS_KEY,
        aws_secret_access_key=MOTO_SECRET_KEY,
        region_name="us-east-1",
    )
    try:
        yield MotoS3(endpoint=endpoint, client=client)
    finally:
        requests.post(f"{endpoint}/moto-api/reset", timeout=10)
        server.stop()


CLI_IMPORTS_PROBE = """
import json, sys
from ingest_assets.cli import app
heavy = json.loads(sys.argv[2])
sys.argv = ["ingest", *json.loads(sys.argv[1])]
try:
    app()
except SystemExit as exit:
    assert not exit.code, exit.code
print(json.dumps([m for m in heavy if m in sys.modules]))
"""
"""`python -c CLI_IMPORTS_PROBE '<json list of ingest arguments>' '<json list of modules>'`: runs
the `ingest` command in a fresh interpreter (failing on a non-zero exit) and prints, as its last
line, the JSON list of those modules it imported."""


def run_ingest(
    project: Path,
    *args: str,
    columns: int = 200,
    timeout: float = 900,
    unset: tuple[str, ...] = (),
) -> subprocess.CompletedProcess:
    """`ingest <args>` as a user runs it in `project`: its own `INGEST_PROJECT_DIR` and
    `DAGSTER_HOME` (`<project>/dagster_home`), a `columns`-wide terminal, the test process's
    environment without the variables named in `unset`, output captured as text. Raises
    `subprocess.TimeoutExpired` after `timeout` seconds."""
    env = {
        **{name: value for name, value in os.environ.items() if name not in unset},
        "INGEST_PROJECT_DIR": str(project),
        "DAGSTER_HOME": str(project / "dagster_home"),
        "COLUMNS": str(columns),
    }
    return subprocess.run(
        [str(BIN / "ingest"), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )

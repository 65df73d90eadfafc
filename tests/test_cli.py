"""The commands a user types: `ingest validate`, `dagster asset materialize`, `ingest summary`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from helpers import read_csv, scalar
from jaffle import jaffle_source

BIN = Path(sys.executable).parent


def _run(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "INGEST_PROJECT_DIR": str(project),
        "DAGSTER_HOME": str(project / "dagster_home"),
        "COLUMNS": "200",
    }
    return subprocess.run(args, cwd=project, env=env, capture_output=True, text=True, timeout=600)


def test_validate_ok_and_errors(make_project):
    project = make_project([jaffle_source("data/landing/jaffle_shop")])
    ok = _run(project, str(BIN / "ingest"), "validate")
    assert ok.returncode == 0, ok.stderr
    assert "enabled: jaffle_shop" in ok.stdout

    (project / "sources.yml").write_text(
        "version: 1\nsources:\n  - name: crm\n    type: filesystem\n    schedule: '61 * * * *'\n"
        "    filesystem: {bucket_url: x, tables: [{name: t, file_glob: '*', format: csv}]}\n"
    )
    bad = _run(project, str(BIN / "ingest"), "validate")
    assert bad.returncode == 1
    assert "sources.yml: source 'crm': schedule: '61 * * * *' is not a valid cron expression" in bad.stderr


def test_validate_reports_missing_custom_module(make_project):
    project = make_project(
        [
            {
                "name": "crm",
                "type": "dlt_native",
                "dlt_native": {"source_module": "no_such_module", "source_function": "crm"},
            }
        ]
    )
    result = _run(project, str(BIN / "ingest"), "validate")
    assert result.returncode == 1
    assert "source 'crm': dlt_native.source_module: no module custom_sources.no_such_module or no_such_module" in result.stderr


def test_dagster_cli_materializes_everything_with_project_instance(make_project, jaffle_small):
    project = make_project([jaffle_source("data/landing/jaffle_shop")])
    shutil.copytree(jaffle_small, project / "data" / "landing" / "jaffle_shop")

    run = _run(
        project, str(BIN / "dagster"), "asset", "materialize", "-m", "ingest_assets.definitions", "--select", "*"
    )

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "RUN_SUCCESS" in run.stdout + run.stderr
    orders = len(read_csv(jaffle_small / "raw_orders.csv"))
    assert scalar(project, "select count(*) from raw_jaffle_shop.orders") == orders
    assert scalar(project, "select count(*) from main.orders") == orders
    # the project-local instance recorded the run (not an ephemeral one)
    assert (project / "dagster_home" / "history").exists()

    summary = _run(project, str(BIN / "ingest"), "summary")
    assert summary.returncode == 0, summary.stderr
    assert f"{orders:,}" in summary.stdout
    assert "dbt tests:" in summary.stdout and "fail" not in summary.stdout


def test_sync_full_refresh_then_status(make_project, jaffle_small):
    source = jaffle_source("data/landing/jaffle_shop")
    source["schedule"] = "0 6 * * *"
    project = make_project([source])
    shutil.copytree(jaffle_small, project / "data" / "landing" / "jaffle_shop")
    orders = len(read_csv(jaffle_small / "raw_orders.csv"))

    first = _run(project, str(BIN / "ingest"), "sync", "jaffle_shop")
    assert first.returncode == 0, first.stderr[-2000:]
    again = _run(project, str(BIN / "ingest"), "sync", "jaffle_shop", "--full-refresh")
    assert again.returncode == 0, again.stderr[-2000:]

    assert scalar(project, "select count(*) from raw_jaffle_shop.orders") == orders
    assert scalar(project, "select count(*) from main.orders") == orders
    status = _run(project, str(BIN / "ingest"), "status")
    assert status.returncode == 0, status.stderr
    line = next(l for l in status.stdout.splitlines() if "jaffle_shop" in l)
    assert "success" in line and "06:00 UTC" in line and "no" in line
    total = sum(len(read_csv(jaffle_small / f)) for f in [p.name for p in jaffle_small.iterdir()])
    assert f"{total:,}" in line

    missing = _run(project, str(BIN / "ingest"), "sync", "nope")
    assert missing.returncode == 1
    assert "no enabled source named 'nope'" in missing.stderr

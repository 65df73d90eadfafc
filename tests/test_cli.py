"""The commands a user types: `ingest validate`, `dagster asset materialize`, `ingest summary`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import read_csv, scalar
from jaffle import jaffle_source

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent


def _run(project: Path, *args: str, columns: int = 200) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "INGEST_PROJECT_DIR": str(project),
        "DAGSTER_HOME": str(project / "dagster_home"),
        "COLUMNS": str(columns),
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
    assert (
        "sources.yml:5: source 'crm': schedule: '61 * * * *' is not a valid cron expression"
        in bad.stderr
    )


def test_config_error_is_one_line_per_problem_in_every_command_and_v_shows_the_traceback(
    make_project,
):
    project = make_project(
        "version: 1\nsources:\n  - name: shop\n    type: sql_database\n    sql_database:\n"
        "      credentials: {drivername: postgresql, host: db, database: shop, username: u, password: x}\n"
        "      tables: [orders]\n      chunk_sise: 10\n"
    )
    expected = [
        "✗ sources.yml:8: source 'shop': sql_database.chunk_sise: unknown field; check its spelling and "
        "where it is indented: did you mean 'chunk_size'?",
        # Rich markup in a message is printed as it is: [sources.shop.credentials] stays
        "✗ sources.yml:6: source 'shop': sql_database.credentials.password: do not put passwords in "
        'sources.yml: name an environment variable with password_env, or put password = "..." under '
        "[sources.shop.credentials] in .dlt/secrets.toml (or set SOURCES__SHOP__CREDENTIALS__PASSWORD)",
    ]
    # every command reports config errors through the same handler: two of them are run here
    result = _run(project, str(BIN / "ingest"), "validate", columns=400)
    assert result.returncode == 1
    assert result.stderr.splitlines() == expected, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    verbose = _run(project, str(BIN / "ingest"), "sync", "shop", "-v", columns=400)
    assert verbose.returncode == 1
    assert "Traceback" in verbose.stderr and "load_project_config" in verbose.stderr
    assert verbose.stderr.strip().splitlines()[-1] == expected[-1]


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
    assert (
        "source 'crm': dlt_native.source_module: no module custom_sources.no_such_module or no_such_module"
        in result.stderr
    )


def test_dagster_cli_materializes_everything_with_project_instance(make_project, jaffle_small):
    project = make_project([jaffle_source("data/landing/jaffle_shop")])
    shutil.copytree(jaffle_small, project / "data" / "landing" / "jaffle_shop")

    run = _run(
        project,
        str(BIN / "dagster"),
        "asset",
        "materialize",
        "-m",
        "ingest_assets.definitions",
        "--select",
        "*",
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
    # a short summary instead of the run's log: rows per table, dbt models and tests
    assert len(again.stdout.splitlines()) < 20, again.stdout
    assert f"raw_jaffle_shop.orders: {orders:,} rows loaded" in again.stdout
    dbt_line = next(line for line in again.stdout.splitlines() if line.startswith("dbt models:"))
    assert dbt_line.startswith("dbt models: 13 success; dbt tests: ") and dbt_line.endswith(
        " pass"
    ), dbt_line
    assert (
        "DEBUG" not in again.stdout + again.stderr
        and "STEP_START" not in again.stdout + again.stderr
    )

    # an 80-column terminal: columns are left out or wrapped, no value is cut
    status = _run(project, str(BIN / "ingest"), "status", columns=80)
    assert status.returncode == 0, status.stderr
    assert "…" not in status.stdout
    assert all(len(line) <= 80 for line in status.stdout.splitlines())
    line = next(line for line in status.stdout.splitlines() if "jaffle_shop" in line)
    # the schedule starts stopped (schedule_status default): no next run is shown
    assert "success" in line and "stopped" in line and "06:00" not in line and "no" in line
    total = sum(len(read_csv(jaffle_small / f)) for f in [p.name for p in jaffle_small.iterdir()])
    assert f"{total:,}" in line

    as_json = json.loads(_run(project, str(BIN / "ingest"), "status", "--json").stdout)
    (entry,) = as_json
    assert (
        entry["source"] == "jaffle_shop" and entry["status"] == "success" and not entry["failing"]
    )
    assert entry["rows_in_warehouse"] == total
    assert entry["schedule"] == {"cron": "0 6 * * *", "state": "stopped", "next_run": None}

    # started in the instance (as in the UI): the next run is shown
    start = _run(
        project,
        str(BIN / "dagster"),
        "schedule",
        "start",
        "jaffle_shop_schedule",
        "-m",
        "ingest_assets.definitions",
    )
    assert start.returncode == 0, start.stdout + start.stderr
    running = json.loads(_run(project, str(BIN / "ingest"), "status", "--json").stdout)[0][
        "schedule"
    ]
    assert running["state"] == "running" and running["next_run"].endswith("06:00 UTC")

    missing = _run(project, str(BIN / "ingest"), "sync", "nope")
    assert missing.returncode == 1
    assert "no enabled source named 'nope'" in missing.stderr


BOOM = """
import dlt


@dlt.source(name="boom")
def boom():
    @dlt.resource(name="orders")
    def orders():
        yield {"id": 1}
        raise ValueError("the upstream API said no")

    return orders
"""


def test_sync_summary_names_the_failing_source_once(make_project):
    from helpers import execute_job

    from ingest_assets.cli import sync_summary

    project = make_project(
        [
            {
                "name": "boom",
                "type": "dlt_native",
                "dlt_native": {"source_module": "boom", "source_function": "boom"},
                "max_retries": 0,
            }
        ]
    )
    (project / "custom_sources" / "boom.py").write_text(BOOM)
    result = execute_job(project, "boom_job", raise_on_error=False)
    assert not result.success
    lines, failures = sync_summary(result, "boom", project / "dbt_project")
    assert len(failures) == 1, failures
    assert failures[0].startswith("source 'boom': ") and failures[0].count("boom'") == 1, failures[
        0
    ]
    assert "the upstream API said no" in failures[0]
    assert not any(line.startswith("dbt models") for line in lines)  # dbt did not run


def test_config_error_is_the_first_line_of_the_code_location_error(make_project):
    project = make_project([jaffle_source("data/landing/jaffle_shop")])
    text = (project / "sources.yml").read_text().replace("file_glob:", "file_glb:", 1)
    (project / "sources.yml").write_text(text)
    line = next(i for i, line in enumerate(text.splitlines(), 1) if "file_glb:" in line)

    result = _run(
        project, str(BIN / "dagster"), "definitions", "validate", "-m", "ingest_assets.definitions"
    )
    assert result.returncode != 0
    output = (result.stdout + result.stderr).splitlines()
    start = next(
        i for i, line in enumerate(output) if "Validation failed for code location" in line
    )
    first = next(line for line in output[start + 1 :] if line.strip())
    assert first == (
        f"ingest_assets.config.errors.ConfigError: sources.yml:{line}: source 'jaffle_shop': "
        "filesystem.tables[0].file_glb: unknown field; check its spelling and where it is indented: "
        "did you mean 'file_glob'?"
    )

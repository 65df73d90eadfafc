"""`environments:` in sources.yml, selected by INGEST_ENV (default dev): the warehouse and dbt
target change together, and schedules' status and sensors' intervals may change; `ingest
validate` checks every environment, `ingest status` says which one is active."""

from __future__ import annotations

import json
import os

import pytest
import yaml
from dagster import DefaultScheduleStatus
from typer.testing import CliRunner

from ingest_assets.cli import app
from ingest_assets.project import build_definitions, load_project
from ingest_assets.warehouses import UnknownEnvironment

pytestmark = pytest.mark.e2e

SOURCE = {
    "name": "shop",
    "type": "filesystem",
    "schedule": "0 6 * * *",
    "filesystem": {
        "bucket_url": "data/landing/shop",
        "tables": [{"name": "orders", "file_glob": "*.csv", "format": "csv"}],
    },
}
DOCUMENT = {
    "version": 1,
    "warehouse": "dev.duckdb",
    "environments": {
        "dev": {},
        "prod": {
            "warehouse": {
                "type": "postgres",
                "host": "db.internal",
                "database": "analytics",
                "user": "loader",
                "password_env": "WH14_PROD_PASSWORD",
                "pool_limit": 8,
            },
            "schedule_status": "running",
            "sensor_minimum_interval_seconds": 300,
        },
    },
    "sources": [SOURCE],
}


@pytest.fixture
def project(make_project):
    root = make_project(yaml.safe_dump(DOCUMENT, sort_keys=False))
    (root / "data" / "landing" / "shop").mkdir(parents=True)
    return root


def test_dev_is_the_default_environment(project, monkeypatch):
    monkeypatch.delenv("INGEST_ENV", raising=False)
    loaded = load_project(project)
    assert loaded.warehouse.environment == "dev"
    assert loaded.warehouse.path == project / "dev.duckdb"
    assert os.environ["INGEST_DBT_TARGET"] == "duckdb"
    assert os.environ["INGEST_WAREHOUSE_PATH"] == str(project / "dev.duckdb")
    defs = build_definitions(loaded)
    assert (
        defs.resolve_schedule_def("shop_schedule").default_status == DefaultScheduleStatus.STOPPED
    )
    assert defs.resolve_sensor_def("shop_file_sensor").minimum_interval_seconds == 30


def test_prod_changes_warehouse_dbt_target_schedules_and_sensors_together(project, monkeypatch):
    monkeypatch.setenv("INGEST_ENV", "prod")
    monkeypatch.setenv("WH14_PROD_PASSWORD", "prod-secret")
    loaded = load_project(project)
    assert loaded.warehouse.environment == "prod"
    assert loaded.warehouse.describe() == "postgres loader@db.internal:5432/analytics"
    assert loaded.warehouse.pool_limit == 8
    assert os.environ["INGEST_DBT_TARGET"] == "postgres"
    assert os.environ["INGEST_DBT_DATABASE"] == "analytics"
    assert "INGEST_WAREHOUSE_PATH" not in os.environ  # dev's file is not prod's dbt target
    defs = build_definitions(loaded)
    assert (
        defs.resolve_schedule_def("shop_schedule").default_status == DefaultScheduleStatus.RUNNING
    )
    assert defs.resolve_sensor_def("shop_file_sensor").minimum_interval_seconds == 300
    assert defs.resources["warehouse"].warehouse().describe() == loaded.warehouse.describe()
    # the asset keys, checks, jobs, schedules and sensors are the same in every environment
    monkeypatch.setenv("INGEST_ENV", "dev")
    dev = build_definitions(load_project(project))
    assert {k for k in dev.resolve_asset_graph().get_all_asset_keys()} == {
        k for k in defs.resolve_asset_graph().get_all_asset_keys()
    }
    assert {s.name for s in dev.schedules} == {s.name for s in defs.schedules}
    assert {s.name for s in dev.sensors} == {s.name for s in defs.sensors}


def test_an_unknown_environment_is_refused_naming_those_defined(project, monkeypatch):
    monkeypatch.setenv("INGEST_ENV", "staging")
    with pytest.raises(
        UnknownEnvironment, match=r"INGEST_ENV is 'staging', but sources.yml defines only dev, prod"
    ):
        load_project(project)
    result = CliRunner().invoke(app, ["status", "--project", str(project)])
    assert result.exit_code == 1
    assert "INGEST_ENV is 'staging'" in result.output


def test_without_environments_only_dev_exists(make_project, monkeypatch):
    root = make_project([SOURCE])
    monkeypatch.setenv("INGEST_ENV", "prod")
    with pytest.raises(UnknownEnvironment, match="defines no environments"):
        load_project(root)
    monkeypatch.setenv("INGEST_ENV", "dev")
    assert load_project(root).warehouse.path == root / "warehouse.duckdb"


def test_validate_checks_every_environment(project, monkeypatch):
    monkeypatch.delenv("INGEST_ENV", raising=False)
    monkeypatch.delenv("WH14_PROD_PASSWORD", raising=False)
    result = CliRunner().invoke(app, ["validate", "--project", str(project)])
    assert result.exit_code == 0, result.output
    assert f"dev (active): duckdb {project / 'dev.duckdb'}, pool limit 1" in result.output
    assert "prod: postgres loader@db.internal:5432/analytics, pool limit 8" in result.output
    # prod's password is on the prod machines, not here: a warning naming the variable
    assert (
        "environment 'prod': sources.yml: warehouse (prod): the environment variable WH14_PROD_PASSWORD"
        in result.output
    )

    bad = {
        **DOCUMENT,
        "environments": {
            "dev": {},
            "prod": {
                "warehouse": {"type": "postgres", "database": "a", "user": "u", "password": "x"}
            },
        },
    }
    (project / "sources.yml").write_text(yaml.safe_dump(bad, sort_keys=False))
    result = CliRunner().invoke(app, ["validate", "--project", str(project)])
    assert result.exit_code == 1
    assert (
        "environments.prod.warehouse" in result.output
        and "a secret is not allowed" in result.output
    )


def test_status_says_which_environment_is_active(project, monkeypatch):
    monkeypatch.delenv("INGEST_ENV", raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(project / "dagster_home"))
    result = CliRunner().invoke(app, ["status", "--project", str(project)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    # the line is folded at the terminal's width
    assert f"environment dev: warehouse duckdb {project / 'dev.duckdb'}" in result.output.replace(
        "\n", ""
    )
    as_json = json.loads(
        CliRunner().invoke(app, ["status", "--json", "--project", str(project)]).output
    )
    assert as_json[0]["environment"] == "dev"
    assert as_json[0]["warehouse"] == f"duckdb {project / 'dev.duckdb'}"

"""The production Dagster instance and the deployment files, checked offline.

- deploy/dagster.yaml loads as a DagsterInstance (Dagster validates it against its instance
  config schema and each configured class's schema) with its storage on the machine's
  PostgreSQL (a database of the test's own), and a real run of the project's job stores its
  events there, read back through the instance and straight from PostgreSQL.
- deploy/docker/dagster.yaml loads the same way with dagster-docker's DockerRunLauncher.
- deploy/helm/values.yaml: the instance settings the chart renders from it (run queue, run
  monitoring, run retries, pools) load as a DagsterInstance too; the K8sRunLauncher itself and
  the chart need a cluster and helm, which are not here.
- Dockerfile and .dockerignore: the image runs the definitions module of pyproject.toml and
  keeps secrets and local state out (no Docker daemon here to build it).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml
from dagster import AssetKey, DagsterEventType, DagsterInstance, DagsterRunStatus
from helpers import REPO, execute_job, write_csv
from warehouses_support import PG_HOST, PG_PORT, PG_USER, fresh_database

from ingest_assets.config.warehouse import PostgresWarehouse
from ingest_assets.project import load_project
from ingest_assets.warehouses import Warehouse
from ingest_assets.warehouses.pool import DBT_POOL, WAREHOUSE_POOL, apply_pool_limits

pytestmark = pytest.mark.e2e

SOURCE = {
    "name": "shop",
    "type": "filesystem",
    "filesystem": {
        "bucket_url": "data/landing/shop",
        "tables": [{"name": "orders", "file_glob": "*.csv", "format": "csv"}],
    },
}


def _instance_env(monkeypatch, database: str) -> None:
    """The variables deploy/dagster.yaml reads, pointed at the machine's PostgreSQL."""
    for name, value in {
        "DAGSTER_PG_HOST": PG_HOST,
        "DAGSTER_PG_PORT": str(PG_PORT),
        "DAGSTER_PG_DB": database,
        "DAGSTER_PG_USER": PG_USER,
        "DAGSTER_PG_PASSWORD": "",
    }.items():
        monkeypatch.setenv(name, value)


def _home(tmp_path: Path, config: dict | str, name: str) -> Path:
    home = tmp_path / name
    home.mkdir()
    text = config if isinstance(config, str) else yaml.safe_dump(config, sort_keys=False)
    (home / "dagster.yaml").write_text(text)
    return home


def test_a_run_on_the_production_instance_stores_its_events_in_postgres(
    make_project, tmp_path, monkeypatch
):
    with fresh_database("wh14_dagster") as database:
        _instance_env(monkeypatch, database)
        home = _home(tmp_path, (REPO / "deploy" / "dagster.yaml").read_text(), "dagster_home_prod")
        with DagsterInstance.from_config(str(home)) as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
            assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
            assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
            queue = instance.get_concurrency_config().run_queue_config
            assert queue.max_concurrent_runs == 8
            assert [(t["key"], t["limit"]) for t in queue.tag_concurrency_limits] == [
                ("dagster/job_name", 1),
                ("ingest/full_refresh", 2),
            ]
            assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
            assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
            assert instance.run_monitoring_enabled

            project = make_project([SOURCE])
            write_csv(
                project / "data" / "landing" / "shop" / "orders.csv",
                [{"id": i, "amount": i} for i in range(250)],
            )
            result = execute_job(project, "shop_job", instance=instance)
            assert result.success
            run_id = result.run_id

            # read back through the instance
            assert instance.get_run_by_id(run_id).status == DagsterRunStatus.SUCCESS
            events = [
                record.event_log_entry for record in instance.get_records_for_run(run_id).records
            ]
            types = [e.dagster_event.event_type for e in events if e.dagster_event]
            assert DagsterEventType.RUN_START in types
            assert DagsterEventType.RUN_SUCCESS in types
            materialization = instance.get_latest_materialization_event(
                AssetKey(["raw_shop", "orders"])
            )
            assert materialization.run_id == run_id
            assert materialization.asset_materialization.metadata["rows_loaded"].value == 250
            checks = [
                e
                for e in events
                if e.dagster_event
                and e.dagster_event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION
            ]
            evaluations = {
                c.dagster_event.event_specific_data.check_name: c.dagster_event.event_specific_data.passed
                for c in checks
            }
            assert evaluations == {"row_count": True, "reconcile": True}

            # and straight from PostgreSQL: the events are rows of its event_logs table
            import psycopg2

            with (
                psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=database) as conn,
                conn.cursor() as cursor,
            ):
                cursor.execute(
                    "SELECT count(*), count(*) FILTER (WHERE dagster_event_type = 'ASSET_MATERIALIZATION') FROM event_logs WHERE run_id = %s",
                    [run_id],
                )
                total, materializations = cursor.fetchone()
            assert total == len(events) and materializations == 1

            # the pools' limits are set on this shared instance as a definitions load sets them
            server = Warehouse(
                PostgresWarehouse(type="postgres", database="analytics", user="loader")
            )
            assert apply_pool_limits(instance, server) == {WAREHOUSE_POOL: 4, DBT_POOL: 1}
            assert instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL).slot_count == 4
            assert apply_pool_limits(instance, server) == {}  # unchanged: nothing written
            apply_pool_limits(instance, load_project(project).warehouse)  # back to a DuckDB file
            assert instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL).slot_count == 1


def test_docker_instance_config_is_valid(tmp_path, monkeypatch):
    pytest.importorskip("dagster_docker")
    monkeypatch.setenv("INGEST_IMAGE", "registry.example.com/ingest-assets:0.1.0")
    home = _home(
        tmp_path, (REPO / "deploy" / "docker" / "dagster.yaml").read_text(), "dagster_home_docker"
    )
    with fresh_database("wh14_dagster_docker") as database:
        _instance_env(monkeypatch, database)
        with DagsterInstance.from_config(str(home)) as instance:
            launcher = instance.run_launcher
            assert type(launcher).__name__ == "DockerRunLauncher"
            assert launcher.image == "registry.example.com/ingest-assets:0.1.0"
            assert "WAREHOUSE_PASSWORD" in launcher.env_vars and "INGEST_ENV" in launcher.env_vars
            assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
            assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 4
            assert instance.run_retries_enabled


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def test_helm_values_render_a_valid_instance(tmp_path, monkeypatch):
    """The chart turns its values into the instance's dagster.yaml (its templates map the
    camelCase keys to Dagster's snake_case ones); that part is checked by Dagster's schema."""
    values = yaml.safe_load((REPO / "deploy" / "helm" / "values.yaml").read_text())
    daemon = values["dagsterDaemon"]
    runs = values["concurrency"]["runs"]
    rendered = {
        "storage": {
            "postgres": {
                "postgres_db": {
                    "hostname": values["postgresql"]["postgresqlHost"],
                    "username": values["postgresql"]["postgresqlUsername"],
                    "db_name": values["postgresql"]["postgresqlDatabase"],
                    "port": values["postgresql"]["service"]["port"],
                    "password": {"env": "DAGSTER_PG_PASSWORD"},
                    "scheme": "postgresql+psycopg2",
                }
            }
        },
        "run_coordinator": {
            "module": "dagster.core.run_coordinator",
            "class": daemon["runCoordinator"]["type"],
        },
        "run_monitoring": {_snake(k): v for k, v in daemon["runMonitoring"].items()},
        "run_retries": {_snake(k): v for k, v in daemon["runRetries"].items()},
        "concurrency": {
            "runs": {_snake(k): v for k, v in runs.items()},
            "pools": {_snake(k): v for k, v in values["concurrency"]["pools"].items()},
        },
        "telemetry": values["telemetry"],
    }
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "")
    with fresh_database("wh14_dagster_helm") as database:
        # the chart's host is the cluster's; here the machine's PostgreSQL stands in for it
        rendered["storage"]["postgres"]["postgres_db"].update(
            hostname=PG_HOST, db_name=database, username=PG_USER
        )
        with DagsterInstance.from_config(
            str(_home(tmp_path, rendered, "dagster_home_helm"))
        ) as instance:
            assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 8
            assert instance.run_monitoring_enabled and instance.run_retries_enabled
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    module = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["dagster"]["module_name"]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", module]
    assert deployment["includeConfigInLaunchedRuns"] == {"enabled": True}
    assert [s["name"] for s in deployment["envSecrets"]] == ["ingest-warehouse"]
    assert "postgresqlPassword" not in values["postgresql"]  # from the Kubernetes Secret only


def test_dockerfile_runs_the_definitions_and_keeps_secrets_out():
    dockerfile = (REPO / "Dockerfile").read_text()
    module = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["dagster"]["module_name"]
    assert f'"-m", "{module}"' in dockerfile
    assert "requirements.lock" in dockerfile
    assert not [
        line for line in dockerfile.splitlines() if line.startswith("COPY") and "secrets" in line
    ]
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    for pattern in (".dlt/secrets.toml", ".venv", "*.duckdb", "dagster_home", ".dlt/pipelines"):
        assert pattern in ignored, pattern

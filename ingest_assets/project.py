"""Assemble one project checkout (config, paths, warehouse) into Dagster `Definitions`."""

from __future__ import annotations

from dagster import Definitions, in_process_executor
from dagster_dbt import DbtCliResource
from dagster_dlt import DagsterDltResource
from dagster_duckdb import DuckDBResource

from ingest_assets.alerts.sensors import build_alert_sensors
from ingest_assets.dbt.assets import build_dbt_assets
from ingest_assets.dbt.child import launcher
from ingest_assets.dbt.project import load_dbt_project
from ingest_assets.dlt.assets import build_source_assets
from ingest_assets.dlt.checks import build_load_time_freshness, build_table_checks
from ingest_assets.dlt.reconcile import build_reconcile_checks
from ingest_assets.loaded_project import Project, load_project
from ingest_assets.orchestration.jobs import build_source_job
from ingest_assets.orchestration.schedules import build_schedule
from ingest_assets.orchestration.sensors import build_file_sensor

__all__ = ["Project", "build_definitions", "load_project"]


def build_definitions(project: Project) -> Definitions:
    """Return the Dagster definitions of `project`.

    One asset group per enabled source (its dlt assets), the dbt models downstream of them, a
    job per source (its group and the models downstream), its cron schedule when configured, a
    file-arrival sensor per filesystem source, the alert sensors when `alerts:` is set, and the resources: `dlt`, `dbt` (profile reads the warehouse path from the environment) and
    `warehouse` (a `DuckDBResource` on the same file, for readers and checks).
    """
    dbt_project = load_dbt_project(project.paths.dbt_project_dir)
    sources = project.config.enabled_sources
    audit_log = (
        project.paths.resolve(project.config.audit_log) if project.config.audit_log else None
    )
    source_assets = [
        build_source_assets(s, project.paths, project.warehouse, audit_log) for s in sources
    ]
    jobs = {source.name: build_source_job(source) for source in sources}
    schedules = [build_schedule(s, jobs[s.name], project.config.timezone) for s in sources]
    sensors = [
        build_file_sensor(source, project.paths, jobs[source.name])
        for source in sources
        if source.type == "filesystem"
    ]
    keys_by_source = {
        s.name: [k for a in assets for k in a.keys if k.path[0] == s.dataset_name]
        for s, assets in zip(sources, source_assets)
    }
    table_checks = [build_table_checks(s, keys_by_source[s.name]) for s in sources]
    reconcile_checks = [
        build_reconcile_checks(s, keys_by_source[s.name], project.paths) for s in sources
    ]
    table_checks += [checks for checks in reconcile_checks if checks is not None]
    freshness_checks, freshness_sensors = build_load_time_freshness(sources, keys_by_source)
    alerts = project.config.alerts
    alert_sensors = build_alert_sensors(alerts, keys_by_source) if alerts else []
    return Definitions(
        assets=[*(a for assets in source_assets for a in assets), build_dbt_assets(dbt_project)],
        asset_checks=[*table_checks, *freshness_checks],
        jobs=list(jobs.values()),
        schedules=[schedule for schedule in schedules if schedule],
        sensors=[*sensors, *freshness_sensors, *alert_sensors],
        # Every step writes DuckDB, so the duckdb pool runs them one at a time anyway; in-process
        # execution saves a Python start and definitions load per step (measured: see README).
        executor=in_process_executor,
        resources={
            "dlt": DagsterDltResource(),
            # dbt dies with the process running its step (kill -9 leaves no orphan holding the
            # warehouse lock): see ingest_assets.dbt.child
            "dbt": DbtCliResource(
                project_dir=dbt_project,
                dbt_executable=str(launcher(project.paths.root / ".cache" / "dbt")),
            ),
            "warehouse": DuckDBResource(database=str(project.warehouse)),
        },
    )

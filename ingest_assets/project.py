"""Assemble one project checkout (config, paths, warehouse) into Dagster `Definitions`."""

from __future__ import annotations

from dagster import Definitions, in_process_executor
from dagster_dbt import DbtCliResource, DbtProject
from dagster_dlt import DagsterDltResource

from ingest_assets.config.automation import AutomationConfig
from ingest_assets.dbt.assets import build_dbt_assets
from ingest_assets.dbt.automation import automated_selection, automation_sensor
from ingest_assets.dbt.child import launcher
from ingest_assets.dbt.project import load_dbt_project
from ingest_assets.dlt.assets import build_source_assets
from ingest_assets.dlt.checks import build_load_time_freshness, build_table_checks
from ingest_assets.dlt.reconcile import build_reconcile_checks
from ingest_assets.loaded_project import Project, load_project
from ingest_assets.orchestration.jobs import build_source_job
from ingest_assets.orchestration.schedules import build_schedule
from ingest_assets.orchestration.sensors import build_file_sensor
from ingest_assets.warehouses import WarehouseResource
from ingest_assets.warehouses.pool import current_dbt_pool

__all__ = ["Project", "build_definitions", "load_project"]


def build_definitions(project: Project) -> Definitions:
    """Return all Dagster definitions of `project` in one object (tests, the CLI, benchmarks).

    The same definitions as the dg defs folder (`ingest_assets/defs/`) loads piecewise: the
    sources (`build_source_definitions`), the dbt models (`build_dbt_definitions`) and the
    project-wide policy (`build_policy_definitions`).
    """
    return Definitions.merge(
        build_source_definitions(project),
        build_dbt_definitions(
            load_dbt_project(project.paths.dbt_project_dir),
            project.config.automation,
            project.config.timezone,
        ),
        build_policy_definitions(project),
    )


def build_source_definitions(project: Project) -> Definitions:
    """Return the definitions of `project`'s enabled sources (what `SourcesComponent` builds).

    One asset group per enabled source (its dlt assets), its asset checks (row count, schema,
    reconcile, load-time freshness), a job per source (its group and the models downstream),
    its cron schedule when configured, a file-arrival sensor per filesystem source, and the
    alert sensors when `alerts:` is set.
    """
    sources = project.config.enabled_sources
    audit_log = (
        project.paths.resolve(project.config.audit_log) if project.config.audit_log else None
    )
    source_assets = [
        build_source_assets(s, project.paths, project.warehouse, audit_log) for s in sources
    ]
    # models the automation sensor builds are left out of the source jobs (dbt.automation)
    automated = automated_selection(project.config.automation, [s.name for s in sources])
    jobs = {source.name: build_source_job(source, automated) for source in sources}
    schedules = [build_schedule(s, project.config.timezone) for s in sources]
    sensors = [
        build_file_sensor(source, project.paths)
        for source in sources
        if source.type == "filesystem" and source.partitions is None  # partitions run by window
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
    alert_sensors = []
    if alerts:  # the alert sensors' module (SMTP, webhooks) is imported only when they are built
        from ingest_assets.alerts.sensors import build_alert_sensors

        alert_sensors = build_alert_sensors(alerts, keys_by_source)
    return Definitions(
        assets=[a for assets in source_assets for a in assets],
        asset_checks=[*table_checks, *freshness_checks],
        jobs=list(jobs.values()),
        schedules=[schedule for schedule in schedules if schedule],
        sensors=[*sensors, *freshness_sensors, *alert_sensors],
    )


def build_dbt_definitions(
    dbt_project: DbtProject, automation: AutomationConfig | None = None, timezone: str = "UTC"
) -> Definitions:
    """Return the dbt models of `dbt_project` (its manifest current) as one multi-asset, with
    the automation conditions of sources.yml `automation:` and then `dbt_automation_sensor`
    (`timezone`: the zone of its cron expressions), in the pool of the loaded project's
    warehouse (`warehouses.pool.current_dbt_pool`: `duckdb` on a DuckDB file, `dbt` on a server
    warehouse)."""
    sensor = automation_sensor(automation)
    return Definitions(
        assets=[build_dbt_assets(dbt_project, automation, timezone, pool=current_dbt_pool())],
        sensors=[sensor] if sensor else [],
    )


def build_policy_definitions(project: Project) -> Definitions:
    """Return what holds for the whole project: the in-process executor and the resources.

    Resources: `dlt`, `dbt` (its profile reads the warehouse from the environment; its dbt
    subprocess dies with the step's process) and `warehouse` (a `WarehouseResource`: SQL
    connections to the same warehouse, DuckDB or PostgreSQL, for readers and checks).
    """
    dbt_project = DbtProject(
        project_dir=project.paths.dbt_project_dir, profiles_dir=project.paths.dbt_project_dir
    )
    return Definitions(
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
            "warehouse": WarehouseResource.of(project.warehouse),
        },
    )

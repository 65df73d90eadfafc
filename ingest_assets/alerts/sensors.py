"""The alert sensors: Dagster run-status sensors that turn finished runs into alerts.

- `alerts_on_run_failure` (`run_failure_sensor`): a run failed -> a `run_failure` alert naming
  the source, its tables and the failed steps' errors; then the run's events as below.
- `alerts_on_run_success` (`run_status_sensor`, SUCCESS): the run's events:
  - a failed asset check of ERROR severity -> `check_failure`;
  - a failed freshness check (`cursor_freshness`, or Dagster's last-update `freshness_check`,
    which run in the runs of the freshness sensor), whatever its severity -> `freshness`;
  - a materialization whose metadata has `schema_changes` (written by the load step) ->
    `schema_drift`.

Both start running with the definitions; Dagster keeps their cursors, so each run alerts once.
A run that finished before a sensor first ticked is not alerted (Dagster's run-status sensors
start at the moment they are first evaluated). When a channel fails, the tick fails (visible in
the UI, the error names the channel) and the sensor retries the run on the next tick.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunStatusSensorContext,
    SensorDefinition,
    run_failure_sensor,
    run_status_sensor,
)

from ingest_assets.alerts.channels import Alert, AlertDeliveryError, deliver
from ingest_assets.config.alerts import AlertsConfig
from ingest_assets.names import CURSOR_FRESHNESS_CHECK as CURSOR_FRESHNESS
from ingest_assets.names import RUN_FAILURE_SENSOR, RUN_SUCCESS_SENSOR, source_of_job

FRESHNESS_CHECKS = {CURSOR_FRESHNESS, "freshness_check"}
"""Check names that mean freshness: ours on the cursor column, Dagster's last-update check."""


def build_alert_sensors(
    config: AlertsConfig, keys_by_source: Mapping[str, Sequence[AssetKey]]
) -> list[SensorDefinition]:
    """The two alert sensors for `config`.

    Args:
        config: the `alerts:` block.
        keys_by_source: source name -> its raw table asset keys (`[raw_<source>, <table>]`),
            to name the source and table of each event.
    """
    source_of = {key: source for source, keys in keys_by_source.items() for key in keys}

    @run_failure_sensor(name=RUN_FAILURE_SENSOR, default_status=DefaultSensorStatus.RUNNING)
    def alerts_on_run_failure(context: RunFailureSensorContext) -> None:
        alerts = []
        if "run_failure" in config.events:
            errors = [
                event.event_specific_data.error.message.strip()
                for event in context.get_step_failure_events()
                if event.event_specific_data is not None
                and event.event_specific_data.error is not None
            ]
            alerts.append(
                run_failure_alert(
                    context.dagster_run, source_of, errors or [context.failure_event.message or ""]
                )
            )
        alerts += run_event_alerts(context.instance, context.dagster_run.run_id, config, source_of)
        _deliver_all(context, alerts, config)

    @run_status_sensor(
        run_status=DagsterRunStatus.SUCCESS,
        name=RUN_SUCCESS_SENSOR,
        default_status=DefaultSensorStatus.RUNNING,
    )
    def alerts_on_run_success(context: RunStatusSensorContext) -> None:
        _deliver_all(
            context,
            run_event_alerts(context.instance, context.dagster_run.run_id, config, source_of),
            config,
        )

    return [alerts_on_run_failure, alerts_on_run_success]


def run_failure_alert(
    run: DagsterRun, source_of: Mapping[AssetKey, str], errors: list[str]
) -> Alert:
    """The alert for failed run `run`: its sources and tables (from the run's asset selection,
    else from its job `<source>_job`) and the failed steps' `errors`."""
    keys = list(run.asset_selection or [])
    sources = sorted({source_of[k] for k in keys if k in source_of})
    if not sources and source_of_job(run.job_name) in set(source_of.values()):
        sources = [source_of_job(run.job_name)]
        keys = [k for k, s in source_of.items() if s == sources[0]]
    tables = tuple(sorted(k.path[-1] for k in keys if source_of.get(k) in sources))
    return Alert(
        event="run_failure",
        source=", ".join(sources) or "-",
        tables=tables,
        run_id=run.run_id,
        summary=f"run failed: job {run.job_name}",
        details="\n".join(errors)[:3000],
    )


def run_event_alerts(
    instance: DagsterInstance, run_id: str, config: AlertsConfig, source_of: Mapping[AssetKey, str]
) -> list[Alert]:
    """Alerts for the check evaluations and materializations of run `run_id`, as `config.events`
    asks: failed ERROR checks, failed freshness checks, schema drift."""
    alerts = []
    entries = instance.all_logs(
        run_id,
        of_type={DagsterEventType.ASSET_CHECK_EVALUATION, DagsterEventType.ASSET_MATERIALIZATION},
    )
    for entry in entries:
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            alert = _check_alert(event.event_specific_data, run_id, config, source_of)
        else:
            alert = _drift_alert(entry.asset_materialization, run_id, config, source_of)
        if alert is not None:
            alerts.append(alert)
    return alerts


def _check_alert(
    evaluation: AssetCheckEvaluation,
    run_id: str,
    config: AlertsConfig,
    source_of: Mapping[AssetKey, str],
) -> Alert | None:
    if evaluation.passed:
        return None
    freshness = evaluation.check_name in FRESHNESS_CHECKS
    if freshness and "freshness" not in config.events:
        return None
    if not freshness and (
        "check_failure" not in config.events or evaluation.severity != AssetCheckSeverity.ERROR
    ):
        return None
    metadata = {k: getattr(v, "value", v) for k, v in (evaluation.metadata or {}).items()}
    details = [evaluation.description or ""]
    if metadata:
        details.append(json.dumps(metadata, default=str, sort_keys=True)[:2000])
    what = "freshness check failed" if freshness else "check failed"
    return Alert(
        event="freshness" if freshness else "check_failure",
        source=source_of.get(evaluation.asset_key, "-"),
        tables=(evaluation.asset_key.path[-1],),
        run_id=run_id,
        summary=f"{what}: {evaluation.asset_key.to_user_string()} {evaluation.check_name}",
        details="\n".join(d for d in details if d),
    )


def _drift_alert(
    materialization, run_id: str, config: AlertsConfig, source_of: Mapping[AssetKey, str]
) -> Alert | None:
    if materialization is None or "schema_drift" not in config.events:
        return None
    changes = materialization.metadata.get("schema_changes")
    if changes is None:
        return None
    return Alert(
        event="schema_drift",
        source=source_of.get(materialization.asset_key, "-"),
        tables=(materialization.asset_key.path[-1],),
        run_id=run_id,
        summary=f"schema changed: {materialization.asset_key.to_user_string()}",
        details=json.dumps(getattr(changes, "value", changes), sort_keys=True)[:2000],
    )


def _deliver_all(context, alerts: list[Alert], config: AlertsConfig) -> None:
    problems = []
    for alert in alerts:
        try:
            deliver(alert, config)
            context.log.info(f"alert sent: {alert.summary}")
        except AlertDeliveryError as error:
            problems.append(str(error))
    if problems:
        raise AlertDeliveryError("\n".join(problems))

"""A cron schedule per source that sets `schedule:` in sources.yml."""

from __future__ import annotations

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
)

from ingest_assets.config.common import SourceBase
from ingest_assets.names import job_name, schedule_name
from ingest_assets.partitions import partitions_def


def build_schedule(source: SourceBase, timezone: str) -> ScheduleDefinition | None:
    """Return `<source>_schedule` running `<source>_job` on the source's cron, or None without one.

    Args:
        source: the source; `schedule` is its cron, `schedule_status` its initial state.
        timezone: IANA time zone the cron expression is read in (sources.yml `timezone`).

    A partitioned source's schedule runs, at each tick of the cron, the last partition that
    ended before the tick (Dagster's `build_schedule_from_partitioned_job` would tie the cron to
    the partitions' cadence instead of the source's `schedule`).
    """
    if not source.schedule:
        return None
    execution_fn = None
    if source.partitions is not None:
        definition = partitions_def(source.partitions)

        def execution_fn(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
            keys = definition.get_partition_keys(current_time=context.scheduled_execution_time)
            if not keys:
                return SkipReason(f"{source.name}: no partition has ended yet")
            return RunRequest(partition_key=keys[-1])

    return ScheduleDefinition(
        name=schedule_name(source.name),
        cron_schedule=source.schedule,
        job_name=job_name(source.name),  # the job itself is `jobs.build_source_job`
        execution_fn=execution_fn,
        execution_timezone=timezone,
        default_status=(
            DefaultScheduleStatus.RUNNING
            if source.schedule_status == "running"
            else DefaultScheduleStatus.STOPPED
        ),
        description=f"Loads {source.name} on '{source.schedule}' ({timezone}).",
    )

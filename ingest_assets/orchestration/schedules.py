"""A cron schedule per source that sets `schedule:` in sources.yml."""

from __future__ import annotations

from dagster import DefaultScheduleStatus, ScheduleDefinition, build_schedule_from_partitioned_job
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from ingest_assets.config.common import SourceBase


def build_schedule(
    source: SourceBase, job: UnresolvedAssetJobDefinition, timezone: str
) -> ScheduleDefinition | None:
    """Return `<source>_schedule` running `job` on the source's cron, or None without one.

    Args:
        source: the source; `schedule` is its cron, `schedule_status` its initial state.
        job: the source's job (see `jobs.build_source_job`).
        timezone: IANA time zone the cron expression is read in (sources.yml `timezone`).

    A partitioned source's schedule runs, at each tick, the last partition that ended before it.
    """
    if not source.schedule:
        return None
    if source.partitions is not None:
        return build_schedule_from_partitioned_job(
            job,
            name=f"{source.name}_schedule",
            cron_schedule=source.schedule,
            execution_timezone=timezone,
            default_status=(
                DefaultScheduleStatus.RUNNING if source.schedule_status == "running" else DefaultScheduleStatus.STOPPED
            ),
            description=f"Loads {source.name}'s last complete partition on '{source.schedule}' ({timezone}).",
        )
    return ScheduleDefinition(
        name=f"{source.name}_schedule",
        cron_schedule=source.schedule,
        job=job,
        execution_timezone=timezone,
        default_status=(
            DefaultScheduleStatus.RUNNING
            if source.schedule_status == "running"
            else DefaultScheduleStatus.STOPPED
        ),
        description=f"Loads {source.name} on '{source.schedule}' ({timezone}).",
    )

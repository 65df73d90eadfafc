"""A cron schedule per source that sets `schedule:` in sources.yml."""

from __future__ import annotations

from dagster import DefaultScheduleStatus, ScheduleDefinition

from ingest_assets.config.common import SourceBase
from ingest_assets.names import job_name, schedule_name


def build_schedule(source: SourceBase, timezone: str) -> ScheduleDefinition | None:
    """Return `<source>_schedule` running `<source>_job` on the source's cron, or None without one.

    Args:
        source: the source; `schedule` is its cron, `schedule_status` its initial state.
        timezone: IANA time zone the cron expression is read in (sources.yml `timezone`).
    """
    if not source.schedule:
        return None
    return ScheduleDefinition(
        name=schedule_name(source.name),
        cron_schedule=source.schedule,
        job_name=job_name(source.name),  # the job itself is `jobs.build_source_job`
        execution_timezone=timezone,
        default_status=(
            DefaultScheduleStatus.RUNNING
            if source.schedule_status == "running"
            else DefaultScheduleStatus.STOPPED
        ),
        description=f"Loads {source.name} on '{source.schedule}' ({timezone}).",
    )

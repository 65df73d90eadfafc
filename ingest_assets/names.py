"""The one place that spells the names users see and code looks up: jobs, ops, pools,
schedules, sensors and asset checks. Every name is derived from a source's name (its
`name:` in sources.yml); changing a spelling here changes what `dagster dev` shows and what
the surface test (`tests/test_definitions_surface.py`) compares, so keep them stable.

This module imports nothing of the project: every room may use it.
"""

from __future__ import annotations

DUCKDB_POOL = "duckdb"
"""The concurrency pool of every step that writes the DuckDB warehouse (limit 1 in
`dagster_home/dagster.yaml`: DuckDB allows one writer process)."""

DBT_OP = "dbt_models"
"""The op (step) name of the dbt models' multi-asset."""

ROW_COUNT_CHECK = "row_count"
"""Asset check on every raw table: rows in the warehouse."""

CURSOR_FRESHNESS_CHECK = "cursor_freshness"
"""Asset check on a table with `freshness: {cursor: ...}`: the newest cursor value's lag."""

RUN_FAILURE_SENSOR = "alerts_on_run_failure"
"""The alert sensor on failed runs (with `alerts:`)."""

RUN_SUCCESS_SENSOR = "alerts_on_run_success"
"""The alert sensor on successful runs (failed error checks, freshness, schema drift)."""

_JOB_SUFFIX = "_job"


def job_name(source: str) -> str:
    """`<source>_job`: the asset job loading the source and the dbt models downstream."""
    return f"{source}{_JOB_SUFFIX}"


def source_of_job(job: str) -> str | None:
    """The source name of a job named by `job_name`, None for any other job name."""
    return (
        job[: -len(_JOB_SUFFIX)]
        if job.endswith(_JOB_SUFFIX) and len(job) > len(_JOB_SUFFIX)
        else None
    )


def schedule_name(source: str) -> str:
    """`<source>_schedule`: the source's cron schedule (with `schedule:`)."""
    return f"{source}_schedule"


def file_sensor_name(source: str) -> str:
    """`<source>_file_sensor`: the file-arrival sensor of a filesystem source."""
    return f"{source}_file_sensor"


def load_op_name(source: str) -> str:
    """`load_<source>`: the op (step) of the source's dlt multi-asset; its run config key."""
    return f"load_{source}"


def table_checks_name(source: str) -> str:
    """`<source>_table_checks`: the multi-asset check (row counts, schema) of a source."""
    return f"{source}_table_checks"


def reconcile_checks_name(source: str) -> str:
    """`<source>_reconcile`: the multi-asset check comparing source and warehouse counts."""
    return f"{source}_reconcile"

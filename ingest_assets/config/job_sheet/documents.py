"""The jobs of one source as the `sql_database` source document sources.yml would hold."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ingest_assets.config.common import LakeConfig
from ingest_assets.config.errors import field_message
from ingest_assets.config.job_sheet.columns import (
    _SOURCE_FIELD_COLUMNS,
    _TABLE_FIELD_COLUMNS,
    AZURE_SCHEMES,
    _lookup,
)
from ingest_assets.config.job_sheet.jobs import Job, watermark_value
from ingest_assets.config.job_sheet.rows import Problem
from ingest_assets.sources.sql_database import SqlDatabaseSourceConfig


def lake_location(lake_base: str | None, container: str) -> str:
    """The lake `bucket_url` of a source whose rows write to `target_container` `container`.

    Args:
        lake_base: `lake_base` of `sources.yml`; None is `data/lake` (a project folder).
        container: the rows' `target_container`.

    Returns:
        For an Azure storage account base `az://<account>` (also `abfs://`, `abfss://`,
        `azure://`; nothing after the account), the container of that account:
        `az://<container>@<account>.blob.core.windows.net` (`abfs`/`abfss`:
        `<container>@<account>.dfs.core.windows.net`), the form dlt and adlfs read the
        account from. For any other base (a local folder, `s3://bucket/prefix`, `gs://...`, an
        Azure URL naming a container), the folder `<lake_base>/<container>`.
    """
    base = (lake_base or LakeConfig.model_fields["bucket_url"].default).rstrip("/")
    scheme, _, rest = base.partition("://")
    if scheme.lower() in AZURE_SCHEMES and rest and "/" not in rest and "@" not in rest:
        host = "dfs" if scheme.lower() in ("abfs", "abfss") else "blob"
        return f"{scheme}://{container}@{rest}.{host}.core.windows.net"
    return f"{base}/{container}"


def _build_source(
    jobs: list[Job], lake_base: str | None = None
) -> tuple[SqlDatabaseSourceConfig | None, list[Problem]]:
    """The `sql_database` source of one `source_name`'s jobs, or None with the problems of its
    model, each mapped to a row and column.

    All jobs are validated, disabled ones too; the source holds the enabled jobs' tables, or,
    when every job is disabled, all its tables with `enabled: false`.
    """
    try:
        SqlDatabaseSourceConfig.model_validate(source_document(jobs, lake_base))
    except ValidationError as error:
        return None, [_model_problem(e, jobs) for e in error.errors()]
    enabled = [job for job in jobs if job.enabled]
    return SqlDatabaseSourceConfig.model_validate(source_document(enabled or jobs, lake_base)), []


def source_document(jobs: list[Job], lake_base: str | None = None) -> dict[str, Any]:
    """The `sources.yml` entry (a raw dict) of one source's jobs, the same that a YAML user
    would write: `name`, `type`, `enabled` (false when every job is disabled), `schedule` when
    a row sets one, `destination` and `lake` for lake rows (see `lake_location`), and
    `sql_database` with `credentials: {drivername}`, `schema` when set, `parallelism` (the
    largest of the rows') when set and one table per job.

    Args:
        jobs: the jobs of one source, agreeing on its settings (see `_consistent`).
        lake_base: `lake_base` of `sources.yml`, or None for `data/lake`.
    """
    first = jobs[0]
    block: dict[str, Any] = {"credentials": {"drivername": first.drivername}}
    if first.schema_name is not None:
        block["schema"] = first.schema_name
    block["tables"] = [_table_document(job) for job in jobs]
    parallelism = [job.parallelism for job in jobs if job.parallelism is not None]
    if parallelism:
        block["parallelism"] = max(parallelism)
    document: dict[str, Any] = {
        "name": first.source_name,
        "type": "sql_database",
        "enabled": any(job.enabled for job in jobs),
    }
    schedule = next((job.schedule for job in jobs if job.schedule is not None), None)
    if schedule is not None:
        document["schedule"] = schedule
    destination = next((job.destination for job in jobs if job.destination is not None), None)
    destination = destination or ("lake" if first.container else "warehouse")
    if destination != "warehouse":
        document["destination"] = destination
        document["lake"] = {"bucket_url": lake_location(lake_base, str(first.container))}
        if first.folder_path:
            document["lake"]["folder_path"] = first.folder_path
    document["sql_database"] = block
    return document


def _table_document(job: Job) -> dict[str, Any]:
    """The table entry of one job; optional keys only when their cell is set."""
    row = job.row
    table: dict[str, Any] = {"name": job.table_name}
    if job.incremental:
        table["write_disposition"] = "append"
        table["incremental"] = {
            "cursor": str(row.get("watermark_column")),
            "initial_value": watermark_value(row.get("last_watermark")),
        }
    else:
        table["write_disposition"] = "replace"
    if row.get("query_filter") is not None:
        table["query_filter"] = str(row.get("query_filter"))
    if row.get("chunk_size") is not None:
        table["chunk_size"] = row.get("chunk_size")
    table["job_id"] = str(row.get("job_id"))
    return table


def _model_problem(error: dict, jobs: list[Job]) -> Problem:
    """A pydantic error of a source built from `jobs`, placed on the row(s) and column its
    value came from: a table's field on that table's row, a source's field on all its rows."""
    loc = tuple(error["loc"])
    fields = tuple(part for part in loc if isinstance(part, str) and "[" not in part)
    if loc[:2] == ("sql_database", "tables") and len(loc) > 2 and isinstance(loc[2], int):
        rows: tuple[int, ...] = (jobs[loc[2]].row.number,)
        table_fields = tuple(p for p in loc[3:] if isinstance(p, str) and "[" not in p)
        column = _lookup(_TABLE_FIELD_COLUMNS, table_fields) or "table_name"
    else:
        column = _lookup(_SOURCE_FIELD_COLUMNS, fields) or "source_name"
        # a setting some rows give (schedule, parallelism, ...): on those rows
        rows = tuple(job.row.number for job in jobs if job.row.get(column) is not None) or tuple(
            job.row.number for job in jobs
        )
    return Problem(rows, column, field_message(error))

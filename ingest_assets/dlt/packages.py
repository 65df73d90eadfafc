"""Load packages that must not outlive a run: finish or discard them, and clean up after them.

A load step ends with nothing pending in dlt's working folder and no rows in the warehouse that
belong to a load package without a `_dlt_loads` row:

- `finish_pending` completes, at the start of a run, a package an earlier run left behind
  (a kill during load: dlt resumes it, jobs already loaded are not loaded twice), and discards
  one that cannot be completed (a job that fails terminally, e.g. a value that cannot be cast
  to its column's type; a package left broken by a kill during extract or normalize).
- `discard_pending` aborts whatever a failed run left pending, with dlt's `abort_packages`,
  which also rewinds the local dlt state (incremental cursors, the files a filesystem table has
  loaded) to where the package started, so the package's data is extracted again next time.
- `remove_orphan_rows` deletes the rows such a package already wrote, by `_dlt_load_id`.
- `committed_rows` counts the rows a run's finished packages wrote (the ledger's `rows_loaded`).
- `prune_completed` keeps only the newest finished packages in the pipeline's folder.

The project's `.dlt/config.toml` sets `[load] auto_abort_on_terminal_error = true`, so dlt
itself aborts a package whose job failed terminally, instead of leaving it pending to be retried
(and fail again) by every later run.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import dlt
from dlt.common.schema.utils import get_write_disposition
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.load.exceptions import LoadClientJobFailed
from dlt.pipeline.exceptions import PipelineStepFailed
from dlt.pipeline.pipeline import Pipeline

from ingest_assets.dlt.errors import root_message
from ingest_assets.errors import exception_chain, is_transient

LOAD_ID_COLUMN = "_dlt_load_id"
LOADS_TABLE = "_dlt_loads"

DEFAULT_KEEP_COMPLETED = 3
"""Finished load packages kept in `.dlt/pipelines/<pipeline>/load/loaded/` when
`[load] keep_completed_packages` is not set in `.dlt/config.toml`."""


@dataclass
class PendingOutcome:
    """What `finish_pending` did with the packages an earlier run left.

    Attributes:
        loaded: load ids of packages it completed (their rows are committed now).
        discarded: `{load_id: reason}` of packages it aborted (nothing of them is committed).
        orphan_rows: `{table: rows}` deleted because their package has no `_dlt_loads` row.
        dead_extracts: working folders of extracts that never finished, deleted.
    """

    loaded: list[str] = field(default_factory=list)
    discarded: dict[str, str] = field(default_factory=dict)
    orphan_rows: dict[str, int] = field(default_factory=dict)
    dead_extracts: list[str] = field(default_factory=list)


def finish_pending(pipeline: Pipeline, warehouse: bool = True) -> PendingOutcome:
    """Sync state and schema from the destination, then complete or discard pending packages.

    A package that was extracted (and maybe normalized) completely, with no load job started,
    is loaded (dlt's own recovery). One that cannot be safely completed is aborted, its local
    state rewound and its rows removed (see `remove_orphan_rows`), so this run extracts its
    data again: a package with a load job that was running when its run died (the job's rows
    may be committed although dlt did not record it, and loading it again would duplicate
    them), one with a job that fails terminally, one whose files a kill left broken.

    Args:
        pipeline: a fresh pipeline of the source.
        warehouse: True when the destination is a SQL warehouse (rows can be removed).

    Raises:
        PipelineStepFailed: a transient failure (warehouse locked, connection lost): nothing
            was discarded, the caller may retry.
    """
    outcome = PendingOutcome()
    outcome.dead_extracts = remove_dead_extracts(pipeline)
    interrupted = interrupted_packages(pipeline)
    if interrupted:
        # a job that had started may have committed its rows without dlt knowing: loading it
        # again would duplicate them, so the package is dropped and its data extracted again
        for load_id in discard_pending(pipeline):
            outcome.discarded[load_id] = (
                "a run stopped while its load jobs were running"
                if load_id in interrupted
                else "a later package of a run that stopped while loading"
            )
    try:
        info = pipeline.run()  # no data: sync with the destination, then pending packages only
        if info is not None:
            outcome.loaded = [i for i in info.loads_ids if _is_loaded(pipeline, i)]
    except PipelineStepFailed as error:
        if is_transient(error):
            raise
        reason = root_message(error)
        load_id = error.load_id or "(unknown)"
        outcome.discarded[load_id] = reason
        for other in discard_pending(pipeline):
            outcome.discarded.setdefault(other, reason)
    if warehouse:
        outcome.orphan_rows = remove_orphan_rows(pipeline)
    return outcome


DEAD_EXTRACT_PREFIXES = ("file_import_",)
"""Folders in a pipeline's working dir that only a running extract uses: the filesystem source's
load-file work folders (`ingest_assets.sources.filesystem.source._work_dir`)."""


def remove_dead_extracts(pipeline: Pipeline) -> list[str]:
    """Delete what extracts that never finished (killed) left in the pipeline's working dir.

    dlt extracts each run into its own folder `normalize/<random id>/` and moves the package to
    `normalize/extracted/` only once the extract completed, so a killed extract leaves that
    folder behind (with all the data it had written) and nothing pending. Call only while no
    other extract of the pipeline runs (the `duckdb` pool runs one load step at a time).

    Returns:
        The folders deleted, relative to the working dir.
    """
    working = Path(pipeline.working_dir)
    dead = [f for f in (working / "normalize").glob("*") if f.is_dir() and f.name != "extracted"]
    dead += [
        f for f in working.glob("*") if f.is_dir() and f.name.startswith(DEAD_EXTRACT_PREFIXES)
    ]
    for folder in dead:
        shutil.rmtree(folder, ignore_errors=True)
    return [str(f.relative_to(working)) for f in dead]


def interrupted_packages(pipeline: Pipeline) -> list[str]:
    """Pending normalized packages with load jobs in `started_jobs`: their run died while those
    jobs were running, so whether their rows are committed is unknown."""
    interrupted = []
    for load_id in pipeline.list_normalized_load_packages():
        try:
            jobs = pipeline.get_load_package_info(load_id).jobs
        except Exception:  # noqa: BLE001 - an unreadable package cannot be completed either
            interrupted.append(load_id)
            continue
        if jobs.get("started_jobs"):
            interrupted.append(load_id)
    return interrupted


def discard_pending(pipeline: Pipeline) -> list[str]:
    """Abort every pending (extracted or normalized) package of `pipeline`.

    Uses dlt's `abort_packages`: the package being loaded completes as aborted (no `_dlt_loads`
    row, so its dlt state is never restored from the destination), the others are deleted, and
    the local dlt state and schemas are rewound to where the oldest aborted package started.

    Returns:
        The load ids that were pending.
    """
    pending = [*pipeline.list_normalized_load_packages(), *pipeline.list_extracted_load_packages()]
    if not pending:
        return []
    try:
        pipeline.abort_packages()
    except (PipelineStepFailed, OSError) as error:
        # a package whose folder a kill left incomplete cannot be aborted by dlt; any other
        # failure keeps the abort flag in the package state, and the next run finishes it
        if not any(isinstance(e, FileNotFoundError) for e in exception_chain(error)):
            raise
        _delete_broken_packages(pipeline)
    return pending


def _delete_broken_packages(pipeline: Pipeline) -> None:
    """Last resort for packages whose folders a kill left incomplete, so that dlt cannot open
    them: remove their folders under the pipeline's `normalize/extracted` and `load/normalized`
    and restore state from the destination. Nothing of them is committed anywhere."""
    working = Path(pipeline.working_dir)
    for stage in ("normalize/extracted", "load/new", "load/normalized"):
        folder = working / stage
        if folder.is_dir():
            for package in folder.iterdir():
                shutil.rmtree(package, ignore_errors=True)
    pipeline.sync_destination()


def failed_job_tables(error: BaseException) -> dict[str, str]:
    """`{table: message}` of load jobs that failed terminally in `error`'s chain (dlt's
    `LoadClientJobFailed`), e.g. `{"orders": "Conversion Error: ..."}`; {} for other errors."""
    tables: dict[str, str] = {}
    for exc in exception_chain(error):
        if isinstance(exc, LoadClientJobFailed):
            # a job id is `<table>.<file_id>.<format>`
            table = exc.job_id.rsplit(".", 2)[0] if exc.job_id.count(".") >= 2 else exc.job_id
            tables[table] = job_error_summary(exc.failed_message)
    return tables


def job_error_summary(failed_message: str) -> str:
    """The last exception line of a load job's failure text (dlt stores the traceback), e.g.
    `DatabaseTerminalException: Conversion Error: invalid timestamp field format: "notadate"`."""
    lines = [
        line.strip()
        for line in (failed_message or "").splitlines()
        if line.strip()
        and not line.startswith((" ", "\t", "Traceback", "The above exception", "During handling"))
    ]
    if not lines:
        return (failed_message or "").strip()
    name, _, text = lines[-1].partition(": ")
    return f"{name.rsplit('.', 1)[-1]}: {text}" if text else lines[-1]


def remove_orphan_rows(pipeline: Pipeline, keep_pending: bool = True) -> dict[str, int]:
    """Delete rows whose `_dlt_load_id` has no `_dlt_loads` row (status 0) in the pipeline's
    dataset: rows of packages that were aborted, or killed, after some of their jobs loaded.

    `append` tables (dlt's `_dlt_pipeline_state` included) are cleaned. Left alone:
    `merge` tables, where such rows replaced earlier versions that are gone (deleting them would
    lose the keys; the next run extracts the package's data again and merges it under its own
    load id); `replace` tables, which dlt swaps in from the staging dataset only once all of a
    table's rows are loaded, so such rows are a complete replacement (deleting them would empty
    the table); and with `keep_pending`, rows of packages still pending in the pipeline's folder
    (a later load completes them). A table the schema does not know (it was rewound to before
    the package that created the table) is cleaned whatever its disposition: it holds nothing
    that was ever committed.

    Returns:
        `{table: rows deleted}`, tables without orphan rows left out. {} when the dataset does
        not exist yet.
    """
    schema = pipeline.default_schema if pipeline.default_schema_name else None
    # tables the (possibly rewound) schema does not know were created by a package that never
    # committed: everything in them is such rows, whatever their disposition
    kept_tables = {
        name
        for name in (schema.tables if schema else {})
        if _disposition(schema, name) in ("merge", "replace")
    }
    pending = set(pipeline.list_normalized_load_packages()) if keep_pending else set()
    removed: dict[str, int] = {}
    with pipeline.sql_client() as client:
        dataset = client.make_qualified_table_name_path(None, quote=False)[-1]
        with client.execute_query(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = %s AND column_name = %s",
            dataset,
            LOAD_ID_COLUMN,
        ) as cursor:
            tables = sorted(row[0] for row in cursor.fetchall())
        if not tables:
            return {}
        try:
            with client.execute_query(
                f"SELECT load_id FROM {client.make_qualified_table_name(LOADS_TABLE)} WHERE status = 0"
            ) as cursor:
                committed = {row[0] for row in cursor.fetchall()}
        except DatabaseUndefinedRelation:
            committed = set()
        keep = committed | pending
        for table in tables:
            if table in kept_tables:
                continue
            name = client.make_qualified_table_name(table)
            with client.execute_query(
                f"SELECT {LOAD_ID_COLUMN}, count(*) FROM {name} WHERE {LOAD_ID_COLUMN} IS NOT NULL GROUP BY 1"
            ) as cursor:
                orphans = {load_id: n for load_id, n in cursor.fetchall() if load_id not in keep}
            if not orphans:
                continue
            placeholders = ", ".join("%s" for _ in orphans)
            client.execute_sql(
                f"DELETE FROM {name} WHERE {LOAD_ID_COLUMN} IN ({placeholders})", *orphans
            )
            removed[table] = sum(orphans.values())
    return removed


def _disposition(schema, table: str) -> str | None:
    try:
        return get_write_disposition(schema.tables, table)
    except Exception:  # noqa: BLE001 - a table without the hint (nor a parent with it)
        return None


def committed_rows(
    pipeline: Pipeline, tables: Iterable[str], load_ids: Iterable[str]
) -> dict[str, int] | None:
    """Rows of each table that the finished packages `load_ids` wrote, counted in the warehouse
    by `_dlt_load_id` (rows a later merge replaced are not counted).

    Returns:
        `{table: rows}` (0 for a table without such rows, tables not created yet left out), or
        None when a table has no `_dlt_load_id` column, so the caller falls back to dlt's counts.
    """
    load_ids = [i for i in load_ids if i]
    counts: dict[str, int] = {}
    schema = pipeline.default_schema if pipeline.default_schema_name else None
    if schema is not None and any(
        table in schema.tables and LOAD_ID_COLUMN not in schema.get_table_columns(table)
        for table in tables
    ):
        return None  # rows without a load id (e.g. an arrow resource that does not add it)
    with pipeline.sql_client() as client:
        for table in tables:
            if not load_ids:
                counts[table] = 0
                continue
            placeholders = ", ".join("%s" for _ in load_ids)
            try:
                with client.execute_query(
                    f"SELECT count(*) FROM {client.make_qualified_table_name(table)} "
                    f"WHERE {LOAD_ID_COLUMN} IN ({placeholders})",
                    *load_ids,
                ) as cursor:
                    counts[table] = int(cursor.fetchone()[0])
            except DatabaseUndefinedRelation:
                continue
    return counts


def prune_completed(pipeline: Pipeline, keep: int | None = None) -> list[str]:
    """Delete all but the newest `keep` finished packages (loaded or aborted) of `pipeline`.

    With `[load] delete_completed_jobs = true` (the project's `.dlt/config.toml`) dlt already
    deletes the data files of a package that loaded completely; a package kept here is then
    its schema, state and job list, a few KB. Aborted packages keep their data files (to see
    what failed) until they are pruned.

    Args:
        keep: packages to keep; default `[load] keep_completed_packages` in `.dlt/config.toml`,
            else `DEFAULT_KEEP_COMPLETED`. 0 keeps none.

    Returns:
        The load ids deleted.
    """
    if keep is None:
        configured = dlt.config.get("load.keep_completed_packages")
        keep = DEFAULT_KEEP_COMPLETED if configured is None else int(configured)
    completed = sorted(pipeline.list_completed_load_packages())
    doomed = completed[: max(0, len(completed) - keep)]
    for load_id in doomed:
        info = pipeline.get_load_package_info(load_id)
        shutil.rmtree(info.package_path, ignore_errors=True)
    return doomed


def _is_loaded(pipeline: Pipeline, load_id: str) -> bool:
    try:
        return pipeline.get_load_package_info(load_id).state == "loaded"
    except Exception:  # noqa: BLE001 - pruned or unknown: trust the load info
        return True


def describe_orphans(removed: Mapping[str, int]) -> str:
    """`orders: 3 rows, items: 9 rows` for a log line."""
    return ", ".join(f"{table}: {rows} rows" for table, rows in sorted(removed.items()))

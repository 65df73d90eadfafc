"""One source's load step: dlt's extract -> normalize -> load, with the guards users rely on.

dagster-dlt's `DagsterDltResource.run` calls `pipeline.run` in one go. This step runs dlt's own
stages one by one instead, so that it can:
- finish a load package an earlier run left half-loaded before extracting anything new;
- stop a `replace` or full-refresh load that brought 0 rows into a table that has rows;
- report per table: rows loaded, the incremental cursor before and after, schema changes;
- write the load ledger and tell transient failures (retry) from permanent ones (fail now).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    Failure,
    MaterializeResult,
    MetadataValue,
    RetryRequested,
    TableColumn,
    TableSchema,
)
from dagster._core.definitions.metadata.metadata_set import TableMetadataSet
from dlt.common.pipeline import ExtractInfo
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.extract.source import DltSource
from dlt.pipeline.pipeline import Pipeline

from ingest_assets import ledger
from ingest_assets.config.common import SourceBase
from ingest_assets.dlt.errors import fix_hint, is_transient, root_message
from ingest_assets.dlt.pipeline import LOADER_FILE_FORMAT
from ingest_assets.dlt.run_config import LoadConfig
from ingest_assets.redact import redact
from ingest_assets.settings import ProjectPaths
from ingest_assets.sources.filesystem import LOADED_FILES_STATE_KEY
from ingest_assets.sources.run_options import FileProblem, RunOptions


@dataclass(frozen=True)
class LoadTarget:
    """Where a load step writes and reports.

    Attributes:
        paths: project paths (quarantine folder, relative paths).
        warehouse: the DuckDB file holding the load ledger.
        destination: `warehouse`, `lake` or `projection` (lake -> warehouse), for the ledger.
        audit_log: optional JSON-lines file that gets one line per table per run.
    """

    paths: ProjectPaths
    warehouse: Path
    destination: str = "warehouse"
    audit_log: Path | None = None


@dataclass
class TableState:
    """What the warehouse knew about one table at one moment: its columns and its cursor."""

    columns: dict[str, str] = field(default_factory=dict)
    cursor: str | None = None
    files: dict[str, str] = field(default_factory=dict)


def run_load(
    context: AssetExecutionContext,
    source: SourceBase,
    dlt_source: DltSource,
    tables_by_key: Mapping[AssetKey, str],
    pipeline: Pipeline,
    run: RunOptions,
    config: LoadConfig,
    target: LoadTarget,
) -> Iterator[MaterializeResult]:
    """Load the selected resources of `dlt_source` and yield one materialization per asset.

    Args:
        context: the step's context (run id, retry number, logging).
        source: the source config (contract, retries, table options).
        dlt_source: a fresh dlt source, already narrowed to the selected resources.
        tables_by_key: asset key -> warehouse table name, for the selected assets.
        pipeline: a fresh pipeline of the source (dataset `raw_<source>` of `warehouse`).
        run: per-run options given to the source, and the unreadable files it reports back.
        config: the step's run config (`full_refresh`, `files`).
        target: where the ledger and audit log go, and which stage this is.

    Raises:
        RetryRequested: a transient failure (connection reset, HTTP 429/5xx, warehouse locked)
            while retries are left; the step reruns after an exponential backoff.
        Failure: a permanent failure, an empty replace, or unreadable files (the readable files
            are loaded and materialized first). Messages name the source and the table or file,
            with secrets redacted.
    """
    started = datetime.now(timezone.utc)
    tables = list(tables_by_key.values())
    before: dict[str, TableState] = {}
    try:
        # sync state and schema from the warehouse, and finish a package an earlier run left
        # half-loaded (dlt's own recovery: jobs already loaded are not loaded twice)
        pipeline.run()
        before = _table_states(pipeline, source.name, tables)
        extract_info = pipeline.extract(
            dlt_source,
            loader_file_format=LOADER_FILE_FORMAT,
            refresh="drop_sources" if config.full_refresh else None,
            **_contract(source),
        )
        extracted = _extracted_rows(extract_info)
        if target.destination != "lake":  # the lake is append-only history
            extracted_tables = [t for t in tables if t in dlt_source.selected_resources]
            _guard_empty_replace(pipeline, source, extracted_tables, extracted, config.full_refresh)
        normalize_info = pipeline.normalize()
        load_info = pipeline.load()
        load_info.raise_on_failed_jobs()
    except Failure as failure:
        _record_failure(context, source, tables, before, started, target, failure.description or "")
        raise
    except Exception as error:  # noqa: BLE001 - every failure is classified and reported
        hint = fix_hint(error)
        message = redact(f"source '{source.name}': {root_message(error)}" + (f"\n{hint}" if hint else ""))
        _record_failure(context, source, tables, before, started, target, message)
        if is_transient(error) and context.retry_number < source.max_retries:
            wait = source.retry_backoff_seconds * 2**context.retry_number
            context.log.warning(f"{message} (transient; retry {context.retry_number + 1} of {source.max_retries} in {wait:.1f} s)")
            raise RetryRequested(max_retries=source.max_retries, seconds_to_wait=wait) from None
        raise Failure(description=message, allow_retries=False) from None

    rows = normalize_info.row_counts
    after = _table_states(pipeline, source.name, tables)
    load_id = ", ".join(load_info.loads_ids)
    # counting lake files would scan them (and dlt's filesystem SQL client trips on duckdb 2.0
    # over fsspec): totals are for warehouse tables only
    totals = {} if target.destination == "lake" else _row_counts(pipeline, tables)
    finished = datetime.now(timezone.utc)
    problems = run.file_problems
    ledger_rows = []
    for key, table in tables_by_key.items():
        table_problems = [p for p in problems if p.table == table]
        ledger_rows.append(
            ledger.LedgerRow(
                run_id=context.run.run_id,
                source=source.name,
                table_name=table,
                destination=target.destination,
                load_id=load_id or None,
                started_at=started,
                finished_at=finished,
                rows_extracted=extracted.get(table, 0),
                rows_loaded=rows.get(table, 0),
                cursor_before=before.get(table, TableState()).cursor,
                cursor_after=after[table].cursor,
                status="failed" if table_problems else "success",
                error=_problems_text(table_problems) or None,
            )
        )
        yield MaterializeResult(
            asset_key=key,
            metadata=_metadata(pipeline, table, rows, totals, load_id, before.get(table, TableState()), after[table]),
        )
    _write_ledger(context, target, ledger_rows)
    if problems:
        moved = _quarantine(source, target.paths, problems)
        raise Failure(
            description=f"source '{source.name}': {len(problems)} file(s) could not be read and were not loaded "
            f"(the other files were):\n{_problems_text(problems)}"
            + (f"\nmoved to {moved}" if moved else "\nfix or remove them; the next run retries them"),
            metadata={"unreadable_files": MetadataValue.json([p.__dict__ for p in problems])},
            allow_retries=False,
        )


SCHEMA_CONTRACTS = {
    "evolve": "evolve",
    # new tables may still be created (the first load creates them all); columns and data
    # types are frozen once a table exists
    "freeze": {"tables": "evolve", "columns": "freeze", "data_type": "freeze"},
    "discard_row": {"tables": "evolve", "columns": "discard_row", "data_type": "discard_row"},
    "discard_value": {"tables": "evolve", "columns": "discard_value", "data_type": "discard_value"},
}
"""sources.yml `schema_contract` -> dlt schema contract."""


def _contract(source: SourceBase) -> dict[str, Any]:
    return {"schema_contract": SCHEMA_CONTRACTS[source.schema_contract]} if source.schema_contract else {}


def _extracted_rows(extract_info: ExtractInfo) -> dict[str, int]:
    rows: dict[str, int] = {}
    for metrics_list in extract_info.metrics.values():
        for metrics in metrics_list:
            for table, table_metrics in metrics["table_metrics"].items():
                rows[table] = rows.get(table, 0) + table_metrics.items_count
    return rows


def _guard_empty_replace(
    pipeline: Pipeline, source: SourceBase, tables: list[str], extracted: dict[str, int], full_refresh: bool
) -> None:
    """Abort the extracted package when a replacing load would empty a table that has rows."""
    schema = pipeline.default_schema
    options = source.table_options()
    emptied = []
    for table in tables:
        replacing = full_refresh or (
            table in schema.tables and schema.tables[table].get("write_disposition") == "replace"
        )
        if not replacing or extracted.get(table, 0) > 0:
            continue
        if table in options and options[table].allow_empty_replace:
            continue
        existing = _row_counts(pipeline, [table]).get(table, 0)
        if existing:
            emptied.append(f"'{table}' ({existing} rows)")
    if emptied:
        pipeline.abort_packages()
        how = "full refresh" if full_refresh else "replace load"
        raise Failure(
            description=(
                f"source '{source.name}': the {how} brought 0 rows for {', '.join(emptied)}; the "
                "tables were kept as they are. If the source really is empty now, set "
                "`allow_empty_replace: true` on the table in sources.yml and run again."
            ),
            allow_retries=False,
        )


def _table_states(pipeline: Pipeline, source_name: str, tables: list[str]) -> dict[str, TableState]:
    schema = pipeline.default_schema if pipeline.default_schema_name else None
    resources = pipeline.state.get("sources", {}).get(source_name, {}).get("resources", {})
    states = {}
    for table in tables:
        columns = {}
        if schema is not None and table in schema.tables:
            columns = {
                name: column.get("data_type", "unknown")
                for name, column in schema.get_table_columns(table).items()
            }
        states[table] = TableState(columns=columns, **_cursor(resources.get(table, {})))
    return states


def _cursor(resource_state: Mapping[str, Any]) -> dict[str, Any]:
    """The incremental position of one resource, from its dlt resource state."""
    if LOADED_FILES_STATE_KEY in resource_state:
        files = dict(resource_state[LOADED_FILES_STATE_KEY])
        return {"cursor": f"{len(files)} files", "files": files}
    incremental = resource_state.get("incremental", {})
    values = [f"{path}={state.get('last_value')}" for path, state in incremental.items()]
    return {"cursor": ", ".join(values) or None}


def _row_counts(pipeline: Pipeline, tables: list[str]) -> dict[str, int]:
    """Rows in each table of the pipeline's dataset; tables not created yet are left out."""
    counts: dict[str, int] = {}
    with pipeline.sql_client() as client:
        for table in tables:
            try:
                with client.execute_query(
                    f"SELECT count(*) FROM {client.make_qualified_table_name(table)}"
                ) as cursor:
                    counts[table] = int(cursor.fetchone()[0])
            except DatabaseUndefinedRelation:
                continue
    return counts


def _metadata(
    pipeline: Pipeline,
    table: str,
    rows: Mapping[str, int],
    totals: Mapping[str, int],
    load_id: str,
    before: TableState,
    after: TableState,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "rows_loaded": MetadataValue.int(rows.get(table, 0)),
        "dlt_load_id": MetadataValue.text(load_id or "(nothing new to load)"),
        "dataset_name": MetadataValue.text(pipeline.dataset_name),
        **TableMetadataSet(
            table_name=f"{pipeline.dataset_name}.{table}",
            column_schema=TableSchema(
                columns=[TableColumn(name=n, type=t) for n, t in after.columns.items()]
            ),
        ),
    }
    if table in totals:
        metadata["dagster/row_count"] = MetadataValue.int(totals[table])
    if after.cursor is not None:
        metadata["cursor"] = MetadataValue.text(after.cursor)
    new_files = sorted(path for path, fp in after.files.items() if before.files.get(path) != fp)
    if after.files:
        metadata["files_loaded"] = MetadataValue.json(new_files)  # all: the reconcile check recounts them
    changes = schema_changes(before.columns, after.columns) if before.columns else {}
    if changes:
        metadata["schema_changes"] = MetadataValue.json(changes)
    child_rows = {t: n for t, n in rows.items() if t.startswith(f"{table}__")}
    if child_rows:
        metadata["child_tables_rows_loaded"] = MetadataValue.json(child_rows)
    schema = pipeline.default_schema
    for child in schema.data_table_names():
        if child.startswith(f"{table}__"):
            metadata[f"child_table/{child}"] = MetadataValue.table_schema(
                TableSchema(
                    columns=[
                        TableColumn(name=name, type=column.get("data_type") or "unknown")
                        for name, column in schema.get_table_columns(child).items()
                    ]
                )
            )
    return metadata


def schema_changes(before: Mapping[str, str], after: Mapping[str, str]) -> dict[str, Any]:
    """Columns added, removed and retyped between two `{column: data_type}` snapshots.

    dlt never changes a column's type in place: a value of a new type goes to a variant column
    `<column>__v_<type>`, which is reported under `retyped`.
    """
    added = {c: t for c, t in after.items() if c not in before}
    variants = {c: t for c, t in added.items() if "__v_" in c and c.split("__v_")[0] in before}
    changes: dict[str, Any] = {}
    if {c: t for c, t in added.items() if c not in variants}:
        changes["added"] = {c: t for c, t in added.items() if c not in variants}
    if removed := {c: t for c, t in before.items() if c not in after}:
        changes["removed"] = removed
    retyped = {c: {"from": before[c], "to": after[c]} for c in before if c in after and before[c] != after[c]}
    retyped.update({c.split("__v_")[0]: {"from": before[c.split("__v_")[0]], "to": t, "variant_column": c} for c, t in variants.items()})
    if retyped:
        changes["retyped"] = retyped
    return changes


def _problems_text(problems: list[FileProblem]) -> str:
    return "\n".join(f"- {p.table}: {p.relative_path}: {p.error}" for p in problems)


def _quarantine(source: SourceBase, paths: ProjectPaths, problems: list[FileProblem]) -> Path | None:
    """Move unreadable local files to the source's `quarantine_dir`, when it has one."""
    folder = getattr(getattr(source, "filesystem", None), "quarantine_dir", None)
    if not folder:
        return None
    target = paths.resolve(folder)
    for problem in problems:
        if not problem.file_url.startswith("file://"):
            continue
        from dlt.common.storages import FilesystemConfiguration

        local = Path(FilesystemConfiguration.make_local_path(problem.file_url))
        destination = target / problem.table / problem.relative_path
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(local), destination)
    return target


def _record_failure(
    context: AssetExecutionContext,
    source: SourceBase,
    tables: list[str],
    before: Mapping[str, TableState],
    started: datetime,
    target: LoadTarget,
    message: str,
) -> None:
    finished = datetime.now(timezone.utc)
    rows = [
        ledger.LedgerRow(
            run_id=context.run.run_id,
            source=source.name,
            table_name=table,
            destination=target.destination,
            load_id=None,
            started_at=started,
            finished_at=finished,
            rows_extracted=0,
            rows_loaded=0,
            cursor_before=before.get(table, TableState()).cursor,
            cursor_after=before.get(table, TableState()).cursor,
            status="failed",
            error=message,
        )
        for table in tables
    ]
    _write_ledger(context, target, rows)


def _write_ledger(context: AssetExecutionContext, target: LoadTarget, rows: list[ledger.LedgerRow]) -> None:
    try:
        ledger.record(target.warehouse, rows)
    except Exception as error:  # noqa: BLE001 - the ledger must never turn a load into a failure
        context.log.warning(f"could not write the load ledger: {redact(str(error))}")
    if target.audit_log:
        try:
            ledger.append_audit_log(target.audit_log, rows)
        except OSError as error:
            context.log.warning(f"could not append to the audit log {target.audit_log}: {error}")

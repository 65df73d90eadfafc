"""One source's load step: dlt's extract -> normalize -> load, with the guards users rely on.

dagster-dlt's `DagsterDltResource.run` calls `pipeline.run` in one go. This step runs dlt's own
stages one by one instead, so that it can:
- finish a load package an earlier run left half-loaded before extracting anything new, or drop
  it when it cannot be loaded (a job the warehouse refuses, a package a kill left broken);
- drop the package of a failed run: its rows are removed, its dlt state is not committed
  (`ingest_assets.dlt.packages`), and a file whose rows the warehouse refused is named;
- stop a `replace` load that would lose rows: 0 rows into a table that has rows, a table one of
  whose files could not be read, or more than `max_shrink` of the table's rows;
- report per table: rows committed, the incremental cursor before and after, schema changes;
- write the load ledger and tell transient failures (retry) from permanent ones (fail now);
- keep only the newest finished load packages in dlt's working folder.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    Failure,
    MaterializeResult,
    MetadataValue,
    RetryRequested,
)
from dlt.common.pipeline import ExtractInfo
from dlt.pipeline.pipeline import Pipeline

from ingest_assets import ledger
from ingest_assets.config.common import SourceBase
from ingest_assets.dlt import packages
from ingest_assets.dlt.errors import fix_hint, is_transient, root_message
from ingest_assets.dlt.load_target import LoadTarget
from ingest_assets.dlt.pipeline import LOADER_FILE_FORMAT
from ingest_assets.dlt.replace_guard import guard_replace
from ingest_assets.dlt.run_config import LoadConfig
from ingest_assets.dlt.table_report import (
    TableState,
    problems_text,
    row_counts,
    table_metadata,
    table_states,
)
from ingest_assets.redact import redact
from ingest_assets.sources.base import Extract, FileProblem


def run_load(
    context: AssetExecutionContext,
    source: SourceBase,
    extract: Extract,
    tables_by_key: Mapping[AssetKey, str],
    pipeline: Pipeline,
    config: LoadConfig,
    target: LoadTarget,
) -> Iterator[MaterializeResult]:
    """Load the selected resources of `dlt_source` and yield one materialization per asset.

    A run ends with nothing of its own pending in dlt's working folder: a load package is either
    committed (its `_dlt_loads` row written, its dlt state saved with it) or dropped (its rows
    removed from the warehouse, its dlt state not committed, so its data is extracted again by
    the next run); see `ingest_assets.dlt.packages`.

    Args:
        context: the step's context (run id, retry number, logging).
        source: the source config (contract, retries, table options).
        extract: a fresh dlt source, already narrowed to the selected resources, with the
            report its extraction fills (unreadable items, per-table metadata) and the source
            type whose hooks read its position and set refused items aside.
        tables_by_key: asset key -> warehouse table name, for the selected assets.
        pipeline: a fresh pipeline of the source (dataset `raw_<source>` of `warehouse`).
        config: the step's run config (`full_refresh`, `files`).
        target: where the ledger and audit log go, and which stage this is.

    Raises:
        RetryRequested: a transient failure (connection reset, HTTP 429/5xx, warehouse locked)
            while retries are left; the step reruns after an exponential backoff.
        Failure: a permanent failure, an empty or shrinking replace, a load job the warehouse
            refuses (the file is named and set aside by its source type: a filesystem source
            with `quarantine_dir` moves it there), or unreadable files
            (the readable files are loaded and materialized first). Messages name the source
            and the table or file, with secrets redacted. Its metadata has `transient: false`.
    """
    started = datetime.now(UTC)
    dlt_source, report, kind = extract.dlt_source, extract.report, extract.source_type
    tables = list(tables_by_key.values())
    warehouse = target.destination != "lake"
    before: dict[str, TableState] = {}
    extracted_state: dict[str, TableState] = {}
    recovered = packages.PendingOutcome()
    try:
        # sync state and schema from the warehouse; complete a package an earlier run left
        # half-loaded (jobs already loaded are not loaded twice), or drop it when it cannot be
        recovered = packages.finish_pending(pipeline, warehouse=warehouse)
        _log_recovery(context, recovered)
        before = table_states(pipeline, kind, dlt_source.name, tables)
        extract_info = pipeline.extract(
            dlt_source,
            loader_file_format=LOADER_FILE_FORMAT,
            refresh="drop_sources" if config.full_refresh else None,
            **_contract(source),
            **_workers(source),
        )
        extracted = _extracted_rows(extract_info)
        extracted_state = table_states(pipeline, kind, dlt_source.name, tables)
        if warehouse:  # the lake is append-only history
            extracted_tables = [t for t in tables if t in dlt_source.selected_resources]
            guard_replace(
                pipeline, source, extract, target, extracted_tables, extracted, config.full_refresh
            )
        normalize_info = pipeline.normalize()
        load_info = pipeline.load()
        load_info.raise_on_failed_jobs()
    except Failure as failure:
        _drop_failed_package(context, pipeline, warehouse)
        _record_failure(
            context,
            pipeline,
            source,
            tables,
            before,
            started,
            target,
            recovered,
            failure.description or "",
        )
        raise
    except Exception as error:  # noqa: BLE001 - every failure is classified and reported
        _drop_failed_package(context, pipeline, warehouse)
        raise _classified_failure(
            context,
            source,
            extract,
            pipeline,
            config,
            target,
            error,
            tables,
            started,
            before,
            extracted_state,
            recovered,
        ) from None

    rows = normalize_info.row_counts if normalize_info else {}
    after = table_states(pipeline, kind, dlt_source.name, tables)
    load_ids = [*recovered.loaded, *load_info.loads_ids]
    load_id = ", ".join(load_ids)
    # counting lake files would scan them (and dlt's filesystem SQL client trips on duckdb 2.0
    # over fsspec): totals are for warehouse tables only
    totals = {} if not warehouse else row_counts(pipeline, tables)
    committed = _committed(pipeline, tables, load_ids, rows, warehouse)
    _prune(context, pipeline)
    finished = datetime.now(UTC)
    problems = report.unreadable
    ledger_rows = []
    for key, table in tables_by_key.items():
        table_problems = [p for p in problems if p.table == table]
        ledger_rows.append(
            ledger.LedgerRow(
                run_id=context.run.run_id,
                source=source.name,
                table_name=table,
                job_id=_job_id(source, table),
                destination=target.destination,
                load_id=load_id or None,
                started_at=started,
                finished_at=finished,
                rows_extracted=extracted.get(table, 0),
                rows_loaded=committed.get(table, 0),
                cursor_before=before.get(table, TableState()).cursor,
                cursor_after=after[table].cursor,
                status="failed" if table_problems else "success",
                error=problems_text(table_problems) or None,
            )
        )
        metadata = table_metadata(
            pipeline,
            table,
            committed,
            totals,
            load_id,
            before.get(table, TableState()),
            after[table],
            target,
        )
        if table in report.warnings:
            context.log.warning(report.warnings[table])
        metadata.update(report.table_metadata.get(table, {}))
        yield MaterializeResult(asset_key=key, metadata=metadata)
    _write_ledger(context, target, ledger_rows)
    if problems:
        moved = kind.set_aside(extract.config, target.paths, problems)
        raise Failure(
            description=f"source '{source.name}': {len(problems)} file(s) could not be read and were not loaded "
            f"(the other files were):\n{problems_text(problems)}"
            + (
                f"\nmoved to {moved}"
                if moved
                else "\nfix or remove them; the next run retries them"
            ),
            metadata={
                "unreadable_files": MetadataValue.json([p.__dict__ for p in problems]),
                "transient": MetadataValue.bool(False),
            },
            allow_retries=False,
        )


def _classified_failure(
    context: AssetExecutionContext,
    source: SourceBase,
    extract: Extract,
    pipeline: Pipeline,
    config: LoadConfig,
    target: LoadTarget,
    error: Exception,
    tables: list[str],
    started: datetime,
    before: Mapping[str, TableState],
    extracted_state: Mapping[str, TableState],
    recovered: packages.PendingOutcome,
) -> RetryRequested | Failure:
    """The exception a failed load step raises, after its package was dropped: RetryRequested
    for a transient failure with retries left, else a Failure whose message names the source,
    the table whose load job the warehouse refused and the items whose rows it refused (set
    aside by the source type: moved to `quarantine_dir` when set); the ledger gets the failure
    first."""
    hint = fix_hint(error)
    failed_jobs = packages.failed_job_tables(error)
    cause = (
        "; ".join(
            f"the warehouse refused the load job of table '{t}': {m}"
            for t, m in failed_jobs.items()
        )
        if failed_jobs
        else root_message(error)
    )
    message = redact(f"source '{source.name}': {cause}" + (f"\n{hint}" if hint else ""))
    refused = _refused_files(extract, target, pipeline, error, before, extracted_state)
    transient = is_transient(error) and not refused
    if refused:
        moved = extract.source_type.set_aside(extract.config, target.paths, refused)
        message += "\n" + redact(
            f"nothing of this run's load package was kept; the file(s) whose rows were refused:\n"
            f"{problems_text(refused)}"
            + (
                f"\nmoved to {moved}"
                if moved
                else "\nfix or remove them; the next run retries them"
            )
        )
    if config.full_refresh and extracted_state:
        message += (
            "\nthe full refresh did not finish and its tables may have been dropped already: run it "
            f"again (`ingest sync {source.name} --full-refresh`) once the cause is fixed"
        )
    _record_failure(context, pipeline, source, tables, before, started, target, recovered, message)
    if transient and context.retry_number < source.max_retries:
        wait = source.retry_backoff_seconds * 2**context.retry_number
        context.log.warning(
            f"{message} (transient; retry {context.retry_number + 1} of {source.max_retries} in {wait:.1f} s)"
        )
        return RetryRequested(max_retries=source.max_retries, seconds_to_wait=wait)
    return Failure(
        description=message,
        metadata={
            "transient": MetadataValue.bool(transient),
            **(
                {"refused_files": MetadataValue.json([p.__dict__ for p in refused])}
                if refused
                else {}
            ),
        },
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
    return (
        {"schema_contract": SCHEMA_CONTRACTS[source.schema_contract]}
        if source.schema_contract
        else {}
    )


def _workers(source: SourceBase) -> dict[str, Any]:
    """dlt extract `workers` (threads reading parallelized resources) when the source sets them."""
    workers = source.extract_workers()
    return {"workers": workers} if workers else {}


def _job_id(source: SourceBase, table: str) -> str:
    """The table's `job_id` (the job sheet's), else `<source>.<table>`."""
    options = source.table_options().get(table)
    return (options.job_id if options is not None else None) or f"{source.name}.{table}"


def _extracted_rows(extract_info: ExtractInfo) -> dict[str, int]:
    rows: dict[str, int] = {}
    for metrics_list in extract_info.metrics.values():
        for metrics in metrics_list:
            for table, table_metrics in metrics["table_metrics"].items():
                rows[table] = rows.get(table, 0) + table_metrics.items_count
    return rows


def _record_failure(
    context: AssetExecutionContext,
    pipeline: Pipeline,
    source: SourceBase,
    tables: list[str],
    before: Mapping[str, TableState],
    started: datetime,
    target: LoadTarget,
    recovered: packages.PendingOutcome,
    message: str,
) -> None:
    """Ledger rows of a failed run: status `failed`, and as rows loaded only what packages an
    earlier run left and this one completed committed (the failed package's rows are dropped)."""
    committed: dict[str, int] = {}
    if recovered.loaded and target.destination != "lake":
        try:
            committed = packages.committed_rows(pipeline, tables, recovered.loaded) or {}
        except Exception as error:  # noqa: BLE001 - the ledger reports what it can
            context.log.warning(
                f"could not count the rows of recovered load packages: {redact(str(error))}"
            )
    finished = datetime.now(UTC)
    rows = [
        ledger.LedgerRow(
            run_id=context.run.run_id,
            source=source.name,
            table_name=table,
            job_id=_job_id(source, table),
            destination=target.destination,
            load_id=", ".join(recovered.loaded) or None,
            started_at=started,
            finished_at=finished,
            rows_extracted=0,
            rows_loaded=committed.get(table, 0),
            cursor_before=before.get(table, TableState()).cursor,
            cursor_after=before.get(table, TableState()).cursor,
            status="failed",
            error=message,
        )
        for table in tables
    ]
    _write_ledger(context, target, rows)


def _log_recovery(context: AssetExecutionContext, recovered: packages.PendingOutcome) -> None:
    if recovered.dead_extracts:
        context.log.info(
            f"deleted the working folders of extracts that never finished: {', '.join(recovered.dead_extracts)}"
        )
    if recovered.loaded:
        context.log.info(
            f"completed load package(s) an earlier run left: {', '.join(recovered.loaded)}"
        )
    for load_id, reason in recovered.discarded.items():
        context.log.warning(
            f"dropped load package {load_id} an earlier run left, which cannot be loaded: {redact(reason)}; "
            "its data is extracted again by this run"
        )
    if recovered.orphan_rows:
        context.log.warning(
            f"removed rows of load packages that never finished: {packages.describe_orphans(recovered.orphan_rows)}"
        )


def _drop_failed_package(
    context: AssetExecutionContext, pipeline: Pipeline, warehouse: bool
) -> None:
    """Leave nothing of a failed run behind: abort its pending packages (rewinding the local
    dlt state) and remove rows they already wrote. If that fails too (warehouse locked), the
    next run's `finish_pending` does it."""
    try:
        dropped = packages.discard_pending(pipeline)
        removed = packages.remove_orphan_rows(pipeline) if warehouse else {}
    except Exception as error:  # noqa: BLE001 - reported; the next run cleans up
        context.log.warning(
            f"could not drop the failed load package now (the next run does): {redact(str(error))}"
        )
        return
    if dropped:
        context.log.info(
            f"dropped load package(s) {', '.join(dropped)}: nothing of them is committed"
        )
    if removed:
        context.log.warning(
            f"removed rows the failed load package had written: {packages.describe_orphans(removed)}"
        )


def _refused_files(
    extract: Extract,
    target: LoadTarget,
    pipeline: Pipeline,
    error: BaseException,
    before: Mapping[str, TableState],
    extracted: Mapping[str, TableState],
) -> list[FileProblem]:
    """The items whose rows a terminally failed load job refused, as the source type tells
    (`SourceType.refused_items`: the files of a filesystem source); [] for the other types,
    the lake and the lake projection, and other failures."""
    if target.destination != "warehouse":
        return []
    refused: list[FileProblem] = []
    for table in packages.failed_job_tables(error):
        files = extracted.get(table, TableState()).files
        old = before.get(table, TableState()).files
        candidates = [path for path, fp in files.items() if old.get(path) != fp] or list(files)
        try:
            refused += extract.source_type.refused_items(
                extract.config,
                target.paths,
                target.warehouse,
                pipeline.dataset_name,
                table,
                candidates,
            )
        except Exception:  # noqa: BLE001 - naming the file is best effort; the failure is reported anyway
            continue
    return refused


def _committed(
    pipeline: Pipeline,
    tables: list[str],
    load_ids: list[str],
    normalized: Mapping[str, int],
    warehouse: bool,
) -> dict[str, int]:
    """Rows each table got from this run's committed packages (recovered ones included), counted
    in the warehouse; dlt's normalize counts for the lake, or where rows carry no load id."""
    if warehouse:
        try:
            counted = packages.committed_rows(pipeline, tables, load_ids)
        except Exception:  # noqa: BLE001 - the load is committed; report dlt's counts instead
            counted = None
        if counted is not None:
            return {**normalized, **counted}
    return dict(normalized)


def _prune(context: AssetExecutionContext, pipeline: Pipeline) -> None:
    try:
        packages.prune_completed(pipeline)
    except Exception as error:  # noqa: BLE001 - housekeeping never fails a load
        context.log.warning(f"could not delete finished load packages: {error}")


def _write_ledger(
    context: AssetExecutionContext, target: LoadTarget, rows: list[ledger.LedgerRow]
) -> None:
    # every error text, whatever wrote it, redacted with the run's secrets before it is stored
    rows = [dataclasses.replace(row, error=redact(row.error)) if row.error else row for row in rows]
    try:
        ledger.record(target.warehouse, rows)
    except Exception as error:  # noqa: BLE001 - the ledger must never turn a load into a failure
        context.log.warning(f"could not write the load ledger: {redact(str(error))}")
    if target.audit_log:
        try:
            ledger.append_audit_log(target.audit_log, rows)
        except OSError as error:
            context.log.warning(f"could not append to the audit log {target.audit_log}: {error}")

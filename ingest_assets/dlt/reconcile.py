"""Reconciliation asset checks: the rows of the last load equal what the source holds.

One check `reconcile` per table that has it (`reconcile: true`; on by default for file tables
that are not `merge`). It compares, for the latest load that brought rows (its load id):

- SQL tables (`type: sql_database`): the rows of the source table (with the table's
  `query_filter`) in the incremental cursor window just loaded, `cursor_before < cursor <=
  cursor_after` from the load ledger (no lower bound on the first load), or the whole table for
  a load without incremental cursor; with the warehouse rows carrying that load's
  `_dlt_load_id`. A row inserted later with a cursor inside the window is a mismatch too (dlt
  would never load it).
- File tables (`type: filesystem`): the data rows of each file the load read, counted by
  reading the file again, with the warehouse rows of that load (`append`: rows carrying its
  `_dlt_load_id`, from the files listed in the materialization's `files_loaded`; `replace`:
  the whole table, from every loaded file still matching the glob). A file changed or gone
  since the load cannot be recounted: the check then fails with WARN severity, naming it.

A mismatch fails the check (ERROR severity) and names both counts, per file for files.
`merge` file tables are off by default: rows of several files with one key become one row.
"""

from collections.abc import Iterator, Sequence
from typing import Any

import duckdb
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    AssetRecordsFilter,
    multi_asset_check,
)
from dagster_duckdb import DuckDBResource

from ingest_assets import names
from ingest_assets.config.common import LoadOptions, SourceBase
from ingest_assets.ledger import LEDGER_TABLE
from ingest_assets.redact import redact
from ingest_assets.settings import ProjectPaths

RECONCILE = "reconcile"
NOTHING_LOADED = "(nothing new to load)"
"""The `dlt_load_id` metadata of a load step that loaded nothing (see `dlt.table_report.table_metadata`)."""


def reconciles(source: SourceBase, table: str) -> bool:
    """True when table `table` of `source` gets a `reconcile` check (see the module docstring)."""
    options = source.table_options().get(table)
    if options is not None and options.reconcile is not None:
        return options.reconcile
    if source.type != "filesystem" or source.writes_lake:
        return False
    return (options or LoadOptions()).write_disposition != "merge"


def build_reconcile_checks(
    source: SourceBase, keys: Sequence[AssetKey], paths: ProjectPaths
) -> AssetChecksDefinition | None:
    """The `reconcile` checks of the raw tables `keys` of `source`; None when no table has one.

    Args:
        source: the source config (`filesystem` or `sql_database`; other types are skipped:
            there is no source count to compare with).
        keys: the source's asset keys, `[raw_<source>, <table>]`.
        paths: project paths (file locations, dlt state).

    The check reads the warehouse (and the ledger in it) through the `warehouse` resource, in
    the `duckdb` pool, and the source: files through dlt's fsspec filesystem, SQL databases
    with the source's credentials, resolved by dlt.
    """
    if source.type not in ("filesystem", "sql_database") or source.writes_lake:
        return None
    specs = [
        AssetCheckSpec(
            RECONCILE, asset=key, description="rows of the last load = rows in the source"
        )
        for key in keys
        if reconciles(source, key.path[-1])
    ]
    if not specs:
        return None

    @multi_asset_check(
        specs=specs,
        name=names.reconcile_checks_name(source.name),
        can_subset=True,
        pool=names.DUCKDB_POOL,
    )
    def _reconcile(
        context: AssetCheckExecutionContext, warehouse: DuckDBResource
    ) -> Iterator[AssetCheckResult]:
        for check in context.selected_asset_check_keys:
            key = check.asset_key
            with warehouse.get_connection() as conn:
                if source.type == "filesystem":
                    yield _reconcile_files(context, conn, source, paths, key)
                else:
                    yield _reconcile_sql(conn, source, paths, key)

    return _reconcile


def _result(
    key: AssetKey, passed: bool, description: str, metadata: dict[str, Any], warn: bool = False
) -> AssetCheckResult:
    return AssetCheckResult(
        asset_key=key,
        check_name=RECONCILE,
        passed=passed,
        description=description,
        metadata=metadata,
        severity=AssetCheckSeverity.WARN if warn else AssetCheckSeverity.ERROR,
    )


def _warehouse_rows(conn, key: AssetKey, load_id: str | None) -> int:
    qualified = f'"{key.path[0]}"."{key.path[-1]}"'
    where, params = ("", []) if load_id is None else (" WHERE _dlt_load_id = ?", [load_id])
    try:
        return int(conn.execute(f"SELECT count(*) FROM {qualified}{where}", params).fetchone()[0])
    except duckdb.CatalogException:
        return 0  # dlt creates a table with its first row: files without rows create none


# --- files --------------------------------------------------------------------------------


def _reconcile_files(
    context: AssetCheckExecutionContext, conn, source, paths: ProjectPaths, key: AssetKey
) -> AssetCheckResult:
    from ingest_assets.sources.filesystem import fingerprint, list_files, loaded_files

    table = next(t for t in source.filesystem.tables if t.name == key.path[-1])
    replace = table.write_disposition == "replace"
    load_id, new_files = _last_file_load(context, key, need_files=not replace)
    if load_id is None:
        return _result(key, True, "no load has brought files yet", {})
    listed = {f["relative_path"]: f for f in list_files(source, paths, table)}
    recorded = loaded_files(source, paths).get(table.name, {})
    names = (
        sorted(p for p in listed if recorded.get(p) == fingerprint(listed[p]))
        if replace
        else new_files
    )
    gone = [p for p in names if p not in listed or recorded.get(p) != fingerprint(listed[p])]
    if gone:
        return _result(
            key,
            False,
            f"cannot recount {len(gone)} file(s) of load {load_id}: changed or gone since: {', '.join(gone[:10])}",
            {"load_id": load_id},
            warn=True,
        )
    from ingest_assets.sources.filesystem.options import FileReadError

    try:
        per_file = {path: _file_rows(source, paths, table, listed[path]) for path in names}
    except FileReadError as error:
        return _result(
            key, False, f"cannot recount the files of load {load_id}: {error}", {"load_id": load_id}
        )
    in_files = sum(per_file.values())
    loaded = _warehouse_rows(conn, key, None if replace else load_id)
    scope = "table" if replace else f"load {load_id}"
    metadata = {
        "load_id": load_id,
        "rows_in_files": in_files,
        "rows_loaded": loaded,
        "rows_per_file": per_file,
    }
    if in_files == loaded:
        return _result(
            key,
            True,
            f"{loaded} rows in the {scope} = {in_files} data rows in {len(names)} file(s)",
            metadata,
        )
    listing = "; ".join(f"{path}: {rows}" for path, rows in list(per_file.items())[:20])
    return _result(
        key,
        False,
        f"{loaded} rows in the {scope} of {key.path[0]}.{key.path[-1]}, but {in_files} data rows in "
        f"its {len(names)} file(s) ({listing})",
        metadata,
    )


def _last_file_load(
    context: AssetCheckExecutionContext, key: AssetKey, need_files: bool
) -> tuple[str | None, list[str]]:
    """The load id and new files of the latest materialization of `key` that loaded something
    (with `need_files`: that loaded new files; a run's load package can hold other tables only)."""
    records = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=key), limit=50
    ).records
    for record in records:
        materialization = record.asset_materialization
        if materialization is None:
            continue
        load_id = getattr(materialization.metadata.get("dlt_load_id"), "value", None)
        if load_id and load_id != NOTHING_LOADED:
            files = getattr(materialization.metadata.get("files_loaded"), "value", None) or []
            if files or not need_files:
                return load_id, list(files)
    return None, []


def _file_rows(source, paths: ProjectPaths, table, file) -> int:
    """The data rows of one file, counted by the reader of the load step."""
    from dlt.common.storages.fsspec_filesystem import FileItemDict

    from ingest_assets.sources.filesystem import bucket_url_of, source_filesystem
    from ingest_assets.sources.filesystem.readers import count_rows

    return count_rows(
        FileItemDict(file, source_filesystem(source.name, bucket_url_of(source, paths))),
        table.read_spec(),
    )


# --- SQL tables -----------------------------------------------------------------------------


def _reconcile_sql(conn, source, paths: ProjectPaths, key: AssetKey) -> AssetCheckResult:
    import sqlalchemy as sa
    from dlt.sources.sql_database import engine_from_credentials

    from ingest_assets.sources.sql_database import (
        describe_location,
        engine_kwargs,
        resolve_credentials,
    )

    table_name = key.path[-1]
    table = source.table_options()[table_name]
    last = _last_sql_load(conn, source.name, table_name)
    if last is None:
        return _result(key, True, "no load has brought rows yet", {})
    load_id, cursor_before, cursor_after = last
    query = sa.select(sa.func.count()).select_from(
        sa.table(table.name, schema=source.sql_database.schema_)
    )
    if table.query_filter:
        query = query.where(sa.text(table.query_filter))
    window = "the whole table"
    if table.incremental:
        column = sa.column(table.incremental.cursor)
        before, after = _cursor_value(cursor_before), _cursor_value(cursor_after)
        if after is not None:
            query = query.where(column <= sa.literal(after))
        if before is not None:
            query = query.where(column > sa.literal(before))
        elif table.incremental.initial_value is not None:
            query = query.where(column >= sa.literal(str(table.incremental.initial_value)))
        window = f"{table.incremental.cursor} in ({before or table.incremental.initial_value or '-inf'}, {after}]"
    credentials = resolve_credentials(source, paths)
    try:
        # the source's own connect timeout (sql_database.connect_timeout)
        engine = engine_from_credentials(
            credentials, **engine_kwargs(credentials, source.sql_database)
        )
        try:
            with engine.connect() as source_conn:
                in_source = int(source_conn.execute(query).scalar_one())
        finally:
            engine.dispose()
    except Exception as error:  # noqa: BLE001 - a check result that says why, without secrets
        message = redact(
            f"cannot count the rows of {table.name} in {describe_location(credentials)}: {error}",
            [str(credentials.password or "")],
        )
        return _result(key, False, message, {"load_id": load_id})
    loaded = _warehouse_rows(conn, key, load_id)
    metadata = {
        "load_id": load_id,
        "rows_in_source": in_source,
        "rows_loaded": loaded,
        "window": window,
    }
    if in_source == loaded:
        return _result(
            key,
            True,
            f"{loaded} rows loaded by load {load_id} = {in_source} rows in the source ({window})",
            metadata,
        )
    return _result(
        key,
        False,
        f"{loaded} rows of load {load_id} in {key.path[0]}.{table_name}, but {in_source} rows in the source "
        f"table {table.name} ({window})",
        metadata,
    )


def _last_sql_load(conn, source: str, table: str) -> tuple[str, str | None, str | None] | None:
    """(load id, cursor before, cursor after) of the latest successful load of `table` that
    loaded rows, from the load ledger; None when there is none (or no ledger yet)."""
    try:
        row = conn.execute(
            f"""
            SELECT load_id, cursor_before, cursor_after FROM {LEDGER_TABLE}
            WHERE source = ? AND table_name = ? AND status = 'success' AND destination = 'warehouse'
              AND load_id IS NOT NULL AND rows_loaded > 0
            ORDER BY finished_at DESC LIMIT 1
            """,
            [source, table],
        ).fetchone()
    except Exception:  # noqa: BLE001 - no ledger yet: nothing loaded
        return None
    return None if row is None else (row[0], row[1], row[2])


def _cursor_value(text: str | None) -> str | None:
    """The value of a ledger cursor text `<column>=<value>` (None for none)."""
    if not text or "=" not in text:
        return None
    value = text.split("=", 1)[1]
    return None if value in ("None", "") else value

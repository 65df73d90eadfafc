"""Rewind a source to an earlier load: its rows and dlt state as they were right after it.

`rewind(source, to_load_id, ...)`:
1. checks that `to_load_id` is a completed load of the source's dataset `raw_<source>`;
2. deletes the source's local dlt pipeline folder (`.dlt/pipelines/<source>`), so that the next
   run restores its state (incremental cursors, the filesystem source's loaded-files record) and
   schema from the warehouse;
3. in ONE warehouse transaction: deletes from every raw table the rows of the later loads (by
   `_dlt_load_id`; child tables through `_dlt_parent_id`, deepest first), the dlt state
   versions (`_dlt_pipeline_state`) and load records (`_dlt_loads`) of those loads, and writes
   one ledger row per table with status `rewound` to `_ingest.load_history`.

dlt restores the newest state whose load is in `_dlt_loads` with status 0 (see dlt's
`get_stored_state`): after step 3 that is the state written with `to_load_id`. The next run
therefore loads again exactly what the later loads had loaded (new rows past the cursor, files
not in the record), once.

Crash safety: killed during step 2 or 3 (kill -9), the transaction is rolled back when DuckDB
opens the file again; the warehouse still holds the later loads and their newest state, which
the next run restores (nothing lost or doubled); run the rewind again. Killed after the commit,
the rewind is complete.

Tables written by `merge` lose the rows last written by a later load (their earlier version was
overwritten); the next run writes them again from the source. Lake sources
(`destination: lake`/`both`) cannot be rewound: the lake is append-only history.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ingest_assets import ledger
from ingest_assets.config.common import SourceBase
from ingest_assets.errors import IngestError


class RewindError(IngestError):
    """The rewind cannot be done (unknown load, lake source, no warehouse); nothing was changed."""


@dataclass
class RewindResult:
    """What a rewind did.

    Attributes:
        to_load_id: the load the source was rewound to.
        undone_loads: the later load ids, oldest first (empty: nothing to undo).
        rows_deleted: `{table: rows deleted}`, child tables included.
    """

    to_load_id: str
    undone_loads: list[str] = field(default_factory=list)
    rows_deleted: dict[str, int] = field(default_factory=dict)


def rewind(
    source: SourceBase,
    to_load_id: str,
    warehouse: Path,
    pipelines_dir: Path,
    run_id: str | None = None,
) -> RewindResult:
    """Rewind `source` to load `to_load_id` (see the module docstring).

    Args:
        source: the source config (`destination: warehouse`).
        to_load_id: a dlt load id of the source's dataset, e.g. `1796004120.1639082` (listed by
            `ingest rewind <source> --list`, in run metadata `dlt_load_id` and in the ledger).
        warehouse: the DuckDB warehouse file.
        pipelines_dir: dlt's pipelines folder of the project.
        run_id: the Dagster run doing the rewind; None (the CLI) writes `rewind-<uuid>` to the
            ledger.

    Raises:
        RewindError: the source writes a lake, the warehouse or dataset does not exist, or
            `to_load_id` is not a completed load of the dataset (the message lists the latest).
        duckdb.Error: the warehouse is locked by another process (e.g. a running load).
    """
    if source.writes_lake:
        raise RewindError(
            f"source '{source.name}': destination '{source.destination}' cannot be rewound; the lake is append-only"
        )
    dataset = source.dataset_name
    if not warehouse.exists():
        raise RewindError(f"source '{source.name}': the warehouse {warehouse} does not exist yet")
    started = datetime.now(UTC)
    with duckdb.connect(str(warehouse)) as conn:
        loads = _completed_loads(conn, dataset)
        if to_load_id not in loads:
            latest = ", ".join(loads[-5:]) or "none"
            raise RewindError(
                f"source '{source.name}': {to_load_id!r} is not a completed load of {dataset} "
                f"(latest loads: {latest})"
            )
        later = [load for load in loads if float(load) > float(to_load_id)]
        # every load package of the dataset after the target, completed or not
        later_all = [
            row[0]
            for row in conn.execute(f'SELECT load_id FROM "{dataset}"._dlt_loads').fetchall()
            if float(row[0]) > float(to_load_id)
        ]
        result = RewindResult(to_load_id=to_load_id, undone_loads=later)
        # the local state would win over the warehouse's (it is newer): remove it first
        shutil.rmtree(pipelines_dir / source.name, ignore_errors=True)
        if not later_all:
            return result
        tables = _data_tables(conn, dataset)
        conn.execute("BEGIN TRANSACTION")
        try:
            for table in sorted(tables, key=lambda t: -t.count("__")):
                result.rows_deleted[table] = _delete_rows(conn, dataset, table, tables, to_load_id)
            conn.execute(
                f'DELETE FROM "{dataset}"._dlt_pipeline_state WHERE CAST(_dlt_load_id AS DOUBLE) > CAST(? AS DOUBLE)',
                [to_load_id],
            )
            conn.execute(
                f'DELETE FROM "{dataset}"._dlt_loads WHERE CAST(load_id AS DOUBLE) > CAST(? AS DOUBLE)',
                [to_load_id],
            )
            finished = datetime.now(UTC)
            ledger.insert(
                conn,
                [
                    ledger.LedgerRow(
                        run_id=run_id or f"rewind-{uuid.uuid4()}",
                        source=source.name,
                        table_name=table,
                        destination="warehouse",
                        load_id=to_load_id,
                        started_at=started,
                        finished_at=finished,
                        rows_extracted=0,
                        rows_loaded=0,
                        cursor_before=None,
                        cursor_after=None,
                        status="rewound",
                        error=f"rewound to load {to_load_id}: {rows} rows of loads {', '.join(later_all)} deleted",
                    )
                    for table, rows in sorted(result.rows_deleted.items())
                    if "__" not in table
                ],
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return result


def completed_loads(warehouse: Path, source: SourceBase) -> list[tuple[str, datetime]]:
    """The completed loads of the source's dataset, oldest first: `(load_id, inserted_at)`;
    empty when the warehouse or dataset does not exist. Opens the warehouse read-only."""
    if not warehouse.exists():
        return []
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        try:
            rows = conn.execute(
                f'SELECT load_id, inserted_at FROM "{source.dataset_name}"._dlt_loads WHERE status = 0'
            ).fetchall()
        except duckdb.CatalogException:
            return []
    return sorted(rows, key=lambda row: float(row[0]))


def _completed_loads(conn: duckdb.DuckDBPyConnection, dataset: str) -> list[str]:
    try:
        rows = conn.execute(
            f'SELECT load_id FROM "{dataset}"._dlt_loads WHERE status = 0'
        ).fetchall()
    except duckdb.CatalogException as error:
        raise RewindError(f"dataset {dataset} has no loads yet") from error
    return sorted((row[0] for row in rows), key=float)


def _data_tables(conn: duckdb.DuckDBPyConnection, dataset: str) -> dict[str, set[str]]:
    """`{table: column names}` of the dataset's data tables (not dlt's `_dlt_*` tables)."""
    tables: dict[str, set[str]] = {}
    for table, column in conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name NOT LIKE '\\_dlt\\_%' ESCAPE '\\'",
        [dataset],
    ).fetchall():
        tables.setdefault(table, set()).add(column)
    return tables


def _doomed_ids(dataset: str, table: str, tables: dict[str, set[str]]) -> str:
    """SQL selecting `_dlt_id` of the rows of `table` that belong to loads after the target
    (the parameter `$to`)."""
    if "_dlt_load_id" in tables[table]:
        return f'SELECT _dlt_id FROM "{dataset}"."{table}" WHERE CAST(_dlt_load_id AS DOUBLE) > CAST($to AS DOUBLE)'
    parent = table.rsplit("__", 1)[0]
    return f'SELECT _dlt_id FROM "{dataset}"."{table}" WHERE _dlt_parent_id IN ({_doomed_ids(dataset, parent, tables)})'


def _delete_rows(
    conn: duckdb.DuckDBPyConnection,
    dataset: str,
    table: str,
    tables: dict[str, set[str]],
    to_load_id: str,
) -> int:
    columns = tables[table]
    if "_dlt_load_id" in columns:
        where = "CAST(_dlt_load_id AS DOUBLE) > CAST($to AS DOUBLE)"
    elif "_dlt_parent_id" in columns and "__" in table and table.rsplit("__", 1)[0] in tables:
        where = f"_dlt_parent_id IN ({_doomed_ids(dataset, table.rsplit('__', 1)[0], tables)})"
    else:
        return 0  # not a dlt table: left alone
    count = conn.execute(
        f'SELECT count(*) FROM "{dataset}"."{table}" WHERE {where}', {"to": to_load_id}
    ).fetchone()[0]
    conn.execute(f'DELETE FROM "{dataset}"."{table}" WHERE {where}', {"to": to_load_id})
    return int(count)


def rewind_before_load(context, source: SourceBase, to_load_id: str, target) -> None:
    """The load step's `rewind_to` run config: rewind `source` before it loads.

    Args:
        context: the load step's `AssetExecutionContext` (run id, log).
        source: the source config.
        to_load_id: the load to go back to.
        target: the step's `LoadTarget` (warehouse, project paths).

    Raises:
        dagster.Failure: the rewind is not possible (see `rewind`); nothing was changed.
    """
    from dagster import Failure

    try:
        result = rewind(
            source, to_load_id, target.warehouse, target.paths.pipelines_dir, context.run.run_id
        )
    except RewindError as error:
        raise Failure(description=str(error), allow_retries=False) from None
    context.log.info(
        f"source '{source.name}': rewound to load {to_load_id}: "
        f"loads {', '.join(result.undone_loads) or 'none'} undone, "
        f"{sum(result.rows_deleted.values())} rows deleted"
    )

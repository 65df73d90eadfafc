"""The load ledger: one row per table per run in `_ingest.load_history` of the warehouse.

The same SQL runs on a DuckDB file and on PostgreSQL (`ingest_assets.warehouses.connect`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ingest_assets.warehouses import connect
from ingest_assets.warehouses import exists as warehouse_exists
from ingest_assets.warehouses.connection import SqlConnection

if TYPE_CHECKING:
    import duckdb

LEDGER_SCHEMA = "_ingest"
LEDGER_TABLE = f"{LEDGER_SCHEMA}.load_history"

_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {LEDGER_SCHEMA};
CREATE TABLE IF NOT EXISTS {LEDGER_TABLE} (
    run_id VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL,
    destination VARCHAR NOT NULL,
    load_id VARCHAR,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    rows_extracted BIGINT NOT NULL,
    rows_loaded BIGINT NOT NULL,
    cursor_before VARCHAR,
    cursor_after VARCHAR,
    status VARCHAR NOT NULL,
    error VARCHAR,
    job_id VARCHAR
);
-- ledgers written before these columns existed
ALTER TABLE {LEDGER_TABLE} ADD COLUMN IF NOT EXISTS destination VARCHAR DEFAULT 'warehouse';
ALTER TABLE {LEDGER_TABLE} ADD COLUMN IF NOT EXISTS rows_extracted BIGINT DEFAULT 0;
ALTER TABLE {LEDGER_TABLE} ADD COLUMN IF NOT EXISTS job_id VARCHAR;
"""


@dataclass(frozen=True)
class LedgerRow:
    """What one run did to one table.

    Attributes:
        run_id: the Dagster run id.
        source: the source name.
        table_name: the raw table.
        destination: `warehouse`, `lake`, or `projection` (lake -> warehouse).
        load_id: dlt's load id of the package, None when nothing was loaded.
        started_at, finished_at: UTC, timezone-aware.
        rows_extracted: rows the source produced for the table.
        rows_loaded: rows written by this run (0 when nothing new).
        cursor_before, cursor_after: the table's incremental position, as text (an incremental
            cursor's last value, or the number of files loaded for file tables).
        status: `success`, `failed` or `skipped`.
        error: what went wrong, secrets already redacted.
        job_id: the table's job id: its `job_id` option (the Excel job sheet's `job_id`), else
            `<source>.<table>`; None only in rows written by older versions.
    """

    run_id: str
    source: str
    table_name: str
    destination: str
    load_id: str | None
    started_at: datetime
    finished_at: datetime
    rows_extracted: int
    rows_loaded: int
    cursor_before: str | None
    cursor_after: str | None
    status: str
    error: str | None = None
    job_id: str | None = None


def record(warehouse, rows: list[LedgerRow]) -> None:
    """Append `rows` to the ledger, creating its schema and table on first use.

    Args:
        warehouse: the project's `Warehouse` (DuckDB or PostgreSQL), or a DuckDB file path.
        rows: the rows to append, in one transaction.

    Raises:
        duckdb.Error: the warehouse cannot be opened for writing (e.g. locked by another process).
        psycopg2.Error: the PostgreSQL warehouse refused the connection or the insert.
    """
    if not rows:
        return
    columns = [f.name for f in fields(LedgerRow)]
    with connect(warehouse) as conn:
        conn.begin()
        try:
            _create(conn)
            conn.executemany(
                f"INSERT INTO {LEDGER_TABLE} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                [[asdict(row)[c] for c in columns] for row in rows],
            )
            conn.commit()
        except BaseException:
            conn.rollback()
            raise


def _create(conn: SqlConnection | duckdb.DuckDBPyConnection) -> None:
    """Create the ledger if needed. On PostgreSQL, loads of several sources finish at once: an
    advisory lock (held to the end of the transaction) keeps their `CREATE ... IF NOT EXISTS`
    from racing (PostgreSQL reports such a race as a duplicate key)."""
    if getattr(conn, "kind", "duckdb") == "postgres":
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('_ingest.load_history'))")
    conn.execute(_DDL)


def append_audit_log(path: Path, rows: list[LedgerRow]) -> None:
    """Append one JSON line per row to `path` (created with its folder if needed).

    Each line: `job_id` (the table's `job_id`, e.g. the job sheet's; else `<source>.<table>`),
    `run_id`, `source`, `table`, `destination`,
    `status`, `rows_extracted`, `rows_written`, `duration_seconds`, `started_at`, `finished_at`
    (ISO 8601, UTC), `watermark_before`, `watermark_after`, `load_id`, `error` (redacted).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        for row in rows:
            handle.write(
                json.dumps(
                    {
                        "job_id": row.job_id or f"{row.source}.{row.table_name}",
                        "run_id": row.run_id,
                        "source": row.source,
                        "table": row.table_name,
                        "destination": row.destination,
                        "status": row.status,
                        "rows_extracted": row.rows_extracted,
                        "rows_written": row.rows_loaded,
                        "duration_seconds": round(
                            (row.finished_at - row.started_at).total_seconds(), 3
                        ),
                        "started_at": row.started_at.isoformat(),
                        "finished_at": row.finished_at.isoformat(),
                        "watermark_before": row.cursor_before,
                        "watermark_after": row.cursor_after,
                        "load_id": row.load_id,
                        "error": row.error,
                    }
                )
                + "\n"
            )


def latest_per_source(warehouse) -> dict[str, list[dict]]:
    """The rows of each source's most recent run, `{source: [row dict per table]}`.

    Args:
        warehouse: the project's `Warehouse`, or a DuckDB file path.

    Returns {} when the warehouse or the ledger does not exist yet. Opens it read-only.
    """
    if not warehouse_exists(warehouse):
        return {}
    with connect(warehouse, read_only=True) as conn:
        exists = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = 'load_history'",
            [LEDGER_SCHEMA],
        ).fetchone()[0]
        if not exists:
            return {}
        cursor = conn.execute(
            f"""
            WITH ranked AS (
                SELECT source, run_id,
                       row_number() OVER (PARTITION BY source ORDER BY finished_at DESC) AS position
                FROM {LEDGER_TABLE}
            ),
            last_run AS (SELECT DISTINCT source, run_id FROM ranked WHERE position = 1)
            SELECT h.* FROM {LEDGER_TABLE} h JOIN last_run USING (source, run_id)
            ORDER BY h.source, h.table_name
            """
        )
        names = [d[0] for d in cursor.description]
        result: dict[str, list[dict]] = {}
        for values in cursor.fetchall():
            row = dict(zip(names, values))
            result.setdefault(row["source"], []).append(row)
        return result


def insert(conn: duckdb.DuckDBPyConnection, rows: list[LedgerRow]) -> None:
    """Append `rows` to the ledger on an open connection, inside the caller's transaction (so a
    rewind and its ledger rows commit together); creates the ledger first if needed (DuckDB
    runs DDL inside a transaction too)."""
    columns = [f.name for f in fields(LedgerRow)]
    _create(conn)
    for row in rows:
        conn.execute(
            f"INSERT INTO {LEDGER_TABLE} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
            [asdict(row)[c] for c in columns],
        )

"""The load ledger: one row per table per run in `_ingest.load_history` of the warehouse."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path

import duckdb

LEDGER_SCHEMA = "_ingest"
LEDGER_TABLE = f"{LEDGER_SCHEMA}.load_history"

_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {LEDGER_SCHEMA};
CREATE TABLE IF NOT EXISTS {LEDGER_TABLE} (
    run_id VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL,
    load_id VARCHAR,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    rows_loaded BIGINT NOT NULL,
    cursor_before VARCHAR,
    cursor_after VARCHAR,
    status VARCHAR NOT NULL,
    error VARCHAR
);
"""


@dataclass(frozen=True)
class LedgerRow:
    """What one run did to one table.

    Attributes:
        run_id: the Dagster run id.
        source: the source name.
        table_name: the raw table.
        load_id: dlt's load id of the package, None when nothing was loaded.
        started_at, finished_at: UTC, timezone-aware.
        rows_loaded: rows written by this run (0 when nothing new).
        cursor_before, cursor_after: the table's incremental position, as text (an incremental
            cursor's last value, or the number of files loaded for file tables).
        status: `success`, `failed` or `skipped`.
        error: what went wrong, secrets already redacted.
    """

    run_id: str
    source: str
    table_name: str
    load_id: str | None
    started_at: datetime
    finished_at: datetime
    rows_loaded: int
    cursor_before: str | None
    cursor_after: str | None
    status: str
    error: str | None = None


def record(warehouse: Path, rows: list[LedgerRow]) -> None:
    """Append `rows` to the ledger, creating its schema and table on first use.

    Raises:
        duckdb.Error: the warehouse cannot be opened for writing (e.g. locked by another process).
    """
    if not rows:
        return
    columns = [f.name for f in fields(LedgerRow)]
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute(_DDL)
        conn.executemany(
            f"INSERT INTO {LEDGER_TABLE} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
            [[asdict(row)[c] for c in columns] for row in rows],
        )


def latest_per_source(warehouse: Path) -> dict[str, list[dict]]:
    """The rows of each source's most recent run, `{source: [row dict per table]}`.

    Returns {} when the warehouse or the ledger does not exist yet. Opens the file read-only.
    """
    if not warehouse.exists():
        return {}
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        exists = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = 'load_history'",
            [LEDGER_SCHEMA],
        ).fetchone()[0]
        if not exists:
            return {}
        cursor = conn.execute(
            f"""
            WITH last_run AS (
                SELECT source, arg_max(run_id, finished_at) AS run_id FROM {LEDGER_TABLE} GROUP BY source
            )
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

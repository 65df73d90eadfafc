"""Read-only views of the warehouse for people: tables with row counts, and dbt's last results."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ingest_assets.warehouses import connect, exists


@dataclass(frozen=True)
class TableCount:
    """Rows in one warehouse table (`schema`.`table`); `kind` is `BASE TABLE` or `VIEW`."""

    schema: str
    table: str
    kind: str
    rows: int


def table_counts(warehouse) -> list[TableCount]:
    """Count rows of every user table and view in the warehouse, skipping dlt's own tables.

    Args:
        warehouse: the project's `ingest_assets.warehouses.Warehouse` (DuckDB, MotherDuck or
            PostgreSQL), or a DuckDB file path; opened read-only, so a running load is not
            disturbed (DuckDB refuses a reader while another process writes: the error then
            says so).

    Returns:
        One entry per table, ordered by schema and name; empty when the DuckDB file does not
        exist. PostgreSQL's system schemas (`pg_catalog`, `information_schema`) are left out.
    """
    if not exists(warehouse):
        return []
    with connect(warehouse, read_only=True) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name, table_type FROM information_schema.tables "
            "WHERE table_name NOT LIKE '\\_dlt%' ESCAPE '\\' "
            "AND table_schema NOT LIKE '%\\_staging' ESCAPE '\\' "
            "AND table_schema NOT IN ('pg_catalog', 'information_schema') "
            "AND table_catalog = current_database() ORDER BY 1, 2"
        ).fetchall()
        counts = []
        for schema, table, kind in tables:
            rows = conn.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0]
            counts.append(TableCount(schema, table, kind, int(rows)))
        return counts


@dataclass(frozen=True)
class DbtResults:
    """Outcome of the newest dbt invocation: models built and tests passed, by status."""

    models: dict[str, int]
    tests: dict[str, int]
    path: Path


def latest_dbt_results(dbt_project_dir: Path) -> DbtResults | None:
    """Summarise the newest `run_results.json` under `dbt_project/target/` (any invocation dir).

    Returns:
        Counts of model and test results by status (`success`, `pass`, `fail`, `error`, ...),
        or None when dbt has not run yet.
    """
    candidates = sorted(
        (dbt_project_dir / "target").glob("**/run_results.json"), key=lambda p: p.stat().st_mtime
    )
    if not candidates:
        return None
    results = json.loads(candidates[-1].read_text())["results"]
    models: dict[str, int] = {}
    tests: dict[str, int] = {}
    for result in results:
        bucket = tests if result["unique_id"].startswith("test.") else models
        bucket[result["status"]] = bucket.get(result["status"], 0) + 1
    return DbtResults(models=models, tests=tests, path=candidates[-1])

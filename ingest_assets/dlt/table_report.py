"""What a load step reports per table: its columns and position before and after, rows in the
warehouse, schema changes, and the materialization metadata built from them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dagster import (
    MetadataValue,
    TableColumn,
    TableSchema,
)
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.pipeline.pipeline import Pipeline

from ingest_assets.dlt.load_target import LoadTarget
from ingest_assets.settings import warehouse_catalog
from ingest_assets.sources.base import FileProblem, SourceType


@dataclass
class TableState:
    """What the warehouse knew about one table at one moment: its columns and its cursor."""

    columns: dict[str, str] = field(default_factory=dict)
    cursor: str | None = None
    files: dict[str, str] = field(default_factory=dict)


def table_states(
    pipeline: Pipeline, kind: SourceType, source_name: str, tables: list[str]
) -> dict[str, TableState]:
    """Columns and position of each table, from the pipeline's schema and the dlt state of the
    dlt source `source_name` (its own name: a dlt_native function's, or the lake projection's
    `<source>_lake`, not necessarily the sources.yml name), read by the source type `kind`."""
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
        cursor, files = kind.cursor(resources.get(table, {}))
        states[table] = TableState(columns=columns, cursor=cursor, files=files)
    return states


def row_counts(pipeline: Pipeline, tables: list[str]) -> dict[str, int]:
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


def table_metadata(
    pipeline: Pipeline,
    table: str,
    rows: Mapping[str, int],
    totals: Mapping[str, int],
    load_id: str,
    before: TableState,
    after: TableState,
    target: LoadTarget | None = None,
) -> dict[str, Any]:
    """The materialization metadata of `table` after a load: `rows_loaded` (this run's committed
    rows, from `rows`), `dlt_load_id`, `dataset_name`, Dagster's `dagster/column_schema` and
    `dagster/table_name` (warehouse tables), `dagster/row_count` (from `totals`), `cursor`,
    `files_loaded` (items whose fingerprint changed between `before` and `after`),
    `schema_changes`, and the rows and columns of its child tables `<table>__*`."""
    # the definition's table name (see RawTableTranslator): a lake table has none
    table_name = None
    if target is None or target.destination != "lake":
        catalog = warehouse_catalog(target.warehouse) if target else None
        table_name = ".".join(p for p in (catalog, pipeline.dataset_name, table) if p)
    metadata: dict[str, Any] = {
        "rows_loaded": MetadataValue.int(rows.get(table, 0)),
        "dlt_load_id": MetadataValue.text(load_id or "(nothing new to load)"),
        "dataset_name": MetadataValue.text(pipeline.dataset_name),
        # Dagster's documented table metadata keys (what `TableMetadataSet` writes)
        "dagster/column_schema": TableSchema(
            columns=[TableColumn(name=n, type=t) for n, t in after.columns.items()]
        ),
        **({"dagster/table_name": table_name} if table_name else {}),
    }
    if table in totals:
        metadata["dagster/row_count"] = MetadataValue.int(totals[table])
    if after.cursor is not None:
        metadata["cursor"] = MetadataValue.text(after.cursor)
    new_files = sorted(path for path, fp in after.files.items() if before.files.get(path) != fp)
    if after.files:
        metadata["files_loaded"] = MetadataValue.json(
            new_files
        )  # all: the reconcile check recounts them
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
    retyped = {
        c: {"from": before[c], "to": after[c]}
        for c in before
        if c in after and before[c] != after[c]
    }
    retyped.update(
        {
            c.split("__v_")[0]: {"from": before[c.split("__v_")[0]], "to": t, "variant_column": c}
            for c, t in variants.items()
        }
    )
    if retyped:
        changes["retyped"] = retyped
    return changes


def problems_text(problems: list[FileProblem]) -> str:
    """One line per unreadable item: `- <table>: <relative path>: <error>`."""
    return "\n".join(f"- {p.table}: {p.relative_path}: {p.error}" for p in problems)

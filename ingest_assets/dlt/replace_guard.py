"""The guard that stops a replacing load from losing rows it should not (see `guard_replace`)."""

from __future__ import annotations

from dagster import Failure, MetadataValue
from dlt.pipeline.pipeline import Pipeline

from ingest_assets.config.common import LoadOptions, SourceBase
from ingest_assets.dlt.load_target import LoadTarget
from ingest_assets.dlt.table_report import problems_text, row_counts
from ingest_assets.sources.base import Extract, FileProblem


def guard_replace(
    pipeline: Pipeline,
    source: SourceBase,
    extract: Extract,
    target: LoadTarget,
    tables: list[str],
    extracted: dict[str, int],
    full_refresh: bool,
) -> None:
    """Drop the extracted package, keeping every table as it is, when a replacing load would
    lose rows it should not:

    - a `replace` table one of whose files could not be read (it would shrink to the others);
    - a `replace` or full-refresh load that brings 0 rows for a table that has rows, unless the
      table sets `allow_empty_replace: true`;
    - a `replace` load that brings fewer than `(1 - max_shrink)` times the table's rows
      (default `max_shrink: 0.5`: half), unless the table sets `allow_shrink: true`.

    Raises:
        Failure: naming each table, its rows now and the rows the load brought, and the option
            that allows it; unreadable items are set aside by the source type (moved to
            `quarantine_dir` when set).
    """
    schema = pipeline.default_schema
    options = source.table_options()
    refused: list[str] = []
    unreadable: list[FileProblem] = []
    for table in tables:
        table_options = options.get(table) or LoadOptions()
        replace = (
            table in schema.tables and schema.tables[table].get("write_disposition") == "replace"
        )
        if not (replace or full_refresh):
            continue
        problems = extract.report.unreadable_of(table) if replace else []
        new = extracted.get(table, 0)
        existing = row_counts(pipeline, [table]).get(table, 0)
        if problems:
            unreadable += problems
            refused.append(
                f"'{table}' ({existing} rows) would be replaced by the {new} rows of its readable files only, "
                f"because {len(problems)} of its files could not be read"
            )
        elif new == 0 and existing and not table_options.allow_empty_replace:
            how = "full refresh" if full_refresh else "replace load"
            refused.append(
                f"the {how} brought 0 rows for '{table}' ({existing} rows); if the source really is "
                "empty now, set `allow_empty_replace: true` on the table in sources.yml"
            )
        elif (
            replace
            and existing
            and not table_options.allow_shrink
            and new < existing * (1 - table_options.max_shrink)
        ):
            refused.append(
                f"the replace load brought {new} rows for '{table}', which has {existing}: more than "
                f"{table_options.max_shrink:.0%} fewer; if that is right, set `allow_shrink: true` (or a "
                "larger `max_shrink`) on the table in sources.yml"
            )
    if not refused:
        return
    pipeline.abort_packages()
    text = (
        f"source '{source.name}': nothing was loaded and the tables were kept as they are:\n"
        + "\n".join(f"- {r}" for r in refused)
    )
    if unreadable:
        moved = extract.source_type.set_aside(extract.config, target.paths, unreadable)
        text += "\n" + problems_text(unreadable)
        text += (
            f"\nmoved to {moved}" if moved else "\nfix or remove them; the next run retries them"
        )
    raise Failure(
        description=text,
        metadata={
            "transient": MetadataValue.bool(False),
            **(
                {"unreadable_files": MetadataValue.json([p.__dict__ for p in unreadable])}
                if unreadable
                else {}
            ),
        },
        allow_retries=False,
    )

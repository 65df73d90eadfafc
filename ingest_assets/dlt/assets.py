"""One `@dlt_assets` multi-asset per enabled source: the source's asset group."""


from collections.abc import Iterator
from pathlib import Path

from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult, MetadataValue
from dagster_dlt import DagsterDltResource, dlt_assets
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.pipeline.pipeline import Pipeline

from ingest_assets.config.common import SourceBase
from ingest_assets.dlt.pipeline import LOADER_FILE_FORMAT, make_pipeline
from ingest_assets.dlt.run_config import LoadConfig, load_op_name
from ingest_assets.dlt.translator import RawTableTranslator
from ingest_assets.settings import ProjectPaths
from ingest_assets.sources import build_dlt_source
from ingest_assets.sources.run_options import RunOptions

DUCKDB_POOL = "duckdb"
"""Concurrency pool of every asset that writes the warehouse (limit 1 in dagster.yaml)."""


def build_source_assets(
    source: SourceBase, paths: ProjectPaths, warehouse: Path
) -> AssetsDefinition:
    """Return the Dagster assets of one source: one asset per dlt resource, in group `<source>`.

    Args:
        source: a validated, enabled source config.
        paths: the project's paths (dlt's pipelines dir lives inside the project).
        warehouse: absolute path of the DuckDB warehouse.

    The source built here only describes the assets. Each run builds a fresh source and
    pipeline, because a dlt source object is spent after one extract.
    """

    @dlt_assets(
        dlt_source=build_dlt_source(source, paths),
        dlt_pipeline=make_pipeline(source, warehouse, paths.pipelines_dir),
        name=load_op_name(source.name),
        dagster_dlt_translator=RawTableTranslator(source),
        pool=DUCKDB_POOL,
    )
    def _load(
        context: AssetExecutionContext, dlt: DagsterDltResource, config: LoadConfig
    ) -> Iterator[MaterializeResult]:
        pipeline = make_pipeline(source, warehouse, paths.pipelines_dir)
        run = RunOptions(selected_files=config.files)
        events = dlt.run(
            context=context,
            dlt_source=build_dlt_source(source, paths, run),
            dlt_pipeline=pipeline,
            loader_file_format=LOADER_FILE_FORMAT,
        )
        results = list(events)
        yield from _with_load_metadata(results, pipeline)

    return _load


def _with_load_metadata(
    events: list[MaterializeResult], pipeline: Pipeline
) -> Iterator[MaterializeResult]:
    """Add to each event `rows_loaded` (0 when this run loaded nothing into the table),
    `dlt_load_id` and `dagster/row_count` (rows now in the warehouse table)."""
    load_info = pipeline.last_trace.last_load_info if pipeline.last_trace else None
    load_ids = ", ".join(load_info.loads_ids) if load_info and load_info.loads_ids else ""
    totals = _table_row_counts(pipeline, [event.asset_key.path[-1] for event in events])
    for event in events:
        table = event.asset_key.path[-1]
        metadata = dict(event.metadata or {})
        metadata.setdefault("rows_loaded", MetadataValue.int(0))
        metadata["dlt_load_id"] = MetadataValue.text(load_ids or "(nothing new to load)")
        if table in totals:
            metadata["dagster/row_count"] = MetadataValue.int(totals[table])
        yield event._replace(metadata=metadata)


def _table_row_counts(pipeline: Pipeline, tables: list[str]) -> dict[str, int]:
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

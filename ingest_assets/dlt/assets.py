"""One `@dlt_assets` multi-asset per enabled source: the source's asset group."""


from collections.abc import Iterator
from pathlib import Path

from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult, MetadataValue
from dagster_dlt import DagsterDltResource, dlt_assets
from dlt.pipeline.pipeline import Pipeline

from ingest_assets.config.common import SourceBase
from ingest_assets.dlt.pipeline import LOADER_FILE_FORMAT, make_pipeline
from ingest_assets.dlt.translator import RawTableTranslator
from ingest_assets.settings import ProjectPaths
from ingest_assets.sources import build_dlt_source

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
        name=f"load_{source.name}",
        dagster_dlt_translator=RawTableTranslator(source),
        pool=DUCKDB_POOL,
    )
    def _load(context: AssetExecutionContext, dlt: DagsterDltResource) -> Iterator[MaterializeResult]:
        pipeline = make_pipeline(source, warehouse, paths.pipelines_dir)
        events = dlt.run(
            context=context,
            dlt_source=build_dlt_source(source, paths),
            dlt_pipeline=pipeline,
            loader_file_format=LOADER_FILE_FORMAT,
        )
        for event in events.fetch_row_count():
            yield _with_load_metadata(event, pipeline)

    return _load


def _with_load_metadata(event: MaterializeResult, pipeline: Pipeline) -> MaterializeResult:
    """Add `rows_loaded` (0 when the run loaded nothing) and `dlt_load_id` to an event."""
    metadata = dict(event.metadata or {})
    metadata.setdefault("rows_loaded", MetadataValue.int(0))
    load_info = pipeline.last_trace.last_load_info if pipeline.last_trace else None
    load_ids = list(load_info.loads_ids) if load_info else []
    metadata["dlt_load_id"] = MetadataValue.text(", ".join(load_ids) or "(nothing loaded)")
    return event._replace(metadata=metadata)

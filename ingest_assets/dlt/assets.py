"""One `@dlt_assets` multi-asset per enabled source: the source's asset group."""

from collections.abc import Iterator
from pathlib import Path

from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult
from dagster_dlt import dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData

from ingest_assets.config.common import SourceBase
from ingest_assets.dlt.load import run_load
from ingest_assets.dlt.pipeline import make_pipeline
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
    translator = RawTableTranslator(source)

    @dlt_assets(
        dlt_source=build_dlt_source(source, paths),
        dlt_pipeline=make_pipeline(source, warehouse, paths.pipelines_dir),
        name=load_op_name(source.name),
        dagster_dlt_translator=translator,
        pool=DUCKDB_POOL,
    )
    def _load(context: AssetExecutionContext, config: LoadConfig) -> Iterator[MaterializeResult]:
        pipeline = make_pipeline(source, warehouse, paths.pipelines_dir)
        run = RunOptions(selected_files=config.files)
        dlt_source = build_dlt_source(source, paths, run)
        keys_by_resource = {
            resource.name: translator.get_asset_spec(
                DltResourceTranslatorData(resource=resource, pipeline=pipeline)
            ).key
            for resource in dlt_source.selected_resources.values()
        }
        selected = {
            name: key for name, key in keys_by_resource.items() if key in context.selected_asset_keys
        }
        if context.is_subset:
            dlt_source = dlt_source.with_resources(*selected)
        tables_by_key = {key: key.path[-1] for key in selected.values()}
        yield from run_load(
            context, source, dlt_source, tables_by_key, pipeline, run, config, paths, warehouse
        )

    return _load

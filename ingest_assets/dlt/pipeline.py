"""The dlt pipeline of a source: named after it, loading `raw_<source>` of the warehouse."""

from __future__ import annotations

from pathlib import Path

import dlt
from dlt.pipeline.pipeline import Pipeline

from ingest_assets.config.common import SourceBase

LOADER_FILE_FORMAT = "parquet"
"""Load packages are written as parquet: DuckDB ingests them natively (dlt's default
`insert_values` took over 6 minutes for 1M rows that parquet loads in seconds)."""


def make_pipeline(source: SourceBase, warehouse: Path, pipelines_dir: Path) -> Pipeline:
    """Return the dlt pipeline for `source`.

    Args:
        source: the source config; its name is the pipeline name, `raw_<name>` the dataset.
        warehouse: absolute path of the DuckDB file.
        pipelines_dir: where dlt keeps the pipeline's working state (inside the project).
    """
    return dlt.pipeline(
        pipeline_name=source.name,
        dataset_name=source.dataset_name,
        destination=dlt.destinations.duckdb(credentials=str(warehouse)),
        pipelines_dir=str(pipelines_dir),
        progress="log",
    )

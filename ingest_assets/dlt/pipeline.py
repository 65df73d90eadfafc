"""The dlt pipelines of a source: into the warehouse, into the lake, and lake -> warehouse."""

from __future__ import annotations

from pathlib import Path

import dlt
from dlt.common.configuration import resolve_configuration
from dlt.common.storages import FilesystemConfiguration
from dlt.pipeline.pipeline import Pipeline

from ingest_assets.config.common import SourceBase
from ingest_assets.settings import ProjectPaths

LOADER_FILE_FORMAT = "parquet"
"""Load packages are written as parquet: DuckDB ingests them natively (dlt's default
`insert_values` took over 6 minutes for 1M rows that parquet loads in seconds)."""


def make_pipeline(source: SourceBase, warehouse: Path, pipelines_dir: Path) -> Pipeline:
    """Return the pipeline that loads `source` into the warehouse.

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


def lake_section(source: SourceBase) -> str:
    """Config section of the lake's credentials: `[sources.<source>_lake.credentials]`."""
    return f"{source.name}_lake"


def lake_bucket_url(source: SourceBase, paths: ProjectPaths) -> str:
    """`<lake.bucket_url>/<lake.folder_path>`, a relative local folder made absolute."""
    base = source.lake.bucket_url
    if "://" not in base:
        base = str(paths.resolve(base))
    folder = source.lake.folder_path.strip("/")
    return f"{base.rstrip('/')}/{folder}" if folder else base


def make_lake_pipeline(source: SourceBase, paths: ProjectPaths) -> Pipeline:
    """Return the pipeline that writes `source`'s raw history to the lake (dlt's `filesystem`
    destination), dataset `raw_<source>`; credentials resolved by dlt from the lake section."""
    bucket_url = lake_bucket_url(source, paths)
    config = resolve_configuration(
        FilesystemConfiguration(bucket_url=bucket_url), sections=("sources", lake_section(source))
    )
    return dlt.pipeline(
        pipeline_name=source.name,
        dataset_name=source.dataset_name,
        destination=dlt.destinations.filesystem(bucket_url=bucket_url, credentials=config.credentials),
        pipelines_dir=str(paths.pipelines_dir),
        progress="log",
    )


def make_projection_pipeline(source: SourceBase, warehouse: Path, pipelines_dir: Path) -> Pipeline:
    """Return the pipeline that projects the lake of `source` into `raw_<source>` of the
    warehouse: pipeline `<source>_projection`, with its own state of lake files read."""
    return dlt.pipeline(
        pipeline_name=f"{source.name}_projection",
        dataset_name=source.dataset_name,
        destination=dlt.destinations.duckdb(credentials=str(warehouse)),
        pipelines_dir=str(pipelines_dir),
        progress="log",
    )

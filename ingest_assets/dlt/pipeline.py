"""The dlt pipelines of a source: into the warehouse, into the lake, and lake -> warehouse."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import dlt
from dlt.common.configuration import resolve_configuration
from dlt.common.storages import FilesystemConfiguration
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials
from dlt.pipeline.pipeline import Pipeline

from ingest_assets.config.common import SourceBase
from ingest_assets.dlt.secrets import RedactingCollector
from ingest_assets.settings import ProjectPaths

LOADER_FILE_FORMAT = "parquet"
"""Load packages are written as parquet: DuckDB ingests them natively (dlt's default
`insert_values` took over 6 minutes for 1M rows that parquet loads in seconds)."""


LOAD_MEMORY_PER_THREAD_MB = 150
"""DuckDB memory per thread of the warehouse connection dlt loads through (see
`warehouse_credentials`)."""

LOAD_MEMORY_MIN_MB = 300
"""Floor of that memory limit."""


def load_memory_limit(threads: int | None = None) -> str:
    """The default DuckDB `memory_limit` of dlt's warehouse connection: 150 MB per thread
    (DuckDB runs one per core), at least 300 MB, e.g. `"300MB"` on 2 cores, `"2400MB"` on 16.

    DuckDB's own default (80% of RAM) lets a load's INSERT keep every block it wrote cached, so
    a load's memory grew with the file: 0.42 GB at TPC-H SF1, 0.84 GB at SF3 for the INSERT
    alone. Measured on 2 cores (lineitem, 6M and 18M rows): 300 MB holds the INSERT at ~0.37-0.39
    GB at both scales at the same speed; 256 MB made it spill and take twice as long; 400 MB let
    it grow again at SF3 (0.41 -> 0.49 GB). benchmarks/README.md has the numbers.

    Args:
        threads: DuckDB threads (default: `os.cpu_count()`).
    """
    threads = threads or os.cpu_count() or 1
    return f"{max(LOAD_MEMORY_MIN_MB, LOAD_MEMORY_PER_THREAD_MB * threads)}MB"


def load_global_config() -> dict[str, object]:
    """DuckDB settings of dlt's warehouse connection while it loads (`warehouse_credentials`):

    - `memory_limit`: `load_memory_limit()`;
    - `preserve_insertion_order: false`: a load's INSERT writes row groups as its threads finish
      them instead of holding them back to keep the file's row order (warehouse tables have no
      row order; queries that need one say ORDER BY). Measured at TPC-H `lineitem` SF1 (6M rows,
      2 cores, 300 MB limit): INSERT from the SQL reader's parquet load file 11.7-13.6 s -> 5.3 s;
      the same file written by DuckDB itself took 5.5 s either way (benchmarks/README.md).
    """
    return {"memory_limit": load_memory_limit(), "preserve_insertion_order": False}


def warehouse_credentials(warehouse: Path) -> DuckDbCredentials | str:
    """Credentials of dlt's DuckDB destination for the warehouse file `warehouse`.

    They carry `global_config = load_global_config()` unless the user configured
    `global_config` for DuckDB destinations (`[destination.duckdb.credentials] global_config =
    {memory_limit = "2GB"}` in `.dlt/config.toml`, or the environment variable
    `DESTINATION__DUCKDB__CREDENTIALS__GLOBAL_CONFIG`): then dlt resolves theirs, and the path
    is passed alone.
    """
    if dlt.config.get("destination.duckdb.credentials.global_config") is not None:
        return str(warehouse)
    return DuckDbCredentials(str(warehouse), global_config=load_global_config())


def warehouse_destination(warehouse):
    """The dlt destination of the warehouse: `warehouse` is an `ingest_assets.warehouses.Warehouse`
    or a DuckDB file path. A DuckDB file gets `warehouse_credentials` (the load's memory limit),
    other types `Warehouse.destination()` (PostgreSQL, MotherDuck, Snowflake, BigQuery)."""
    from ingest_assets.warehouses import as_warehouse

    warehouse = as_warehouse(warehouse)
    if warehouse.type == "duckdb":
        return dlt.destinations.duckdb(credentials=warehouse_credentials(warehouse.path))
    return warehouse.destination()


def make_pipeline(source: SourceBase, warehouse, pipelines_dir: Path) -> Pipeline:
    """Return the pipeline that loads `source` into the warehouse.

    Args:
        source: the source config; its name is the pipeline name, `raw_<name>` the dataset.
        warehouse: the project's `Warehouse`, or the absolute path of a DuckDB file.
        pipelines_dir: where dlt keeps the pipeline's working state (inside the project).
    """
    return dlt.pipeline(
        pipeline_name=source.name,
        dataset_name=source.dataset_name,
        destination=warehouse_destination(warehouse),
        pipelines_dir=str(pipelines_dir),
        progress=RedactingCollector(),  # progress lines; no secret in dlt's trace
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
    destination), dataset `raw_<source>`; credentials, and fsspec `kwargs`/`client_kwargs`
    (e.g. an Azure `connection_string` for another endpoint), resolved by dlt from the lake
    section `[sources.<source>_lake]`, as the projection's reader resolves them."""
    bucket_url = lake_bucket_url(source, paths)
    config = resolve_configuration(
        FilesystemConfiguration(bucket_url=bucket_url), sections=("sources", lake_section(source))
    )
    return dlt.pipeline(
        pipeline_name=source.name,
        dataset_name=source.dataset_name,
        destination=dlt.destinations.filesystem(
            bucket_url=bucket_url,
            credentials=config.credentials,
            kwargs=config.kwargs,
            client_kwargs=config.client_kwargs,
        ),
        pipelines_dir=str(paths.pipelines_dir),
        progress=RedactingCollector(),  # progress lines; no secret in dlt's trace
    )


def make_projection_pipeline(source: SourceBase, warehouse, pipelines_dir: Path) -> Pipeline:
    """Return the pipeline that projects the lake of `source` into `raw_<source>` of the
    warehouse: pipeline `<source>_projection`, with its own state of lake files read."""
    return dlt.pipeline(
        pipeline_name=f"{source.name}_projection",
        dataset_name=source.dataset_name,
        destination=warehouse_destination(warehouse),
        pipelines_dir=str(pipelines_dir),
        progress=RedactingCollector(),  # progress lines; no secret in dlt's trace
    )


DESCRIBING_PIPELINE = "_asset_definitions"
"""Name prefix of the pipelines `describing_pipeline` makes (`_asset_definitions_duckdb`, ...).
They never run, are never the active pipeline (so their name is in no config lookup) and live
in `describing_pipelines_dir`, outside the pipelines dir that dlt's CLI lists."""


def describing_pipelines_dir(pipelines_dir: Path) -> Path:
    """Where the describing pipelines keep their (empty) folders: `describing/` beside the
    project's pipelines dir (`.dlt/describing/`, git-ignored)."""
    return pipelines_dir.parent / "describing"


@cache
def describing_pipeline(destination: str, pipelines_dir: Path) -> Pipeline:
    """One pipeline per destination type, shared by every source's `@dlt_assets` at definitions
    load, where dagster-dlt reads only its destination's name (asset kind, storage kind).

    Making a real pipeline per source costs ~40-60 ms each (dlt resolves its configuration and
    the destination's capabilities): ~5 s of definitions load at 100 sources. Runs never use
    this pipeline: each run makes its source's own (`make_pipeline`, `make_lake_pipeline`,
    `make_projection_pipeline`). It is deactivated right away: dlt would otherwise look up
    every config value first under its name (`_asset_definitions_duckdb.sources...`).

    Args:
        destination: `duckdb` (the warehouse) or `filesystem` (the lake).
        pipelines_dir: the project's dlt pipelines dir (the pipeline's folder goes to
            `describing_pipelines_dir(pipelines_dir)`).

    Raises:
        ValueError: another destination name.
    """
    if destination == "duckdb":
        factory = dlt.destinations.duckdb()  # never connected
    elif destination == "filesystem":
        factory = dlt.destinations.filesystem(
            bucket_url=str(describing_pipelines_dir(pipelines_dir))
        )
    else:
        raise ValueError(f"no describing pipeline for destination {destination!r}")
    pipeline = dlt.pipeline(
        pipeline_name=f"{DESCRIBING_PIPELINE}_{destination}",
        destination=factory,
        pipelines_dir=str(describing_pipelines_dir(pipelines_dir)),
    )
    pipeline.deactivate()
    return pipeline

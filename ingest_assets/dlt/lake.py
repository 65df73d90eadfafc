"""Lake -> warehouse: a dlt source that reads the lake files of a source's tables.

The lake holds one parquet file per table per load package
(`<lake>/raw_<source>/<table>/<load_id>.<file_id>.parquet`). The projection reads them with the
`filesystem` source type, so each file — each load package — is read exactly once, recorded in
dlt state with the load that writes it. The lake's `_dlt_load_id` column is kept as
`_lake_load_id`; the warehouse rows get the projection's own `_dlt_load_id`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ingest_assets.config.common import LoadOptions, SourceBase
from ingest_assets.dlt.pipeline import lake_bucket_url, lake_section
from ingest_assets.settings import ProjectPaths
from ingest_assets.sources import filesystem
from ingest_assets.sources.base import Extract

if TYPE_CHECKING:  # pyarrow is imported by the runs that read the lake, not at definitions load
    import pyarrow as pa

LAKE_LOAD_ID = "_lake_load_id"


def build_projection_source(
    source: SourceBase,
    paths: ProjectPaths,
    tables: Mapping[str, LoadOptions],
) -> Extract:
    """Build a fresh dlt source reading the lake files of `tables` of `source`, with its report.

    Args:
        source: a source with `destination: both`.
        paths: project paths (a relative lake folder is taken against the root).
        tables: table name -> its options in sources.yml; `merge` with a `primary_key` keeps
            the latest row per key in the warehouse, `replace` mirrors the lake's current files,
            anything else appends every load package's rows.

    Returns:
        The extract of a `filesystem` source named `<source>_lake` (its report lists the lake
        files that could not be read).

    Lake credentials are read from `[sources.<source>_lake.credentials]`.
    """
    config = filesystem.FilesystemSourceConfig(
        name=lake_section(source),
        type="filesystem",
        filesystem=filesystem.FilesystemBlock(
            bucket_url=f"{lake_bucket_url(source, paths).rstrip('/')}/{source.dataset_name}",
            tables=[
                filesystem.FileTableConfig(
                    name=table,
                    file_glob=f"{table}/*.parquet",
                    format="parquet",
                    write_disposition=options.write_disposition
                    if options.write_disposition in ("merge", "replace")
                    else "append",
                    primary_key=options.primary_key
                    if options.write_disposition == "merge"
                    else None,
                )
                for table, options in tables.items()
            ],
        ),
    )
    extract = filesystem.SOURCE_TYPE.build(config, paths, keep_dlt_columns=True)
    for resource in extract.dlt_source.resources.values():
        resource.add_map(_keep_lake_load_id)
        # replaying several load packages at once: for a key, the row of the newest package wins
        resource.apply_hints(
            columns={
                LAKE_LOAD_ID: {"name": LAKE_LOAD_ID, "data_type": "text", "dedup_sort": "desc"}
            }
        )
    return extract


def _keep_lake_load_id(batch: pa.RecordBatch) -> pa.RecordBatch:
    names = batch.schema.names
    if "_dlt_load_id" not in names:
        return batch
    return batch.rename_columns([LAKE_LOAD_ID if n == "_dlt_load_id" else n for n in names])

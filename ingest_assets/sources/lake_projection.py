"""Lake -> warehouse: a dlt source that reads the lake files of a source's tables.

The lake holds one parquet file per table per load package
(`<lake>/raw_<source>/<table>/<load_id>.<file_id>.parquet`). The projection reads them with the
`filesystem` source type, so each file — each load package — is read exactly once, recorded in
dlt state with the load that writes it. The lake's `_dlt_load_id` column is kept as
`_lake_load_id`; the warehouse rows get the projection's own `_dlt_load_id`.

A `replace` table (a full reload each run, e.g. a job sheet's `FULL` row) has one complete
version per load package in the lake. Its projection reads only the files of the newest load
package, every run, and replaces the warehouse table with them: the warehouse shows the
table's latest version, never the sum of all versions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import dlt
import pyarrow as pa
from dlt.common.configuration import resolve_configuration
from dlt.common.storages import FilesystemConfiguration
from dlt.common.storages.fsspec_filesystem import FileItemDict, fsspec_from_config, glob_files
from dlt.extract.resource import DltResource
from dlt.extract.source import DltSource

from ingest_assets.config.common import LoadOptions, SourceBase
from ingest_assets.dlt.pipeline import lake_bucket_url, lake_section
from ingest_assets.settings import ProjectPaths
from ingest_assets.sources import filesystem
from ingest_assets.sources.file_readers import FileReadError, read_arrow_batches
from ingest_assets.sources.run_options import FileProblem, RunOptions

LAKE_LOAD_ID = "_lake_load_id"


def build_projection_source(
    source: SourceBase,
    paths: ProjectPaths,
    tables: Mapping[str, LoadOptions],
    run: RunOptions | None = None,
) -> DltSource:
    """Build a fresh dlt source reading the lake files of `tables` of `source`.

    Args:
        source: a source with `destination: both`.
        paths: project paths (a relative lake folder is taken against the root).
        tables: table name -> its options in sources.yml; `merge` with a `primary_key` keeps
            the latest row per key in the warehouse, `replace` holds the newest load package's
            files (see `newest_load_files`), anything else appends every load package's rows.
        run: per-run options (unreadable files are reported back through it).

    Lake credentials (and fsspec `kwargs`) are read from `[sources.<source>_lake]`. Nothing is
    listed or read until the source is extracted.
    """
    run = run or RunOptions()
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
                    write_disposition=options.write_disposition if options.write_disposition in ("merge", "replace") else "append",
                    primary_key=options.primary_key if options.write_disposition == "merge" else None,
                )
                for table, options in tables.items()
            ],
        ),
    )
    files_source = filesystem.build_dlt_source(config, paths, run)
    resources: list[DltResource] = []
    for table in config.filesystem.tables:
        if table.write_disposition == "replace":
            resources.append(_newest_load_resource(config, paths, table, run))
        else:
            resources.append(files_source.resources[table.name])

    @dlt.source(name=config.name, max_table_nesting=0)
    def lake_files() -> list[DltResource]:
        return resources

    dlt_source = lake_files()
    for resource in dlt_source.resources.values():
        resource.add_map(_keep_lake_load_id)
        # replaying several load packages at once: for a key, the row of the newest package wins
        resource.apply_hints(columns={LAKE_LOAD_ID: {"name": LAKE_LOAD_ID, "data_type": "text", "dedup_sort": "desc"}})
    return dlt_source


def newest_load_files(files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The files of the newest load package among lake files named `<load_id>.<file_id>.parquet`
    (dlt's filesystem layout), e.g. `1796001196.4588594.d009584aac.parquet` is of load
    `1796001196.4588594`. Load ids are the package's creation time in seconds, so the largest
    is the newest.

    Args:
        files: dlt file items (`relative_path`, ...) of one table's lake folder.

    Returns:
        The items of the newest load, in path order; [] for no files.
    """

    def load_id(file: dict[str, Any]) -> float:
        name = file["relative_path"].rsplit("/", 1)[-1]
        return float(name.rsplit(".", 2)[0])

    if not files:
        return []
    newest = max(load_id(file) for file in files)
    return sorted((f for f in files if load_id(f) == newest), key=lambda f: f["relative_path"])


def _newest_load_resource(
    config: filesystem.FilesystemSourceConfig,
    paths: ProjectPaths,
    table: filesystem.FileTableConfig,
    run: RunOptions,
) -> DltResource:
    """A `replace` resource yielding the rows of the newest load package's files of `table`."""
    bucket_url = filesystem.bucket_url_of(config, paths)

    def read_newest_load() -> Iterator[pa.RecordBatch]:
        fs_config = resolve_configuration(
            FilesystemConfiguration(bucket_url=bucket_url), sections=("sources", config.name)
        )
        fs, _ = fsspec_from_config(fs_config)
        for file in newest_load_files(list(glob_files(fs, bucket_url, table.file_glob))):
            try:
                yield from read_arrow_batches(FileItemDict(file, fs), "parquet")
            except FileReadError as error:
                run.file_problems.append(FileProblem(table.name, file["relative_path"], file["file_url"], str(error)))

    return dlt.resource(read_newest_load, name=table.name, write_disposition="replace")


def _keep_lake_load_id(batch: pa.RecordBatch) -> pa.RecordBatch:
    names = batch.schema.names
    if "_dlt_load_id" not in names:
        return batch
    return batch.rename_columns([LAKE_LOAD_ID if n == "_dlt_load_id" else n for n in names])

"""`type: filesystem` sources: csv, jsonl and parquet files in a local folder or a bucket.

Each table is one dlt resource that lists the files matching its glob, skips the files it has
already loaded, and hands the rest to dlt as Arrow batches. Which files were loaded is kept in
the resource's dlt state, which dlt commits together with the load package: a file is recorded
only when its rows are in the warehouse, so a failed run loads it again and a finished one never
does. A file is identified by its relative path, size and modification time, so a file that
arrives late with an older modification time still loads, and a file rewritten in place loads
again (use `merge` with a `primary_key` when files are re-delivered with changed rows).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import dlt
import pyarrow as pa
from dlt.common.configuration import resolve_configuration
from dlt.common.storages import FilesystemConfiguration
from dlt.common.storages.fsspec_filesystem import FileItemDict, fsspec_from_config, glob_files
from dlt.extract.resource import DltResource
from dlt.extract.source import DltSource
from pydantic import Field, field_validator

from ingest_assets.config.common import NAME_PATTERN, LoadOptions, SourceBase, StrictModel
from ingest_assets.settings import ProjectPaths
from ingest_assets.sources.file_readers import FileFormat, read_arrow_batches

LOADED_FILES_STATE_KEY = "loaded_files"


class FileTableConfig(LoadOptions):
    """One warehouse table fed by the files matching `file_glob`.

    Attributes:
        name: table name in `raw_<source>` and last part of the asset key.
        file_glob: glob relative to the source's `bucket_url` (`**` recurses), e.g. `orders*.csv`.
        format: `csv`, `jsonl` or `parquet`.
        description: shown on the asset in the Dagster UI.
    Load options (`write_disposition`, default `append`; `primary_key`; `incremental`) are
    inherited. With `replace`, every run reloads all matching files.
    """

    name: str = Field(pattern=NAME_PATTERN)
    file_glob: str = Field(min_length=1)
    format: FileFormat
    description: str | None = None


class FilesystemBlock(StrictModel):
    """The `filesystem:` block of a source.

    Attributes:
        bucket_url: a folder relative to the project root, an absolute path, or an fsspec URL
            (`s3://`, `gs://`, `az://`, ...) whose credentials dlt reads from
            `[sources.<source name>.credentials]` in `.dlt/secrets.toml` or the environment.
        tables: at least one table; names unique within the source.
    """

    bucket_url: str = Field(min_length=1)
    tables: list[FileTableConfig] = Field(min_length=1)

    @field_validator("tables")
    @classmethod
    def _unique_table_names(cls, tables: list[FileTableConfig]) -> list[FileTableConfig]:
        names = [table.name for table in tables]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"table names must be unique, repeated: {', '.join(duplicates)}")
        return tables


class FilesystemSourceConfig(SourceBase):
    """A source of `type: filesystem`."""

    type: Literal["filesystem"]
    filesystem: FilesystemBlock

    def table_descriptions(self) -> dict[str, str]:
        """Descriptions of the tables that have one, by table name."""
        return {t.name: t.description for t in self.filesystem.tables if t.description}


def build_dlt_source(config: FilesystemSourceConfig, paths: ProjectPaths) -> DltSource:
    """Build a fresh dlt source with one resource per configured table.

    Args:
        config: the validated source config.
        paths: project paths; a relative `bucket_url` is resolved against the project root.

    Returns:
        A `DltSource` named after the source; nothing is listed or read until it is extracted.
    """
    bucket_url = _absolute_bucket_url(config.filesystem.bucket_url, paths)

    @dlt.source(name=config.name, max_table_nesting=0)
    def files() -> list[DltResource]:
        return [
            _table_resource(config.name, bucket_url, table) for table in config.filesystem.tables
        ]

    return files()


def _absolute_bucket_url(bucket_url: str, paths: ProjectPaths) -> str:
    if "://" in bucket_url:
        return bucket_url
    return str(paths.resolve(bucket_url))


def _table_resource(source_name: str, bucket_url: str, table: FileTableConfig) -> DltResource:
    reload_all = table.write_disposition == "replace"

    def read_new_files() -> Iterator[pa.RecordBatch]:
        filesystem = _filesystem(source_name, bucket_url)
        loaded: dict[str, str] = dlt.current.resource_state().setdefault(
            LOADED_FILES_STATE_KEY, {}
        )
        for file in sorted(
            glob_files(filesystem, bucket_url, table.file_glob), key=lambda f: f["relative_path"]
        ):
            fingerprint = _fingerprint(file)
            if not reload_all and loaded.get(file["relative_path"]) == fingerprint:
                continue
            yield from read_arrow_batches(FileItemDict(file, filesystem), table.format)
            loaded[file["relative_path"]] = fingerprint

    resource = dlt.resource(
        read_new_files,
        name=table.name,
        write_disposition=table.write_disposition or "append",
    )
    hints = table.dlt_hints()
    hints.pop("write_disposition", None)
    if hints:
        resource.apply_hints(**hints)
    return resource


def _fingerprint(file: dict) -> str:
    """`<size>:<mtime ISO>`: changes when a file is rewritten, not when it is merely listed."""
    return f"{file.get('size_in_bytes')}:{file['modification_date'].isoformat()}"


def _filesystem(source_name: str, bucket_url: str):
    """An authenticated fsspec filesystem for `bucket_url`, credentials resolved by dlt."""
    config = resolve_configuration(
        FilesystemConfiguration(bucket_url=bucket_url), sections=("sources", source_name)
    )
    filesystem, _ = fsspec_from_config(config)
    return filesystem

"""`type: filesystem` sources: csv, jsonl and parquet files in a local folder or a bucket.

Each table is one dlt resource that lists the files matching its glob, skips the files it has
already loaded, converts each of the rest with DuckDB to one parquet load file (with dlt's
`_dlt_load_id` column) and hands it to dlt to import into the load package as it is
(`dlt.mark.with_file_import`; see `file_readers`). Which files were loaded is kept in
the resource's dlt state, which dlt commits together with the load package: a file is recorded
only when its rows are in the warehouse, so a failed run loads it again and a finished one never
does. A file is identified by its relative path, size and modification time, so a file that
arrives late with an older modification time still loads, and a file rewritten in place loads
again (use `merge` with a `primary_key` when files are re-delivered with changed rows).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Literal

import dlt
from dlt.common.configuration import known_sections, resolve_configuration
from dlt.common.storages import FilesystemConfiguration
from dlt.common.storages.fsspec_filesystem import (
    FileItem,
    FileItemDict,
    fsspec_from_config,
    glob_files,
)
from dlt.extract.resource import DltResource
from dlt.extract.source import DltSource
from dlt.normalize.configuration import ItemsNormalizerConfiguration
from pydantic import Field, field_validator

from ingest_assets.config.common import NAME_PATTERN, LoadOptions, SourceBase, StrictModel, repeated
from ingest_assets.settings import ProjectPaths
from ingest_assets.sources.file_readers import (
    FileFormat,
    FileReadError,
    read_arrow_batches,
    write_load_file,
)
from ingest_assets.sources.run_options import FileProblem, RunOptions

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
        quarantine_dir: optional local folder (relative to the project) that files which cannot
            be read are moved to, so later runs do not trip over them again; without it they
            stay in place, are reported and fail the run until fixed or removed.
    """

    bucket_url: str = Field(min_length=1)
    tables: list[FileTableConfig] = Field(min_length=1)
    quarantine_dir: str | None = None

    @field_validator("tables")
    @classmethod
    def _unique_table_names(cls, tables: list[FileTableConfig]) -> list[FileTableConfig]:
        if duplicates := repeated([table.name for table in tables]):
            raise ValueError(f"table names must be unique, repeated: {', '.join(duplicates)}")
        return tables


class FilesystemSourceConfig(SourceBase):
    """A source of `type: filesystem`.

    Attributes:
        sensor: start a run when new or changed files match the tables' globs.
        minimum_interval_seconds: seconds between two sensor ticks.
        settle_seconds: the sensor requests a file only once its size and modification time
            have stayed the same for this long (and at least over two ticks); 0 = two ticks.
        ready_marker: `none`; `success_file`: a file is ready once `_SUCCESS` exists in its
            folder (Spark, Hadoop); `done_file`: once `<file>.done` exists. With a marker the
            sensor does not wait for `settle_seconds` (see `orchestration.sensors`).
    """

    type: Literal["filesystem"]
    filesystem: FilesystemBlock
    sensor: bool = False
    minimum_interval_seconds: int = Field(default=30, ge=1)
    settle_seconds: int = Field(default=60, ge=0)
    ready_marker: Literal["none", "success_file", "done_file"] = "none"

    def table_options(self) -> dict[str, LoadOptions]:
        """The options of every configured table, by table name."""
        return {table.name: table for table in self.filesystem.tables}

    def table_descriptions(self) -> dict[str, str]:
        """Descriptions of the tables that have one, by table name."""
        return {t.name: t.description for t in self.filesystem.tables if t.description}


def build_dlt_source(
    config: FilesystemSourceConfig, paths: ProjectPaths, run: RunOptions | None = None
) -> DltSource:
    """Build a fresh dlt source with one resource per configured table.

    Args:
        config: the validated source config.
        paths: project paths; a relative `bucket_url` is resolved against the project root.
        run: per-run options: the files a sensor selected, and the list that collects files
            which cannot be read (see `RunOptions`).

    Returns:
        A `DltSource` named after the source; nothing is listed or read until it is extracted.
    """
    run = run or RunOptions()

    @dlt.source(name=config.name, max_table_nesting=0)
    def files() -> list[DltResource]:
        return [_table_resource(config, paths, table, run) for table in config.filesystem.tables]

    return files()


def list_files(config: FilesystemSourceConfig, paths: ProjectPaths, table: FileTableConfig) -> list[FileItem]:
    """List the files matching `table.file_glob` under the source's bucket, sorted by path.

    Each item has `relative_path`, `file_url`, `size_in_bytes` and `modification_date` (see
    dlt's `FileItem`). Credentials of remote buckets are resolved by dlt.
    """
    bucket_url = bucket_url_of(config, paths)
    filesystem = _filesystem(config.name, bucket_url)
    return sorted(glob_files(filesystem, bucket_url, table.file_glob), key=lambda f: f["relative_path"])


def fingerprint(file: FileItem) -> str:
    """`<size>:<mtime ISO>` of a listed file: changes when the file is rewritten or grows."""
    return f"{file.get('size_in_bytes')}:{file['modification_date'].isoformat()}"


def loaded_files(config: FilesystemSourceConfig, paths: ProjectPaths) -> dict[str, dict[str, str]]:
    """The files each table has loaded, `{table: {relative_path: fingerprint}}`.

    Read from the pipeline's local dlt state in `.dlt/pipelines/<source>/` (written after every
    load; the warehouse holds the same state), so it needs no warehouse connection. Tables that
    never loaded are absent; an unreadable or missing state gives `{}`.
    """
    state_file = paths.pipelines_dir / config.name / "state.json"
    try:
        state = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return {}
    resources = state.get("sources", {}).get(config.name, {}).get("resources", {})
    return {
        table: dict(resource_state.get(LOADED_FILES_STATE_KEY, {}))
        for table, resource_state in resources.items()
        if LOADED_FILES_STATE_KEY in resource_state
    }


def bucket_url_of(config: FilesystemSourceConfig, paths: ProjectPaths) -> str:
    """The source's bucket URL with a relative local folder made absolute."""
    bucket_url = config.filesystem.bucket_url
    return bucket_url if "://" in bucket_url else str(paths.resolve(bucket_url))


def _table_resource(
    config: FilesystemSourceConfig, paths: ProjectPaths, table: FileTableConfig, run: RunOptions
) -> DltResource:
    reload_all = table.write_disposition == "replace"
    selected = None if run.selected_files is None else run.selected_files.get(table.name, {})
    bucket_url = bucket_url_of(config, paths)

    def read_new_files() -> Iterator[Any]:
        filesystem = _filesystem(config.name, bucket_url)
        loaded: dict[str, str] = dlt.current.resource_state().setdefault(LOADED_FILES_STATE_KEY, {})
        files = sorted(
            glob_files(filesystem, bucket_url, table.file_glob), key=lambda f: f["relative_path"]
        )
        import_files = _can_import_files(config)
        with ExitStack() as stack:
            work: Path | None = None
            for file in files:
                path, current = file["relative_path"], fingerprint(file)
                if selected is not None and selected.get(path) != current:
                    continue  # not chosen by the sensor, or changed since it was seen
                if not reload_all and loaded.get(path) == current:
                    continue
                item = FileItemDict(file, filesystem)
                try:
                    if not import_files:
                        yield from read_arrow_batches(item, table.format)
                    else:
                        work = work or stack.enter_context(_work_dir())
                        load_file = write_load_file(item, table.format, work / "load.parquet", _load_id())
                except FileReadError as error:
                    run.file_problems.append(FileProblem(table.name, path, file["file_url"], str(error)))
                    continue
                if import_files and load_file.rows:
                    # dlt hard-links the file into the load package (parquet with the load id
                    # column, so its normalizer imports it as is); the columns come from its
                    # schema. A file without rows is recorded but not imported: like an empty
                    # Arrow stream, it must not type the table's columns (DuckDB types a
                    # header-only CSV as all text)
                    yield dlt.mark.with_file_import(
                        str(load_file.path),
                        "parquet",
                        items_count=load_file.rows,
                        hints=load_file.schema.empty_table(),
                    )
                if import_files:
                    load_file.path.unlink(missing_ok=True)
                loaded[path] = current

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


FILE_IMPORT_CONTRACTS = (None, "evolve", "freeze")
"""Schema contracts under which files are converted to load files dlt imports as they are.

`freeze` rejects new columns from the file's schema (the column hints), before anything is
imported; `discard_row` and `discard_value` filter the data itself, so they need the rows as
Arrow batches."""


def _can_import_files(config: FilesystemSourceConfig) -> bool:
    """True when the resource being extracted may hand dlt whole load files.

    Not when its rows must pass through Python: a schema contract that filters rows or values,
    or any step after the file reader (an incremental cursor, a map such as the lake
    projection's, a limit), which sees only Arrow data; nor outside a dlt extract.
    """
    if config.schema_contract not in FILE_IMPORT_CONTRACTS:
        return False
    try:
        steps = dlt.current.pipe().steps
        dlt.current.load_package_state()
    except Exception:  # noqa: BLE001 - not run by a pipeline's extract: stream Arrow batches
        return False
    return len(steps) == 1


def _load_id() -> str | None:
    """The id of the load package being extracted, when dlt is configured to add the
    `_dlt_load_id` column to Arrow data (it is in this project's `.dlt/config.toml`); else None."""
    normalize = resolve_configuration(
        ItemsNormalizerConfiguration(), sections=(known_sections.NORMALIZE, "parquet_normalizer")
    )
    if not normalize.add_dlt_load_id:
        return None
    return dlt.current.load_package_state()["load_id"]


@contextmanager
def _work_dir() -> Iterator[Path]:
    """A temporary folder inside the extracting pipeline's working folder: on the file system of
    the load package, so dlt imports load files by hard link, not by copy."""
    try:
        parent: str | None = dlt.current.pipeline().working_dir
    except Exception:  # noqa: BLE001 - no active pipeline: fall back to the system temp folder
        parent = None
    with tempfile.TemporaryDirectory(prefix="file_import_", dir=parent) as work:
        yield Path(work)


def _filesystem(source_name: str, bucket_url: str):
    """An authenticated fsspec filesystem for `bucket_url`, credentials resolved by dlt."""
    config = resolve_configuration(
        FilesystemConfiguration(bucket_url=bucket_url), sections=("sources", source_name)
    )
    filesystem, _ = fsspec_from_config(config)
    return filesystem

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

Each file is read with the table's reader options (`csv:`, `json:`, `columns:`) and typed to the
columns the table already has in the pipeline's dlt schema: a file whose values do not fit
(`notadate` in a timestamp column, `abc` in an integer column), that cannot be read, or that has a
column named like dlt's own fails alone, named with line and column where the reader knows them
(`RunOptions.file_problems`); the other files load.

Paths stay inside the source's folder: `file_glob` is relative to `bucket_url` and may not hold
`..` or an absolute path (checked when sources.yml is validated), a relative local `bucket_url`
may not climb out of the project with `..` (write an absolute path for a folder elsewhere), and
a run refuses a matched local file whose real path (symlinks resolved) is outside `bucket_url`.
"""

from __future__ import annotations

import glob
import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

from ingest_assets.config.common import NAME_PATTERN, LoadOptions, SourceBase, StrictModel, repeated
from ingest_assets.settings import ProjectPaths
from ingest_assets.sources.file_readers import (
    CsvOptions,
    FileFormat,
    DLT_COLUMNS,
    FileReadError,
    JsonOptions,
    ReadSpec,
    canonical_type,
    read_arrow_batches,
    write_load_file,
)
from ingest_assets.sources.run_options import FileProblem, RunOptions

if TYPE_CHECKING:
    from dlt.common.storages import FilesystemConfiguration
    from dlt.common.storages.fsspec_filesystem import FileItem
    from dlt.common.storages.fsspec_filesystem import FileItemDict
    from dlt.extract.resource import DltResource
    from dlt.extract.source import DltSource

LOADED_FILES_STATE_KEY = "loaded_files"


class FileTableConfig(LoadOptions):
    """One warehouse table fed by the files matching `file_glob`.

    Attributes:
        name: table name in `raw_<source>` and last part of the asset key.
        file_glob: glob relative to the source's `bucket_url` (`**` recurses), e.g. `orders*.csv`;
            no `..` segment and no absolute path (it must stay inside the source's folder).
        format: `csv`, `jsonl` (one JSON object per line), `json` (a JSON array or objects,
            detected) or `parquet`.
        csv: csv reader options (`CsvOptions`); only with `format: csv`.
        json: JSON reader options (`JsonOptions`); only with `format: jsonl` or `json`.
        columns: `{column: DuckDB type}` (`DOUBLE`, `VARCHAR`, `DATE`, `DECIMAL(12,2)`, ...)
            for columns whose type should not be detected; applies to columns the table does
            not have yet (the table's existing types always win).
        description: shown on the asset in the Dagster UI.
    Load options (`write_disposition`, default `append`; `primary_key`; `incremental`) are
    inherited. With `replace`, every run reloads all matching files.
    """

    name: str = Field(pattern=NAME_PATTERN)
    file_glob: str = Field(min_length=1)
    format: FileFormat
    csv: CsvOptions | None = None
    json_options: JsonOptions | None = Field(default=None, alias="json")
    columns: dict[str, str] | None = None
    description: str | None = None

    @field_validator("file_glob")
    @classmethod
    def _glob_stays_inside(cls, value: str) -> str:
        if problem := _path_escape(value, allow_absolute=False):
            raise ValueError(
                f"file_glob {value!r} {problem}; it is relative to bucket_url and must stay inside it"
            )
        return value

    @field_validator("columns")
    @classmethod
    def _duckdb_types(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        return {column: canonical_type(type_text) for column, type_text in value.items()}

    @model_validator(mode="after")
    def _options_fit_format(self) -> "FileTableConfig":
        if self.csv is not None and self.format != "csv":
            raise ValueError(f"`csv:` options need format: csv, not {self.format}")
        if self.json_options is not None and self.format not in ("jsonl", "json"):
            raise ValueError(f"`json:` options need format: jsonl or json, not {self.format}")
        return self

    def read_spec(self, **table_state: Any) -> ReadSpec:
        """How this table's files are read (see `ReadSpec`); `table_state` adds `existing`,
        `normalize` and `keep_dlt_columns`."""
        return ReadSpec(
            format=self.format,
            csv=self.csv or CsvOptions(),
            json=self.json_options or JsonOptions(),
            columns=self.columns or {},
            **table_state,
        )


class FilesystemBlock(StrictModel):
    """The `filesystem:` block of a source.

    Attributes:
        bucket_url: a folder relative to the project root (without `..`), an absolute path,
            or an fsspec URL (`s3://`, `gs://`, `az://`, ...) whose credentials dlt reads from
            `[sources.<source name>.credentials]` in `.dlt/secrets.toml` or the environment.
            It is "the source's folder": every file read lies under it.
        tables: at least one table; names unique within the source.
        quarantine_dir: optional local folder (relative to the project) that files which cannot
            be read are moved to, so later runs do not trip over them again; without it they
            stay in place, are reported and fail the run until fixed or removed.
    """

    bucket_url: str = Field(min_length=1)
    tables: list[FileTableConfig] = Field(min_length=1)
    quarantine_dir: str | None = None

    @field_validator("bucket_url")
    @classmethod
    def _bucket_stays_put(cls, value: str) -> str:
        if "://" in value:
            path = value.split("://", 1)[1]
            problem = _path_escape(path, allow_absolute=True)
        else:
            problem = _path_escape(value, allow_absolute=True)
        if problem:
            raise ValueError(
                f"bucket_url {value!r} {problem}; write the folder as a path inside the project, "
                "or as an absolute path when it is elsewhere"
            )
        return value

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
    config: FilesystemSourceConfig,
    paths: ProjectPaths,
    run: RunOptions | None = None,
    *,
    keep_dlt_columns: bool = False,
) -> DltSource:
    """Build a fresh dlt source with one resource per configured table.

    Args:
        config: the validated source config.
        paths: project paths; a relative `bucket_url` is resolved against the project root.
        run: per-run options: the files a sensor selected; it collects the files which cannot
            be read and the number of files each table's glob matched (see `RunOptions`).
        keep_dlt_columns: read columns named like dlt's own (`_dlt_load_id`, `_dlt_id`) as data;
            only for files dlt wrote (the lake projection). Otherwise a file with such a column
            fails with an error naming it.

    Returns:
        A `DltSource` named after the source; nothing is listed or read until it is extracted.
    """
    from dlt.extract.resource import DltResource
    import dlt

    run = run or RunOptions()

    @dlt.source(name=config.name, max_table_nesting=0)
    def files() -> list[DltResource]:
        return [
            _table_resource(config, paths, table, run, keep_dlt_columns)
            for table in config.filesystem.tables
        ]

    return files()


def list_files(
    config: FilesystemSourceConfig, paths: ProjectPaths, table: FileTableConfig
) -> list[FileItem]:
    """List the files matching `table.file_glob` under the source's bucket, sorted by path.

    Each item has `relative_path`, `file_url`, `size_in_bytes` and `modification_date` (see
    dlt's `FileItem`). Credentials of remote buckets are resolved by dlt.
    """
    from dlt.common.storages.fsspec_filesystem import glob_files

    bucket_url = bucket_url_of(config, paths)
    filesystem = source_filesystem(config.name, bucket_url)
    return sorted(
        glob_files(filesystem, bucket_url, table.file_glob), key=lambda f: f["relative_path"]
    )


def path_warnings(config: FilesystemSourceConfig, paths: ProjectPaths) -> list[str]:
    """Problems that would make a run of a local-folder source load nothing, without failing.

    Returns one line per problem, each naming the path: the source's local folder does not
    exist (or is not a folder), a table's `file_glob` matches no file in it, or a matched file
    is a link to a path outside the folder (which runs refuse). Remote buckets
    are not listed (that needs credentials and the network; the sensor and the run report them).
    Used by `ingest validate`, which prints these as warnings.
    """
    bucket_url = bucket_url_of(config, paths)
    if "://" in bucket_url:
        return []
    folder = Path(bucket_url)
    if not folder.is_dir():
        state = "is not a folder" if folder.exists() else "does not exist"
        return [f"source '{config.name}': bucket_url folder {folder} {state}"]
    warnings = []
    inside = folder.resolve()
    for table in config.filesystem.tables:
        # listed as dlt's `glob_files` lists a local folder (Python's recursive glob, files
        # only), without importing dlt
        files = sorted(
            f for f in glob.glob(str(folder / table.file_glob), recursive=True) if os.path.isfile(f)
        )
        if not files:
            warnings.append(
                f"source '{config.name}': table '{table.name}': file_glob {table.file_glob!r} "
                f"matches no file in {folder}"
            )
        for file in files:
            real = Path(file).resolve()
            if not real.is_relative_to(inside):
                warnings.append(
                    f"source '{config.name}': table '{table.name}': {Path(file).relative_to(folder).as_posix()} links to "
                    f"{real}, outside {folder}; runs refuse it"
                )
    return warnings


def outside_folder(bucket_url: str, file: FileItem) -> str | None:
    """The real path of a local `file` when it lies outside the folder `bucket_url` (a symlink
    pointing out of it), else None. Remote files (no symlinks) are never outside."""
    from dlt.common.storages import FilesystemConfiguration

    if not file["file_url"].startswith("file://") or "://" in bucket_url:
        return None
    real = Path(FilesystemConfiguration.make_local_path(file["file_url"])).resolve()
    if real.is_relative_to(Path(bucket_url).resolve()):
        return None
    return str(real)


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


def _path_escape(path: str, allow_absolute: bool) -> str | None:
    """Why `path` (a local path, glob, or the path of a URL) may leave its folder, or None."""
    if not allow_absolute and (
        path.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", path) or "://" in path
    ):
        return "is an absolute path"
    if ".." in re.split(r"[/\\]+", path):
        return "has a '..' segment"
    return None


def _table_resource(
    config: FilesystemSourceConfig,
    paths: ProjectPaths,
    table: FileTableConfig,
    run: RunOptions,
    keep_dlt_columns: bool,
) -> DltResource:
    from dlt.common.storages.fsspec_filesystem import FileItemDict
    from dlt.common.storages.fsspec_filesystem import glob_files
    import dlt

    reload_all = table.write_disposition == "replace"
    selected = None if run.selected_files is None else run.selected_files.get(table.name, {})
    bucket_url = bucket_url_of(config, paths)

    def read_new_files() -> Iterator[Any]:
        filesystem = source_filesystem(config.name, bucket_url)
        loaded: dict[str, str] = dlt.current.resource_state().setdefault(LOADED_FILES_STATE_KEY, {})
        files = sorted(
            glob_files(filesystem, bucket_url, table.file_glob), key=lambda f: f["relative_path"]
        )
        run.files_matched[table.name] = len(files)
        import_files = _can_import_files(config)
        with ExitStack() as stack:
            work: Path | None = None
            for file in files:
                path, current = file["relative_path"], fingerprint(file)
                if selected is not None and selected.get(path) != current:
                    continue  # not chosen by the sensor, or changed since it was seen
                if not reload_all and loaded.get(path) == current:
                    continue
                if (real := outside_folder(bucket_url, file)) is not None:
                    run.file_problems.append(
                        FileProblem(
                            table.name,
                            path,
                            file["file_url"],
                            f"refused {path}: it links to {real}, outside the source's folder {bucket_url}",
                        )
                    )
                    continue
                item = FileItemDict(file, filesystem)
                # per file: the schema grows with each file dlt has taken in, so the files of a
                # first load are typed like the first one that brought a column
                spec = table.read_spec(
                    keep_dlt_columns=keep_dlt_columns, **_table_columns(table.name)
                )
                try:
                    if not import_files:
                        yield from read_arrow_batches(item, spec)
                    else:
                        work = work or stack.enter_context(_work_dir())
                        load_file = write_load_file(item, spec, work / "load.parquet", _load_id())
                except FileReadError as error:
                    run.file_problems.append(
                        FileProblem(
                            table.name, path, file["file_url"], str(error), error.line, error.column
                        )
                    )
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


def _table_columns(table_name: str) -> dict[str, Any]:
    """`existing` (the table's typed columns in the pipeline's dlt schema, without dlt's own)
    and `normalize` (the schema's name normalization) of a `ReadSpec`, read from the schema
    being extracted (the pipeline's schema, synced from the warehouse); empty outside an extract
    and for a table that does not exist yet."""
    import dlt

    try:
        schema = dlt.current.source_schema()
    except Exception:  # noqa: BLE001 - not inside an extract: nothing to type against
        return {}
    existing = {}
    if table_name in schema.tables:
        existing = {
            name: column
            for name, column in schema.get_table_columns(table_name).items()
            if column.get("data_type") and name not in DLT_COLUMNS
        }
    return {"existing": existing, "normalize": schema.naming.normalize_identifier}


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
    import dlt

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
    from dlt.common.configuration import known_sections
    from dlt.common.configuration import resolve_configuration
    from dlt.normalize.configuration import ItemsNormalizerConfiguration
    import dlt

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
    import dlt

    try:
        parent: str | None = dlt.current.pipeline().working_dir
    except Exception:  # noqa: BLE001 - no active pipeline: fall back to the system temp folder
        parent = None
    with tempfile.TemporaryDirectory(prefix="file_import_", dir=parent) as work:
        yield Path(work)


def source_filesystem(source_name: str, bucket_url: str):
    """An authenticated fsspec filesystem for `bucket_url` (a local folder or a bucket URL), its
    credentials resolved by dlt under `[sources.<source_name>]` (secrets.toml or the environment).
    Used by the source's listing, the reconcile check and the load step's file probe.

    Raises:
        ConfigFieldMissingException: the bucket needs credentials that are set nowhere."""
    from dlt.common.configuration import resolve_configuration
    from dlt.common.storages import FilesystemConfiguration
    from dlt.common.storages.fsspec_filesystem import fsspec_from_config

    config = resolve_configuration(
        FilesystemConfiguration(bucket_url=bucket_url), sections=("sources", source_name)
    )
    filesystem, _ = fsspec_from_config(config)
    return filesystem

"""`type: filesystem` sources: csv, jsonl and parquet files in a local folder or a bucket.

Each table is one dlt resource that lists the files matching its glob, skips the files it has
already loaded, converts each of the rest with DuckDB to one parquet load file (with dlt's
`_dlt_load_id` column) and hands it to dlt to import into the load package as it is
(`dlt.mark.with_file_import`; see `readers`). Which files were loaded is kept in
the resource's dlt state, which dlt commits together with the load package: a file is recorded
only when its rows are in the warehouse, so a failed run loads it again and a finished one never
does. A file is identified by its relative path, size and modification time, so a file that
arrives late with an older modification time still loads, and a file rewritten in place loads
again (use `merge` with a `primary_key` when files are re-delivered with changed rows).

Each file is read with the table's reader options (`csv:`, `json:`, `columns:`) and typed to the
columns the table already has in the pipeline's dlt schema: a file whose values do not fit
(`notadate` in a timestamp column, `abc` in an integer column), that cannot be read, or that has a
column named like dlt's own fails alone, named with line and column where the reader knows them
(`ExtractReport.unreadable`); the other files load.

Paths stay inside the source's folder: `file_glob` is relative to `bucket_url` and may not hold
`..` or an absolute path (checked when sources.yml is validated), a relative local `bucket_url`
may not climb out of the project with `..` (write an absolute path for a folder elsewhere), and
a run refuses a matched local file whose real path (symlinks resolved) is outside `bucket_url`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import dlt
from dlt.common.configuration import known_sections, resolve_configuration
from dlt.common.storages.fsspec_filesystem import (
    FileItemDict,
    glob_files,
)
from dlt.extract.resource import DltResource
from dlt.extract.source import DltSource
from dlt.normalize.configuration import ItemsNormalizerConfiguration

from ingest_assets import partitions
from ingest_assets.settings import ProjectPaths
from ingest_assets.sources.base import ExtractReport, FileProblem
from ingest_assets.sources.filesystem.config import FilesystemSourceConfig, FileTableConfig
from ingest_assets.sources.filesystem.listing import (
    LOADED_FILES_STATE_KEY,
    bucket_url_of,
    fingerprint,
    outside_folder,
    source_filesystem,
)
from ingest_assets.sources.filesystem.options import DLT_COLUMNS, FileReadError


def build_dlt_source(
    config: FilesystemSourceConfig,
    paths: ProjectPaths,
    report: ExtractReport | None = None,
    selected: Mapping[str, Mapping[str, str]] | None = None,
    *,
    keep_dlt_columns: bool = False,
    window: partitions.PartitionWindow | None = None,
) -> DltSource:
    """Build a fresh dlt source with one resource per configured table.

    Args:
        config: the validated source config.
        paths: project paths; a relative `bucket_url` is resolved against the project root.
        report: this run's extract report, filled while the source is extracted: the files
            which cannot be read (`unreadable`), each table's `files_matched` metadata, and a
            warning for a glob that matched no file. None: a report nobody reads.
        selected: `{table: {relative_path: fingerprint}}` of the files a sensor saw settled:
            only those files are loaded, and only if unchanged since. None loads every matching
            file not loaded yet.
        keep_dlt_columns: read columns named like dlt's own (`_dlt_load_id`, `_dlt_id`) as data;
            only for files dlt wrote (the lake projection). Otherwise a file with such a column
            fails with an error naming it.
        window: a partitioned run's window: exactly the files in it are loaded (again), each
            file's rows tagged with its partition (`partitions.file_partition`).

    Returns:
        A `DltSource` named after the source; nothing is listed or read until it is extracted.
    """
    report = report if report is not None else ExtractReport()

    @dlt.source(name=config.name, max_table_nesting=0)
    def files() -> list[DltResource]:
        return [
            _table_resource(config, paths, table, report, selected, keep_dlt_columns, window)
            for table in config.filesystem.tables
        ]

    return files()


def _table_resource(
    config: FilesystemSourceConfig,
    paths: ProjectPaths,
    table: FileTableConfig,
    report: ExtractReport,
    selection: Mapping[str, Mapping[str, str]] | None,
    keep_dlt_columns: bool,
    window: partitions.PartitionWindow | None = None,
) -> DltResource:
    reload_all = table.write_disposition == "replace"
    selected = None if selection is None else selection.get(table.name, {})
    bucket_url = bucket_url_of(config, paths)

    def read_new_files() -> Iterator[Any]:
        # the readers (pyarrow, DuckDB) are imported by the run that reads, not at definitions load
        from ingest_assets.sources.filesystem.readers import read_arrow_batches, write_load_file

        filesystem = source_filesystem(config.name, bucket_url)
        loaded: dict[str, str] = dlt.current.resource_state().setdefault(LOADED_FILES_STATE_KEY, {})
        files = sorted(
            glob_files(filesystem, bucket_url, table.file_glob), key=lambda f: f["relative_path"]
        )
        _report_matched(config, table.name, len(files), report)
        import_files = _can_import_files(config) and window is None  # partitions tag rows
        with ExitStack() as stack:
            work: Path | None = None
            for file in files:
                path, current = file["relative_path"], fingerprint(file)
                partition = None
                if window is not None:  # a partition's run loads every file of its window again
                    partition = partitions.file_partition(window, table.date_pattern, file)
                    if partition is None:
                        continue
                elif selected is not None and selected.get(path) != current:
                    continue  # not chosen by the sensor, or changed since it was seen
                elif not reload_all and loaded.get(path) == current:
                    continue
                if (real := outside_folder(bucket_url, file)) is not None:
                    report.unreadable.append(
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
                    if partition is not None:
                        for batch in read_arrow_batches(item, spec):
                            yield partitions.with_partition_column(batch, partition)
                    elif not import_files:
                        yield from read_arrow_batches(item, spec)
                    else:
                        work = work or stack.enter_context(_work_dir())
                        load_file = write_load_file(item, spec, work / "load.parquet", _load_id())
                except FileReadError as error:
                    report.unreadable.append(
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
    if config.partitions is not None:
        hints.update(partitions.merge_hints())
    if hints:
        resource.apply_hints(**hints)
    return resource


def _report_matched(
    config: FilesystemSourceConfig, table: str, matched: int, report: ExtractReport
) -> None:
    """`files_matched` metadata of a table: all files its glob matched, loaded before or not; a
    glob that matched no file gets a warning (a first load then fails the row_count check)."""
    metadata: dict[str, Any] = {"files_matched": matched}
    if not matched:
        message = f"source '{config.name}': table '{table}': its file_glob matched no file; nothing to load"
        metadata["files_message"] = message
        report.warnings[table] = message
    report.table_metadata[table] = metadata


def _table_columns(table_name: str) -> dict[str, Any]:
    """`existing` (the table's typed columns in the pipeline's dlt schema, without dlt's own)
    and `normalize` (the schema's name normalization) of a `ReadSpec`, read from the schema
    being extracted (the pipeline's schema, synced from the warehouse); empty outside an extract
    and for a table that does not exist yet."""
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

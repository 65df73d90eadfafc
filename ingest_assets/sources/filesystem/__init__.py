"""`type: filesystem` sources: csv, jsonl and parquet files in a local folder or a bucket.

Modules: `config` (the `filesystem:` block), `listing` (files per table and their fingerprints,
what the file sensor sees), `file_state` (what a table has loaded, and a local folder's
fingerprints, without dlt), `folder_warnings` (what `ingest validate` says about a local folder,
without dlt), `options` (reader options and column types),
`readers` (reading one file into a load file),
`source` (the dlt source of one run), `probe` (which file a refused load job held),
`quarantine` (moving files a run could not load aside).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest_assets.lazy_exports import lazy_getattr
from ingest_assets.settings import ProjectPaths
from ingest_assets.sources.base import Extract, ExtractReport, FileProblem, SourceType
from ingest_assets.sources.filesystem.config import (
    FilesystemBlock,
    FilesystemSourceConfig,
    FileTableConfig,
)

if TYPE_CHECKING:
    from ingest_assets.sources.filesystem.file_state import LOADED_FILES_STATE_KEY, loaded_files
    from ingest_assets.sources.filesystem.folder_warnings import bucket_url_of, path_warnings
    from ingest_assets.sources.filesystem.listing import (
        fingerprint,
        list_files,
        outside_folder,
        source_filesystem,
    )
    from ingest_assets.sources.filesystem.source import build_dlt_source

_EXPORTS = {
    "LOADED_FILES_STATE_KEY": "ingest_assets.sources.filesystem.file_state",
    "bucket_url_of": "ingest_assets.sources.filesystem.folder_warnings",
    "fingerprint": "ingest_assets.sources.filesystem.listing",
    "list_files": "ingest_assets.sources.filesystem.listing",
    "loaded_files": "ingest_assets.sources.filesystem.file_state",
    "outside_folder": "ingest_assets.sources.filesystem.listing",
    "path_warnings": "ingest_assets.sources.filesystem.folder_warnings",
    "source_filesystem": "ingest_assets.sources.filesystem.listing",
    "build_dlt_source": "ingest_assets.sources.filesystem.source",
}
"""Public name -> the module that defines it, imported on first access (so that `SOURCE_TYPE`
and the config model load without the type's heavy libraries: dlt, sqlalchemy, sqlglot)."""


class FilesystemType(SourceType):
    """The `filesystem` source type: its position is the set of files loaded per table."""

    name = "filesystem"
    config_model = FilesystemSourceConfig

    def build(
        self,
        config: FilesystemSourceConfig,  # type: ignore[override]
        paths: ProjectPaths,
        selected: Mapping[str, Mapping[str, str]] | None = None,
        *,
        keep_dlt_columns: bool = False,
        window: Any = None,
    ) -> Extract:
        """See `SourceType.build`; `keep_dlt_columns` and `window` (a partitioned run's) as in
        `source.build_dlt_source`."""
        from ingest_assets.sources.filesystem.source import build_dlt_source

        report = ExtractReport()
        dlt_source = build_dlt_source(
            config, paths, report, selected, keep_dlt_columns=keep_dlt_columns, window=window
        )
        return Extract(dlt_source, report, self, config)

    def listing(
        self, config: FilesystemSourceConfig, paths: ProjectPaths
    ) -> dict[str, dict[str, str]]:  # type: ignore[override]
        """`{table: {relative_path: fingerprint}}` of the files each table's glob matches now."""
        from ingest_assets.sources.filesystem.listing import fingerprint, list_files

        return {
            table.name: {
                f["relative_path"]: fingerprint(f) for f in list_files(config, paths, table)
            }
            for table in config.filesystem.tables
        }

    def cursor(self, resource_state: Mapping[str, Any]) -> tuple[str | None, dict[str, str]]:
        """`N files` and the files loaded so far, from the resource's dlt state."""
        from ingest_assets.sources.filesystem.file_state import LOADED_FILES_STATE_KEY

        if LOADED_FILES_STATE_KEY not in resource_state:
            return super().cursor(resource_state)
        files = dict(resource_state[LOADED_FILES_STATE_KEY])
        return f"{len(files)} files", files

    def refused_items(
        self,
        config: FilesystemSourceConfig,  # type: ignore[override]
        paths: ProjectPaths,
        warehouse: Path,
        dataset: str,
        table: str,
        candidates: list[str],
    ) -> list[FileProblem]:
        """The files whose rows the warehouse refuses (see `probe.unloadable_files`)."""
        from ingest_assets.sources.filesystem.probe import unloadable_files

        return unloadable_files(config, paths, warehouse, dataset, table, candidates)

    def set_aside(
        self, config: FilesystemSourceConfig, paths: ProjectPaths, problems: list[FileProblem]
    ) -> Path | None:  # type: ignore[override]
        """Move the local files of `problems` to `quarantine_dir` (see `quarantine.quarantine`)."""
        from ingest_assets.sources.filesystem.quarantine import quarantine

        return quarantine(config, paths, problems)


SOURCE_TYPE = FilesystemType()

__all__ = [
    "LOADED_FILES_STATE_KEY",
    "SOURCE_TYPE",
    "FileTableConfig",
    "FilesystemBlock",
    "FilesystemSourceConfig",
    "FilesystemType",
    "bucket_url_of",
    "build_dlt_source",
    "fingerprint",
    "list_files",
    "loaded_files",
    "outside_folder",
    "path_warnings",
    "source_filesystem",
]


__getattr__ = lazy_getattr(__name__, _EXPORTS)

"""What a `filesystem` source has now: its files per table (listed with dlt) and their
fingerprints. What it has loaded, and a local folder listed without dlt, are in `file_state`;
the warnings `ingest validate` prints about its folder are in `folder_warnings` (no dlt)."""

from __future__ import annotations

from pathlib import Path

from dlt.common.configuration import resolve_configuration
from dlt.common.storages import FilesystemConfiguration
from dlt.common.storages.fsspec_filesystem import (
    FileItem,
    fsspec_from_config,
    glob_files,
)

from ingest_assets.settings import ProjectPaths
from ingest_assets.sources.filesystem.config import FilesystemSourceConfig, FileTableConfig
from ingest_assets.sources.filesystem.file_state import (  # noqa: F401 - re-exported
    LOADED_FILES_STATE_KEY,
    loaded_files,
)
from ingest_assets.sources.filesystem.folder_warnings import bucket_url_of


def list_files(
    config: FilesystemSourceConfig, paths: ProjectPaths, table: FileTableConfig
) -> list[FileItem]:
    """List the files matching `table.file_glob` under the source's bucket, sorted by path.

    Each item has `relative_path`, `file_url`, `size_in_bytes` and `modification_date` (see
    dlt's `FileItem`). Credentials of remote buckets are resolved by dlt.
    """
    bucket_url = bucket_url_of(config, paths)
    filesystem = source_filesystem(config.name, bucket_url)
    return sorted(
        glob_files(filesystem, bucket_url, table.file_glob), key=lambda f: f["relative_path"]
    )


def outside_folder(bucket_url: str, file: FileItem) -> str | None:
    """The real path of a local `file` when it lies outside the folder `bucket_url` (a symlink
    pointing out of it), else None. Remote files (no symlinks) are never outside."""
    if not file["file_url"].startswith("file://") or "://" in bucket_url:
        return None
    real = Path(FilesystemConfiguration.make_local_path(file["file_url"])).resolve()
    if real.is_relative_to(Path(bucket_url).resolve()):
        return None
    return str(real)


def fingerprint(file: FileItem) -> str:
    """`<size>:<mtime ISO>` of a listed file: changes when the file is rewritten or grows."""
    return f"{file.get('size_in_bytes')}:{file['modification_date'].isoformat()}"


def source_filesystem(source_name: str, bucket_url: str):
    """An authenticated fsspec filesystem for `bucket_url` (a local folder or a bucket URL), its
    credentials resolved by dlt under `[sources.<source_name>]` (secrets.toml or the environment).
    Used by the source's listing, the reconcile check and the load step's file probe.

    Raises:
        ConfigFieldMissingException: the bucket needs credentials that are set nowhere."""
    config = resolve_configuration(
        FilesystemConfiguration(bucket_url=bucket_url), sections=("sources", source_name)
    )
    filesystem, _ = fsspec_from_config(config)
    return filesystem

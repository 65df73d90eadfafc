"""The warnings `ingest validate` prints about a local-folder `filesystem` source: its folder
is missing, a glob matches nothing, a matched file links outside the folder.

The folder is listed the way dlt's `glob_files` lists a local folder (Python's `glob` with `**`
recursive, files only), without importing dlt, so `ingest validate` stays light; runs and the
sensor list files with dlt (`listing.list_files`).
"""

from __future__ import annotations

import glob
from pathlib import Path

from ingest_assets.settings import ProjectPaths
from ingest_assets.sources.filesystem.config import FilesystemSourceConfig


def bucket_url_of(config: FilesystemSourceConfig, paths: ProjectPaths) -> str:
    """The source's bucket URL with a relative local folder made absolute."""
    bucket_url = config.filesystem.bucket_url
    return bucket_url if "://" in bucket_url else str(paths.resolve(bucket_url))


def local_files(folder: Path, file_glob: str) -> list[Path]:
    """The files `file_glob` matches under the local `folder`, sorted: Python's `glob` of
    `folder/file_glob` with `**` recursive (as dlt's `glob_files` lists a local folder), files
    only (a link counts as the file it points to)."""
    matches = glob.glob(str(folder.joinpath(file_glob)), recursive=True)
    return sorted(Path(match) for match in matches if Path(match).is_file())


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
    resolved = folder.resolve()
    for table in config.filesystem.tables:
        files = local_files(folder, table.file_glob)
        if not files:
            warnings.append(
                f"source '{config.name}': table '{table.name}': file_glob {table.file_glob!r} "
                f"matches no file in {folder}"
            )
        for file in files:
            real = file.resolve()
            if not real.is_relative_to(resolved):
                warnings.append(
                    f"source '{config.name}': table '{table.name}': "
                    f"{file.relative_to(folder).as_posix()} links to {real}, outside {folder}; "
                    "runs refuse it"
                )
    return warnings

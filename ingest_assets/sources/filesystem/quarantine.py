"""Move the files a run could not read or load to the source's `quarantine_dir`."""

from __future__ import annotations

import shutil
from pathlib import Path

from dlt.common.storages import FilesystemConfiguration

from ingest_assets.settings import ProjectPaths
from ingest_assets.sources.base import FileProblem
from ingest_assets.sources.filesystem.config import FilesystemSourceConfig


def quarantine(
    config: FilesystemSourceConfig, paths: ProjectPaths, problems: list[FileProblem]
) -> Path | None:
    """Move the local files of `problems` to the source's `quarantine_dir`, when it has one.

    Args:
        config: the filesystem source the files belong to.
        paths: project paths (a relative `quarantine_dir` is taken against the project root).
        problems: the files to move; each lands at `<quarantine_dir>/<table>/<relative_path>`.
            Remote files (not `file://`) stay where they are.

    Returns:
        The quarantine folder, or None when the source sets no `quarantine_dir` (nothing moved).
    """
    folder = config.filesystem.quarantine_dir
    if not folder:
        return None
    target = paths.resolve(folder)
    for problem in problems:
        if not problem.file_url.startswith("file://"):
            continue
        local = Path(FilesystemConfiguration.make_local_path(problem.file_url))
        destination = target / problem.table / problem.relative_path
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(local), destination)
    return target

"""Whether `ingest sync <source>` has anything to do, decided without Dagster or dlt.

After each successful `ingest sync` of a `filesystem` source, its record
(`.dlt/pipelines/<source>/ingest_last_sync.json`, beside the dlt state it describes) keeps:
- a digest of what decides the source's job besides its files, taken when the run started: the
  source's block of `sources.yml`, the warehouse, the time zone and `automation:` settings, and
  the dbt project's files (`dbt.project.project_fingerprint`, what `dbt parse` reads);
- a digest of the files each table had loaded when the run ended (`file_state.loaded_files`,
  the pipeline's local dlt state);
- the run's id and end time.

The next `ingest sync` of that source is up to date, and starts no run, when all of these hold:
1. the source is a `filesystem` source with `destination: warehouse`, no `partitions:`, and no
   table with `write_disposition: replace` (a replace table reloads every file on each run);
2. the digest of the settings and dbt files is the recorded one;
3. the loaded files are the recorded ones: no run (a sensor's, the UI's, a killed one) has
   loaded anything since, so the dbt models were built after the last load;
4. every file each table's glob matches now was loaded with the same fingerprint (size and
   modification time: the load step's own test of a new or changed file).
Anything else, including a listing that fails, means a run (which reports the problem), and
`check_sync` says why when the source was synced before. A sync removes the record when its run
starts and writes it only when the run succeeds, so a failed or killed run leaves the next sync
to run. `ingest sync --force` always runs. Runs started elsewhere (the UI, a schedule, a
sensor, `dagster asset materialize`) write no record; their loads make the next sync run
(rule 3).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ingest_assets.dbt.project import project_fingerprint
from ingest_assets.loaded_project import Project
from ingest_assets.sources.filesystem import FilesystemSourceConfig, bucket_url_of
from ingest_assets.sources.filesystem.file_state import loaded_files, local_fingerprints

RECORD_FILE = "ingest_last_sync.json"
"""The record's file name, in the source's dlt pipeline folder."""
RECORD_VERSION = 1


@dataclass(frozen=True)
class UpToDate:
    """A source `ingest sync` has nothing to do for.

    Attributes:
        source: the source's name.
        files: files its tables' globs match now, all loaded.
        tables: its tables.
        run_id: the Dagster run of the last successful sync.
        finished_at: when that run ended, ISO 8601 UTC.
    """

    source: str
    files: int
    tables: int
    run_id: str
    finished_at: str

    def message(self) -> str:
        """One line for the CLI: what was found, and how to run anyway."""
        return (
            f"{self.source}: up to date, no run started: the {self.files} file(s) its "
            f"{self.tables} table(s) match were all loaded, and sources.yml and the dbt project "
            f"are unchanged since the last successful sync (run {self.run_id}, "
            f"{self.finished_at}). `ingest sync {self.source} --force` runs it anyway."
        )


def record_path(project: Project, source: str) -> Path:
    """The record of `source`'s last successful sync."""
    return project.paths.pipelines_dir / source / RECORD_FILE


def settings_digest(project: Project, source: FilesystemSourceConfig) -> str:
    """A hex digest of what decides `source`'s job besides its files: its `sources.yml` block,
    the warehouse, `timezone`, `automation:` and the dbt project's files.

    Raises:
        OSError: a file of the dbt project cannot be read.
    """
    digest = hashlib.sha256()
    warehouse = project.warehouse
    for part in (
        source.model_dump_json(),
        warehouse.config.model_dump_json(),
        str(warehouse.path or ""),
        warehouse.environment,
        project.config.timezone,
        project.config.automation.model_dump_json() if project.config.automation else "",
        project_fingerprint(project.paths.dbt_project_dir, warehouse.path),
    ):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


def _loaded_digest(loaded: dict[str, dict[str, str]]) -> str:
    """A hex digest of `file_state.loaded_files`' `{table: {relative_path: fingerprint}}`."""
    return hashlib.sha256(json.dumps(loaded, sort_keys=True).encode()).hexdigest()


def eligible(source) -> bool:
    """Whether `source` (any source config) can be found up to date without a run (rule 1 of
    the module docstring)."""
    return (
        isinstance(source, FilesystemSourceConfig)
        and source.destination == "warehouse"
        and source.partitions is None
        and all(table.write_disposition != "replace" for table in source.filesystem.tables)
    )


@dataclass(frozen=True)
class SyncCheck:
    """What `check_sync` found for a source.

    Attributes:
        up_to_date: set when `ingest sync` has nothing to do.
        reason: otherwise, why a run is needed, in words for the CLI, when the source was
            synced before (None for a source never synced, or one that does not qualify).
    """

    up_to_date: UpToDate | None = None
    reason: str | None = None


def check_sync(project: Project, source) -> SyncCheck:
    """Whether `ingest sync` of `source` has anything to do (see the module docstring).

    Reads the record, the local dlt state, the dbt project's files and a listing of the
    source's folder. A remote bucket (s3://, gs://, az://, ...) is listed through dlt, with the
    source's credentials. Never raises: a failure means a run (which reports the problem).

    Args:
        project: the loaded project.
        source: the source's validated config (any type; only `filesystem` ones qualify).
    """
    if not eligible(source):
        return SyncCheck()
    try:
        record = json.loads(record_path(project, source.name).read_text())
    except (OSError, ValueError):  # never synced, or the last sync failed: no record
        return SyncCheck()
    try:
        if record.get("version") != RECORD_VERSION:
            return SyncCheck()
        if record.get("settings") != settings_digest(project, source):
            return SyncCheck(reason="sources.yml or the dbt project changed since its last sync")
        loaded = loaded_files(source, project.paths)
        if record.get("loaded_files") != _loaded_digest(loaded):
            return SyncCheck(reason="another run loaded files since its last sync")
        count, new = 0, []
        for table in source.filesystem.tables:
            listed = _listed(project, source, table)
            done = loaded.get(table.name, {})
            new += [path for path, fingerprint in listed.items() if done.get(path) != fingerprint]
            count += len(listed)
        if new:
            shown = ", ".join(sorted(new)[:3]) + (
                f" (+{len(new) - 3} more)" if len(new) > 3 else ""
            )
            return SyncCheck(reason=f"{len(new)} new or changed file(s): {shown}")
        fresh = UpToDate(
            source=source.name,
            files=count,
            tables=len(source.filesystem.tables),
            run_id=str(record["run_id"]),
            finished_at=str(record["finished_at"]),
        )
        return SyncCheck(up_to_date=fresh)
    except Exception as error:  # noqa: BLE001 - an unreadable file or listing: the run reports it
        return SyncCheck(reason=f"could not tell without a run ({type(error).__name__})")


def up_to_date(project: Project, source) -> UpToDate | None:
    """`check_sync(project, source).up_to_date`: set when `ingest sync` has nothing to do,
    else None."""
    return check_sync(project, source).up_to_date


def _listed(project: Project, source: FilesystemSourceConfig, table) -> dict[str, str]:
    """`{relative_path: fingerprint}` of the files `table`'s glob matches now."""
    bucket_url = bucket_url_of(source, project.paths)
    if "://" not in bucket_url:  # an absolute local folder, as dlt resolves it
        return local_fingerprints(Path(bucket_url), table.file_glob)
    from ingest_assets.orchestration.file_listing import listed_fingerprints

    return listed_fingerprints(source, project.paths, table)


def record_sync(project: Project, source, settings: str, run_id: str) -> None:
    """Record a successful sync of `source` (only for sources `eligible` allows).

    Args:
        project: the loaded project.
        source: the source's validated config.
        settings: `settings_digest` taken before the run started (an edit made while it ran
            is then not taken as synced).
        run_id: the run's id.
    """
    if not eligible(source):
        return
    path = record_path(project, source.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "version": RECORD_VERSION,
        "settings": settings,
        "loaded_files": _loaded_digest(loaded_files(source, project.paths)),
        "run_id": run_id,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(record, indent=2) + "\n")
    temporary.replace(path)


def forget_sync(project: Project, source: str) -> None:
    """Remove `source`'s record (its next sync runs), e.g. before a run that may change its
    state and fail."""
    record_path(project, source).unlink(missing_ok=True)

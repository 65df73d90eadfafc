"""File-arrival sensors for filesystem sources: a run for new or changed files once they are complete.

Each tick lists the files matching every table's glob (one listing per table), compares their
fingerprints (`<size>:<mtime ISO>`, see `sources.filesystem.fingerprint`) with the files the
source's dlt state records as loaded (`sources.filesystem.loaded_files`, read from the local
pipeline state file, never from the warehouse, whose write lock a running load may hold), and
requests a run of the source's job for the new or changed files that are *complete*:

- *settled*: seen with the same fingerprint on two ticks at least `settle_seconds` apart
  (default 60, measured from the tick that first saw that fingerprint, on the sensor's clock),
  so a writer that stalls for less than that (a slow upload, a paused export) is not cut off;
- and *whole*: a `csv` or `jsonl` file (not compressed) ends with a newline, so a writer that
  stopped mid-line is never read up to the cut; a `parquet` file ends with its `PAR1` footer.
- With `ready_marker: success_file` a file is complete once `_SUCCESS` exists in its folder
  (Spark, Hadoop, many exporters), with `done_file` once `<file>.done` exists; the marker is the
  writer's word, so the settle time and the checks above do not apply. Keep the markers out of
  the tables' globs.

The run config names exactly those files and fingerprints, and the load step loads exactly
those, skipping any whose size or mtime changed since (`sources.filesystem`): a run never reads
a file the sensor did not see complete. (Scheduled and manual runs load every matching file not
loaded yet; the checks above are the sensor's.)

The sensor cursor (JSON, stored by Dagster, so it survives daemon restarts) holds only files that
are not loaded yet, so it stays as small as the backlog, not as large as the bucket:

    {"v": 1,
     "pending":   {table: {relative_path: fingerprint}},   # unloaded, not requested yet
     "requested": {table: {relative_path: fingerprint}},   # requested, not yet seen loaded
     "since":     {table: {relative_path: first_seen}},    # optional: settle clock (UNIX s)
     "requests":  {run_key: attempt},                      # optional: runs not seen ending
     "failed":    {table: {relative_path: [fingerprint, attempt, retry_at]}}}  # optional

A requested file leaves `requested` when the state shows it loaded with that fingerprint, when
its fingerprint changes (it then settles again and is requested anew), or when it disappears
(e.g. moved to `quarantine_dir`). Until then it is not requested again, so ticks during a long
run add nothing. A file that disappears starts no run (a `replace` table keeps the rows it had).

Failed runs are retried. Once the runs of all outstanding requests have ended (looked up by the
`dagster/run_key` tags Dagster gives the sensor's runs; one query, only while requests are
outstanding) and a requested file is still not loaded with the same fingerprint, it moves to
`failed` and is requested again, unchanged, under a new run key (Dagster would drop a request with
the same key): one `minimum_interval_seconds` after the first failure, then 2, 4, 8, ... times
that, at most an hour apart. After `MAX_ATTEMPTS` failed runs the sensor stops retrying it until
the file changes (the tick's skip reason says so), so a permanently bad file is not hammered;
with `quarantine_dir` set, the failed load moves it away and the sensor forgets it.

The parts, one job each: `sensor_tick` (the tick decision, pure functions), `sensor_cursor`
(the cursor and its JSON), `file_listing` (listing fingerprints, the completeness check), and
this module (the Dagster sensor definition: it lists, decides, and turns the decision into a
`RunRequest` or a `SkipReason`, with messages passed through `ingest_assets.redact`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from ingest_assets.dlt.run_config import LoadConfig, load_run_config
from ingest_assets.gc_pause import cyclic_gc_paused
from ingest_assets.names import file_sensor_name, job_name
from ingest_assets.orchestration.file_listing import (  # noqa: F401 - re-exported
    COMPRESSED_SUFFIXES,
    DONE_SUFFIX,
    SUCCESS_FILE,
    listed_fingerprints,
    readiness_check,
)
from ingest_assets.orchestration.sensor_cursor import CURSOR_VERSION, FileMap, FileSensorCursor  # noqa: F401
from ingest_assets.orchestration.sensor_tick import (  # noqa: F401 - re-exported
    MAX_ATTEMPTS,
    MAX_RETRY_DELAY_SECONDS,
    ReadinessCheck,
    TickDecision,
    decide_tick,
    retry_delay,
    run_key,
)
from ingest_assets.redact import redact
from ingest_assets.settings import ProjectPaths
from ingest_assets.sources.filesystem import FilesystemSourceConfig, bucket_url_of, loaded_files

RUN_KEY_TAG = "dagster/run_key"
SENSOR_NAME_TAG = "dagster/sensor_name"


def sensor_name(source: FilesystemSourceConfig) -> str:
    """`<source>_file_sensor` (spelled in `ingest_assets.names`)."""
    return file_sensor_name(source.name)


def build_file_sensor(source: FilesystemSourceConfig, paths: ProjectPaths) -> SensorDefinition:
    """Return `<source>_file_sensor`, which runs `<source>_job` for new or changed files once they settle.

    Args:
        source: a validated filesystem source. `sensor: true` makes the sensor RUNNING by
            default (STOPPED otherwise, to be switched on in the UI); `minimum_interval_seconds`
            is the time between ticks (and the first retry delay); `settle_seconds` how long a
            file must stay unchanged; `ready_marker` the marker that replaces that wait.
        paths: the project's paths: relative bucket folders and the dlt pipelines dir (whose
            `<source>/state.json` says which files are loaded) are resolved against them.

    Returns:
        A sensor whose tick returns one `RunRequest` (run config `load_run_config(source.name,
        LoadConfig(files={table: {relative_path: fingerprint}}))`, `run_key` a digest of those
        files, fingerprints and the attempt number) when complete new or changed files exist,
        or failed ones are due for a retry, else a `SkipReason` saying what it waits for; both
        with the updated cursor (see the module docstring).
        A tick never raises for an unreachable bucket: the listing error becomes a `SkipReason`
        naming the source and the error (URL credentials and signed-URL tokens masked), and the
        cursor is kept as it was.
    """
    reload_all = {t.name for t in source.filesystem.tables if t.write_disposition == "replace"}
    status = DefaultSensorStatus.RUNNING if source.sensor else DefaultSensorStatus.STOPPED

    @sensor(
        name=sensor_name(source),
        job_name=job_name(source.name),  # the job itself is `jobs.build_source_job`
        minimum_interval_seconds=source.minimum_interval_seconds,
        default_status=status,
        description=(
            f"Runs {job_name(source.name)} when new or changed files matching the tables of {source.name} "
            + (
                f"have their {source.ready_marker.replace('_', ' ')} marker."
                if source.ready_marker != "none"
                else f"have stayed unchanged for {source.settle_seconds}s and end complete."
            )
        ),
    )
    def _file_sensor(context: SensorEvaluationContext) -> SensorResult | SkipReason:
        with cyclic_gc_paused():
            return _tick(context)

    def _tick(context: SensorEvaluationContext) -> SensorResult | SkipReason:
        try:
            listed = {
                table.name: listed_fingerprints(source, paths, table)
                for table in source.filesystem.tables
            }
        except Exception as error:  # noqa: BLE001 - any listing failure (network, credentials, missing folder)
            where = safe_message(bucket_url_of(source, paths))
            return SkipReason(
                f"{source.name}: cannot list files in {where}: "
                f"{type(error).__name__}: {safe_message(str(error))}"
            )
        previous = FileSensorCursor.parse(context.cursor)
        now = _clock()
        try:
            tick = decide_tick(
                listed,
                loaded_files(source, paths),
                previous,
                reload_all,
                now=now,
                settle_seconds=source.settle_seconds,
                check=readiness_check(source, paths),
                marker=source.ready_marker != "none",
                ended_requests=ended_requests(context, sensor_name(source), previous.requests),
                retry_interval=source.minimum_interval_seconds,
            )
        except Exception as error:  # noqa: BLE001 - a file or run lookup failed: try again next tick
            return SkipReason(
                f"{source.name}: cannot check the listed files: "
                f"{type(error).__name__}: {safe_message(str(error))}"
            )
        cursor = tick.cursor.dumps()
        if not tick.to_request:
            skip = SkipReason(tick.skip_message(source.name, source.settle_seconds))
            return SensorResult(skip_reason=skip, cursor=cursor)
        count = sum(len(files) for files in tick.to_request.values())
        retry = f" (retry {tick.attempt} after a failed run)" if tick.attempt else ""
        context.log.info(f"{source.name}: requesting a run for {count} settled file(s){retry}")
        return SensorResult(
            run_requests=[
                RunRequest(
                    run_key=run_key(tick.to_request, tick.attempt),
                    run_config=load_run_config(source.name, LoadConfig(files=tick.to_request)),
                )
            ],
            cursor=cursor,
        )

    return _file_sensor


def _clock() -> float:
    """The tick's time, UNIX seconds (a function, so tests can control the clock)."""
    return time.time()


def ended_requests(
    context: SensorEvaluationContext, name: str, requests: Mapping[str, int]
) -> set[str]:
    """The run keys of `requests` whose runs (started by sensor `name`) have ended: one query
    on the instance, only when requests are outstanding."""
    if not requests or context.instance is None:
        return set()
    runs = context.instance.get_runs(
        filters=RunsFilter(tags={SENSOR_NAME_TAG: name, RUN_KEY_TAG: list(requests)})
    )
    return {run.tags[RUN_KEY_TAG] for run in runs if run.is_finished}


def safe_message(text: str, limit: int = 500) -> str:
    """`text` fit for the UI: secrets masked by `ingest_assets.redact.redact` (signed-URL
    parameters included), and also the whole user part of URLs, which for a bucket is an access
    key id (`s3://AKIA...@bucket` -> `s3://***@bucket`); cut to `limit` characters."""
    text = redact(text, url_users=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."

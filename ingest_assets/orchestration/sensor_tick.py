"""The file-arrival sensor's tick decision, as pure functions: from a listing, the files dlt
records as loaded and the previous cursor, which files to request now, the skip reason
otherwise, and the next cursor. No Dagster, no file system (the readiness `check` is passed in).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from ingest_assets.orchestration.sensor_cursor import FileMap, FileSensorCursor

MAX_ATTEMPTS = 8
"""Runs a file may fail before the sensor stops retrying it (until the file changes)."""
MAX_RETRY_DELAY_SECONDS = 3600.0
"""Longest wait between two retries of a failed file."""


@dataclass(frozen=True)
class TickDecision:
    """What one tick decided.

    Attributes:
        to_request: `{table: {relative_path: fingerprint}}` for the run request; empty for none.
        cursor: the cursor to store for the next tick.
        settling: unloaded files not requested this tick because they are new or changed since
            the last tick or not unchanged for the settle time yet (or wait for other files of a
            `replace` table).
        in_flight: files requested by an earlier tick, not loaded yet.
        incomplete: `{reason: count}` of settled files that do not look complete yet (no final
            newline, no parquet footer, no marker).
        retrying: files whose run failed, waiting for their next attempt.
        given_up: files whose run failed `MAX_ATTEMPTS` times; they wait until they change.
        attempt: the attempt number of `to_request` (0 first request, 1 first retry, ...).
    """

    to_request: FileMap
    cursor: FileSensorCursor
    settling: int
    in_flight: int
    incomplete: dict[str, int] = field(default_factory=dict)
    retrying: int = 0
    given_up: int = 0
    attempt: int = 0

    def skip_message(self, source_name: str, settle_seconds: int = 0) -> str:
        """Why no run was requested, for the tick's SkipReason."""
        parts = []
        if self.settling:
            wait = f"{settle_seconds}s" if settle_seconds else "one tick"
            parts.append(
                f"{self.settling} new or changed file(s) waiting to stay unchanged for {wait}"
            )
        for reason, count in sorted(self.incomplete.items()):
            parts.append(f"{count} file(s) {reason}")
        if self.in_flight:
            parts.append(f"{self.in_flight} file(s) already requested, not loaded yet")
        if self.retrying:
            parts.append(f"{self.retrying} file(s) whose run failed, waiting to be retried")
        if self.given_up:
            parts.append(
                f"{self.given_up} file(s) failed {MAX_ATTEMPTS} times: retried when they change"
            )
        if not parts:
            return f"{source_name}: no new or changed files"
        return f"{source_name}: " + "; ".join(parts)


ReadinessCheck = Callable[[str, str], "str | None"]
"""`check(table, relative_path) -> None` when the file looks complete, else why not (e.g.
"do not end with a newline yet")."""


def decide_tick(
    listed: Mapping[str, Mapping[str, str]],
    loaded: Mapping[str, Mapping[str, str]],
    previous: FileSensorCursor,
    reload_all: Collection[str] = (),
    *,
    now: float = 0.0,
    settle_seconds: float = 0,
    check: ReadinessCheck | None = None,
    marker: bool = False,
    ended_requests: Collection[str] = (),
    retry_interval: float = 30,
) -> TickDecision:
    """Decide one tick from the listing, the loaded-file state and the previous cursor (pure,
    apart from calling `check`).

    Args:
        listed: `{table: {relative_path: fingerprint}}` of every file matching each table's glob
            now; every configured table is a key (tables missing here are forgotten).
        loaded: `{table: {relative_path: fingerprint}}` recorded as loaded (`loaded_files`).
        previous: the cursor the previous tick stored.
        reload_all: tables with `write_disposition: replace`. Every run replaces their content
            with the files it loads, so when one of their files is new or changed the request
            names all their listed files, and only once none of the unloaded ones is unsettled.
        now: the tick's time, UNIX seconds.
        settle_seconds: how long a file's fingerprint must stay the same (measured from the
            tick that first saw it) before it is requested; it must also be seen on two ticks.
        check: called for each file about to be requested; a file it finds incomplete stays
            pending and is checked again next tick. With `marker`, the check (the marker's
            presence) replaces the settle time.
        ended_requests: run keys of `previous.requests` whose runs have ended (any status).
            When all of them have, requested files still not loaded count as failed.
        retry_interval: seconds before the first retry of a failed file; doubled per attempt,
            at most `MAX_RETRY_DELAY_SECONDS`, and no more retries after `MAX_ATTEMPTS`.

    Returns:
        The files to request and the next cursor (see the module docstring).
    """
    to_request: FileMap = {}
    pending: FileMap = {}
    requested: FileMap = {}
    since: dict[str, dict[str, float]] = {}
    failed: dict[str, dict[str, list]] = {}
    incomplete: dict[str, int] = {}
    settling = in_flight = retrying = given_up = 0
    requests = dict(previous.requests)
    runs_over = bool(requests) and all(key in ended_requests for key in requests)
    attempt = 0
    if runs_over:
        requests = {}
    retry_attempts = [0]
    for table, files in listed.items():
        table_loaded = loaded.get(table, {})
        was_pending = previous.pending.get(table, {})
        was_since = previous.since.get(table, {})
        was_requested = previous.requested.get(table, {})
        was_failed = previous.failed.get(table, {})
        request_attempt = max(previous.requests.values(), default=0)
        table_pending: dict[str, str] = {}
        table_since: dict[str, float] = {}
        table_requested: dict[str, str] = {}
        table_failed: dict[str, list] = {}
        settled: dict[str, str] = {}
        for path, current in files.items():
            if table_loaded.get(path) == current:
                continue
            if was_requested.get(path) == current:
                if not runs_over:
                    table_requested[path] = current
                    continue
                # its run ended without loading it: retry later, with backoff
                failures = request_attempt + 1
                if failures >= MAX_ATTEMPTS:
                    table_failed[path] = [current, failures, None]
                else:
                    table_failed[path] = [
                        current,
                        failures,
                        now + retry_delay(retry_interval, failures),
                    ]
                continue
            failure = was_failed.get(path)
            if failure and failure[0] == current:
                if failure[2] is not None and failure[2] <= now:
                    settled[path] = current
                    retry_attempts.append(int(failure[1]))
                else:
                    table_failed[path] = failure
                continue
            first_seen = was_since.get(path, now)
            if marker or (was_pending.get(path) == current and now - first_seen >= settle_seconds):
                reason = check(table, path) if check else None
                if reason is None:
                    settled[path] = current
                    continue
                incomplete[reason] = incomplete.get(reason, 0) + 1
            table_pending[path] = current
            if settle_seconds and not marker:
                table_since[path] = first_seen
        in_flight += len(table_requested)
        for failure in table_failed.values():
            if failure[2] is None:
                given_up += 1
            else:
                retrying += 1
        if table in reload_all and settled and table_pending:
            table_pending.update(settled)  # replace needs every file: wait for the unsettled ones
            if settle_seconds and not marker:
                table_since.update({p: was_since.get(p, now) for p in settled})
            settled = {}
        if settled:
            to_request[table] = dict(files) if table in reload_all else settled
            table_requested.update(settled)
        settling += len(table_pending)
        if table_pending:
            pending[table] = table_pending
        if table_since:
            since[table] = table_since
        if table_requested:
            requested[table] = table_requested
        if table_failed:
            failed[table] = table_failed
    settling -= sum(incomplete.values())
    if not requested:
        requests = {}  # nothing requested is still unloaded: no run left to watch
    if to_request:
        attempt = max(retry_attempts)
        requests[run_key(to_request, attempt)] = attempt
    return TickDecision(
        to_request=to_request,
        cursor=FileSensorCursor(
            pending=pending, requested=requested, since=since, requests=requests, failed=failed
        ),
        settling=max(settling, 0),
        in_flight=in_flight,
        incomplete=incomplete,
        retrying=retrying,
        given_up=given_up,
        attempt=attempt,
    )


def retry_delay(retry_interval: float, failures: int) -> float:
    """Seconds to wait before the retry that follows `failures` failed runs: `retry_interval`
    doubled per earlier failure (1, 2, 4, ... ticks), at most `MAX_RETRY_DELAY_SECONDS`."""
    return min(retry_interval * 2 ** (failures - 1), MAX_RETRY_DELAY_SECONDS)


def run_key(files: Mapping[str, Mapping[str, str]], attempt: int = 0) -> str:
    """A stable digest of `{table: {relative_path: fingerprint}}` and the attempt number (0 for
    the first request): the same files with the same fingerprints give the same key, so Dagster
    starts at most one run for them per attempt."""
    canonical = json.dumps(files, sort_keys=True, separators=(",", ":"))
    if attempt:
        canonical += f"#retry{attempt}"
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]

"""The file sensor's tick decision as a pure function: settling, readiness, replace tables,
in-flight requests, retry backoff, and the cursor's JSON form.

These call `ingest_assets.orchestration.sensors`: `decide_tick`, `TickDecision.skip_message`,
`FileSensorCursor` (`parse`/`dumps`), `retry_delay`, `run_key`, `MAX_ATTEMPTS`,
`MAX_RETRY_DELAY_SECONDS`. When the sensor module is split, only the import below moves.
"""

from __future__ import annotations

import json

import pytest

from ingest_assets.orchestration.sensor_cursor import FileSensorCursor
from ingest_assets.orchestration.sensor_tick import (
    MAX_ATTEMPTS,
    MAX_RETRY_DELAY_SECONDS,
    decide_tick,
    retry_delay,
    run_key,
)

pytestmark = pytest.mark.unit

A1 = "10:2026-01-01T00:00:00+00:00"  # size:mtime fingerprints, as the listing gives them
A2 = "25:2026-01-01T00:00:05+00:00"
B1 = "7:2026-01-01T00:01:00+00:00"


def ticks(listed, loaded=None, cursor=None, times=(0.0,), **options):
    """Run `decide_tick` once per time in `times`, each from the previous tick's cursor."""
    decision = None
    cursor = cursor or FileSensorCursor()
    for now in times:
        decision = decide_tick(listed, loaded or {}, cursor, now=now, **options)
        cursor = decision.cursor
    return decision


def test_a_new_file_waits_one_tick_then_is_requested():
    listed = {"orders": {"a.csv": A1}}

    first = ticks(listed)
    second = decide_tick(listed, {}, first.cursor)

    assert first.to_request == {} and first.settling == 1
    assert (
        first.skip_message("shop")
        == "shop: 1 new or changed file(s) waiting to stay unchanged for one tick"
    )
    assert second.to_request == {"orders": {"a.csv": A1}}
    assert second.cursor.requested == {"orders": {"a.csv": A1}}
    assert second.cursor.requests == {run_key(second.to_request): 0}


def test_a_file_that_changes_between_ticks_settles_again():
    first = ticks({"orders": {"a.csv": A1}})
    grown = decide_tick({"orders": {"a.csv": A2}}, {}, first.cursor)
    settled = decide_tick({"orders": {"a.csv": A2}}, {}, grown.cursor)

    assert grown.to_request == {} and grown.cursor.pending == {"orders": {"a.csv": A2}}
    assert settled.to_request == {"orders": {"a.csv": A2}}


def test_settle_seconds_count_from_the_first_tick_that_saw_the_fingerprint():
    listed = {"orders": {"a.csv": A1}}

    early = ticks(listed, times=(100.0, 130.0), settle_seconds=60)
    due = ticks(listed, times=(100.0, 130.0, 160.0), settle_seconds=60)

    assert early.to_request == {} and early.cursor.since == {"orders": {"a.csv": 100.0}}
    assert early.skip_message("shop", settle_seconds=60) == (
        "shop: 1 new or changed file(s) waiting to stay unchanged for 60s"
    )
    assert due.to_request == listed and due.cursor.since == {}


def test_loaded_files_are_skipped_and_a_changed_loaded_file_is_new_again():
    loaded = {"orders": {"a.csv": A1}}

    unchanged = ticks({"orders": {"a.csv": A1}}, loaded, times=(0, 1))
    changed = ticks({"orders": {"a.csv": A2}}, loaded, times=(0, 1))

    assert unchanged.to_request == {} and unchanged.cursor == FileSensorCursor()
    assert unchanged.skip_message("shop") == "shop: no new or changed files"
    assert changed.to_request == {"orders": {"a.csv": A2}}


def test_the_readiness_check_keeps_an_incomplete_file_pending_with_its_reason():
    complete = set()

    def check(table: str, path: str) -> str | None:
        return None if path in complete else "do not end with a newline yet"

    listed = {"orders": {"a.csv": A1}}
    waiting = ticks(listed, times=(0, 1, 2), check=check)
    complete.add("a.csv")
    ready = decide_tick(listed, {}, waiting.cursor, check=check)

    assert waiting.to_request == {} and waiting.incomplete == {"do not end with a newline yet": 1}
    assert waiting.settling == 0
    assert waiting.skip_message("shop") == "shop: 1 file(s) do not end with a newline yet"
    assert ready.to_request == listed


def test_a_ready_marker_replaces_the_settle_time():
    present = {"a.csv"}

    def marker_check(table: str, path: str) -> str | None:
        return None if path in present else "wait for their _SUCCESS marker"

    listed = {"orders": {"a.csv": A1, "b.csv": B1}}
    decision = ticks(listed, times=(0.0,), settle_seconds=3600, marker=True, check=marker_check)

    assert decision.to_request == {"orders": {"a.csv": A1}}  # on the first tick: no settling
    assert decision.cursor.pending == {"orders": {"b.csv": B1}} and decision.cursor.since == {}
    assert decision.incomplete == {"wait for their _SUCCESS marker": 1}


def test_a_replace_table_waits_for_all_its_files_and_requests_every_listed_file():
    loaded = {"stores": {"old.csv": A1}}
    first = ticks({"stores": {"old.csv": A1, "new.csv": B1}}, loaded)
    another = decide_tick(
        {"stores": {"old.csv": A1, "new.csv": B1, "newer.csv": A2}},
        loaded,
        first.cursor,
        reload_all={"stores"},
    )
    settled = decide_tick(
        {"stores": {"old.csv": A1, "new.csv": B1, "newer.csv": A2}},
        loaded,
        another.cursor,
        reload_all={"stores"},
    )

    assert another.to_request == {}  # new.csv settled, newer.csv did not: wait for both
    assert another.cursor.pending == {"stores": {"new.csv": B1, "newer.csv": A2}}
    assert settled.to_request == {"stores": {"old.csv": A1, "new.csv": B1, "newer.csv": A2}}


def test_requested_files_are_in_flight_until_loaded_or_their_run_ends():
    listed = {"orders": {"a.csv": A1}}
    requested = ticks(listed, times=(0, 1))
    key = run_key(requested.to_request)

    in_flight = decide_tick(listed, {}, requested.cursor, now=2)
    loaded = decide_tick(listed, {"orders": {"a.csv": A1}}, requested.cursor, now=2)
    ended = decide_tick(
        listed, {}, requested.cursor, now=2, ended_requests={key}, retry_interval=30
    )

    assert in_flight.to_request == {} and in_flight.in_flight == 1
    assert in_flight.skip_message("shop") == "shop: 1 file(s) already requested, not loaded yet"
    assert loaded.cursor == FileSensorCursor()
    assert ended.to_request == {} and ended.retrying == 1
    assert ended.cursor.failed == {"orders": {"a.csv": [A1, 1, 2 + 30]}}
    assert ended.skip_message("shop") == "shop: 1 file(s) whose run failed, waiting to be retried"


def test_a_failed_file_is_retried_with_a_new_run_key_once_its_delay_has_passed():
    listed = {"orders": {"a.csv": A1}}
    failed = FileSensorCursor(failed={"orders": {"a.csv": [A1, 1, 100.0]}})

    before = decide_tick(listed, {}, failed, now=99.0)
    due = decide_tick(listed, {}, failed, now=100.0)

    assert before.to_request == {} and before.cursor.failed == failed.failed
    assert due.to_request == listed and due.attempt == 1
    assert due.cursor.requests == {run_key(listed, 1): 1} and run_key(listed, 1) != run_key(listed)


def test_a_file_that_failed_max_attempts_waits_until_it_changes():
    listed = {"orders": {"a.csv": A1}}
    cursor = FileSensorCursor(
        requested={"orders": {"a.csv": A1}},
        requests={run_key(listed, MAX_ATTEMPTS - 1): MAX_ATTEMPTS - 1},
    )

    given_up = decide_tick(listed, {}, cursor, now=10.0, ended_requests=set(cursor.requests))
    much_later = decide_tick(listed, {}, given_up.cursor, now=10.0 + 365 * 86_400)
    changed = ticks({"orders": {"a.csv": A2}}, cursor=given_up.cursor, times=(20.0, 21.0))

    assert given_up.cursor.failed == {"orders": {"a.csv": [A1, MAX_ATTEMPTS, None]}}
    assert given_up.given_up == 1
    assert f"failed {MAX_ATTEMPTS} times: retried when they change" in given_up.skip_message("shop")
    assert much_later.to_request == {}
    assert changed.to_request == {"orders": {"a.csv": A2}} and changed.attempt == 0


def test_retry_delay_doubles_per_failure_up_to_the_cap():
    assert [retry_delay(30, n) for n in range(1, 6)] == [30, 60, 120, 240, 480]
    assert retry_delay(30, 40) == MAX_RETRY_DELAY_SECONDS


def test_run_key_is_stable_per_files_fingerprints_and_attempt():
    files = {"orders": {"a.csv": A1, "b.csv": B1}}

    assert run_key(files) == run_key({"orders": {"b.csv": B1, "a.csv": A1}})
    assert run_key(files) != run_key({"orders": {"a.csv": A2, "b.csv": B1}})
    assert run_key(files, 0) != run_key(files, 1) != run_key(files, 2)
    assert len(run_key(files)) == 32


def test_cursor_round_trips_through_its_json_and_drops_empty_sections():
    cursor = FileSensorCursor(
        pending={"orders": {"a.csv": A1}},
        requested={"stores": {"s.csv": B1}},
        since={"orders": {"a.csv": 12.5}},
        requests={"k1": 0},
        failed={"orders": {"bad.csv": [A2, 2, 99.0]}},
    )

    text = cursor.dumps()

    assert FileSensorCursor.parse(text) == cursor
    assert text == FileSensorCursor.parse(text).dumps()  # one state, one string
    assert json.loads(FileSensorCursor().dumps()) == {"v": 1, "pending": {}, "requested": {}}


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "not json",
        "[1, 2]",
        '{"pending": {}}',
        '{"v": 99, "pending": {"orders": {"a": "1:x"}}}',
    ],
    ids=["none", "empty", "not-json", "not-an-object", "no-version", "other-version"],
)
def test_an_unreadable_cursor_is_an_empty_one(text):
    assert FileSensorCursor.parse(text) == FileSensorCursor()


def test_malformed_cursor_entries_are_dropped_and_the_rest_kept():
    text = json.dumps(
        {
            "v": 1,
            "pending": {"orders": {"a.csv": A1}},
            "requested": {},
            "since": {"orders": {"a.csv": "soon"}},
            "requests": {"k": "one", "k2": 1},
            "failed": {"orders": {"x.csv": [A1, 1]}, "stores": "nope"},
        }
    )

    cursor = FileSensorCursor.parse(text)

    assert cursor.pending == {"orders": {"a.csv": A1}}
    assert cursor.since == {"orders": {}} and cursor.requests == {"k2": 1}
    assert cursor.failed == {"orders": {}}

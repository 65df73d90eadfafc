"""Only complete files are read: the sensor requests a file once it has stayed unchanged for the
settle time, ends with a newline (csv/jsonl) or its parquet footer, or has its ready marker; and
it retries a file whose run failed, with backoff.

The writer patterns of the issue (trickle, 7 s and 20 s stalls, a stall mid-line) run on a
simulated clock: the test writes each chunk, sets the file's mtime to the simulated time
(`os.utime`) and ticks the real sensor every 2 simulated seconds (`sensors._clock`), executing
every run it requests for real. One test uses a real writer process with real stalls.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance, build_sensor_context
from helpers import file_table, query, scalar, source

from ingest_assets.orchestration import sensors
from ingest_assets.orchestration.sensors import (
    MAX_ATTEMPTS,
    FileSensorCursor,
    decide_tick,
    retry_delay,
    run_key,
)
from ingest_assets.project import build_definitions, load_project

SENSOR = "feed_file_sensor"
JOB = "feed_job"
LANDING = "data/landing/feed"
ROWS = 20_000
HEADER = "id,name,amount\n"


def feed_source(**overrides: Any) -> dict[str, Any]:
    return source(
        "feed",
        bucket_url=LANDING,
        tables=[file_table("events", "*.csv"), file_table("facts", "*.parquet", "parquet")],
        sensor=True,
        minimum_interval_seconds=2,
        max_retries=0,
        **overrides,
    )


def line(i: int) -> str:
    return f"{i},n{i},{i % 97}\n"


class Sensor:
    """The source's sensor, ticked like the daemon ticks it; requested runs execute for real
    on the sensor's instance, tagged as the daemon tags them."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.defs = build_definitions(load_project(project))
        self.instance = DagsterInstance.ephemeral()
        self.cursor: str | None = None
        self.runs: list[dict] = []
        self.requests: list = []
        self.messages: list[str] = []

    def tick(self, execute: bool = True):
        sensor = self.defs.resolve_sensor_def(SENSOR)
        data = sensor.evaluate_tick(
            build_sensor_context(cursor=self.cursor, instance=self.instance, definitions=self.defs)
        )
        self.cursor = data.cursor
        if data.skip_message:
            self.messages.append(data.skip_message)
        for request in data.run_requests or []:
            self.runs.append(request.run_config["ops"]["load_feed"]["config"]["files"])
            self.requests.append(request)
            if execute:
                self.execute(request)
        return data

    def execute(self, request, raise_on_error: bool = True):
        tags = {"dagster/sensor_name": SENSOR, "dagster/run_key": request.run_key}
        return self.defs.resolve_job_def(JOB).execute_in_process(
            run_config=request.run_config,
            instance=self.instance,
            tags=tags,
            raise_on_error=raise_on_error,
        )


@pytest.fixture
def project(make_project) -> Path:
    root = make_project([feed_source()])
    (root / LANDING).mkdir(parents=True)
    return root


def assert_exact(project: Path, first_id: int, count: int = ROWS) -> None:
    """`count` rows with ids first_id.. loaded once each, every one exactly as written."""
    rows = query(
        project,
        "select count(*), count(distinct id), count(*) filter (where name = 'n' || id and amount = id % 97)"
        " from raw_feed.events where id between ? and ?",
        [first_id, first_id + count - 1],
    )
    assert rows == [(count, count, count)]


@pytest.mark.integration
def test_writer_patterns_load_exactly_once_with_no_cut_off_row(project, monkeypatch):
    """Four writers of 20,000 rows each, on one simulated clock with the default 60 s settle:
    a trickle (100 rows a second), a 7 s and a 20 s stall after 10,000 rows, and a 90 s stall
    in the middle of a line (longer than the settle time: only the missing newline holds it)."""
    landing = project / LANDING
    clock = [1_800_000_000.0]
    monkeypatch.setattr(sensors, "_clock", lambda: clock[0])
    ids = {"trickle": 1_000_000, "stall7": 2_000_000, "stall20": 3_000_000, "midline": 4_000_000}
    # (second after start, text) chunks per file
    plans: dict[str, list[tuple[float, str]]] = {
        "trickle": [
            (s, "".join(line(ids["trickle"] + i) for i in range(s * 100, s * 100 + 100)))
            for s in range(200)
        ],
        "stall7": [
            (0, "".join(line(ids["stall7"] + i) for i in range(10_000))),
            (7, "".join(line(ids["stall7"] + i) for i in range(10_000, ROWS))),
        ],
        "stall20": [
            (0, "".join(line(ids["stall20"] + i) for i in range(10_000))),
            (20, "".join(line(ids["stall20"] + i) for i in range(10_000, ROWS))),
        ],
    }
    cut = line(ids["midline"] + 10_000)
    plans["midline"] = [
        (0, "".join(line(ids["midline"] + i) for i in range(10_000)) + cut[:9]),  # "4010000,n"
        (90, cut[9:] + "".join(line(ids["midline"] + i) for i in range(10_001, ROWS))),
    ]
    for name in plans:
        (landing / f"{name}.csv").write_text(HEADER)
    sensor = Sensor(project)
    start = clock[0]
    for step in range(0, 2 * 160):  # 320 s of simulated time, a tick every 2 s
        now = start + step
        for name, chunks in plans.items():
            for second, text in chunks:
                if step - 1 < second <= step:
                    path = landing / f"{name}.csv"
                    with path.open("a") as handle:
                        handle.write(text)
                    os.utime(path, (now, now))
        if step % 2 == 0:
            clock[0] = now
            sensor.tick()

    requested = [path for files in sensor.runs for path in files.get("events", {})]
    assert sorted(requested) == sorted(f"{name}.csv" for name in plans)  # each file once, whole
    for first_id in ids.values():
        assert_exact(project, first_id)
    assert scalar(project, "select count(*) from raw_feed.events") == 4 * ROWS
    assert any("1 file(s) not ending with a newline yet" in m for m in sensor.messages)


WRITER = textwrap.dedent(
    """
    import sys, time
    path = sys.argv[1]
    line = lambda i: f"{i},n{i},{i % 97}\\n"
    with open(path, "w") as f:
        f.write("id,name,amount\\n" + "".join(line(i) for i in range(10_000))); f.flush()
        time.sleep(2)                       # a stall shorter than the settle time
        cut = line(10_000)
        f.write(cut[:4]); f.flush()         # stops mid-line
        time.sleep(6)                       # longer than the settle time
        f.write(cut[4:] + "".join(line(i) for i in range(10_001, 20_000))); f.flush()
    """
)


@pytest.mark.e2e
def test_real_writer_with_stalls_loads_exactly_once(make_project):
    project = make_project([feed_source(settle_seconds=4)])
    path = project / LANDING / "live.csv"
    path.parent.mkdir(parents=True)
    sensor = Sensor(project)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not sensor.runs:
            writing = writer.poll() is None
            sensor.tick(execute=False)
            assert not (writing and sensor.runs), (
                "the sensor requested the file while it was being written"
            )
            time.sleep(0.5)
        assert writer.wait(timeout=30) == 0
    finally:
        if writer.poll() is None:
            writer.kill()
    [files] = sensor.runs
    assert list(files["events"]) == ["live.csv"]
    assert any("not ending with a newline yet" in m for m in sensor.messages)
    assert sensor.execute(sensor.requests[0]).success
    assert_exact(project, 0)


@pytest.mark.integration
@pytest.mark.parametrize("marker", ["success_file", "done_file"])
def test_ready_marker_decides_when_a_file_is_requested(make_project, marker):
    source = feed_source(ready_marker=marker)
    source["filesystem"]["tables"][0]["file_glob"] = "**/*.csv"
    project = make_project([source])
    folder = project / LANDING / "part=1"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text(HEADER + line(1) + line(2))
    sensor = Sensor(project)

    for _ in range(2):  # complete and unchanged, but no marker: not requested
        assert not sensor.tick(execute=False).run_requests
    waiting = (
        "waiting for _SUCCESS in their folder"
        if marker == "success_file"
        else "waiting for <file>.done"
    )
    assert sensor.messages[-1] == f"feed: 1 file(s) {waiting}"

    (folder / ("_SUCCESS" if marker == "success_file" else "a.csv.done")).write_text("")
    tick = sensor.tick(execute=False)

    loaded = load_project(project)
    config = loaded.config.enabled_sources[0]
    expected = sensors.listed_fingerprints(config, loaded.paths, config.filesystem.tables[0])
    assert [
        list(r.run_config["ops"]["load_feed"]["config"]["files"]["events"])
        for r in tick.run_requests
    ] == [["part=1/a.csv"]]
    assert (
        tick.run_requests[0].run_config["ops"]["load_feed"]["config"]["files"]["events"] == expected
    )


@pytest.mark.integration
def test_parquet_is_requested_only_with_its_footer(make_project, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    project = make_project([feed_source(settle_seconds=0)])
    folder = project / LANDING
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"id": [1, 2, 3]}), folder / "f.parquet")
    whole = (folder / "f.parquet").read_bytes()
    (folder / "f.parquet").write_bytes(whole[:-10])  # the writer has not written the footer yet
    sensor = Sensor(project)

    sensor.tick(execute=False)
    assert not sensor.tick(execute=False).run_requests
    assert sensor.messages[-1] == "feed: 1 file(s) without a parquet footer yet"

    (folder / "f.parquet").write_bytes(whole)
    sensor.tick(execute=False)  # changed: settles again over one tick
    assert sensor.tick(execute=False).run_requests
    assert [list(r["facts"]) for r in sensor.runs] == [["f.parquet"]]


@pytest.mark.e2e
def test_failed_run_is_retried_with_backoff_without_the_file_changing(make_project, monkeypatch):
    """The first run fails (another process holds the warehouse's write lock, and the source
    has `max_retries: 0`); the sensor sees that run end, waits one interval, requests the same
    file again under a new run key, and that run loads it."""
    project = make_project([feed_source(settle_seconds=0)])
    clock = [1_800_000_000.0]
    monkeypatch.setattr(sensors, "_clock", lambda: clock[0])
    path = project / LANDING / "a.csv"
    path.parent.mkdir(parents=True)
    path.write_text(HEADER + "".join(line(i) for i in range(100)))
    sensor = Sensor(project)
    sensor.tick(execute=False)
    first = sensor.tick(execute=False).run_requests[0]
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
            "c.execute('create table lock_holder(x int)'); print('locked', flush=True); time.sleep(120)",
            str(project / "warehouse.duckdb"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert not sensor.execute(first, raise_on_error=False).success
    finally:
        holder.kill()
        holder.wait()

    clock[0] += 1
    waiting = sensor.tick(execute=False)
    assert not waiting.run_requests
    assert sensor.messages[-1] == "feed: 1 file(s) whose run failed, waiting to be retried"
    clock[0] += 2  # one interval (minimum_interval_seconds: 2) after the failure was seen
    retry = sensor.tick(execute=False).run_requests[0]

    assert retry.run_config == first.run_config
    assert (
        retry.run_key
        == run_key(retry.run_config["ops"]["load_feed"]["config"]["files"], 1)
        != first.run_key
    )
    assert sensor.execute(retry).success
    assert scalar(project, "select count(*) from raw_feed.events") == 100
    clock[0] += 2
    assert not sensor.tick(execute=False).run_requests
    assert sensor.messages[-1] == "feed: no new or changed files"


@pytest.mark.unit
def test_a_permanently_failing_file_backs_off_then_waits_for_a_change():
    fp = "10:2026-01-01T00:00:00+00:00"
    listing = {"events": {"bad.csv": fp}}
    cursor = FileSensorCursor()
    now, interval = 1_000.0, 30
    tick = decide_tick(listing, {}, cursor, now=now)
    tick = decide_tick(listing, {}, tick.cursor, now=now)
    key = run_key(tick.to_request)
    attempts, gaps, last_request = 0, [], now
    while now < 1_000 + 10 * 86_400:
        now += interval
        tick = decide_tick(
            listing,
            {},
            tick.cursor,
            now=now,
            ended_requests=set(tick.cursor.requests),
            retry_interval=interval,
        )
        if tick.to_request:
            attempts += 1
            gaps.append(now - last_request)
            last_request = now
            assert run_key(tick.to_request, tick.attempt) != key and tick.attempt == attempts
            key = run_key(tick.to_request, tick.attempt)

    assert attempts == MAX_ATTEMPTS - 1  # the first request plus MAX_ATTEMPTS - 1 retries
    assert [retry_delay(interval, n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert gaps == sorted(gaps) and gaps[-1] <= 3600 + 2 * interval
    assert tick.given_up == 1 and "failed 8 times: retried when they change" in tick.skip_message(
        "s"
    )
    # rewritten: a new fingerprint starts over; moved away (quarantine_dir): forgotten
    changed = decide_tick({"events": {"bad.csv": "11:x"}}, {}, tick.cursor, now=now)
    assert changed.cursor.pending == {"events": {"bad.csv": "11:x"}} and not changed.cursor.failed
    gone = decide_tick({"events": {}}, {}, tick.cursor, now=now)
    assert gone.cursor == FileSensorCursor()

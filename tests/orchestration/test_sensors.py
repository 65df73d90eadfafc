"""The file-arrival sensor, ticked as the daemon ticks it, on real folders, state and loads.

Each test ticks `drops_file_sensor` of a throw-away project (`sensor_def.evaluate_tick` with
`build_sensor_context`, the cursor carried from tick to tick as Dagster stores it) and asserts
the run requests, skip reasons and cursor. Loads are real: `materialize_project`, or the job
executed in process with the run config the sensor produced; rows are read from DuckDB. The
expected fingerprints come from `list_files`, the listing the load step itself uses.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance, RunRequest, build_sensor_context
from helpers import (
    MOTO_ACCESS_KEY,
    MOTO_SECRET_KEY,
    MotoS3,
    execute_job,
    file_table,
    materialize_project,
    query,
    source,
    write_csv,
)

from ingest_assets.dlt.run_config import LoadConfig, load_run_config
from ingest_assets.orchestration.sensors import (
    FileSensorCursor,
    decide_tick,
    listed_fingerprints,
    run_key,
    safe_message,
)
from ingest_assets.project import build_definitions, load_project
from ingest_assets.settings import ProjectPaths
from ingest_assets.sources.filesystem import FilesystemSourceConfig, fingerprint, list_files

SENSOR = "drops_file_sensor"
JOB = "drops_job"
LANDING = "data/landing/drops"
EMPTY_CURSOR = {"v": 1, "pending": {}, "requested": {}}


def drops_source(bucket_url: str = LANDING, **overrides: Any) -> dict[str, Any]:
    """A filesystem source `drops`: `orders` appended from orders*.csv, `stores` replaced from
    stores*.csv. No dbt model reads it, so its job is just its load step."""
    return source(
        "drops",
        bucket_url=bucket_url,
        tables=[
            file_table("orders", "orders*.csv"),
            file_table("stores", "stores*.csv", write_disposition="replace"),
        ],
        sensor=True,
        minimum_interval_seconds=5,
        settle_seconds=0,  # two ticks, as the daemon would see them minutes apart
        **overrides,
    )


def orders(first_id: int, count: int) -> list[dict[str, Any]]:
    return [
        {"id": i, "customer": f"c{i % 7}", "amount": i * 10}
        for i in range(first_id, first_id + count)
    ]


@dataclass
class Tick:
    """What one tick returned."""

    run_requests: list[RunRequest]
    skip_message: str | None
    cursor: str | None

    @property
    def state(self) -> dict:
        """The cursor as JSON."""
        return json.loads(self.cursor) if self.cursor else {}

    @property
    def files(self) -> dict[str, dict[str, str]]:
        """The files of the tick's single run request."""
        assert len(self.run_requests) == 1, self.skip_message
        return self.run_requests[0].run_config["ops"]["load_drops"]["config"]["files"]


class Sensor:
    """`drops_file_sensor` of one project, ticked like the daemon does: fresh context per tick,
    the cursor it returned handed to the next tick."""

    def __init__(self, project: Path, cursor: str | None = None) -> None:
        self.project = project
        self.defs = build_definitions(load_project(project))
        self.instance = DagsterInstance.ephemeral()
        self.cursor = cursor

    def tick(self) -> Tick:
        sensor = self.defs.resolve_sensor_def(SENSOR)
        context = build_sensor_context(
            cursor=self.cursor, instance=self.instance, definitions=self.defs
        )
        data = sensor.evaluate_tick(context)
        self.cursor = data.cursor
        return Tick(list(data.run_requests or []), data.skip_message, data.cursor)

    def restarted(self) -> Sensor:
        """A new sensor object from freshly loaded definitions with the stored cursor string, as
        after a daemon or code-server restart."""
        return Sensor(self.project, cursor=self.cursor)


def listed(project: Path, table: str) -> dict[str, str]:
    """`{relative_path: fingerprint}` of a table's files as the load step lists them."""
    loaded = load_project(project)
    config = loaded.config.enabled_sources[0]
    table_config = next(t for t in config.filesystem.tables if t.name == table)
    return {
        f["relative_path"]: fingerprint(f) for f in list_files(config, loaded.paths, table_config)
    }


def expected_request(files: dict[str, dict[str, str]]) -> dict:
    return load_run_config("drops", LoadConfig(files=files))


def order_rows(project: Path) -> list[tuple]:
    return query(project, "select id, customer, amount from raw_drops.orders order by id")


def as_rows(rows: list[dict[str, Any]]) -> list[tuple]:
    return sorted((r["id"], r["customer"], r["amount"]) for r in rows)


def load_orders_and_stores(project: Path) -> Path:
    """Drop orders_1.csv (3 orders) and stores_1.csv (1 store) and load them; return the landing
    folder."""
    landing = project / LANDING
    write_csv(landing / "orders_1.csv", orders(1, 3))
    write_csv(landing / "stores_1.csv", [{"id": 1, "city": "Oslo"}])
    assert materialize_project(project, "group:drops").success
    return landing


def assert_idle_for_two_ticks(sensor: Sensor) -> None:
    """Two ticks in a row request nothing, say there is nothing new and keep an empty cursor."""
    for _ in range(2):
        tick = sensor.tick()
        assert tick.run_requests == []
        assert tick.skip_message == "drops: no new or changed files"
        assert tick.state == EMPTY_CURSOR


@pytest.fixture
def project(make_project) -> Path:
    root = make_project([drops_source()])
    (root / LANDING).mkdir(parents=True)
    return root


@pytest.mark.e2e
def test_empty_folder_skips_without_a_run(project):
    sensor = Sensor(project)

    assert_idle_for_two_ticks(sensor)


@pytest.mark.integration
def test_unreachable_folder_skips_with_source_and_error_and_keeps_the_cursor(make_project):
    project = make_project([drops_source("data/landing/missing")])
    saved = json.dumps({"v": 1, "pending": {"orders": {"orders_1.csv": "5:x"}}, "requested": {}})
    sensor = Sensor(project, cursor=saved)

    tick = sensor.tick()

    assert tick.run_requests == []
    assert tick.skip_message.startswith("drops: cannot list files in ")
    assert "FileNotFoundError" in tick.skip_message
    assert str(project / "data/landing/missing") in tick.skip_message
    assert tick.cursor == saved


@pytest.mark.integration
def test_new_files_run_once_they_stay_unchanged_for_a_tick(project):
    landing = project / LANDING
    write_csv(landing / "orders_1.csv", orders(1, 3))
    write_csv(landing / "stores_1.csv", [{"id": 1, "city": "Oslo"}])
    files = {"orders": listed(project, "orders"), "stores": listed(project, "stores")}
    sensor = Sensor(project)

    first = sensor.tick()  # seen for the first time: could still be being written
    assert first.run_requests == []
    assert (
        first.skip_message
        == "drops: 2 new or changed file(s) waiting to stay unchanged for one tick"
    )
    assert first.state == {"v": 1, "pending": files, "requested": {}}

    second = sensor.tick()  # same fingerprints: settled
    [request] = second.run_requests
    assert request.run_config == expected_request(files)
    assert request.run_key == run_key(files)
    assert second.state == {
        "v": 1,
        "pending": {},
        "requested": files,
        "requests": {run_key(files): 0},
    }

    third = sensor.tick()  # run not finished yet: nothing new, no second request
    assert third.run_requests == []
    assert third.skip_message == "drops: 2 file(s) already requested, not loaded yet"
    assert third.cursor == second.cursor


@pytest.mark.e2e
def test_sensor_run_loads_new_file_rows_exactly_once(project):
    landing = project / LANDING
    write_csv(landing / "orders_1.csv", orders(1, 3))
    sensor = Sensor(project)
    sensor.tick()
    request = sensor.tick().run_requests[0]

    assert execute_job(project, JOB, request.run_config).success
    assert order_rows(project) == as_rows(orders(1, 3))
    after_load = sensor.tick()
    assert after_load.run_requests == []
    assert after_load.skip_message == "drops: no new or changed files"
    assert after_load.state == EMPTY_CURSOR

    write_csv(landing / "orders_2.csv", orders(100, 4))
    sensor.tick()
    second = sensor.tick()
    assert second.files == {"orders": {"orders_2.csv": listed(project, "orders")["orders_2.csv"]}}
    assert execute_job(project, JOB, second.run_requests[0].run_config).success
    assert order_rows(project) == as_rows(orders(1, 3) + orders(100, 4))

    # the same request again (a retried or duplicated run) and a plain run load nothing twice
    assert execute_job(project, JOB, second.run_requests[0].run_config).success
    assert materialize_project(project, "group:drops").success
    assert order_rows(project) == as_rows(orders(1, 3) + orders(100, 4))
    assert sensor.tick().state == EMPTY_CURSOR


@pytest.mark.e2e
def test_files_already_loaded_start_no_run(project):
    load_orders_and_stores(project)
    sensor = Sensor(project)

    assert_idle_for_two_ticks(sensor)


@pytest.mark.e2e
def test_file_touched_to_an_older_mtime_counts_as_changed(project):
    landing = load_orders_and_stores(project)
    sensor = Sensor(project)
    assert sensor.tick().state == EMPTY_CURSOR

    os.utime(landing / "orders_1.csv", (946684800, 946684800))  # 2000-01-01, older than the load
    touched = listed(project, "orders")
    assert touched["orders_1.csv"].endswith("2000-01-01T00:00:00+00:00")

    first = sensor.tick()
    assert first.run_requests == []
    assert first.state["pending"] == {"orders": touched}
    assert sensor.tick().files == {"orders": touched}


@pytest.mark.e2e
def test_growing_file_waits_until_two_ticks_see_it_unchanged(project):
    path = project / LANDING / "orders_1.csv"
    path.write_text("id,customer,amount\n1,c1,10\n")
    sensor = Sensor(project)
    assert sensor.tick().run_requests == []

    with path.open("a") as handle:  # still being written between the ticks
        handle.write("2,c2,20\n")
    grown = sensor.tick()
    assert grown.run_requests == []
    assert grown.state["pending"] == {"orders": listed(project, "orders")}

    settled = sensor.tick()
    assert settled.files == {"orders": listed(project, "orders")}
    stale_request = settled.run_requests[0]

    # it grows again after it was requested: that request is stale, the sensor waits and re-requests
    with path.open("a") as handle:
        handle.write("3,c3,30\n")
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 5))
    changed = sensor.tick()
    assert changed.run_requests == []
    assert changed.state == {
        "v": 1,
        "pending": {"orders": listed(project, "orders")},
        "requested": {},
    }
    fresh = sensor.tick()
    assert fresh.files == {"orders": listed(project, "orders")}
    assert fresh.run_requests[0].run_key != stale_request.run_key

    # the stale run loads nothing (the file changed since it was seen), the fresh one all of it
    assert execute_job(project, JOB, stale_request.run_config).success
    assert (
        query(
            project, "select table_name from information_schema.tables where table_name = 'orders'"
        )
        == []
    )
    assert execute_job(project, JOB, fresh.run_requests[0].run_config).success
    assert order_rows(project) == [(1, "c1", 10), (2, "c2", 20), (3, "c3", 30)]


@pytest.mark.integration
def test_restart_with_the_stored_cursor_makes_the_same_decisions(project):
    landing = project / LANDING
    write_csv(landing / "orders_1.csv", orders(1, 3))
    before = Sensor(project)
    before.tick()

    after = before.restarted()  # fresh definitions and instance, only the cursor string kept
    uninterrupted = before.tick()
    resumed = after.tick()
    assert resumed.run_requests[0].run_key == uninterrupted.run_requests[0].run_key
    assert resumed.run_requests[0].run_config == uninterrupted.run_requests[0].run_config
    assert resumed.cursor == uninterrupted.cursor

    again = after.restarted().tick()  # restarted while the run is in flight: no second request
    assert again.run_requests == []
    assert again.skip_message == "drops: 1 file(s) already requested, not loaded yet"


@pytest.mark.e2e
def test_replace_table_requests_all_its_files(project):
    landing = project / LANDING
    write_csv(landing / "stores_1.csv", [{"id": 1, "city": "Oslo"}])
    assert materialize_project(project, "group:drops").success
    write_csv(landing / "stores_2.csv", [{"id": 2, "city": "Bergen"}])
    sensor = Sensor(project)
    sensor.tick()

    tick = sensor.tick()

    # a replace load keeps only the files it loads: the unchanged stores_1.csv goes along
    assert tick.files == {"stores": listed(project, "stores")}
    assert set(tick.files["stores"]) == {"stores_1.csv", "stores_2.csv"}
    assert tick.state["requested"] == {
        "stores": {"stores_2.csv": listed(project, "stores")["stores_2.csv"]}
    }
    assert execute_job(project, JOB, tick.run_requests[0].run_config).success
    assert query(project, "select id, city from raw_drops.stores order by id") == [
        (1, "Oslo"),
        (2, "Bergen"),
    ]
    assert sensor.tick().state == EMPTY_CURSOR


@pytest.mark.e2e
def test_ticks_never_open_the_warehouse(project, monkeypatch):
    import duckdb

    landing = project / LANDING
    write_csv(landing / "orders_1.csv", orders(1, 3))
    assert materialize_project(project, "group:drops").success
    write_csv(landing / "orders_2.csv", orders(10, 2))

    def refuse(*args, **kwargs):
        raise AssertionError("the sensor opened DuckDB")

    monkeypatch.setattr(duckdb, "connect", refuse)
    sensor = Sensor(project)
    sensor.tick()
    assert set(sensor.tick().files["orders"]) == {"orders_2.csv"}


@pytest.mark.unit
def test_cursor_holds_only_unloaded_files():
    many = {f"orders_{i:05d}.csv": f"10:2026-01-01T00:00:{i % 60:02d}+00:00" for i in range(20_000)}
    new = {
        "orders_new_1.csv": "11:2026-02-01T00:00:00+00:00",
        "orders_new_2.csv": "12:2026-02-01T00:00:00+00:00",
    }
    listing = {"orders": {**many, **new}}
    loaded = {"orders": many}

    first = decide_tick(listing, loaded, FileSensorCursor())
    second = decide_tick(listing, loaded, first.cursor)
    after_load = decide_tick(listing, {"orders": {**many, **new}}, second.cursor)

    assert first.to_request == {} and first.cursor.pending == {"orders": new}
    assert second.to_request == {"orders": new}
    assert second.cursor == FileSensorCursor(
        pending={}, requested={"orders": new}, requests={run_key(new_files := {"orders": new}): 0}
    )
    assert second.to_request == new_files
    assert after_load.to_request == {} and after_load.cursor == FileSensorCursor()
    # files that disappear and tables that are no longer configured are forgotten too
    gone = decide_tick(
        {"stores": {}}, {}, FileSensorCursor(pending={"orders": new}, requested={"x": new})
    )
    assert gone.cursor == FileSensorCursor()
    assert FileSensorCursor.parse(second.cursor.dumps()) == second.cursor
    assert FileSensorCursor.parse("not json") == FileSensorCursor()
    assert (
        FileSensorCursor.parse('{"v": 99, "pending": {"orders": {"a": "1:x"}}}')
        == FileSensorCursor()
    )


@pytest.mark.unit
def test_run_key_is_a_stable_digest_of_files_and_fingerprints():
    files = {"orders": {"a.csv": "1:x", "b.csv": "2:y"}, "stores": {"s.csv": "3:z"}}
    reordered = {"stores": {"s.csv": "3:z"}, "orders": {"b.csv": "2:y", "a.csv": "1:x"}}

    assert run_key(files) == run_key(reordered)
    assert run_key(files) != run_key({**files, "stores": {"s.csv": "4:z"}})
    assert len(run_key(files)) == 32


@pytest.mark.unit
def test_fast_local_listing_matches_the_load_steps_fingerprints(tmp_path):
    root = tmp_path / "bucket"
    (root / "2024" / "01").mkdir(parents=True)
    (root / "orders_1.csv").write_text("id\n1\n")
    (root / "2024" / "01" / "orders_2.csv").write_text("id\n2\n3\n")
    (root / "2024" / "orders_3.csv").write_text("")
    (root / "orders_dir.csv").mkdir()  # a folder matching the glob is not a file
    (root / ".orders_hidden.csv").write_text("id\n")
    os.symlink(root / "orders_1.csv", root / "orders_link.csv")
    os.utime(root / "orders_1.csv", ns=(1_700_000_000_123_456_789, 1_700_000_000_123_456_789))
    os.utime(root / "2024" / "orders_3.csv", (946684800.5, 946684800.5))
    as_path = FilesystemSourceConfig.model_validate(drops_source(str(root)))
    paths = ProjectPaths(tmp_path)

    as_url = FilesystemSourceConfig.model_validate(drops_source(root.as_uri()))

    for config in (as_path, as_url):
        for glob in (
            "orders*.csv",
            "**/orders*.csv",
            "2024/**/*.csv",
            "*",
            "2024/*.csv",
            "2024/01/orders_2.csv",
            "orders_1.csv",
            ".orders*",
            "[o]rders_?.csv",
        ):
            table = config.filesystem.tables[0].model_copy(update={"file_glob": glob})
            expected = {
                f["relative_path"]: fingerprint(f) for f in list_files(config, paths, table)
            }
            assert listed_fingerprints(config, paths, table) == expected, glob
            assert expected, glob


@pytest.mark.unit
def test_skip_messages_mask_credentials_in_urls_and_signed_parameters():
    message = (
        "cannot reach s3://AKIAEXAMPLE:very-secret@bucket/x and "
        "https://acct.blob.core.windows.net/c/f.csv?sv=2022&sig=abc%2Fdef&se=2030 "
        "or https://storage.googleapis.com/b/o?X-Goog-Signature=deadbeef&X-Goog-Credential=me "
        "with password=hunter22"
    )

    masked = safe_message(message)

    for secret in ("AKIAEXAMPLE", "very-secret", "abc%2Fdef", "deadbeef", "=me", "hunter22"):
        assert secret not in masked
    assert "s3://***@bucket/x" in masked
    assert len(safe_message("x" * 2000)) == 500


@pytest.fixture
def landing(moto_s3: MotoS3, monkeypatch) -> Any:
    """Bucket `landing` on the S3 emulator; dlt reads source `drops`'s credentials from the
    environment. A boto3 client."""
    for key, value in moto_s3.credentials_env("drops").items():
        monkeypatch.setenv(key, value)
    moto_s3.client.create_bucket(Bucket="landing")
    return moto_s3.client


@pytest.mark.integration
def test_bucket_files_settle_and_load(make_project, landing):
    project = make_project([drops_source("s3://landing/drops")])
    landing.put_object(
        Bucket="landing", Key="drops/orders_1.csv", Body=b"id,customer,amount\n1,c1,10\n2,c2,20\n"
    )
    sensor = Sensor(project)

    assert sensor.tick().run_requests == []
    tick = sensor.tick()

    assert tick.files == {"orders": listed(project, "orders")}
    assert execute_job(project, JOB, tick.run_requests[0].run_config).success
    assert order_rows(project) == [(1, "c1", 10), (2, "c2", 20)]
    assert sensor.tick().skip_message == "drops: no new or changed files"


@pytest.mark.integration
def test_unreachable_bucket_skips_with_the_error_and_no_credentials(make_project, landing):
    project = make_project([drops_source("s3://no-such-bucket/drops")])

    tick = Sensor(project).tick()

    assert tick.run_requests == []
    assert tick.skip_message.startswith("drops: cannot list files in s3://no-such-bucket/drops: ")
    assert "bucket does not exist" in tick.skip_message
    assert MOTO_SECRET_KEY not in tick.skip_message and MOTO_ACCESS_KEY not in tick.skip_message
    assert tick.cursor is None


@pytest.mark.e2e
def test_run_for_new_files_of_one_table_leaves_a_replace_table_alone(project):
    landing = load_orders_and_stores(project)
    write_csv(landing / "orders_2.csv", orders(10, 2))
    sensor = Sensor(project)
    sensor.tick()
    tick = sensor.tick()
    assert set(tick.files) == {"orders"}

    result = execute_job(project, JOB, tick.run_requests[0].run_config, raise_on_error=False)

    assert query(project, "select id, city from raw_drops.stores") == [(1, "Oslo")]
    assert result.success
    assert order_rows(project) == as_rows(orders(1, 3) + orders(10, 2))

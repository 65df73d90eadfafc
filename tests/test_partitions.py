"""Time partitions: a backfill, then a rerun of one partition, gives exactly the source's rows.

On PostgreSQL (own schema `tm15_<random>`) and on files dated by their path.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import execute_sql, query, write_csv

from ingest_assets.partitions import PartitionsConfig, backfill_tags, date_pattern, keys_between

pytestmark = pytest.mark.integration

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
PARTITIONS = {"type": "daily", "start": "2024-01-01", "end": "2024-01-06"}


@pytest.fixture
def pg(pg_schema):
    """A fresh PostgreSQL schema (conftest's `pg_schema`, dropped afterwards) and an engine."""
    return pg_schema


def run_partitions(root: Path, job: str, keys: list[str], per_partition: bool = False) -> list[Any]:
    """Run `job` of the project at `root` over `keys` as `ingest backfill` does: one run for the
    range, or one per partition; every run must succeed."""
    from dagster import DagsterInstance

    from ingest_assets.project import build_definitions, load_project

    job_def = build_definitions(load_project(root)).resolve_job_def(job)
    results = []
    with DagsterInstance.ephemeral() as instance:
        for tags in backfill_tags(keys, per_partition):
            result = job_def.execute_in_process(instance=instance, tags=tags, raise_on_error=False)
            failures = [e.message for e in result.all_events if e.is_failure]
            assert result.success, failures
            results.append(result)
    return results


def source_rows(engine: sa.Engine, schema: str) -> list[tuple]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(f"SELECT id, amount, updated_at FROM {schema}.orders ORDER BY id")
        ).fetchall()
    return [(r[0], float(r[1]), r[2]) for r in rows]


def warehouse_rows(root: Path, dataset: str = "raw_pg_part") -> list[tuple]:
    rows = query(root, f"SELECT id, amount, updated_at FROM {dataset}.orders ORDER BY id")
    return [
        (r[0], float(r[1]), r[2].replace(tzinfo=None) if r[2].tzinfo is None else r[2])
        for r in rows
    ]


def test_postgres_backfill_then_rerun_of_one_partition_gives_exactly_the_source_rows(
    make_project, pg, monkeypatch
):
    engine, schema = pg
    execute_sql(
        engine,
        f"CREATE TABLE {schema}.orders (id int PRIMARY KEY, amount numeric(12, 2), updated_at timestamp NOT NULL)",
        # 24 rows a day from 2023-12-31 to 2024-01-06: the window must cut the first and last day off
        f"INSERT INTO {schema}.orders SELECT g, g * 1.5, timestamp '2023-12-31 00:00' + g * interval '1 hour' "
        "FROM generate_series(0, 7 * 24 - 1) g",
    )
    monkeypatch.setenv("SOURCES__PG_PART__CREDENTIALS", PG_URL)
    root = make_project(
        [
            {
                "name": "pg_part",
                "type": "sql_database",
                "partitions": PARTITIONS,
                "sql_database": {
                    "schema": schema,
                    "tables": [{"name": "orders", "incremental": {"cursor": "updated_at"}}],
                },
            }
        ]
    )

    def expected() -> list[tuple]:
        start, end = datetime(2024, 1, 1), datetime(2024, 1, 6)
        return [row for row in source_rows(engine, schema) if start <= row[2] < end]

    # a range of five days as one run (BackfillPolicy.single_run)
    run_partitions(root, "pg_part_job", [f"2024-01-0{d}" for d in range(1, 6)])
    assert len(expected()) == 5 * 24
    assert warehouse_rows(root) == expected()
    assert query(
        root, "SELECT _partition, count(*) FROM raw_pg_part.orders GROUP BY 1 ORDER BY 1"
    ) == [(f"2024-01-0{d}", 24) for d in range(1, 6)]

    # the source changes inside 2024-01-03: a row updated, one deleted, one added
    execute_sql(
        engine,
        f"UPDATE {schema}.orders SET amount = 999 WHERE updated_at = '2024-01-03 05:00'",
        f"DELETE FROM {schema}.orders WHERE updated_at = '2024-01-03 06:00'",
        f"INSERT INTO {schema}.orders VALUES (10000, 7.5, '2024-01-03 06:30')",
        # and outside it: rerunning 2024-01-03 must not bring this row
        f"INSERT INTO {schema}.orders VALUES (10001, 8.5, '2024-01-04 06:30')",
    )
    run_partitions(root, "pg_part_job", ["2024-01-03"])
    assert len(warehouse_rows(root)) == 5 * 24  # one deleted, one added
    assert warehouse_rows(root) == [r for r in expected() if r[0] != 10001]
    # rerunning a partition that did not change, twice, changes nothing: no duplicate
    run_partitions(root, "pg_part_job", ["2024-01-04"], per_partition=True)
    run_partitions(root, "pg_part_job", ["2024-01-04", "2024-01-05"], per_partition=True)
    assert warehouse_rows(root) == expected()

    # a partition the source has no rows for any more is emptied by its rerun
    execute_sql(
        engine,
        f"DELETE FROM {schema}.orders WHERE updated_at >= '2024-01-02' AND updated_at < '2024-01-03'",
    )
    run_partitions(root, "pg_part_job", ["2024-01-02"])
    assert warehouse_rows(root) == expected()
    assert query(
        root, "SELECT count(*) FROM raw_pg_part.orders WHERE _partition = '2024-01-02'"
    ) == [(0,)]


def test_files_dated_by_path_backfill_then_rerun_of_one_partition(make_project, tmp_path):
    root = make_project(
        [
            {
                "name": "daily_files",
                "type": "filesystem",
                "partitions": PARTITIONS,
                "filesystem": {
                    "bucket_url": "data/daily",
                    "tables": [
                        {
                            "name": "orders",
                            "file_glob": "day={date:%Y-%m-%d}/*.csv",
                            "format": "csv",
                        }
                    ],
                },
            }
        ]
    )
    folder = root / "data" / "daily"

    def write_day(day: str, count: int, offset: int = 0) -> None:
        (folder / f"day={day}").mkdir(parents=True, exist_ok=True)
        write_csv(
            folder / f"day={day}" / "orders.csv",
            [{"id": f"{day}-{i}", "amount": i + offset} for i in range(count)],
        )

    for day in range(1, 6):
        write_day(f"2024-01-0{day}", 10 * day)
    write_day("2023-12-31", 7)  # before the partitions' start: never loaded

    def rows_by_day() -> list[tuple]:
        return query(
            root,
            "SELECT _partition, count(*), sum(amount) FROM raw_daily_files.orders GROUP BY 1 ORDER BY 1",
        )

    run_partitions(
        root, "daily_files_job", [f"2024-01-0{d}" for d in range(1, 6)], per_partition=True
    )
    assert rows_by_day() == [(f"2024-01-0{d}", 10 * d, sum(range(10 * d))) for d in range(1, 6)]

    # 2024-01-03's file is rewritten with fewer, different rows; the rerun replaces exactly it
    write_day("2024-01-03", 4, offset=100)
    run_partitions(root, "daily_files_job", ["2024-01-03"])
    run_partitions(root, "daily_files_job", ["2024-01-03"])  # twice: no duplicate
    expected = [(f"2024-01-0{d}", 10 * d, sum(range(10 * d))) for d in range(1, 6)]
    expected[2] = ("2024-01-03", 4, sum(range(100, 104)))
    assert rows_by_day() == expected
    assert query(root, "SELECT count(*), count(DISTINCT id) FROM raw_daily_files.orders") == [
        (124, 124)
    ]

    # a range backfill in one run over partitions already loaded keeps every row once
    run_partitions(root, "daily_files_job", [f"2024-01-0{d}" for d in range(1, 6)])
    assert rows_by_day() == expected


def test_date_pattern_and_keys_between():
    pattern = date_pattern("events/day={date:%Y-%m-%d}/*.jsonl")
    assert pattern.glob == "events/day=*/*.jsonl"
    assert pattern.date_of("events/day=2024-02-03/part-1.jsonl") == datetime(2024, 2, 3)
    assert pattern.date_of("events/day=latest/part-1.jsonl") is None
    assert date_pattern("orders_*.csv") is None
    with pytest.raises(ValueError, match="%b is not supported"):
        date_pattern("x_{date:%b}.csv")
    config = PartitionsConfig(**PARTITIONS, timezone="UTC")
    assert keys_between(config, datetime(2024, 1, 2), datetime(2024, 1, 3)) == [
        "2024-01-02",
        "2024-01-03",
    ]
    assert keys_between(config, datetime(2024, 1, 2, 12), datetime(2024, 1, 2, 13)) == [
        "2024-01-02"
    ]
    with pytest.raises(ValueError, match="no partition"):
        keys_between(config, datetime(2023, 1, 1), datetime(2023, 1, 2))
    assert backfill_tags(["a", "b"], False) == [
        {"dagster/asset_partition_range_start": "a", "dagster/asset_partition_range_end": "b"}
    ]
    assert backfill_tags(["a", "b"], True) == [
        {"dagster/partition": "a"},
        {"dagster/partition": "b"},
    ]


def test_rest_window_reaches_the_api_and_a_rerun_replaces_its_day(make_project, httpserver):
    import json

    from werkzeug import Request, Response

    products = [
        {"id": i, "price": 100 + i, "updated_at": f"2024-01-0{1 + i // 3}T{10 + i % 3}:00:00Z"}
        for i in range(18)
    ]  # three a day, 2024-01-01 to 2024-01-06
    seen: list[dict[str, str]] = []

    def handler(request: Request) -> Response:
        seen.append(dict(request.args))
        since, until = (
            request.args.get("updated_since", ""),
            request.args.get("updated_until", "9999"),
        )
        rows = [p for p in products if since <= p["updated_at"] < until]
        return Response(json.dumps({"data": rows}), content_type="application/json")

    httpserver.expect_request("/products").respond_with_handler(handler)
    root = make_project(
        [
            {
                "name": "api",
                "type": "rest_api",
                "partitions": PARTITIONS,
                "rest_api": {
                    "client": {"base_url": httpserver.url_for("/"), "paginator": "single_page"},
                    "resources": [
                        {
                            "name": "products",
                            "primary_key": "id",
                            "endpoint": {
                                "path": "products",
                                "data_selector": "data",
                                "incremental": {
                                    "start_param": "updated_since",
                                    "end_param": "updated_until",
                                    "cursor_path": "updated_at",
                                    "initial_value": "2024-01-01T00:00:00Z",
                                },
                            },
                        }
                    ],
                },
            }
        ]
    )

    def loaded() -> list[tuple]:
        return query(root, "SELECT id, price, _partition FROM raw_api.products ORDER BY id")

    def expected() -> list[tuple]:
        return [
            (p["id"], p["price"], p["updated_at"][:10])
            for p in products
            if "2024-01-01" <= p["updated_at"] < "2024-01-06"
        ]

    run_partitions(root, "api_job", [f"2024-01-0{d}" for d in range(1, 6)])
    assert seen[-1] == {
        "updated_since": "2024-01-01T00:00:00Z",
        "updated_until": "2024-01-06T00:00:00Z",
    }
    assert loaded() == expected()

    products[4]["price"] = 999  # 2024-01-02
    del products[5]
    run_partitions(root, "api_job", ["2024-01-02"])
    assert seen[-1] == {
        "updated_since": "2024-01-02T00:00:00Z",
        "updated_until": "2024-01-03T00:00:00Z",
    }
    assert loaded() == expected()
    assert len(loaded()) == 14


def test_schedule_runs_the_last_complete_partition_and_unpartitioned_runs_fail_clearly(
    make_project,
):

    from dagster import DagsterInstance, build_schedule_context

    from ingest_assets.project import build_definitions, load_project

    root = make_project(
        [
            {
                "name": "daily_files",
                "type": "filesystem",
                "schedule": "30 6 * * *",
                "partitions": {"type": "daily", "start": "2024-01-01"},
                "filesystem": {
                    "bucket_url": "data/daily",
                    "tables": [
                        {
                            "name": "orders",
                            "file_glob": "day={date:%Y-%m-%d}/*.csv",
                            "format": "csv",
                        }
                    ],
                },
            }
        ]
    )
    defs = build_definitions(load_project(root))
    schedule = defs.resolve_schedule_def("daily_files_schedule")
    assert schedule.cron_schedule == "30 6 * * *"
    with DagsterInstance.ephemeral() as instance:
        context = build_schedule_context(
            instance=instance,
            scheduled_execution_time=datetime(2024, 3, 5, 6, 30, tzinfo=UTC),
            repository_def=defs.get_repository_def(),
        )
        requests = schedule.evaluate_tick(context).run_requests
    assert [r.partition_key for r in requests] == ["2024-03-04"]
    # no file-arrival sensor for a partitioned source: its runs are by window
    assert not any(s.name == "daily_files_file_sensor" for s in defs.sensors or [])

    result = defs.resolve_job_def("daily_files_job").execute_in_process(
        instance=DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert not result.success
    message = next(e.message for e in result.all_events if e.is_step_failure)
    failure = next(
        e for e in result.all_events if e.is_step_failure
    ).event_specific_data.error.message
    assert "source 'daily_files': the source is partitioned: run a partition" in failure, (
        message,
        failure,
    )


def test_partitions_config_errors(tmp_path):
    from ingest_assets.config import ConfigError, load_project_config

    def problems(source: dict[str, Any]) -> str:
        import yaml

        path = tmp_path / "sources.yml"
        path.write_text(yaml.safe_dump({"version": 1, "sources": [source]}))
        with pytest.raises(ConfigError) as error:
            load_project_config(path)
        return str(error.value)

    sql = {
        "name": "db",
        "type": "sql_database",
        "partitions": PARTITIONS,
        "sql_database": {"tables": ["orders"]},
    }
    assert (
        "table 'orders': a partitioned source needs `incremental: {cursor: <timestamp column>}`"
        in problems(sql)
    )
    files = {
        "name": "f",
        "type": "filesystem",
        "filesystem": {
            "bucket_url": "x",
            "tables": [
                {"name": "t", "file_glob": "*.csv", "format": "csv", "write_disposition": "replace"}
            ],
        },
    }
    assert "write_disposition 'replace' cannot be partitioned" in problems(
        {**files, "partitions": PARTITIONS}
    )
    assert "partitions need destination: warehouse" in problems(
        {**files, "destination": "lake", "partitions": PARTITIONS}
    )
    bad_type = problems({**files, "partitions": {"type": "weekly", "start": "2024-01-01"}})
    assert "partitions.type" in bad_type and "daily" in bad_type
    assert "is not a date" in problems({**files, "partitions": {"type": "daily", "start": "soon"}})


def test_a_row_outside_the_window_fails_instead_of_replacing_another_partition():
    import pyarrow as pa

    from ingest_assets.partitions import OutsideWindowError, _tagger, window_of_keys

    config = PartitionsConfig(type="hourly", start="2024-01-01", timezone="Europe/Berlin")
    window = window_of_keys(config, ["2024-01-03-00:00", "2024-01-03-01:00"])
    assert window.start.isoformat() == "2024-01-03T00:00:00+01:00"
    tag = _tagger(window, "at")
    # an aware value is converted into the partitions' zone: 23:30 UTC is 00:30 in Berlin
    rows = tag([{"at": "2024-01-02T23:30:00Z"}, {"at": datetime(2024, 1, 3, 1, 59)}])
    assert [r["_partition"] for r in rows] == ["2024-01-03-00:00", "2024-01-03-01:00"]
    with pytest.raises(
        OutsideWindowError, match="belongs to partition 2024-01-02-23:00, outside this run's window"
    ):
        tag(pa.table({"at": [datetime(2024, 1, 2, 23, 30)]}))

"""`ingest backfill`: a partitioned source (files selected by modification time) feeding the dbt
models, loaded over a range in one run and again per partition, on the project instance."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import read_csv, run_ingest, scalar
from jaffle import JAFFLE_TABLES, jaffle_source

pytestmark = pytest.mark.e2e


def _run(project: Path, *args: str) -> subprocess.CompletedProcess:
    return run_ingest(project, *args)


def test_backfill_by_modification_time_builds_the_models_and_reruns_without_duplicates(
    make_project, jaffle_small
):
    source = jaffle_source("data/landing/jaffle_shop")
    source.pop("sensor", None)
    source["partitions"] = {"type": "monthly", "start": "2024-01-01", "end": "2024-04-01"}
    project = make_project([source])
    landing = project / "data" / "landing" / "jaffle_shop"
    shutil.copytree(jaffle_small, landing)
    # every file was written in February 2024, the orders file in March
    for file in landing.iterdir():
        moment = datetime(
            2024, 3 if file.name == "raw_orders.csv" else 2, 10, tzinfo=UTC
        ).timestamp()
        os.utime(file, (moment, moment))
    expected = {table: len(read_csv(jaffle_small / name)) for table, name in JAFFLE_TABLES.items()}

    # --to is a day inside March: its whole partition is loaded
    first = _run(project, "backfill", "jaffle_shop", "--from", "2024-02-01", "--to", "2024-03-15")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "2 partition(s) 2024-02-01 to 2024-03-01 in 1 run(s)" in first.stdout
    for table, rows in expected.items():
        assert scalar(project, f"select count(*) from raw_jaffle_shop.{table}") == rows, table
    assert scalar(project, "select count(distinct _partition) from raw_jaffle_shop.orders") == 1
    assert scalar(project, "select min(_partition) from raw_jaffle_shop.orders") == "2024-03-01"
    # the dbt models downstream ran in the same run (the job is group:jaffle_shop+)
    assert scalar(project, "select count(*) from main.orders") == expected["orders"]

    # March again, as its own run: its rows are replaced, not added
    again = _run(
        project,
        "backfill",
        "jaffle_shop",
        "--from",
        "2024-03-01",
        "--to",
        "2024-03-01",
        "--per-partition",
    )
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "1 partition(s) 2024-03-01 to 2024-03-01 in 1 run(s)" in again.stdout
    for table, rows in expected.items():
        assert scalar(project, f"select count(*) from raw_jaffle_shop.{table}") == rows, table
    assert scalar(project, "select count(*) from main.orders") == expected["orders"]


def test_backfill_errors_name_the_source_and_the_fix(make_project):
    source = jaffle_source("data/landing/jaffle_shop")
    project = make_project([source])
    plain = _run(project, "backfill", "jaffle_shop", "--from", "2024-01-01", "--to", "2024-01-02")
    assert plain.returncode == 1
    assert (
        "source 'jaffle_shop' has no partitions: add `partitions: {type: daily, start: YYYY-MM-DD}`"
        in plain.stderr
    )
    source["partitions"] = {"type": "daily", "start": "2024-01-01"}
    source.pop("sensor", None)
    project = make_project([source], name="partitioned")
    bad = _run(project, "backfill", "jaffle_shop", "--from", "2024-13-01", "--to", "2024-01-02")
    assert bad.returncode == 1 and "write --from and --to as YYYY-MM-DD" in bad.stderr
    reversed_ = _run(
        project, "backfill", "jaffle_shop", "--from", "2024-01-05", "--to", "2024-01-02"
    )
    assert (
        reversed_.returncode == 1
        and "--to 2024-01-02 is before --from 2024-01-05" in reversed_.stderr
    )


def test_sync_of_a_partitioned_source_runs_its_last_complete_partition(make_project):
    from datetime import timedelta

    from helpers import write_csv

    today = datetime.now(UTC).date()  # the partitions are cut in UTC
    days = [today - timedelta(days=n) for n in (3, 2, 1, 0)]
    project = make_project(
        [
            {
                "name": "daily",
                "type": "filesystem",
                "partitions": {"type": "daily", "start": str(days[0])},
                "filesystem": {
                    "bucket_url": "data/daily",
                    "tables": [
                        {"name": "events", "file_glob": "{date:%Y%m%d}.csv", "format": "csv"}
                    ],
                },
            }
        ]
    )
    for index, day in enumerate(days):
        write_csv(
            project / "data" / "daily" / f"{day:%Y%m%d}.csv", [{"n": i} for i in range(index + 1)]
        )

    synced = _run(project, "sync", "daily")
    assert synced.returncode == 0, synced.stdout[-3000:] + synced.stderr[-3000:]
    yesterday = str(days[2])
    assert f"running its last complete partition {yesterday}" in synced.stdout
    # yesterday's file only (3 rows): today's partition has not ended, older ones are not asked for
    assert scalar(project, "select count(*) from raw_daily.events") == 3
    assert (
        scalar(project, "select min(_partition) || max(_partition) from raw_daily.events")
        == yesterday * 2
    )

    refresh = _run(project, "sync", "daily", "--full-refresh")
    assert refresh.returncode == 1
    assert (
        "source 'daily' is partitioned: a full refresh would keep only one partition"
        in refresh.stderr
    )

"""What `dagster dev` shows of the orchestration: a sensor per filesystem source, a schedule per
source with `schedule:`, each on its source's job with the configured defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from dagster import DefaultScheduleStatus, DefaultSensorStatus, Definitions
from helpers import file_table, source

from ingest_assets.project import build_definitions, load_project

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent.parent


def _filesystem_source(name: str, **settings) -> dict:
    return source(name, tables=[file_table("orders", "orders*.csv")], **settings)


def test_repo_sources_yml_gets_one_sensor_per_filesystem_source_and_its_schedule(make_project):
    project = make_project((REPO / "sources.yml").read_text())
    loaded = load_project(project)
    defs = build_definitions(loaded)
    Definitions.validate_loadable(defs)
    repository = defs.get_repository_def()
    sources = loaded.config.enabled_sources
    assert any(s.type == "filesystem" for s in sources) and any(s.schedule for s in sources)

    file_sensors = {s.name for s in repository.sensor_defs if s.name.endswith("_file_sensor")}
    assert file_sensors == {f"{s.name}_file_sensor" for s in sources if s.type == "filesystem"}
    for fs_source in (s for s in sources if s.type == "filesystem"):
        sensor = defs.resolve_sensor_def(f"{fs_source.name}_file_sensor")
        assert sensor.job_name == f"{fs_source.name}_job"
        assert sensor.minimum_interval_seconds == fs_source.minimum_interval_seconds
        assert sensor.default_status == (
            DefaultSensorStatus.RUNNING if fs_source.sensor else DefaultSensorStatus.STOPPED
        )

    assert {s.name for s in repository.schedule_defs} == {
        f"{s.name}_schedule" for s in sources if s.schedule
    }
    for scheduled in (s for s in sources if s.schedule):
        schedule = defs.resolve_schedule_def(f"{scheduled.name}_schedule")
        assert schedule.job_name == f"{scheduled.name}_job"
        assert schedule.cron_schedule == scheduled.schedule
        assert schedule.execution_timezone == loaded.config.timezone
        assert schedule.default_status == (
            DefaultScheduleStatus.RUNNING
            if scheduled.schedule_status == "running"
            else DefaultScheduleStatus.STOPPED
        )


def test_statuses_intervals_and_timezone_follow_sources_yml(make_project):
    document = {
        "version": 1,
        "timezone": "Europe/Oslo",
        "sources": [
            _filesystem_source(
                "east",
                sensor=True,
                minimum_interval_seconds=10,
                schedule="*/15 * * * *",
                schedule_status="running",
            ),
            _filesystem_source("west"),
            _filesystem_source("old", enabled=False, sensor=True, schedule="0 1 * * *"),
        ],
    }
    defs = build_definitions(load_project(make_project(yaml.safe_dump(document))))
    repository = defs.get_repository_def()

    file_sensors = sorted(s.name for s in repository.sensor_defs if s.name.endswith("_file_sensor"))
    assert file_sensors == ["east_file_sensor", "west_file_sensor"]
    east = defs.resolve_sensor_def("east_file_sensor")
    assert (east.default_status, east.minimum_interval_seconds, east.job_name) == (
        DefaultSensorStatus.RUNNING,
        10,
        "east_job",
    )
    west = defs.resolve_sensor_def("west_file_sensor")
    assert (west.default_status, west.minimum_interval_seconds, west.job_name) == (
        DefaultSensorStatus.STOPPED,
        30,
        "west_job",
    )

    assert [s.name for s in repository.schedule_defs] == ["east_schedule"]
    schedule = defs.resolve_schedule_def("east_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone, schedule.default_status) == (
        "*/15 * * * *",
        "Europe/Oslo",
        DefaultScheduleStatus.RUNNING,
    )
    assert schedule.job_name == "east_job"

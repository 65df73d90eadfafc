"""The pipelines of a source: the warehouse connection's memory limit and insertion order, and the
pipeline that only describes assets at definitions load."""

from __future__ import annotations

import duckdb
import pytest
from jaffle import jaffle_source

from ingest_assets.dlt.pipeline import describing_pipeline, load_memory_limit, make_pipeline
from ingest_assets.project import load_project

MEMORY_ENV = "DESTINATION__DUCKDB__CREDENTIALS__GLOBAL_CONFIG"


def _duckdb_shows(limit: str) -> str:
    """How DuckDB reports `memory_limit` after `SET memory_limit = limit` (e.g. `286.1 MiB`)."""
    with duckdb.connect() as conn:
        conn.execute(f"SET memory_limit = '{limit}'")
        return conn.execute("SELECT current_setting('memory_limit')").fetchone()[0]


def _warehouse_setting(project_root, setting: str = "memory_limit"):
    """`setting` of DuckDB on the connection dlt loads the project's warehouse through."""
    project = load_project(project_root)
    source = project.config.enabled_sources[0]
    pipeline = make_pipeline(source, project.warehouse, project.paths.pipelines_dir)
    with (
        pipeline.sql_client() as client,
        client.execute_query(f"SELECT current_setting('{setting}')") as cursor,
    ):
        return cursor.fetchone()[0]


@pytest.mark.unit
def test_memory_limit_scales_with_threads_above_a_floor():
    assert load_memory_limit(1) == "300MB"
    assert load_memory_limit(2) == "300MB"
    assert load_memory_limit(16) == "2400MB"


@pytest.mark.integration
def test_loads_connect_to_the_warehouse_with_the_default_memory_limit(
    make_project, jaffle_small, monkeypatch
):
    monkeypatch.delenv(MEMORY_ENV, raising=False)
    project = make_project([jaffle_source(jaffle_small)])

    assert _warehouse_setting(project) == _duckdb_shows(load_memory_limit())
    # loads write row groups as they finish (benchmarks: INSERT of 6M rows 12 s -> 5.3 s)
    assert _warehouse_setting(project, "preserve_insertion_order") is False


@pytest.mark.integration
def test_a_configured_memory_limit_wins_over_the_default(make_project, jaffle_small, monkeypatch):
    monkeypatch.setenv(MEMORY_ENV, '{"memory_limit": "1GB"}')
    project = make_project([jaffle_source(jaffle_small)])

    assert _warehouse_setting(project) == _duckdb_shows("1GB") != _duckdb_shows(load_memory_limit())


@pytest.mark.unit
@pytest.mark.parametrize("destination", ["duckdb", "filesystem"])
def test_one_describing_pipeline_per_destination_and_folder(tmp_path, destination):
    pipeline = describing_pipeline(destination, tmp_path)

    assert pipeline is describing_pipeline(destination, tmp_path)
    assert pipeline.destination.destination_name == destination
    assert not list(tmp_path.glob("*.duckdb")), "describing the assets must not open a database"

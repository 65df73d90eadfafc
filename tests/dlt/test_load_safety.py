"""Crash safety of the load step, for real against DuckDB: a load package the warehouse refuses
is dropped (rows, state) instead of wedging the source, replace loads never shrink a table
silently, the ledger counts committed rows (recovered packages included), and finished load
packages do not pile up in dlt's working folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from dagster import DagsterEventType
from helpers import materialize_project, query, read_csv, scalar, write_csv
from jaffle import jaffle_source

pytestmark = pytest.mark.e2e


def _jaffle_project(make_project, jaffle_small: Path, **filesystem) -> tuple[Path, Path]:
    source = jaffle_source("data/landing/jaffle_shop")
    source["filesystem"].update(filesystem)
    project = make_project([source])
    landing = project / "data" / "landing" / "jaffle_shop"
    shutil.copytree(jaffle_small, landing)
    return project, landing


def _failure_message(result) -> str:
    failure = next(e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE)
    return failure.event_specific_data.error.message


def _orphan_rows(project: Path, dataset: str) -> int:
    """Rows in `dataset` whose `_dlt_load_id` has no `_dlt_loads` row with status 0."""
    tables = [
        r[0]
        for r in query(
            project,
            "select table_name from information_schema.columns where table_schema = ? and column_name = '_dlt_load_id'",
            [dataset],
        )
    ]
    return sum(
        scalar(
            project,
            f'select count(*) from {dataset}."{t}" where _dlt_load_id not in '
            f"(select load_id from {dataset}._dlt_loads where status = 0)",
        )
        for t in tables
    )


def _add_poison(landing: Path) -> dict[str, str]:
    """Issue 10's reproduction: one file whose `ordered_at` is no date, one valid file."""
    order = read_csv(landing / "raw_orders.csv")[0]
    write_csv(landing / "raw_orders_bad.csv", [{**order, "id": "bad-1", "ordered_at": "notadate"}])
    write_csv(landing / "raw_orders_good2.csv", [{**order, "id": "good-2"}])
    return order


def test_bad_file_fails_alone_and_the_next_run_proceeds(make_project, jaffle_small):
    """Issue 10's poison reproduction: the bad file is refused while it is read (its values are
    cast to the table's types), so it fails alone; the good file's row is committed once, no
    package is left pending and nothing uncommitted is visible."""
    project, landing = _jaffle_project(make_project, jaffle_small)
    assert materialize_project(project, "group:jaffle_shop", checks=False).success
    orders = scalar(project, "select count(*) from raw_jaffle_shop.orders")
    _add_poison(landing)

    result = materialize_project(project, "group:jaffle_shop", raise_on_error=False, checks=False)

    assert not result.success
    message = _failure_message(result)
    assert "raw_orders_bad.csv" in message and "ordered_at" in message
    assert "raw_orders_good2.csv" not in message
    assert _orphan_rows(project, "raw_jaffle_shop") == 0
    assert scalar(project, "select count(*) from raw_jaffle_shop.orders") == orders + 1
    failed = query(
        project,
        "select status, rows_loaded from _ingest.load_history where run_id = ? and table_name = 'orders'",
        [result.run_id],
    )
    assert failed == [("failed", 1)]
    assert not list(
        (project / ".dlt" / "pipelines" / "jaffle_shop" / "load" / "normalized").iterdir()
    )

    # the bad file removed, the next run proceeds and loads nothing twice
    (landing / "raw_orders_bad.csv").unlink()
    rerun = materialize_project(project, "group:jaffle_shop", checks=False)
    assert rerun.success
    assert scalar(project, "select count(*) from raw_jaffle_shop.orders") == orders + 1
    assert scalar(project, "select count(*) from raw_jaffle_shop.orders where id = 'good-2'") == 1
    assert _orphan_rows(project, "raw_jaffle_shop") == 0
    assert query(
        project,
        "select status, rows_loaded from _ingest.load_history where run_id = ? and table_name = 'orders'",
        [rerun.run_id],
    ) == [("success", 0)]


def test_bad_file_is_quarantined_and_the_next_run_loads_the_rest(make_project, jaffle_small):
    project, landing = _jaffle_project(make_project, jaffle_small, quarantine_dir="data/quarantine")
    assert materialize_project(project, "group:jaffle_shop", checks=False).success
    orders = scalar(project, "select count(*) from raw_jaffle_shop.orders")
    _add_poison(landing)

    result = materialize_project(project, "group:jaffle_shop", raise_on_error=False, checks=False)

    assert not result.success
    assert not (landing / "raw_orders_bad.csv").exists()
    assert (project / "data" / "quarantine" / "orders" / "raw_orders_bad.csv").exists()
    failure = next(e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE)
    metadata = failure.event_specific_data.user_failure_data.metadata
    assert [f["relative_path"] for f in metadata["unreadable_files"].value] == [
        "raw_orders_bad.csv"
    ]
    assert materialize_project(project, "group:jaffle_shop", checks=False).success
    assert scalar(project, "select count(*) from raw_jaffle_shop.orders") == orders + 1


def _replace_project(make_project, tmp_path: Path, **table_options) -> tuple[Path, Path]:
    landing = tmp_path / "rep_landing"
    landing.mkdir()
    write_csv(landing / "rep_1.csv", [{"id": i, "name": f"n{i}"} for i in range(5)])
    write_csv(landing / "rep_big.csv", [{"id": i, "name": f"n{i}"} for i in range(100, 1100)])
    project = make_project(
        [
            {
                "name": "reps",
                "type": "filesystem",
                "filesystem": {
                    "bucket_url": str(landing),
                    "tables": [
                        {
                            "name": "rep",
                            "file_glob": "rep_*.csv",
                            "format": "csv",
                            "write_disposition": "replace",
                            **table_options,
                        }
                    ],
                },
            }
        ]
    )
    assert materialize_project(project, "group:reps", checks=False).success
    assert scalar(project, "select count(*) from raw_reps.rep") == 1005
    return project, landing


def test_replace_with_an_unreadable_file_keeps_the_table(make_project, tmp_path):
    project, landing = _replace_project(make_project, tmp_path)
    with (landing / "rep_big.csv").open("ab") as handle:
        handle.write(b"1099,caf\xe9\n")

    result = materialize_project(project, "group:reps", raise_on_error=False, checks=False)

    assert not result.success
    message = _failure_message(result)
    assert "rep_big.csv" in message and "'rep' (1005 rows)" in message
    assert scalar(project, "select count(*) from raw_reps.rep") == 1005
    assert _orphan_rows(project, "raw_reps") == 0


def test_replace_that_shrinks_by_more_than_max_shrink_fails_unless_allowed(make_project, tmp_path):
    project, landing = _replace_project(make_project, tmp_path)
    (landing / "rep_big.csv").unlink()

    result = materialize_project(project, "group:reps", raise_on_error=False, checks=False)

    assert not result.success
    message = _failure_message(result)
    assert "brought 5 rows for 'rep', which has 1005" in message and "allow_shrink" in message
    assert scalar(project, "select count(*) from raw_reps.rep") == 1005
    assert _orphan_rows(project, "raw_reps") == 0

    # allow_shrink lets any shrink through
    _set_table_options(project, allow_shrink=True)
    assert materialize_project(project, "group:reps", checks=False).success
    assert scalar(project, "select count(*) from raw_reps.rep") == 5

    # a shrink within max_shrink passes: 5 -> 1 rows is 80% fewer, max_shrink 0.9 allows 90%
    _set_table_options(project, allow_shrink=False, max_shrink=0.9)
    write_csv(landing / "rep_1.csv", [{"id": 1, "name": "n1"}])
    assert materialize_project(project, "group:reps", checks=False).success
    assert scalar(project, "select count(*) from raw_reps.rep") == 1


def _set_table_options(project: Path, **options) -> None:
    document = yaml.safe_load((project / "sources.yml").read_text())
    document["sources"][0]["filesystem"]["tables"][0].update(options)
    (project / "sources.yml").write_text(yaml.safe_dump(document))


def _leave_pending_package(project: Path, normalize: bool) -> str:
    """Extract (and normalize) the `orders` files not loaded yet in this process, as a run that
    died before loading would leave them; returns the package's load id."""
    from ingest_assets.dlt.pipeline import LOADER_FILE_FORMAT, make_pipeline
    from ingest_assets.project import load_project
    from ingest_assets.sources.registry import build_dlt_source

    loaded = load_project(project)
    source = next(s for s in loaded.config.enabled_sources if s.name == "jaffle_shop")
    pipeline = make_pipeline(source, loaded.warehouse, loaded.paths.pipelines_dir)
    pipeline.sync_destination()
    pipeline.extract(
        build_dlt_source(source, loaded.paths).with_resources("orders"),
        loader_file_format=LOADER_FILE_FORMAT,
    )
    if normalize:
        pipeline.normalize()
        (load_id,) = pipeline.list_normalized_load_packages()
    else:
        (load_id,) = pipeline.list_extracted_load_packages()
    return load_id


def test_ledger_counts_rows_of_a_package_an_earlier_run_left(make_project, jaffle_small):
    """A package extracted and normalized by a run that died before loading is loaded by the
    next run, and its rows count as that run's rows loaded."""
    project, landing = _jaffle_project(make_project, jaffle_small)
    assert materialize_project(project, "group:jaffle_shop", checks=False).success
    orders = scalar(project, "select count(*) from raw_jaffle_shop.orders")
    order = read_csv(landing / "raw_orders.csv")[0]
    write_csv(landing / "raw_orders_more.csv", [{**order, "id": f"more-{i}"} for i in range(7)])
    load_id = _leave_pending_package(project, normalize=True)

    result = materialize_project(project, "group:jaffle_shop", checks=False)

    assert result.success
    assert scalar(project, "select count(*) from raw_jaffle_shop.orders") == orders + 7
    assert (
        scalar(
            project, "select count(*) from raw_jaffle_shop.orders where _dlt_load_id = ?", [load_id]
        )
        == 7
    )
    ledger = query(
        project,
        "select rows_loaded, load_id from _ingest.load_history where run_id = ? and table_name = 'orders'",
        [result.run_id],
    )
    assert ledger[0][0] == 7 and load_id in ledger[0][1]


def test_finished_load_packages_do_not_pile_up(make_project, jaffle_small):
    project, landing = _jaffle_project(make_project, jaffle_small)
    order = read_csv(landing / "raw_orders.csv")[0]
    for run in range(5):
        write_csv(landing / f"raw_orders_more{run}.csv", [{**order, "id": f"more-{run}"}])
        assert materialize_project(project, "group:jaffle_shop", checks=False).success

    loaded = project / ".dlt" / "pipelines" / "jaffle_shop" / "load" / "loaded"
    packages = sorted(p.name for p in loaded.iterdir())
    assert len(packages) == 3  # `keep_completed_packages = 3` in .dlt/config.toml
    assert not list(loaded.rglob("*.parquet"))  # `delete_completed_jobs = true`
    committed = [
        r[0]
        for r in query(project, "select load_id from raw_jaffle_shop._dlt_loads order by load_id")
    ]
    assert packages == committed[-3:]
    assert (
        scalar(project, "select count(*) from raw_jaffle_shop.orders where id like 'more-%'") == 5
    )


POISON_SOURCE = '''
from datetime import datetime

import dlt
import pyarrow as pa


@dlt.source(name="poison")
def poison(run: int = 1):
    """`good` rows every run; `events` with a timestamp, except run 2 sends text the warehouse
    cannot cast to it (the failure reaches the load step, whatever the source type)."""

    @dlt.resource(write_disposition="append")
    def good():
        yield [{"id": run * 10 + i} for i in range(3)]

    @dlt.resource(write_disposition="append")
    def events():
        ts = pa.array(["notadate"]) if run == 2 else pa.array([datetime(2024, 1, run)])
        yield pa.table({"id": pa.array([run]), "ts": ts})

    return [good, events]
'''


def test_refused_package_of_a_custom_source_is_dropped(make_project):
    def configure(run: int) -> None:
        document = {
            "name": "poison",
            "type": "dlt_native",
            "dlt_native": {
                "source_module": "poison",
                "source_function": "poison",
                "function_kwargs": {"run": run},
            },
        }
        (project / "sources.yml").write_text(yaml.safe_dump({"version": 1, "sources": [document]}))

    project = make_project([])
    (project / "custom_sources" / "poison.py").write_text(POISON_SOURCE)
    configure(1)
    assert materialize_project(project, "group:poison", checks=False).success

    configure(2)
    result = materialize_project(project, "group:poison", raise_on_error=False, checks=False)
    assert not result.success
    assert "table 'events'" in _failure_message(result) and "notadate" in _failure_message(result)
    assert _orphan_rows(project, "raw_poison") == 0
    assert scalar(project, "select count(*) from raw_poison.good") == 3
    assert dict(
        query(
            project,
            "select table_name, rows_loaded from _ingest.load_history where run_id = ?",
            [result.run_id],
        )
    ) == {"good": 0, "events": 0}

    configure(3)
    assert materialize_project(project, "group:poison", checks=False).success
    assert scalar(project, "select count(*) from raw_poison.good") == 6
    assert scalar(project, "select count(*) from raw_poison.events") == 2


def test_a_broken_pending_package_is_discarded(make_project, jaffle_small):
    """Issue 10's `FileNotFoundError: .../normalize/extracted/<load_id>/new_jobs`: a package a
    kill left without its job files is dropped and its data extracted again, no manual step."""
    project, landing = _jaffle_project(make_project, jaffle_small)
    assert materialize_project(project, "group:jaffle_shop", checks=False).success
    orders = scalar(project, "select count(*) from raw_jaffle_shop.orders")
    order = read_csv(landing / "raw_orders.csv")[0]
    write_csv(landing / "raw_orders_more.csv", [{**order, "id": f"more-{i}"} for i in range(7)])
    load_id = _leave_pending_package(project, normalize=False)
    pipelines = project / ".dlt" / "pipelines" / "jaffle_shop"
    shutil.rmtree(pipelines / "normalize" / "extracted" / load_id / "new_jobs")

    result = materialize_project(project, "group:jaffle_shop", checks=False)

    assert result.success
    assert scalar(project, "select count(*) from raw_jaffle_shop.orders") == orders + 7
    assert (
        scalar(
            project, "select count(*) from raw_jaffle_shop.orders where _dlt_load_id = ?", [load_id]
        )
        == 0
    )
    assert _orphan_rows(project, "raw_jaffle_shop") == 0

"""No-op runs: a run whose load brought no new rows skips the dbt models and dbt tests that
depend only on unchanged tables, and says so; a new file rebuilds what it feeds."""

from __future__ import annotations

import shutil

import pytest
from dagster import DagsterInstance
from helpers import execute_job, read_csv, scalar, write_csv
from jaffle import jaffle_source

from ingest_assets.cli import sync_summary
from ingest_assets.dbt.selection import SKIPPED, is_full_refresh, raw_table_changed

pytestmark = pytest.mark.e2e


def _dbt_events(result, kind: str) -> list:
    return [
        e for e in result.all_events if e.step_key == "dbt_models" and e.event_type_value == kind
    ]


def _keys(events) -> set[str]:
    """Asset keys of materializations, or of the observations recording a skipped model."""
    out = set()
    for event in events:
        data = event.event_specific_data
        item = getattr(data, "materialization", None) or getattr(data, "asset_observation", None)
        if event.event_type_value == "ASSET_OBSERVATION" and "dbt_skipped" not in item.metadata:
            continue  # dagster-dbt's own observations (singular tests)
        out.add(item.asset_key.to_user_string())
    return out


def test_noop_run_skips_dbt_and_new_rows_rebuild_what_they_feed(
    make_project, jaffle_small, tmp_path
):
    project = make_project([jaffle_source("data/landing/jaffle_shop")])
    landing = project / "data" / "landing" / "jaffle_shop"
    shutil.copytree(jaffle_small, landing)
    with DagsterInstance.ephemeral() as instance:
        first = execute_job(project, "jaffle_shop_job", instance=instance)
        built = _keys(_dbt_events(first, "ASSET_MATERIALIZATION"))
        assert "orders" in built and "customers" in built  # the first run builds every model
        assert _dbt_events(first, "ASSET_CHECK_EVALUATION")  # and runs dbt's tests
        orders_mart = scalar(project, "select count(*) from main.orders")
        results = project / "dbt_project" / "target" / "run_results.json"
        results_after_first = results.stat().st_mtime_ns

        second = execute_job(project, "jaffle_shop_job", instance=instance)

        assert second.success
        assert _dbt_events(second, "ASSET_MATERIALIZATION") == []
        assert _dbt_events(second, "ASSET_CHECK_EVALUATION") == []  # source tests skipped too
        observed = _dbt_events(second, "ASSET_OBSERVATION")
        assert _keys(observed) == built
        assert {
            e.event_specific_data.asset_observation.metadata["dbt_skipped"].value for e in observed
        } == {SKIPPED}
        assert len(observed) == len(built)
        # the step ended without starting dbt
        assert results.stat().st_mtime_ns == results_after_first
        # `ingest sync` says so instead of repeating the last dbt run's counts
        lines, failures = sync_summary(second, "jaffle_shop", project / "dbt_project")
        assert failures == []
        assert f"dbt not run: {len(built)} models skipped (upstream unchanged)" in lines

        # new orders: the models reading orders are rebuilt, the others are skipped
        new_orders = [
            {**row, "id": f"late-{row['id']}"} for row in read_csv(landing / "raw_orders.csv")[:25]
        ]
        write_csv(landing / "raw_orders_late.csv", new_orders)
        third = execute_job(project, "jaffle_shop_job", instance=instance)

        assert third.success
        rebuilt = _keys(_dbt_events(third, "ASSET_MATERIALIZATION"))
        skipped = _keys(_dbt_events(third, "ASSET_OBSERVATION"))
        assert {"stg_jaffle_shop__orders", "orders", "customers"} <= rebuilt
        assert {
            "stg_jaffle_shop__products",
            "stg_jaffle_shop__supplies",
            "stg_jaffle_shop__locations",
        } <= skipped
        assert not rebuilt & skipped
        assert rebuilt | skipped == built
        assert scalar(project, "select count(*) from main.orders") == orders_mart + 25
        checked = {
            e.event_specific_data.asset_key.to_user_string()
            for e in _dbt_events(third, "ASSET_CHECK_EVALUATION")
        }
        assert "raw_jaffle_shop/orders" in checked and "raw_jaffle_shop/stores" not in checked

        # a full refresh builds everything
        refresh = execute_job(
            project,
            "jaffle_shop_job",
            run_config={"ops": {"load_jaffle_shop": {"config": {"full_refresh": True}}}},
            instance=instance,
        )
        assert _keys(_dbt_events(refresh, "ASSET_MATERIALIZATION")) == built
    # no per-run dbt target folder is left behind
    assert list((project / "dbt_project" / "target").glob("dbt_models-*")) == []


def test_change_rules():
    assert raw_table_changed({"rows_loaded": 0}) is False
    assert raw_table_changed({"rows_loaded": 3}) is True
    assert raw_table_changed({"rows_loaded": 0, "child_tables_rows_loaded": {"t__c": 2}}) is True
    assert raw_table_changed({}) is True  # unknown: taken as a change
    assert is_full_refresh({"ops": {"load_x": {"config": {"full_refresh": True}}}})
    assert not is_full_refresh({"ops": {"load_x": {"config": {"full_refresh": False}}}})
    assert not is_full_refresh({})

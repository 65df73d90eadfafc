"""Acceptance: a Jaffle Shop-shaped CSV dropped into the landing folder, the sensor ticks, and
its run loads exactly the new rows once and rebuilds the dbt marts downstream."""

from __future__ import annotations

import shutil

import pytest
from dagster import DagsterInstance, build_sensor_context
from helpers import execute_job, materialize_project, read_csv, scalar, write_csv
from jaffle import jaffle_source

from ingest_assets.project import build_definitions, load_project

pytestmark = pytest.mark.e2e


def test_dropped_file_loads_once_and_refreshes_marts(make_project, jaffle_small):
    source = {**jaffle_source("data/landing/jaffle_shop"), "sensor": True, "settle_seconds": 0}
    project = make_project([source])
    landing = project / "data" / "landing" / "jaffle_shop"
    shutil.copytree(jaffle_small, landing)
    assert materialize_project(project, "group:jaffle_shop", checks=False).success
    orders_before = scalar(project, "select count(*) from raw_jaffle_shop.orders")

    new_orders = [
        {**row, "id": f"dropped-{row['id']}"} for row in read_csv(landing / "raw_orders.csv")[:40]
    ]
    write_csv(landing / "raw_orders_dropped.csv", new_orders)
    defs = build_definitions(load_project(project))
    sensor = defs.resolve_sensor_def("jaffle_shop_file_sensor")
    instance = DagsterInstance.ephemeral()
    first = sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs))
    assert not first.run_requests  # seen once: not settled yet
    second = sensor.evaluate_tick(
        build_sensor_context(cursor=first.cursor, instance=instance, definitions=defs)
    )
    assert len(second.run_requests) == 1
    request = second.run_requests[0]
    assert request.run_config["ops"]["load_jaffle_shop"]["config"]["files"] == {
        "orders": {
            "raw_orders_dropped.csv": request.run_config["ops"]["load_jaffle_shop"]["config"][
                "files"
            ]["orders"]["raw_orders_dropped.csv"]
        }
    }

    result = execute_job(project, "jaffle_shop_job", request.run_config)

    assert result.success
    assert (
        scalar(project, "select count(*) from raw_jaffle_shop.orders where id like 'dropped-%'")
        == 40
    )
    assert scalar(project, "select count(*) from raw_jaffle_shop.orders") == orders_before + 40
    assert scalar(project, "select count(*) from main.orders") == orders_before + 40
    assert scalar(project, "select count(*) from main.orders where order_id like 'dropped-%'") == 40
    third = sensor.evaluate_tick(
        build_sensor_context(cursor=second.cursor, instance=instance, definitions=defs)
    )
    assert not third.run_requests
    # the same request again (a repeated tick's run) loads nothing twice
    assert execute_job(project, "jaffle_shop_job", request.run_config).success
    assert (
        scalar(project, "select count(*) from raw_jaffle_shop.orders where id like 'dropped-%'")
        == 40
    )

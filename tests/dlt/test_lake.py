"""The lake destination and the two-stage raw history (lake -> warehouse), for real: a local
folder, and S3 served by the moto S3 emulator (`moto_s3`; no mock of fsspec)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import yaml
from dagster import AssetKey
from helpers import materialize_project, query, scalar

from ingest_assets.project import build_definitions, load_project


def _shop(destination: str, lake: dict | None = None, day: int = 1) -> dict:
    return {
        "name": "shop",
        "type": "dlt_native",
        "destination": destination,
        **({"lake": lake} if lake else {}),
        "dlt_native": {
            "source_module": "example_shop",
            "source_function": "example_shop",
            "function_kwargs": {"day": day},
        },
    }


def _set_day(project: Path, day: int) -> None:
    document = yaml.safe_load((project / "sources.yml").read_text())
    document["sources"][0]["dlt_native"]["function_kwargs"]["day"] = day
    (project / "sources.yml").write_text(yaml.safe_dump(document))


@pytest.mark.integration
def test_asset_graph_of_a_lake_source(make_project):
    project = make_project([_shop("both")])
    graph = build_definitions(load_project(project)).resolve_asset_graph()

    lake_orders = AssetKey(["lake", "raw_shop", "orders"])
    assert graph.get(lake_orders).kinds == {"dlt", "parquet"}
    assert graph.get(AssetKey(["raw_shop", "orders"])).parent_keys == {lake_orders}
    assert graph.get(lake_orders).parent_keys == set()
    assert graph.get(AssetKey(["raw_shop", "orders"])).group_name == "shop"


@pytest.mark.e2e
def test_local_lake_two_stage_exactly_once_over_three_runs(make_project):
    document = {
        "version": 1,
        "audit_log": "metadata/audit_log.jsonl",
        "sources": [_shop("both", {"bucket_url": "data/lake", "folder_path": "sales"})],
    }
    project = make_project(yaml.safe_dump(document))

    for day in (1, 2, 2):
        _set_day(project, day)
        assert materialize_project(project, "group:shop", checks=False).success

    lake = project / "data" / "lake" / "sales" / "raw_shop"
    files = sorted((lake / "orders").glob("*.parquet"))
    assert len(files) == 2  # day 1 and day 2; the third run had nothing new
    with duckdb.connect() as conn:
        assert (
            conn.execute(
                f"select count(*) from read_parquet('{lake}/orders/*.parquet')"
            ).fetchone()[0]
            == 20
        )
        # the lake keeps every version of merged rows: the raw history
        assert (
            conn.execute(
                f"select count(*) from read_parquet('{lake}/products/*.parquet')"
            ).fetchone()[0]
            == 15
        )
    assert scalar(project, "select count(*) from raw_shop.orders") == 20
    assert scalar(project, "select count(distinct order_id) from raw_shop.orders") == 20
    # products merge on product_id in the warehouse: the latest price of each product
    assert query(project, "select count(*), max(price_day) from raw_shop.products") == [(5, 2)]
    assert scalar(project, "select count(distinct _lake_load_id) from raw_shop.orders") == 2

    audit = [
        json.loads(line)
        for line in (project / "metadata" / "audit_log.jsonl").read_text().splitlines()
    ]
    assert {(a["destination"], a["table"]) for a in audit} >= {
        ("lake", "orders"),
        ("projection", "orders"),
    }
    last_lake_orders = [a for a in audit if a["destination"] == "lake" and a["table"] == "orders"][
        -1
    ]
    assert last_lake_orders["status"] == "success" and last_lake_orders["rows_written"] == 0
    assert last_lake_orders["watermark_before"] == last_lake_orders["watermark_after"]
    assert {"job_id", "duration_seconds", "started_at", "finished_at", "rows_extracted"} <= set(
        last_lake_orders
    )


@pytest.mark.e2e
def test_projection_replays_from_the_lake(make_project):
    project = make_project([_shop("both")])
    assert materialize_project(project, "group:shop", checks=False).success
    _set_day(project, 2)
    assert materialize_project(project, "group:shop", checks=False).success

    from dagster import DagsterInstance

    defs = build_definitions(load_project(project))
    result = defs.resolve_job_def("shop_job").execute_in_process(
        run_config={"ops": {"project_shop": {"config": {"full_refresh": True}}}},
        instance=DagsterInstance.ephemeral(),
        asset_selection=[AssetKey(["raw_shop", "orders"]), AssetKey(["raw_shop", "products"])],
    )

    assert result.success
    assert scalar(project, "select count(*) from raw_shop.orders") == 20
    assert query(project, "select count(*), max(price_day) from raw_shop.products") == [(5, 2)]


@pytest.mark.integration
def test_s3_lake_on_local_emulator(make_project, moto_s3, monkeypatch):
    s3 = moto_s3.client
    s3.create_bucket(Bucket="lake")
    for key, value in moto_s3.credentials_env("shop_lake").items():
        monkeypatch.setenv(key, value)
    project = make_project([_shop("both", {"bucket_url": "s3://lake", "folder_path": "raw"})])

    for day in (1, 2, 2):
        _set_day(project, day)
        assert materialize_project(project, "group:shop", checks=False).success

    keys = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket="lake", Prefix="raw/raw_shop/orders/").get(
            "Contents", []
        )
    ]
    assert len([k for k in keys if k.endswith(".parquet")]) == 2
    body = s3.get_object(Bucket="lake", Key=sorted(keys)[0])["Body"].read()
    import io

    import pyarrow.parquet as pq

    assert pq.read_table(io.BytesIO(body)).num_rows == 10
    assert scalar(project, "select count(*) from raw_shop.orders") == 20
    assert query(project, "select count(*), max(price_day) from raw_shop.products") == [(5, 2)]

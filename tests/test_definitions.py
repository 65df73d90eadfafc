"""The asset graph of the repo's sources.yml: keys, groups, kinds, pools and raw -> mart lineage."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from dagster import AssetKey

from ingest_assets.project import build_definitions, load_project

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent
JAFFLE_TABLES = {"customers", "orders", "items", "products", "stores", "supplies", "tweets"}


@pytest.fixture
def graph(make_project):
    project = make_project((REPO / "sources.yml").read_text())
    return build_definitions(load_project(project)).resolve_asset_graph()


def test_one_asset_per_table_keyed_by_dataset(graph):
    raw_keys = {k for k in graph.get_all_asset_keys() if k.path[0].startswith("raw_")}
    assert raw_keys == {AssetKey(["raw_jaffle_shop", t]) for t in JAFFLE_TABLES} | {
        AssetKey(["raw_example_shop", "products"]),
        AssetKey(["raw_example_shop", "orders"]),
    }
    # names come from sources.yml, not from the file names (raw_orders.csv)
    assert AssetKey(["raw_jaffle_shop", "raw_orders"]) not in graph.get_all_asset_keys()


def test_groups_kinds_and_pool(graph):
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.pools == {"duckdb"}, key
        if key.path[0] == "raw_jaffle_shop":
            assert node.group_name == "jaffle_shop"
            assert node.kinds == {"dlt", "duckdb"}
        if key.path[0] == "raw_example_shop":
            assert node.group_name == "example_shop"
    orders = graph.get(AssetKey(["raw_jaffle_shop", "orders"]))
    assert orders.description == "One row per order; new files carry new orders."


def test_raw_tables_have_no_phantom_upstreams(graph):
    every_key = graph.get_all_asset_keys()
    for key in every_key:
        assert set(graph.get(key).parent_keys) <= every_key, key
        if key.path[0].startswith("raw_"):
            assert graph.get(key).parent_keys == set()
    assert all(graph.get(key).is_materializable for key in every_key)


def test_lineage_from_raw_table_to_mart(graph):
    staging = AssetKey(["stg_jaffle_shop__orders"])
    assert AssetKey(["raw_jaffle_shop", "orders"]) in graph.get(staging).parent_keys
    assert staging in graph.get(AssetKey(["orders"])).parent_keys
    assert AssetKey(["orders"]) in graph.get(AssetKey(["customers"])).parent_keys
    assert graph.get(staging).group_name == "staging"
    assert graph.get(AssetKey(["orders"])).group_name == "marts"


def test_dbt_tests_and_row_counts_are_asset_checks(graph):
    checked = {check.asset_key for check in graph.asset_check_keys}
    assert AssetKey(["orders"]) in checked
    assert AssetKey(["stg_jaffle_shop__customers"]) in checked
    row_counts = {c.asset_key for c in graph.asset_check_keys if c.name == "row_count"}
    raw = {k for k in graph.get_all_asset_keys() if k.path[0].startswith("raw_")}
    assert row_counts == raw


def test_disabled_source_has_no_assets(make_project):
    document = yaml.safe_load((REPO / "sources.yml").read_text())
    for source in document["sources"]:
        if source["name"] == "example_shop":
            source["enabled"] = False
    project = make_project(yaml.safe_dump(document))
    keys = build_definitions(load_project(project)).resolve_asset_graph().get_all_asset_keys()
    assert not [k for k in keys if k.path[0] == "raw_example_shop"]
    assert AssetKey(["raw_jaffle_shop", "orders"]) in keys


def test_warehouse_path_is_absolute_and_shared(make_project, monkeypatch):
    project = make_project((REPO / "sources.yml").read_text())
    loaded = load_project(project)
    assert loaded.warehouse == project / "warehouse.duckdb"
    defs = build_definitions(loaded)
    assert defs.resources["warehouse"].database == str(project / "warehouse.duckdb")
    import os

    assert os.environ["INGEST_WAREHOUSE_PATH"] == str(project / "warehouse.duckdb")

    monkeypatch.setenv("INGEST_WAREHOUSE", "elsewhere/wh.duckdb")
    assert load_project(project).warehouse == project / "elsewhere" / "wh.duckdb"

"""The dbt manifest follows the dbt project's files by itself: a model added without `ingest
prepare` is an asset at the next definitions load, and an unchanged project parses nothing."""

from __future__ import annotations

import pytest
from dagster import AssetKey

from ingest_assets.dbt.project import FINGERPRINT_FILE, load_dbt_project, prepare_manifest
from ingest_assets.project import build_definitions, load_project
from jaffle import jaffle_source

pytestmark = pytest.mark.integration

NEW_MODEL = """
select order_id, count(*) as item_count
from {{ ref('stg_jaffle_shop__order_items') }}
group by order_id
"""


def test_added_model_is_an_asset_without_prepare_and_unchanged_project_is_not_parsed(make_project):
    project = make_project([jaffle_source("data/landing/jaffle_shop")])
    target = project / "dbt_project" / "target"
    manifest = target / "manifest.json"
    assert (target / FINGERPRINT_FILE).exists()

    # the copy's manifest matches its files: loading definitions runs no dbt parse
    before = manifest.stat().st_mtime_ns
    keys = build_definitions(load_project(project)).resolve_asset_graph().get_all_asset_keys()
    assert manifest.stat().st_mtime_ns == before
    assert AssetKey(["order_item_counts"]) not in keys

    # a user adds a model and reloads, with no prepare step
    (project / "dbt_project" / "models" / "marts" / "order_item_counts.sql").write_text(NEW_MODEL)
    graph = build_definitions(load_project(project)).resolve_asset_graph()
    assert manifest.stat().st_mtime_ns > before
    new = AssetKey(["order_item_counts"])
    assert new in graph.get_all_asset_keys()
    assert AssetKey(["stg_jaffle_shop__order_items"]) in graph.get(new).parent_keys
    assert graph.get(new).group_name == "marts"

    # loaded again with nothing changed: the refreshed manifest is reused as it is
    after = manifest.stat().st_mtime_ns
    assert prepare_manifest(load_dbt_project(project / "dbt_project")) is False
    assert manifest.stat().st_mtime_ns == after

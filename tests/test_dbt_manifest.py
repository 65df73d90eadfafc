"""The dbt manifest follows the dbt project's files by itself: a model added is an asset at the
next definitions load (through `build_definitions` and through the dg defs folder's
`DbtModelsComponent`, with or without its stored state), and an unchanged project parses
nothing. There is no prepare step."""

from __future__ import annotations

import pytest
from dagster import AssetKey
from jaffle import jaffle_source

from ingest_assets.dbt.project import FINGERPRINT_FILE, load_dbt_project, prepare_manifest
from ingest_assets.project import build_definitions, load_project

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


def test_dbt_component_reparses_a_changed_project_even_with_stored_state(make_project):
    """What `dg`, `dagster dev` and `dagster asset materialize` load: the defs folder. Its dbt
    component's state (written when `dg dev` starts) does not hide a model added afterwards."""
    from ingest_assets.definitions import defs

    project = make_project([jaffle_source("data/landing/jaffle_shop")])
    manifest = project / "dbt_project" / "target" / "manifest.json"
    before = manifest.stat().st_mtime_ns
    keys = defs().resolve_asset_graph().get_all_asset_keys()
    assert manifest.stat().st_mtime_ns == before  # current manifest: no dbt parse
    assert AssetKey(["orders"]) in keys and AssetKey(["order_item_counts"]) not in keys

    (project / "dbt_project" / "models" / "marts" / "order_item_counts.sql").write_text(NEW_MODEL)
    graph = defs().resolve_asset_graph()
    assert manifest.stat().st_mtime_ns > before
    assert (
        AssetKey(["stg_jaffle_shop__order_items"])
        in graph.get(AssetKey(["order_item_counts"])).parent_keys
    )


def test_dbt_component_state_records_the_current_manifest(make_project, tmp_path):
    """`write_state_to_path` (the component's state refresh, `dg utils refresh-defs-state`)
    parses a stale project and records the manifest and fingerprint it left."""
    import json

    from dagster_dbt import DbtProject

    from ingest_assets.dbt.project import project_fingerprint
    from ingest_assets.lib import DbtModelsComponent

    project = make_project([jaffle_source("data/landing/jaffle_shop")])
    load_project(project)  # exports the warehouse path, part of the fingerprint
    dbt_dir = project / "dbt_project"
    component = DbtModelsComponent(project=DbtProject(project_dir=dbt_dir, profiles_dir=dbt_dir))
    (dbt_dir / "models" / "marts" / "order_item_counts.sql").write_text(NEW_MODEL)
    state = tmp_path / "state"
    component.write_state_to_path(state)
    recorded = json.loads(state.read_text())
    assert recorded == {
        "manifest": str(dbt_dir / "target" / "manifest.json"),
        "fingerprint": project_fingerprint(dbt_dir),
    }
    assert "order_item_counts" in (dbt_dir / "target" / "manifest.json").read_text()

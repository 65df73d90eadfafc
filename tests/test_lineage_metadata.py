"""Storage metadata the UI links assets by: one table name per asset, spelled as dbt spells it,
and no unserializable metadata."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dagster import AssetKey, MetadataValue, TableSchema

from ingest_assets.project import build_definitions, load_project

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent


def _table_names(defs) -> dict[AssetKey, str]:
    names = {}
    for assets_def in defs.assets:
        for key, spec in zip(
            assets_def.keys, [assets_def.specs_by_key[k] for k in assets_def.keys]
        ):
            name = spec.metadata.get("dagster/table_name")
            if name is not None:
                names[key] = name.text if isinstance(name, MetadataValue) else name
    return names


def test_raw_table_names_match_dbt_sources_and_are_unique(make_project):
    project = make_project((REPO / "sources.yml").read_text())
    defs = build_definitions(load_project(project))
    names = _table_names(defs)

    # raw tables: <database>.raw_<source>.<table>, like the dbt models' warehouse.main.<model>
    assert names[AssetKey(["raw_jaffle_shop", "orders"])] == "warehouse.raw_jaffle_shop.orders"
    assert names[AssetKey(["raw_example_shop", "orders"])] == "warehouse.raw_example_shop.orders"
    assert names[AssetKey(["orders"])] == "warehouse.main.orders"

    # no two assets are stored in the same table (the UI links such assets as one)
    assert len(set(names.values())) == len(names), sorted(names.values())

    # each dbt source resolves to the table name of the raw asset with its key
    manifest = json.loads((project / "dbt_project" / "target" / "manifest.json").read_text())
    for source in manifest["sources"].values():
        key = AssetKey([source["source_name"], source["name"]])
        resolved = f"{source['database']}.{source['schema']}.{source['identifier']}"
        assert names[key] == resolved, key

    # only serializable metadata: no live dlt source, pipeline or translator objects
    for assets_def in defs.assets:
        for spec in assets_def.specs:
            if not spec.key.path[0].startswith("raw_"):
                continue  # dbt's specs carry dagster-dbt's serializable manifest wrapper
            for name, value in spec.metadata.items():
                assert not name.startswith("dagster_dlt/"), (spec.key, name)
                assert isinstance(value, (str, int, float, bool, MetadataValue, TableSchema)), (
                    spec.key,
                    name,
                    value,
                )

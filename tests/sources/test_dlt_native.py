"""`type: dlt_native`: installed-package sources, resource selection and per-resource hints.

Runs the real assets on `custom_sources/example_shop.py` (`products` merged on product_id,
`orders` appended incrementally on created_at; `day` advances the simulation) and on dlt's own
`dlt.sources.rest_api` module against a local HTTP server, then reads the warehouse.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import materialize_project, query, scalar

from ingest_assets.project import build_definitions, load_project
from ingest_assets.sources.dlt_native import SourceImportError

DAY_3 = datetime(2024, 1, 3, tzinfo=UTC)


def shop(day: int, resources: list[Any] | None = None) -> dict[str, Any]:
    """The example_shop source entry as of `day`, optionally with a `resources` list."""
    block: dict[str, Any] = {
        "source_module": "example_shop",
        "source_function": "example_shop",
        "function_kwargs": {"day": day},
    }
    if resources is not None:
        block["resources"] = resources
    return {"name": "example_shop", "type": "dlt_native", "dlt_native": block}


def _asset_keys(project: Path) -> set[str]:
    defs = build_definitions(load_project(project))
    return {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}


def _tables(project: Path, dataset: str) -> set[str]:
    rows = query(
        project,
        "select table_name from information_schema.tables where table_schema = ?",
        [dataset],
    )
    return {row[0] for row in rows}


@pytest.mark.integration
def test_installed_package_module_loads_like_a_custom_source(make_project, httpserver):
    httpserver.expect_request("/pets").respond_with_json(
        {"results": [{"id": 1, "name": "rex"}, {"id": 2, "name": "tom"}], "next": None}
    )
    source = {
        "name": "pets",
        "type": "dlt_native",
        "dlt_native": {
            "source_module": "dlt.sources.rest_api",  # ships inside the installed dlt package
            "source_function": "rest_api_source",
            "function_kwargs": {
                "config": {
                    "client": {"base_url": httpserver.url_for("/"), "paginator": "json_link"},
                    "resources": [
                        {
                            "name": "pets",
                            "primary_key": "id",
                            "endpoint": {"data_selector": "results"},
                        }
                    ],
                }
            },
        },
    }
    project = make_project([source])

    assert "raw_pets/pets" in _asset_keys(project)
    result = materialize_project(project, "group:pets")

    assert result.success
    assert query(project, "select id, name from raw_pets.pets order by id") == [
        (1, "rex"),
        (2, "tom"),
    ]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("module", "expected"),
    [
        (
            "acme_crm.sources",
            "source 'crm': dlt_native.source_module: no module custom_sources.acme_crm.sources or "
            "acme_crm.sources: put acme_crm/sources.py in custom_sources/, or install the package "
            "providing 'acme_crm': "
            "run `pip install acme-crm` (the pip name of a package may differ from its module name) "
            "and add it to pyproject.toml",
        ),
        (
            "dlt.sources.no_such_source",
            "source 'crm': dlt_native.source_module: the installed package 'dlt' has no module "
            "'dlt.sources.no_such_source'; check the dotted path",
        ),
        (
            "needs_sdk",
            "source 'crm': dlt_native.source_module: importing custom_sources.needs_sdk needs the "
            "module 'acme_sdk', which is not installed: run `pip install acme-sdk` (the pip name of a "
            "package may differ from its module name) and add it to pyproject.toml",
        ),
    ],
    ids=["package-not-installed", "no-such-module-in-package", "dependency-not-installed"],
)
def test_missing_module_or_package_names_the_pip_install(make_project, module, expected):
    source = {
        "name": "crm",
        "type": "dlt_native",
        "dlt_native": {"source_module": module, "source_function": "crm"},
    }
    project = make_project([source])
    (project / "custom_sources" / "needs_sdk.py").write_text("import acme_sdk.client\n")

    with pytest.raises(SourceImportError) as error:
        build_definitions(load_project(project))

    assert str(error.value) == expected


@pytest.mark.e2e
def test_selecting_resources_loads_only_those(make_project):
    project = make_project([shop(day=2, resources=["orders"])])

    assert {k for k in _asset_keys(project) if k.startswith("raw_example_shop/")} == {
        "raw_example_shop/orders"
    }
    result = materialize_project(project, "group:example_shop")

    assert result.success
    assert scalar(project, "select count(*) from raw_example_shop.orders") == 20
    assert "products" not in _tables(project, "raw_example_shop")


@pytest.mark.integration
def test_unknown_resource_is_named(make_project):
    project = make_project([shop(day=1, resources=["orders", "refunds"])])

    with pytest.raises(
        SourceImportError,
        match=re.escape(
            "source 'example_shop': dlt_native.resources: refunds not in example_shop.example_shop "
            "(it has: products, orders)"
        ),
    ):
        build_definitions(load_project(project))


@pytest.mark.e2e
def test_write_disposition_overrides_replace_the_source_code_hints(make_project):
    # products is `merge` and orders `append` in the code; sources.yml swaps them
    resources = [
        {"name": "products", "write_disposition": "append"},
        {"name": "orders", "write_disposition": "replace"},
    ]
    project = make_project([shop(day=1, resources=resources)])
    materialize_project(project, "group:example_shop")

    (project / "sources.yml").write_text(
        (project / "sources.yml").read_text().replace("day: 1", "day: 2")
    )
    materialize_project(project, "group:example_shop")

    # append keeps both days' catalogue; replace swapped the whole orders table in one load
    # (dlt resets the incremental state of a `replace` resource, so every run loads all days)
    assert query(
        project, "select price_day, count(*) from raw_example_shop.products group by 1 order by 1"
    ) == [(1, 5), (2, 5)]
    assert query(
        project,
        "select count(*), count(distinct order_id), count(distinct _dlt_load_id) from raw_example_shop.orders",
    ) == [(20, 20, 1)]


@pytest.mark.e2e
def test_primary_key_and_incremental_overrides(make_project):
    resources = [
        # merge on another key than product_id: the five products of a day share price_day
        {"name": "products", "write_disposition": "merge", "primary_key": "price_day"},
        # start the cursor at day 3 instead of the code's 2024-01-01
        # (written unquoted in YAML, so it is a timestamp like the cursor's values)
        {"name": "orders", "incremental": {"cursor": "created_at", "initial_value": DAY_3}},
    ]
    project = make_project([shop(day=4, resources=resources)])

    assert materialize_project(project, "group:example_shop").success

    assert query(project, "select price_day from raw_example_shop.products") == [(4,)]
    assert query(
        project,
        "select min(order_id), max(order_id), count(*) from raw_example_shop.orders",
    ) == [(21, 40, 20)]

"""How dbt nodes become Dagster assets: groups by model folder, tests as asset checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings


class ModelTranslator(DagsterDbtTranslator):
    """dagster-dbt's default keys (sources keep `[<source name>, <table>]`, which equals the dlt
    asset key because dbt sources are named after the dlt dataset), with models grouped by their
    top folder under `models/` (`staging`, `marts`) and dbt tests emitted as asset checks, tests
    on dbt sources included (they become checks of the raw tables)."""

    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(
                enable_asset_checks=True, enable_source_tests_as_checks=True
            ))

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        """Return the model's top folder (`staging`, `marts`), or `dbt` for top-level models."""
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"

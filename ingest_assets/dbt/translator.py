"""How dbt nodes become Dagster assets: groups by model folder, tests as asset checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import AssetKey, AutomationCondition
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings


class ModelTranslator(DagsterDbtTranslator):
    """dagster-dbt's default keys (sources keep `[<source name>, <table>]`, which equals the dlt
    asset key because dbt sources are named after the dlt dataset), with models grouped by their
    top folder under `models/` (`staging`, `marts`) and dbt tests emitted as asset checks, tests
    on dbt sources included (they become checks of the raw tables)."""

    def __init__(self, automation: Any = None, timezone: str = "UTC") -> None:
        """`automation`: the project's `automation:` (`dbt.automation.AutomationConfig`) or None;
        `timezone`: the zone its `on_cron` expressions are read in."""
        self._automation, self._timezone = automation, timezone
        super().__init__(
            settings=DagsterDbtTranslatorSettings(
                enable_asset_checks=True,
                enable_source_tests_as_checks=True,
                # a parent table and its dlt child tables share one asset key (below)
                enable_duplicate_source_asset_keys=True,
            )
        )

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        """Default keys, except that a dlt child table `raw_<source>.<table>__<field>` (a nested
        list dlt split off) maps to its parent table's asset `raw_<source>/<table>`, which
        loads it: models on child tables then connect to the load in the lineage."""
        if (
            dbt_resource_props["resource_type"] == "source"
            and dbt_resource_props["source_name"].startswith("raw_")
            and "__" in dbt_resource_props["name"]
        ):
            parent = dbt_resource_props["name"].split("__", 1)[0]
            return AssetKey([dbt_resource_props["source_name"], parent])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        """Return the model's top folder (`staging`, `marts`), or `dbt` for top-level models."""
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"

    def get_automation_condition(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> AutomationCondition | None:
        """The model's condition from sources.yml `automation:` (see `dbt.automation`), else
        dagster-dbt's default (`meta.dagster.automation_condition` is not read)."""
        from ingest_assets.dbt.automation import condition_of

        return condition_of(self._automation, self._timezone, dbt_resource_props)

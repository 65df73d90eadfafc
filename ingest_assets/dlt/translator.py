"""How a dlt resource becomes a Dagster asset spec: key `raw_<source>/<table>`, group `<source>`."""

from __future__ import annotations

from dagster import AssetKey, AssetSpec
from dagster_dlt import DagsterDltTranslator
from dagster_dlt.translator import DltResourceTranslatorData

from ingest_assets.config.common import SourceBase

LAKE_KEY_PREFIX = "lake"


class RawTableTranslator(DagsterDltTranslator):
    """Asset specs for one source's raw tables.

    Only `get_asset_spec` is overridden (the per-attribute hooks are superseded), and `deps` is
    emptied: dagster-dlt's default adds an upstream asset per resource that nothing produces.

    Args:
        source: the source config.
        stage: `warehouse` (key `[raw_<source>, <table>]`, kinds dlt + duckdb), `lake` (key
            `[lake, raw_<source>, <table>]`, kinds dlt + parquet) or `projection` (the
            warehouse key, with the lake table of the same name as its upstream).
    """

    def __init__(self, source: SourceBase, stage: str = "warehouse"):
        self.source = source
        self.stage = stage

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        """Return the spec of the asset for `data.resource`.

        The warehouse key is the key dbt gives its source `raw_<source>`, so lineage connects.
        Description: the table's `description` in `sources.yml`, else the resource function's
        docstring, else the source's description.
        """
        resource = data.resource
        table = resource.table_name if isinstance(resource.table_name, str) else resource.name
        warehouse_key = AssetKey([self.source.dataset_name, table])
        lake_key = AssetKey([LAKE_KEY_PREFIX, self.source.dataset_name, table])
        default = super().get_asset_spec(data)
        return default.replace_attributes(
            key=lake_key if self.stage == "lake" else warehouse_key,
            deps=[lake_key] if self.stage == "projection" else [],
            group_name=self.source.name,
            kinds={"dlt", "parquet"} if self.stage == "lake" else {"dlt", "duckdb"},
            description=self.source.table_descriptions().get(table)
            or (default.description or "").strip()
            or self.source.description,
        )

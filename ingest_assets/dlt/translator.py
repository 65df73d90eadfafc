"""How a dlt resource becomes a Dagster asset spec: key `raw_<source>/<table>`, group `<source>`."""

from __future__ import annotations

from dagster import AssetKey, AssetSpec
from dagster_dlt import DagsterDltTranslator
from dagster_dlt.translator import DltResourceTranslatorData

from ingest_assets.config.common import SourceBase

KINDS = {"dlt", "duckdb"}


class RawTableTranslator(DagsterDltTranslator):
    """Asset specs for one source's raw tables.

    Only `get_asset_spec` is overridden (the per-attribute hooks are superseded), and `deps` is
    emptied: dagster-dlt's default adds an upstream asset per resource that nothing produces.
    """

    def __init__(self, source: SourceBase):
        self.source = source

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        """Return the spec of the asset for `data.resource`.

        Key `[raw_<source>, <table>]` (the same key dbt gives its source `raw_<source>`, so
        lineage connects), group `<source>`, kinds `dlt` and `duckdb`, description from the
        resource's docstring or else the source's description.
        """
        resource = data.resource
        table = resource.table_name if isinstance(resource.table_name, str) else resource.name
        default = super().get_asset_spec(data)
        return default.replace_attributes(
            key=AssetKey([self.source.dataset_name, table]),
            deps=[],
            group_name=self.source.name,
            kinds=KINDS,
            description=self.source.table_descriptions().get(table)
            or (default.description or "").strip()
            or self.source.description,
        )

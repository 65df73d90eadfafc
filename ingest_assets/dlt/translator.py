"""How a dlt resource becomes a Dagster asset spec: key `raw_<source>/<table>`, group `<source>`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import AssetKey, AssetSpec
from dagster_dlt import DagsterDltTranslator, build_dlt_asset_specs
from dagster_dlt.translator import DltResourceTranslatorData
from dlt.extract.source import DltSource
from dlt.pipeline.pipeline import Pipeline

from ingest_assets.config.common import SourceBase

LAKE_KEY_PREFIX = "lake"

TABLE_NAME_KEY = "dagster/table_name"
"""Dagster's metadata key for the table an asset is stored in (`TableMetadataSet.table_name`)."""


class RawTableTranslator(DagsterDltTranslator):
    """Asset specs for one source's raw tables.

    Only `get_asset_spec` is overridden (the per-attribute hooks are superseded), and `deps` is
    emptied: dagster-dlt's default adds an upstream asset per resource that nothing produces.

    Args:
        source: the source config.
        stage: `warehouse` (key `[raw_<source>, <table>]`, kinds dlt + duckdb), `lake` (key
            `[lake, raw_<source>, <table>]`, kinds dlt + parquet) or `projection` (the
            warehouse key, with the lake table of the same name as its upstream).
        database: the warehouse's catalog name (`settings.warehouse_catalog`, `warehouse` for
            `warehouse.duckdb`); warehouse tables get `dagster/table_name`
            `<database>.raw_<source>.<table>`, spelled as dagster-dbt spells the dbt source of
            the same table (`<database>.<schema>.<name>`) and its models
            (`warehouse.main.orders`). None leaves the database out.
    """

    def __init__(self, source: SourceBase, stage: str = "warehouse", database: str | None = None):
        self.source = source
        self.stage = stage
        self.database = database

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        """Return the spec of the asset for `data.resource`.

        The warehouse key is the key dbt gives its source `raw_<source>`, so lineage connects.
        Description: the table's `description` in `sources.yml`, else the resource function's
        docstring, else the source's description. Metadata: `dagster/table_name` (see the class;
        a lake table is files, not a warehouse table, and has none) and dagster-dlt's
        `dagster/storage_kind`.
        """
        resource = data.resource
        table = resource.table_name if isinstance(resource.table_name, str) else resource.name
        warehouse_key = AssetKey([self.source.dataset_name, table])
        lake_key = AssetKey([LAKE_KEY_PREFIX, self.source.dataset_name, table])
        default = super().get_asset_spec(data)
        metadata = {k: v for k, v in default.metadata.items() if k != TABLE_NAME_KEY}
        if self.stage != "lake":
            metadata[TABLE_NAME_KEY] = ".".join(
                part for part in (self.database, self.source.dataset_name, table) if part
            )
        return default.replace_attributes(
            metadata=metadata,
            key=lake_key if self.stage == "lake" else warehouse_key,
            deps=[lake_key] if self.stage == "projection" else [],
            group_name=self.source.name,
            kinds={"dlt", "parquet"} if self.stage == "lake" else {"dlt", "duckdb"},
            description=self.source.table_descriptions().get(table)
            or (default.description or "").strip()
            or self.source.description,
        )


def raw_table_specs(
    dlt_source: DltSource, pipeline: Pipeline, translator: RawTableTranslator
) -> list[AssetSpec]:
    """dagster-dlt's asset specs of `dlt_source` (`build_dlt_asset_specs`, what `@dlt_assets`
    builds its multi-asset from), without the live source, pipeline and translator objects it
    attaches as metadata for `DagsterDltResource.run` (which this project does not use): the UI
    shows them as "[DltSource] (unserializable)". They cannot be removed from a `@dlt_assets`
    definition afterwards (`map_asset_specs` keeps the op's output metadata).

    Args:
        dlt_source: the describing dlt source (its selected resources become the specs).
        pipeline: the describing pipeline (only its destination is read).
        translator: the project's translator (keys, deps=[], kinds, table names).
    """
    return [
        spec.replace_attributes(metadata=_serializable(spec.metadata))
        for spec in build_dlt_asset_specs(dlt_source, pipeline, translator)
    ]


def _serializable(metadata: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metadata.items() if not k.startswith("dagster_dlt/")}

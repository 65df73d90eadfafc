"""Every dbt model as a Dagster asset, built with `dbt build` so tests run as asset checks."""


from collections.abc import Iterator
from typing import Any

from dagster import AssetExecutionContext, AssetsDefinition
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from ingest_assets.dbt.translator import ModelTranslator
from ingest_assets.dlt.assets import DUCKDB_POOL


def build_dbt_assets(project: DbtProject) -> AssetsDefinition:
    """Return one multi-asset over all models of `project`, in the `duckdb` pool.

    Args:
        project: a `DbtProject` whose manifest exists (see `load_dbt_project`).

    The run invokes `dbt build` for the selected models; dbt reads the warehouse path from
    `INGEST_WAREHOUSE_PATH`, which `settings.export_runtime_environment` sets for the subprocess.
    """

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=ModelTranslator(),
        pool=DUCKDB_POOL,
        name="dbt_models",
    )
    def _models(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        yield from dbt.cli(["build"], context=context).stream()

    return _models

"""One asset job per source: its asset group and every dbt model downstream of it."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from ingest_assets.config.common import SourceBase


def job_name(source: SourceBase) -> str:
    """`<source>_job`."""
    return f"{source.name}_job"


def build_source_job(source: SourceBase) -> UnresolvedAssetJobDefinition:
    """Return the job that loads `source` and refreshes the dbt models downstream of it.

    dbt runs once per run (one `dbt build` step for all selected models), so a mart fed by
    several sources is rebuilt once in each source's run, never twice in one run. Asset checks
    of the selected assets (row counts, freshness, dbt tests) run in the same run.
    """
    return define_asset_job(
        job_name(source),
        selection=AssetSelection.groups(source.name).downstream(),
        description=f"Load {source.name} into {source.dataset_name} and rebuild the dbt models downstream.",
    )

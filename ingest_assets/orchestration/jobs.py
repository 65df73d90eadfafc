"""One asset job per source: its asset group and every dbt model downstream of it."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from ingest_assets import names
from ingest_assets.config.common import SourceBase


def job_name(source: SourceBase) -> str:
    """`<source>_job` (spelled in `ingest_assets.names`)."""
    return names.job_name(source.name)


def build_source_job(source: SourceBase):  # noqa: ANN201 - dagster exports no name for the type
    """Return the asset job `<source>_job` (what `dagster.define_asset_job` returns): it loads
    `source` and refreshes the dbt models downstream of it.

    dbt runs once per run (one `dbt build` step for all selected models), so a mart fed by
    several sources is rebuilt once in each source's run, never twice in one run. Asset checks
    of the selected assets (row counts, freshness, dbt tests) run in the same run.
    """
    return define_asset_job(
        job_name(source),
        selection=AssetSelection.groups(source.name).downstream(),
        description=f"Load {source.name} into {source.dataset_name} and rebuild the dbt models downstream.",
    )

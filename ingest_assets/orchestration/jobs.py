"""One asset job per source: its asset group and every dbt model downstream of it (`group:<source>+`
in Dagster's selection syntax), but the models the automation sensor builds (`automation:`)."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from ingest_assets import names
from ingest_assets.config.common import SourceBase


def job_name(source: SourceBase) -> str:
    """`<source>_job` (spelled in `ingest_assets.names`)."""
    return names.job_name(source.name)


def source_selection(source_name: str, automated: AssetSelection | None = None) -> AssetSelection:
    """The assets of `<source>_job` and `ingest sync <source>`: the source's asset group and
    everything downstream of it (`group:<source>+`), minus the `automated` assets (dbt models
    with an automation condition, which `dbt_automation_sensor` builds once per change instead
    of once per source run; see `dbt.automation.automated_selection`)."""
    selection = AssetSelection.groups(source_name).downstream()
    return selection - automated if automated is not None else selection


def build_source_job(source: SourceBase, automated: AssetSelection | None = None):  # noqa: ANN201 - dagster exports no name for the type
    """Return the asset job `<source>_job` (what `dagster.define_asset_job` returns): it loads
    `source` and refreshes the dbt models downstream of it.

    `automated`: the assets left to the automation sensor (see `source_selection`). A
    partitioned source's job takes its assets' partitions definition (a run loads one
    partition or a range of them).

    dbt runs once per run (one `dbt build` step for all selected models), so a mart fed by
    several sources is rebuilt once in each source's run, never twice in one run. Asset checks
    of the selected assets (row counts, freshness, dbt tests) run in the same run.
    """
    return define_asset_job(
        job_name(source),
        selection=source_selection(source.name, automated),
        description=f"Load {source.name} into {source.dataset_name} and rebuild the dbt models downstream.",
    )

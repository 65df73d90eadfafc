"""One asset job per source: its asset group and every dbt model downstream of it (`group:<source>+`
in Dagster's selection syntax), but the models the automation sensor builds (`automation:`)."""

from __future__ import annotations

from collections.abc import Iterable

from dagster import AssetKey, AssetSelection, define_asset_job
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from ingest_assets.config.common import SourceBase


def job_name(source: SourceBase) -> str:
    """`<source>_job`."""
    return f"{source.name}_job"


def source_selection(source_name: str, automated: Iterable[AssetKey] = ()) -> AssetSelection:
    """The assets of `<source>_job` and `ingest sync <source>`: the source's asset group and
    everything downstream of it (`group:<source>+`), minus the `automated` assets (dbt models
    with an automation condition, which `dbt_automation_sensor` builds once per change instead
    of once per source run)."""
    selection = AssetSelection.groups(source_name).downstream()
    automated = list(automated)
    return selection - AssetSelection.assets(*automated) if automated else selection


def build_source_job(
    source: SourceBase, automated: Iterable[AssetKey] = ()
) -> UnresolvedAssetJobDefinition:
    """Return the job that loads `source` and refreshes the dbt models downstream of it.

    `automated`: asset keys left to the automation sensor (see `source_selection`). A
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

"""File-arrival sensors for filesystem sources (placeholder: skips every tick)."""

from __future__ import annotations

from dagster import SensorDefinition, SkipReason, sensor
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from ingest_assets.settings import ProjectPaths
from ingest_assets.sources.filesystem import FilesystemSourceConfig


def build_file_sensor(
    source: FilesystemSourceConfig, paths: ProjectPaths, job: UnresolvedAssetJobDefinition
) -> SensorDefinition:
    """Return `<source>_file_sensor` (placeholder until implemented)."""

    @sensor(name=f"{source.name}_file_sensor", job=job, minimum_interval_seconds=source.minimum_interval_seconds)
    def _sensor(context):
        return SkipReason("not implemented yet")

    return _sensor

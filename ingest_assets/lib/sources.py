"""`SourcesComponent`: the sources of `sources.yml` as Dagster definitions."""

from __future__ import annotations

import dagster as dg

from ingest_assets.project import build_source_definitions, load_project
from ingest_assets.settings import project_dir


class SourcesComponent(dg.Component, dg.Model, dg.Resolvable):
    """Every enabled source of the project's `sources.yml` (and of its Excel job sheet, when
    `sources.yml` names one or `ingestion_config.xlsx` exists) as one asset group each: its dlt
    assets (one per table, keys `raw_<source>/<table>`), asset checks, `<source>_job`,
    `<source>_schedule` when `schedule:` is set, `<source>_file_sensor` for filesystem
    sources, and the alert sensors when `alerts:` is set.

    The project root is `settings.project_dir()` (`INGEST_PROJECT_DIR`, else this checkout);
    `sources.yml` keeps its format and stays the user's interface (`ingest validate`).

    Attributes:
        sources_file: the sources file, relative to the project root.

    Raises (when definitions load):
        ConfigError: the sources file or the job sheet is invalid; one line per problem,
            naming file, source and field.
    """

    sources_file: str = "sources.yml"

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        """Load the project's config (exports the warehouse path for dlt and dbt) and build
        the definitions of its enabled sources."""
        root = project_dir()
        return build_source_definitions(load_project(root, sources_file=root / self.sources_file))

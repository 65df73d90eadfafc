"""Dagster entry point (`[tool.dagster] module_name`, `[tool.dg.project]
code_location_target_module`, workspace.yaml): the definitions of the defs folder
`ingest_assets/defs/` (the sources component, the dbt component, the project policy)."""

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    """Load every component and definitions file under `ingest_assets/defs/`.

    Raises:
        ConfigError: `sources.yml` is invalid. It is read first, so the code location's error
            starts with its first problem (file, line, field) instead of the component that
            happened to read it first.
    """
    from ingest_assets.gc_pause import cyclic_gc_paused
    from ingest_assets.project import load_project

    # the build allocates many short-lived objects; without the pause they trigger a full
    # collection over everything Dagster, dlt and dbt loaded: ~0.2 s of a ~0.8 s build
    with cyclic_gc_paused():
        load_project()
        return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)

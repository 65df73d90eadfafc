"""What holds for the whole project: resources (`dlt`, `dbt`, `warehouse`), the in-process
executor, and the release of pool slots held by runs whose process died."""

import dagster as dg

from ingest_assets.orchestration.run_recovery import recover_on_definitions_load
from ingest_assets.project import build_policy_definitions, load_project


@dg.definitions
def defs() -> dg.Definitions:
    """The project-wide resources and executor (see `project.build_policy_definitions`); runs
    whose process died release their pool slots on every definitions load, and
    `dagster asset materialize` ends its run on SIGTERM/SIGINT."""
    definitions = build_policy_definitions(load_project())
    recover_on_definitions_load()
    return definitions

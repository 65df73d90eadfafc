"""Dagster entry point (`[tool.dagster] module_name`): the definitions of this checkout."""

from ingest_assets.orchestration.run_recovery import recover_on_definitions_load
from ingest_assets.project import build_definitions, load_project
from ingest_assets.warehouses.pool import apply_pool_limits_on_load

project = load_project()
defs = build_definitions(project)
# the warehouse pool's limit follows the warehouse (DuckDB 1, a server `pool_limit`; never raises)
apply_pool_limits_on_load(project.warehouse)
# runs whose process died release their pool slots; `dagster asset materialize` ends its run on
# SIGTERM/SIGINT (never raises)
recover_on_definitions_load()

"""Dagster entry point (`[tool.dagster] module_name`): the definitions of this checkout."""

from ingest_assets.project import build_definitions, load_project

defs = build_definitions(load_project())

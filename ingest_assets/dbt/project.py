"""The dbt project in `dbt_project/` and the manifest Dagster reads its models from."""

from __future__ import annotations

from pathlib import Path

from dagster_dbt import DbtProject


def load_dbt_project(dbt_project_dir: Path) -> DbtProject:
    """Return the `DbtProject` for `dbt_project_dir`, with a manifest ready to load.

    The manifest (`target/manifest.json`) is made by `dbt parse` when it is missing, so
    definitions load on a fresh clone, and refreshed on every load under `dagster dev`
    (dagster-dbt's `prepare_if_dev`). Elsewhere an existing manifest is used as is: no dbt parse,
    no database connection at load time. `ingest prepare` refreshes it on demand.

    Args:
        dbt_project_dir: folder holding `dbt_project.yml` and `profiles.yml`.

    Raises:
        DagsterDbtManifestNotFoundError, DagsterDbtCliRuntimeError: `dbt parse` failed, e.g. a
            model has a syntax error; dbt's message says which file.
    """
    project = DbtProject(project_dir=dbt_project_dir, profiles_dir=dbt_project_dir)
    if not project.manifest_path.exists():
        project.preparer.prepare(project)
    else:
        project.prepare_if_dev()
    return project

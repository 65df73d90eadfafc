"""`DbtModelsComponent`: the dbt project as dagster-dbt's `DbtProjectComponent`, with this
project's model translator (dbt sources mapped to the dlt tables' asset keys, source tests as
asset checks), the `duckdb` pool, the dbt subprocess stopped with its step, and a manifest kept
current by a fingerprint of the dbt project's files."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtProject, DbtProjectComponent

from ingest_assets.dbt.project import load_dbt_project, project_fingerprint
from ingest_assets.project import Project, build_dbt_definitions, load_project
from ingest_assets.settings import project_dir


class DbtModelsComponent(DbtProjectComponent):
    """The models of the dbt project (`project:`, e.g. `{{ ingest_project_root }}/dbt_project`)
    as one multi-asset `dbt_models` built with `dbt build` (tests run as asset checks).

    The manifest is the component's state (`write_state_to_path`, run by `dg dev`/`dagster dev`
    at start and by `dg utils refresh-defs-state`), and it is also checked at every definitions
    load, in every process (`dagster asset materialize`, `dg launch`, runs, the `ingest` CLI):
    when the dbt project's files differ from the fingerprint stored beside
    `target/manifest.json`, `dbt parse` runs first, so a stale manifest never reaches Dagster.
    `ingest prepare` is no longer needed.

    Template scope: `ingest_project_root`, the project root (`INGEST_PROJECT_DIR`, else this
    checkout).

    Raises (when definitions load):
        DbtParseError: `dbt parse` failed; dbt's message names the file.
    """

    @classmethod
    def get_additional_scope(cls) -> Mapping[str, Any]:
        """`{{ ingest_project_root }}`: the project root, so a project copy
        (`INGEST_PROJECT_DIR`) uses its own dbt project."""
        return {"ingest_project_root": str(project_dir())}

    def _current_project(self) -> tuple[Project, DbtProject]:
        """The loaded project and its dbt project with a current manifest. The project's config
        is loaded first: it exports the warehouse path dbt's profile reads (part of the
        fingerprint)."""
        project = load_project(project_dir())
        return project, load_dbt_project(Path(self.dbt_project.project_dir))

    def write_state_to_path(self, state_path: Path) -> None:
        """Parse the dbt project when its manifest is missing or stale, and record in
        `state_path` (a JSON file) which manifest and fingerprint the definitions use."""
        _, project = self._current_project()
        state_path.parent.mkdir(parents=True, exist_ok=True)
        state_path.write_text(
            json.dumps(
                {
                    "manifest": str(project.manifest_path),
                    "fingerprint": project_fingerprint(Path(project.project_dir)),
                }
            )
        )

    def build_defs_from_state(
        self, context: dg.ComponentLoadContext, state_path: Path | None
    ) -> dg.Definitions:
        """The dbt models from the current manifest: the stored state is used only when its
        fingerprint matches the files on disk; otherwise (or with no state) the manifest is
        re-parsed first (see `ingest_assets.dbt.project.load_dbt_project`)."""
        loaded, project = self._current_project()
        config = loaded.config  # `automation:` of sources.yml
        return build_dbt_definitions(project, config.automation, config.timezone)

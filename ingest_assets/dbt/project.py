"""The dbt project in `dbt_project/` and the manifest Dagster reads its models from.

The manifest (`target/manifest.json`) is kept current by a fingerprint of the dbt project's
files (`target/manifest.fingerprint`, next to it): every definitions load (`dagster dev`, its
runs, `dagster asset materialize`, the `ingest` CLI, a test) compares the fingerprint of the
files on disk with the stored one and runs `dbt parse` only when they differ, so a model added
or edited is an asset at the next load, and an unchanged project costs
no dbt start at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from ingest_assets.settings import warehouse_catalog
from ingest_assets.yaml_files import YAML_LOADER

if TYPE_CHECKING:  # dagster-dbt is imported by what builds a project, not by a fingerprint
    from dagster_dbt import DbtProject

FINGERPRINT_FILE = "manifest.fingerprint"
"""Name of the fingerprint file, in dbt's target folder next to `manifest.json`."""

PROJECT_FILES = (
    "dbt_project.yml",
    "profiles.yml",
    "packages.yml",
    "dependencies.yml",
    "package-lock.yml",
    "selectors.yml",
)
"""Top-level files of a dbt project whose content changes the manifest."""

_PATH_KEYS = {
    "model-paths": ["models"],
    "macro-paths": ["macros"],
    "test-paths": ["tests"],
    "seed-paths": ["seeds"],
    "snapshot-paths": ["snapshots"],
    "analysis-paths": ["analyses"],
    "docs-paths": [],
}
"""Folders dbt parses, with dbt's defaults when `dbt_project.yml` does not set them."""


class DbtParseError(Exception):
    """`dbt parse` of the project failed (a model or yml file dbt cannot read)."""


def project_fingerprint(dbt_project_dir: Path, warehouse: Path | str | None = None) -> str:
    """A hash of everything `dbt parse` reads: the content (not the modification time) of the
    model, macro, test, seed, snapshot and analysis folders, `dbt_project.yml`, `profiles.yml`,
    the package files, the dbt version and the warehouse's catalog name (it is the `database`
    of every node in the manifest).

    Args:
        dbt_project_dir: folder holding `dbt_project.yml`.
        warehouse: the DuckDB warehouse dbt's profile points at; None reads
            `INGEST_WAREHOUSE_PATH` (set by `settings.export_runtime_environment`).

    Returns:
        A hex digest; equal digests mean the manifest parsed from one holds for the other, so
        a copy of the project elsewhere (other absolute path, new modification times) matches.
    """
    digest = hashlib.sha256()
    warehouse = warehouse or os.environ.get("INGEST_WAREHOUSE_PATH") or ""
    digest.update(f"catalog={warehouse_catalog(warehouse) if warehouse else ''}\n".encode())
    digest.update(f"dbt={_dbt_version()}\n".encode())
    if os.environ.get("INGEST_DBT_IDENTITY"):  # a server warehouse (ingest_assets.warehouses)
        digest.update(f"target={os.environ['INGEST_DBT_IDENTITY']}\n".encode())
    for path in _parsed_files(dbt_project_dir):
        digest.update(path.relative_to(dbt_project_dir).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _dbt_version() -> str:
    try:
        return version("dbt-core")
    except PackageNotFoundError:  # pragma: no cover - dbt-core is a dependency
        return "unknown"


def _parsed_files(dbt_project_dir: Path) -> list[Path]:
    """The files dbt parses, sorted: the top-level project files and every file under the
    configured resource folders (`target/`, `logs/` and installed packages excluded)."""
    files = [dbt_project_dir / name for name in PROJECT_FILES if (dbt_project_dir / name).is_file()]
    settings: dict = {}
    # dbt parse reports a broken dbt_project.yml; its content is hashed above
    with contextlib.suppress(OSError, yaml.YAMLError):
        settings = (
            yaml.load((dbt_project_dir / "dbt_project.yml").read_text(), Loader=YAML_LOADER) or {}
        )
    folders: set[str] = set()
    for key, default in _PATH_KEYS.items():
        configured = settings.get(key) if isinstance(settings, dict) else None
        folders.update(configured if isinstance(configured, list) else default)
    for folder in sorted(folders):
        root = dbt_project_dir / folder
        if root.is_dir():
            files += [p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return sorted(set(files))


def fingerprint_path(project: DbtProject) -> Path:
    """Where the fingerprint of `project`'s manifest is kept: beside `manifest.json`."""
    return project.manifest_path.parent / FINGERPRINT_FILE


def manifest_is_current(project: DbtProject, fingerprint: str | None = None) -> bool:
    """True when `manifest.json` exists and was parsed from the files now on disk."""
    stored = fingerprint_path(project)
    if not project.manifest_path.exists() or not stored.exists():
        return False
    current = fingerprint or project_fingerprint(project.project_dir)
    return stored.read_text().strip() == current


def write_fingerprint(dbt_project_dir: Path, warehouse: Path | str | None = None) -> Path:
    """Record that `dbt_project_dir/target/manifest.json` matches the files now on disk (for
    a manifest made by a `dbt parse` run elsewhere, e.g. a build step or a test fixture).

    Returns:
        The fingerprint file written.
    """
    path = dbt_project_dir / "target" / FINGERPRINT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(project_fingerprint(dbt_project_dir, warehouse) + "\n")
    return path


def prepare_manifest(project: DbtProject, force: bool = False) -> bool:
    """Run `dbt parse` (and `dbt deps` when the project has packages) when the manifest is
    missing or older than the project's files, then store the new fingerprint.

    Concurrent definitions loads (the `dagster dev` code server and its runs) are serialised
    by dagster-dbt's preparer, which holds a lock file while it parses.

    Args:
        project: the dbt project.
        force: parse even when the fingerprint matches.

    Returns:
        True when dbt parse ran, False when the manifest was current.

    Raises:
        DbtParseError: dbt parse failed; the message holds dbt's errors (which file, which
            line) and what to do.
    """
    fingerprint = project_fingerprint(project.project_dir)  # before parsing: an edit made
    if not force and manifest_is_current(project, fingerprint):  # meanwhile parses again
        return False
    from dagster_dbt.errors import DagsterDbtError

    try:
        project.preparer.prepare(project)
    except DagsterDbtError as error:
        raise DbtParseError(
            f"{project.project_dir.name}/: dbt parse failed, so the dbt models cannot be "
            f"loaded; fix the file dbt names below, then reload the definitions.\n{error}"
        ) from None
    if not project.manifest_path.exists():
        raise DbtParseError(
            f"{project.project_dir.name}/: dbt parse wrote no {project.manifest_path}"
        )
    fingerprint_path(project).write_text(fingerprint + "\n")
    return True


def load_dbt_project(dbt_project_dir: Path) -> DbtProject:
    """Return the `DbtProject` for `dbt_project_dir`, with a current manifest.

    The manifest is made or refreshed by `dbt parse` when it is missing or its fingerprint
    (see `project_fingerprint`) differs from the files on disk, in every process alike
    (`dagster dev` and its runs, `dagster asset materialize`, the `ingest` CLI); otherwise it
    is used as is, with no dbt start and no database connection.

    Args:
        dbt_project_dir: folder holding `dbt_project.yml` and `profiles.yml`.

    Raises:
        DbtParseError: `dbt parse` failed, e.g. a model has a syntax error; dbt's message
            says which file.
    """
    from dagster_dbt import DbtProject

    project = DbtProject(project_dir=dbt_project_dir, profiles_dir=dbt_project_dir)
    prepare_manifest(project)
    return project

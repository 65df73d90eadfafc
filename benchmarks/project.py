"""Throw-away project copies for benchmarks, made with the same helpers as `tests/conftest.py`'s
`make_project` (`tests/helpers.py`).

A copy holds the repo's dbt_project (with a manifest parsed once per benchmark run and reused),
custom_sources, .dlt/config.toml, dagster_home/dagster.yaml and a generated sources.yml. Its
warehouse, dlt pipelines and Dagster instance live inside the copy, so every configuration
starts from nothing and the repo itself is never touched.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from tests.helpers import REPO, copy_project_files, dbt_parse, write_sources

__all__ = ["REPO", "copy_project_files", "dbt_parse", "write_sources"]

VENV_BIN = Path(sys.executable).parent


def parsed_dbt_target(cache: Path) -> Path:
    """`target/` of the repo's dbt project, parsed once into `cache` and reused."""
    target = cache / "dbt_parse" / "dbt_project" / "target"
    if (target / "manifest.json").exists():
        return target
    root = cache / "dbt_parse"
    shutil.rmtree(root, ignore_errors=True)
    copy_project_files(root)
    dbt_parse(root / "dbt_project", root / "warehouse.duckdb")
    return target


def make_project(root: Path, sources: list[dict[str, Any]], dbt_target: Path | None) -> Path:
    """A fresh project at `root` (replaced if present) with `sources` as its sources.yml.

    `dbt_target`: a parsed `target/` to copy in (definitions load then needs no dbt parse).
    """
    shutil.rmtree(root, ignore_errors=True)
    copy_project_files(root)
    if dbt_target is not None:
        shutil.copytree(dbt_target, root / "dbt_project" / "target")
    write_sources(root, sources)
    return root


def project_env(root: Path) -> dict[str, str]:
    """Environment of a command run in the project copy `root` (its DAGSTER_HOME, no telemetry)."""
    env = {
        **os.environ,
        "INGEST_PROJECT_DIR": str(root),
        "DAGSTER_HOME": str(root / "dagster_home"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "PATH": os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "")]),
    }
    env.pop("INGEST_WAREHOUSE", None)
    return env


def file_source(name: str, folder: Path, table: str, glob: str, file_format: str) -> dict[str, Any]:
    """A one-table `filesystem` source over `folder`."""
    return {
        "name": name,
        "type": "filesystem",
        "filesystem": {
            "bucket_url": str(folder),
            "tables": [{"name": table, "file_glob": glob, "format": file_format}],
        },
    }

"""Loading sources.yml (what `ingest validate --no-build`, `status` and `summary` do) imports
neither Dagster nor the source types' heavy libraries (dlt, sqlalchemy, sqlglot, pyarrow).

Each check runs in a fresh interpreter (`sys.modules` of the test process already holds them).
Validating a `rest_api` block (dlt's own rules) and naming the tables of a `sql_database` source
(dlt's snake_case naming) need dlt: those sources are checked for the other libraries only.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest
import yaml

from tests.helpers import source

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("dagster", "dlt", "sqlalchemy", "sqlglot", "pyarrow")

_PROBE = """
import json, sys
from pathlib import Path
from ingest_assets.config import load_project_config
import ingest_assets.cli
import ingest_assets.ledger  # what `ingest status` and `summary` read the warehouse with
config = load_project_config(Path(sys.argv[1]))
print(json.dumps({
    "enabled": sorted(s.name for s in config.sources if s.enabled),
    "loaded": [m for m in sys.argv[2:] if m in sys.modules],
}))
"""

_SQL_CREDENTIALS = {"drivername": "postgresql", "host": "127.0.0.1", "database": "test"}


def _loaded(tmp_path: Path, sources: list[dict]) -> dict:
    """Write `sources` as a project's sources.yml and load it in a fresh interpreter: the
    enabled source names and which of `HEAVY` it imported."""
    (tmp_path / "sources.yml").write_text(yaml.safe_dump({"sources": sources}))
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(tmp_path / "sources.yml"), *HEAVY],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_file_native_and_sql_sources_load_without_heavy_libraries(tmp_path: Path) -> None:
    """A filesystem, a dlt_native and a `tables: "*"` sql_database source (with a
    `query_filter`-free config): no Dagster, dlt, sqlalchemy, sqlglot or pyarrow."""
    result = _loaded(
        tmp_path,
        [
            source("files"),
            source(
                "native",
                "dlt_native",
                block={"source_module": "custom_sources.example_shop", "source_function": "shop"},
            ),
            source(
                "db",
                "sql_database",
                block={"credentials": _SQL_CREDENTIALS, "schema": "public", "tables": "*"},
            ),
        ],
    )
    assert result["enabled"] == ["db", "files", "native"]
    assert result["loaded"] == []


def test_every_type_loads_without_dagster_sqlalchemy_or_pyarrow(tmp_path: Path) -> None:
    """The repo's sources.yml plus one enabled source of each type (a sql table with a
    `query_filter`, a REST API): dlt and sqlglot may load (dlt's naming and REST API rules),
    Dagster, sqlalchemy and pyarrow do not."""
    repo_sources = yaml.safe_load((REPO / "sources.yml").read_text())["sources"]
    extra = [
        source("files_x"),
        source(
            "native_x",
            "dlt_native",
            block={"source_module": "custom_sources.example_shop", "source_function": "shop"},
        ),
        source(
            "db_x",
            "sql_database",
            block={
                "credentials": _SQL_CREDENTIALS,
                "schema": "public",
                "tables": [{"name": "Orders", "query_filter": "status = 'open'"}],
            },
        ),
        source(
            "api_x",
            "rest_api",
            block={
                "client": {"base_url": "https://api.example.com/"},
                "resources": [{"name": "items", "endpoint": {"path": "items"}}],
            },
        ),
    ]
    result = _loaded(tmp_path, repo_sources + extra)
    assert {"files_x", "native_x", "db_x", "api_x"} <= set(result["enabled"])
    assert not {"dagster", "sqlalchemy", "pyarrow"} & set(result["loaded"])


def test_reflection_level_matches_dlt() -> None:
    """The copied `reflection_level` values are dlt's `ReflectionLevel`."""
    from dlt.sources.sql_database import ReflectionLevel

    from ingest_assets.sources.sql_database.config import ReflectionLevel as Copied

    assert set(get_args(Copied)) == set(get_args(ReflectionLevel))

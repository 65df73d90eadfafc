"""Loading sources.yml (what `ingest validate`, `status` and `summary` do) imports neither
Dagster nor the source types' heavy libraries (dlt, sqlalchemy, sqlglot, pyarrow), and neither
do the commands `validate`, `status`, `summary`, `excel-template` and `demo-data` in the repo's
own demo project (issue 11, point 1).

Each check runs in a fresh interpreter (`sys.modules` of the test process already holds them).
Validating an enabled `rest_api` block (dlt's own rules) and naming a `sql_database` table whose
name is not snake_case already (dlt's naming) need dlt: those sources are checked for the other
libraries only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest
import yaml

from tests.helpers import CLI_IMPORTS_PROBE, source

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("dagster", "dlt", "sqlalchemy", "sqlglot", "pyarrow")
CLI_HEAVY = (*HEAVY, "dagster_dbt", "dagster_dlt", "dbt")
"""What the light commands must not import (openpyxl is allowed for `excel-template`)."""

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


@pytest.fixture(scope="module")
def demo_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repo's demo project (its sources.yml: enabled filesystem and dlt_native
    sources, disabled sql_database and rest_api examples), with the Jaffle Shop files present
    (headers only) so that `demo-data` keeps them."""
    from ingest_assets.demo_data import JAFGEN_FILES

    project = tmp_path_factory.mktemp("demo")
    shutil.copy2(REPO / "sources.yml", project / "sources.yml")
    for folder in ("dbt_project", "custom_sources", ".dlt"):
        shutil.copytree(
            REPO / folder,
            project / folder,
            ignore=shutil.ignore_patterns("target", "logs", "pipelines", "__pycache__"),
        )
    landing = project / "data" / "landing" / "jaffle_shop"
    landing.mkdir(parents=True)
    for name in JAFGEN_FILES:
        (landing / name).write_text("id\n")
    return project


@pytest.mark.parametrize(
    "command",
    [
        ["validate"],
        ["validate", "--no-build"],
        ["status", "--json"],
        ["summary"],
        ["excel-template", "--force", "-o", "{tmp}/template.xlsx"],
        ["demo-data"],
    ],
    ids=" ".join,
)
def test_light_commands_import_no_heavy_library_in_the_demo_project(
    demo_project: Path, tmp_path: Path, command: list[str]
) -> None:
    """Each command, run as `ingest <command> --project <demo copy>` in a fresh interpreter,
    succeeds and imports none of Dagster, dlt, dbt, sqlalchemy, sqlglot or pyarrow: the
    disabled examples are checked without dlt, the `dlt_native` source is not imported
    (`validate` builds nothing without `--build`)."""
    args = [part.format(tmp=tmp_path) for part in command] + ["--project", str(demo_project)]
    result = subprocess.run(
        [sys.executable, "-c", CLI_IMPORTS_PROBE, json.dumps(args), json.dumps(CLI_HEAVY)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={
            **os.environ,
            "DAGSTER_HOME": str(demo_project / "dagster_home"),
            "INGEST_PROJECT_DIR": str(demo_project),
        },
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == []


def test_validate_build_imports_the_custom_source(demo_project: Path, tmp_path: Path) -> None:
    """`validate --build` does import the enabled `dlt_native` source (and so dlt): the opt-in
    check the light `validate` leaves out."""
    args = ["validate", "--build", "--project", str(demo_project)]
    result = subprocess.run(
        [sys.executable, "-c", CLI_IMPORTS_PROBE, json.dumps(args), json.dumps(["dlt"])],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "INGEST_PROJECT_DIR": str(demo_project)},
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == ["dlt"]


def test_snake_case_names_are_named_as_dlt_names_them() -> None:
    """`asset_table_name` returns the names `SNAKE_CASE_NAME` matches without dlt: each is
    what dlt's snake_case naming makes of it, and so is every other name (through dlt)."""
    from dlt.common.normalizers.naming.snake_case import NamingConvention

    from ingest_assets.sources.sql_database.config import SNAKE_CASE_NAME, asset_table_name

    dlt_naming = NamingConvention()
    names = [
        "orders", "order_lines", "_orders", "a", "a1", "a_1", "orders_2024", "x1_y2_z3",
        "OrderLines", "HTTPLog", "order__lines", "orders_", "_", "1orders", "Orders", "ordérs",
        "order lines", " orders", "orders ", "order-lines", "a+b", "__x", "x__", "a_b__c",
        "ÄÖÜ", "tbl$1", "snake_Case", "v2", "_1",
    ]  # fmt: skip
    fast = [name for name in names if SNAKE_CASE_NAME.fullmatch(name)]
    assert fast == ["orders", "order_lines", "_orders", "a", "a1", "a_1", "orders_2024", "x1_y2_z3", "v2"]  # fmt: skip
    for name in names:
        assert asset_table_name(name) == dlt_naming.normalize_table_identifier(name), name

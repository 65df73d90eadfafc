"""Shared fixtures: throw-away project copies, real Jaffle Shop data, in-process materialization.

Every end-to-end test works in its own copy of the project (sources.yml, dbt_project/,
custom_sources/, .dlt/config.toml) under pytest's tmp_path, with its own warehouse file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    copy_project_files,
    dbt_parse,
    moto_s3,  # noqa: F401 - the one S3 emulator fixture, for every test
    read_csv,
    require_service,
    write_csv,
    write_sources,
)

SMALL_ORDER_COUNT = 1500


@pytest.fixture(autouse=True)
def _restore_environ() -> Iterator[None]:
    """Loading a project exports variables (warehouse path, DLT_PROJECT_DIR); undo that per test.
    A run also registers its secrets for redaction in the process (e.g. moto's `test` keys):
    forget them, so they do not blank out another test's messages."""
    from ingest_assets.redact import forget_secrets

    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
    forget_secrets()


@pytest.fixture(scope="session")
def dbt_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `target/` with the dbt manifest of the repo's dbt project, parsed once per session."""
    root = tmp_path_factory.mktemp("dbt_parse")
    copy_project_files(root)
    dbt_parse(root / "dbt_project", root / "warehouse.duckdb")
    return root / "dbt_project" / "target"


@pytest.fixture
def make_project(tmp_path: Path, dbt_target: Path) -> Callable[..., Path]:
    """Return `make(sources, name="project") -> Path`: a fresh project copy with that sources.yml.

    `sources` is the `sources:` list (dicts) or a whole YAML document as a string. The copy's
    `INGEST_PROJECT_DIR` is set so that `load_project()` and CLI commands use it.
    """

    def make(sources: list[dict[str, Any]] | str, name: str = "project") -> Path:
        root = tmp_path / name
        copy_project_files(root)
        shutil.copytree(dbt_target, root / "dbt_project" / "target")
        write_sources(root, sources)
        os.environ["INGEST_PROJECT_DIR"] = str(root)
        os.environ.pop("INGEST_WAREHOUSE", None)
        return root

    return make


@pytest.fixture(scope="session")
def jaffle_full(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 7 Jaffle Shop CSVs of one simulated year, made by dbt Labs' generator `jafgen 1`."""
    root = tmp_path_factory.mktemp("jafgen")
    subprocess.run(
        [str(Path(sys.executable).parent / "jafgen"), "1"],
        cwd=root,
        check=True,
        capture_output=True,
    )
    return root / "jaffle-data"


@pytest.fixture(scope="session")
def jaffle_small(jaffle_full: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A consistent slice of the jafgen data: the first orders, their items, all dimensions."""
    out = tmp_path_factory.mktemp("jaffle_small")
    orders = read_csv(jaffle_full / "raw_orders.csv")[:SMALL_ORDER_COUNT]
    order_ids = {row["id"] for row in orders}
    write_csv(out / "raw_orders.csv", orders)
    write_csv(
        out / "raw_items.csv",
        [row for row in read_csv(jaffle_full / "raw_items.csv") if row["order_id"] in order_ids],
    )
    write_csv(out / "raw_tweets.csv", read_csv(jaffle_full / "raw_tweets.csv")[:300])
    for name in ("customers", "products", "stores", "supplies"):
        shutil.copy2(jaffle_full / f"raw_{name}.csv", out / f"raw_{name}.csv")
    return out


PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
"""The machine's PostgreSQL (trust auth), database `test`; CI has it too."""


@pytest.fixture
def pg_schema() -> Iterator[tuple[Any, str]]:
    """A fresh PostgreSQL schema `it_<random>` (dropped afterwards) and an engine on `test`."""
    import sqlalchemy as sa

    require_service("PostgreSQL", "127.0.0.1", 5432)
    engine = sa.create_engine(PG_URL.replace("postgresql:", "postgresql+psycopg2:"))
    schema = f"it_{uuid.uuid4().hex[:10]}"
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    yield engine, schema
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


MARIA_URL = "mysql+pymysql://root@127.0.0.1:3306/test"


@pytest.fixture
def maria_database() -> Iterator[tuple[Any, str]]:
    """A fresh MariaDB database `it_<random>` (dropped afterwards) and an engine on it."""
    import sqlalchemy as sa

    require_service("MariaDB", "127.0.0.1", 3306)
    database = f"it_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(MARIA_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {database}"))
    engine = sa.create_engine(MARIA_URL.replace("/test", f"/{database}"))
    yield engine, database
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP DATABASE {database}"))
    admin.dispose()


TEST_KINDS = ("unit", "integration", "e2e")
"""The markers of pyproject.toml's [tool.pytest.ini_options]; every test has exactly one."""


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects: a full run and `-m unit` check alike
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Fail the collection when a test has none or more than one of the `TEST_KINDS` markers,
    naming each such test (`pytestmark = pytest.mark.unit` at a module's top, or
    `@pytest.mark.unit` on a test, and the same for integration and e2e)."""
    wrong = []
    for item in items:
        kinds = sorted({mark.name for mark in item.iter_markers() if mark.name in TEST_KINDS})
        if len(kinds) != 1:
            wrong.append(f"  {item.nodeid}: {', '.join(kinds) or 'no marker'}")
    if wrong:
        raise pytest.UsageError(
            f"each test needs exactly one of the markers {', '.join(TEST_KINDS)} "
            f"(see pyproject.toml):\n" + "\n".join(wrong)
        )

"""`query_filter` cannot change the shape of the SELECT: one SQL condition, checked at config
validation (every dialect) and again when the table is read (the database's own dialect), against
the real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import dlt
import duckdb
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed
from helpers import execute_sql, source

from ingest_assets.config.loader import ConfigError, validate_document
from ingest_assets.settings import ProjectPaths
from ingest_assets.sources.sql_database import (
    SqlDatabaseSourceConfig,
    build_dlt_source,
    query_filter_problem,
)

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
BREAKOUT = "id <= 3) OR (1=1"


def _source(schema: str, query_filter: str) -> dict:
    return source(
        "flt",
        "sql_database",
        block={"schema": schema, "tables": [{"name": "items", "query_filter": query_filter}]},
    )


def _load(tmp_path: Path, config: SqlDatabaseSourceConfig) -> int:
    """Load the source with a plain dlt pipeline into a DuckDB file; rows in `items`."""
    pipeline = dlt.pipeline(
        pipeline_name="flt",
        destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
        dataset_name="raw_flt",
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    pipeline.run(build_dlt_source(config, ProjectPaths(tmp_path)))
    with pipeline.sql_client() as client:
        return client.execute_sql("select count(*) from items")[0][0]


@pytest.fixture
def items(pg_schema, monkeypatch) -> str:
    engine, schema = pg_schema
    execute_sql(
        engine,
        f"CREATE TABLE {schema}.items (id int PRIMARY KEY, note text)",
        f"INSERT INTO {schema}.items SELECT g, 'n' || g FROM generate_series(1, 20) g",
    )
    monkeypatch.setenv("SOURCES__FLT__CREDENTIALS", PG_URL)
    return schema


@pytest.mark.integration
def test_a_condition_filters_the_rows(items, tmp_path):
    config = SqlDatabaseSourceConfig.model_validate(_source(items, "id <= 3 AND note <> 'a;)b'"))
    assert _load(tmp_path, config) == 3


@pytest.mark.integration
def test_breakout_is_refused_at_validation_naming_source_table_and_field(items):
    with pytest.raises(ConfigError) as error:
        validate_document({"sources": [_source(items, BREAKOUT)]}, "sources.yml")
    assert error.value.problems == [
        "sources.yml: source 'flt': sql_database.tables[0].query_filter: table 'items': must be "
        "one SQL condition (like status = 'open'): the ')' at character 8 closes a parenthesis "
        "the condition did not open"
    ]


@pytest.mark.integration
def test_breakout_is_refused_at_run_time_and_loads_nothing(items, tmp_path):
    config = SqlDatabaseSourceConfig.model_validate(_source(items, "id <= 3"))
    # a config that skipped validation (e.g. built in code) is checked again when read
    config.sql_database.tables[0].query_filter = BREAKOUT
    with pytest.raises(PipelineStepFailed) as error:
        _load(tmp_path, config)
    assert "source 'flt': table 'items': query_filter: must be one SQL condition" in str(
        error.value
    )
    if (tmp_path / "w.duckdb").exists():
        with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as conn:
            tables = conn.execute("select table_name from information_schema.tables").fetchall()
        assert ("items",) not in tables


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (BREAKOUT, "closes a parenthesis the condition did not open"),
        ("id <= 3) UNION (SELECT 1", "closes a parenthesis"),
        ("(id <= 3", "parentheses do not balance (1 left open)"),
        ("1 = 1; DROP TABLE items", "without ';'"),
        ("id <= 3 -- )", "without comments"),
        ("id /* ) */ <= 3", "without comments"),
        ("1 = 1 UNION SELECT 1", "not a query or statement (UNION)"),
        ("SELECT * FROM pg_shadow", "not a query or statement (SELECT)"),
        ("note = 'x", "does not read as SQL"),
    ],
)
def test_shapes_that_are_not_one_condition_are_refused(text, problem):
    assert problem in (query_filter_problem(text, None) or "")
    assert problem in (query_filter_problem(text, "postgresql+psycopg2") or "")


@pytest.mark.unit
@pytest.mark.parametrize(
    "text",
    [
        "status = 'open' AND opened_at >= '2024-01-01 12:00:00+00'",
        "amount::numeric > 10",
        "name ILIKE 'a%' OR name IS NULL",
        "id IN (SELECT id FROM vip)",
        "is_active",
        "note = '-- not a comment; nor this )'",
        "(a = 1 OR b = 2) AND NOT c BETWEEN 1 AND 5",
    ],
)
def test_ordinary_conditions_are_accepted(text):
    assert query_filter_problem(text, None) is None


@pytest.mark.unit
def test_mysql_hash_comment_is_refused_for_mysql():
    assert "without comments" in query_filter_problem("id <= 3 # )", "mysql+pymysql")

"""`warehouse:` of sources.yml drives the dlt destination, the dbt profile, the `warehouse`
resource and the pool limit; secrets never come from sources.yml.

MotherDuck, Snowflake and BigQuery have no account here: they are tested by the configuration
they generate (dlt's resolved destination configuration, dbt's rendered profile output), never
connected. DuckDB and PostgreSQL are tested for real elsewhere (test_end_to_end_warehouses.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import jinja2
import pytest
import yaml
from helpers import REPO, write_sources

from ingest_assets.config.loader import ConfigError, load_project_config
from ingest_assets.project import build_definitions, load_project
from ingest_assets.warehouses import WarehouseSecretMissing, connect
from ingest_assets.warehouses.connection import UnsupportedWarehouse
from ingest_assets.warehouses.pool import pool_limits

pytestmark = pytest.mark.integration

SNOWFLAKE = {
    "type": "snowflake",
    "account": "acme-prod",
    "database": "ANALYTICS",
    "user": "LOADER",
    "warehouse": "LOADING",
    "role": "TRANSFORMER",
    "password_env": "WH14_SNOWFLAKE_PASSWORD",
}
BIGQUERY = {
    "type": "bigquery",
    "project": "acme-data",
    "location": "EU",
    "credentials_env": "WH14_GCP_KEYFILE",
}
MOTHERDUCK = {"type": "motherduck", "database": "analytics", "token_env": "WH14_MD_TOKEN"}
POSTGRES = {
    "type": "postgres",
    "host": "db.internal",
    "port": 6543,
    "database": "analytics",
    "user": "loader",
    "password_env": "WH14_PG_PASSWORD",
    "sslmode": "require",
    "pool_limit": 6,
}


_COPIES = iter(range(1_000_000))


def _project(make_project, warehouse, sources=None) -> Path:
    """A fresh project copy (its own folder) with this `warehouse:` and `sources:`."""
    document = {"version": 1, "sources": sources or []}
    if warehouse is not None:
        document["warehouse"] = warehouse
    return make_project(yaml.safe_dump(document, sort_keys=False), name=f"project{next(_COPIES)}")


def render_profile(target: str | None = None) -> dict:
    """dbt_project/profiles.yml's selected output, rendered as dbt does: Jinja in each value,
    `env_var(name, default)` from this process's environment, `as_number` for numbers."""

    def env_var(name: str, default: str | None = None) -> str:
        if name in os.environ:
            return os.environ[name]
        if default is None:
            raise KeyError(f"env var {name} is not set and has no default")
        return default

    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    environment.globals["env_var"] = env_var
    environment.filters["as_number"] = lambda value: int(value)
    profile = yaml.safe_load((REPO / "dbt_project" / "profiles.yml").read_text())["ingest"]

    def render(value):
        if isinstance(value, dict):
            return {k: render(v) for k, v in value.items()}
        if isinstance(value, str):
            text = environment.from_string(value).render()
            return int(text) if text.isdigit() else text
        return value

    chosen = target or render(profile["target"])
    return {"target": chosen, **render(profile["outputs"][chosen])}


def test_string_warehouse_is_a_duckdb_file_as_before(make_project):
    project = _project(make_project, "data/wh.duckdb")
    loaded = load_project(project)
    assert loaded.warehouse.type == "duckdb"
    assert loaded.warehouse.path == project / "data" / "wh.duckdb"
    assert loaded.warehouse.pool_limit == 1
    assert loaded.warehouse.environment == "dev"
    assert render_profile() == {
        "target": "duckdb",
        "type": "duckdb",
        "path": str(project / "data" / "wh.duckdb"),
        "schema": "main",
        "threads": 1,
    }
    assert pool_limits(loaded.warehouse) == {"duckdb": 1}
    # the mapping form is the same warehouse
    project2 = _project(make_project, {"type": "duckdb", "path": "data/wh.duckdb"})
    assert load_project(project2).warehouse.path == project2 / "data" / "wh.duckdb"


def test_no_warehouse_is_warehouse_duckdb_and_a_duckdb_file_allows_one_writer(
    make_project, tmp_path
):
    project = _project(make_project, None)
    assert load_project(project).warehouse.path == project / "warehouse.duckdb"
    write_sources(
        project,
        "version: 1\nwarehouse: {type: duckdb, path: w.duckdb, pool_limit: 2}\nsources: []\n",
    )
    with pytest.raises(ConfigError) as error:
        load_project_config(project / "sources.yml")
    assert "pool_limit" in str(error.value)


@pytest.mark.parametrize(
    ("key", "instead"),
    [
        ("password", "password_env"),
        ("token", "token_env"),
        ("private_key", "private_key_env"),
        ("credentials", "credentials_env"),
    ],
)
def test_a_literal_secret_in_sources_yml_is_refused(tmp_path, key, instead):
    (tmp_path / "sources.yml").write_text(
        "version: 1\n"
        "environments:\n"
        "  prod:\n"
        "    warehouse:\n"
        "      type: postgres\n"
        "      database: analytics\n"
        "      user: loader\n"
        f"      {key}: hunter2-secret\n"
        "sources: []\n"
    )
    with pytest.raises(ConfigError) as raised:
        load_project_config(tmp_path / "sources.yml")
    (message,) = raised.value.located
    assert message.startswith("sources.yml:4: environments.prod.warehouse")
    assert f"{key}: a secret is not allowed in sources.yml" in message
    assert f"{instead}: <ENVIRONMENT_VARIABLE>" in message
    assert "[destination.postgres.credentials]" in message
    assert "hunter2-secret" not in message


def test_postgres_maps_to_dlt_destination_dbt_profile_resource_and_pool(make_project, monkeypatch):
    monkeypatch.setenv("WH14_PG_PASSWORD", "s3cret-pg-password")
    project = _project(make_project, POSTGRES)
    loaded = load_project(project)
    warehouse = loaded.warehouse
    assert warehouse.describe() == "postgres loader@db.internal:6543/analytics"
    assert warehouse.catalog == "analytics"
    assert pool_limits(warehouse) == {"duckdb": 6, "dbt": 1}

    config = warehouse.destination().configuration(None, accept_partial=True)
    assert config.destination_type == "postgres"
    credentials = config.credentials
    assert (credentials.host, credentials.port, credentials.database, credentials.username) == (
        "db.internal",
        6543,
        "analytics",
        "loader",
    )
    assert credentials.password == "s3cret-pg-password"
    assert credentials.query == {"sslmode": "require"}
    assert config.replace_strategy == "insert-from-staging"

    assert render_profile() == {
        "target": "postgres",
        "type": "postgres",
        "host": "db.internal",
        "port": 6543,
        "dbname": "analytics",
        "user": "loader",
        "password": "s3cret-pg-password",
        "schema": "main",
        "sslmode": "require",
        "threads": 6,
    }
    # the password reaches dbt as a DBT_ENV_SECRET_ variable (dbt scrubs those from its logs)
    assert os.environ["DBT_ENV_SECRET_INGEST_PASSWORD"] == "s3cret-pg-password"
    assert "INGEST_WAREHOUSE_PATH" not in os.environ

    defs = build_definitions(loaded)
    resource = defs.resources["warehouse"]
    assert resource.warehouse().describe() == warehouse.describe()
    assert (
        "s3cret" not in resource.settings
    )  # the resource's config (shown in the UI) has no secret

    from ingest_assets.redact import redact

    assert "s3cret-pg-password" not in redact(
        "could not connect: password s3cret-pg-password refused"
    )


def test_postgres_password_from_dlt_secrets_or_none(make_project, monkeypatch):
    project = _project(make_project, {k: v for k, v in POSTGRES.items() if k != "password_env"})
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS__PASSWORD", "from-dlt-secrets")
    assert load_project(project).warehouse.secret() == "from-dlt-secrets"
    monkeypatch.delenv("DESTINATION__POSTGRES__CREDENTIALS__PASSWORD")
    assert load_project(project).warehouse.secret() is None  # trust authentication


def test_an_unset_password_variable_is_a_clear_error(make_project, monkeypatch):
    monkeypatch.delenv("WH14_PG_PASSWORD", raising=False)
    project = _project(make_project, POSTGRES)
    with pytest.raises(
        WarehouseSecretMissing, match="WH14_PG_PASSWORD .named by password_env. is not set"
    ):
        load_project(project)


def test_snowflake_configuration(make_project, monkeypatch):
    monkeypatch.setenv("WH14_SNOWFLAKE_PASSWORD", "sf-secret")
    warehouse = load_project(_project(make_project, SNOWFLAKE)).warehouse
    config = warehouse.destination().configuration(None, accept_partial=True)
    assert config.destination_type == "snowflake"
    c = config.credentials
    assert (c.host, c.database, c.username, c.warehouse, c.role, c.password) == (
        "acme-prod",
        "ANALYTICS",
        "LOADER",
        "LOADING",
        "TRANSFORMER",
        "sf-secret",
    )
    assert render_profile() == {
        "target": "snowflake",
        "type": "snowflake",
        "account": "acme-prod",
        "user": "LOADER",
        "password": "sf-secret",
        "role": "TRANSFORMER",
        "database": "ANALYTICS",
        "warehouse": "LOADING",
        "schema": "main",
        "threads": 4,
    }
    assert pool_limits(warehouse) == {"duckdb": 4, "dbt": 1}
    with pytest.raises(UnsupportedWarehouse, match="snowflake"), connect(warehouse):
        pass


def test_bigquery_configuration(make_project, monkeypatch, tmp_path):
    keyfile = tmp_path / "key.json"
    keyfile.write_text(
        '{"type": "service_account", "project_id": "acme-data", "private_key": "-----BEGIN PRIVATE KEY-----\\nx\\n-----END PRIVATE KEY-----\\n",'
        ' "client_email": "loader@acme-data.iam.gserviceaccount.com"}'
    )
    monkeypatch.setenv("WH14_GCP_KEYFILE", str(keyfile))
    warehouse = load_project(_project(make_project, BIGQUERY)).warehouse
    config = warehouse.destination().configuration(None, accept_partial=True)
    assert config.destination_type == "bigquery"
    assert (config.location, config.credentials.project_id, config.credentials.client_email) == (
        "EU",
        "acme-data",
        "loader@acme-data.iam.gserviceaccount.com",
    )
    assert render_profile() == {
        "target": "bigquery",
        "type": "bigquery",
        "method": "service-account",
        "keyfile": str(keyfile),
        "project": "acme-data",
        "dataset": "main",
        "location": "EU",
        "threads": 4,
    }
    # without credentials_env: Application Default Credentials (workload identity)
    load_project(
        _project(
            make_project,
            {k: v for k, v in BIGQUERY.items() if k != "credentials_env"},
        )
    )
    assert render_profile()["method"] == "oauth"


def test_motherduck_configuration(make_project, monkeypatch):
    monkeypatch.setenv("WH14_MD_TOKEN", "md-token-value")
    warehouse = load_project(_project(make_project, MOTHERDUCK)).warehouse
    config = warehouse.destination().configuration(None, accept_partial=True)
    assert config.destination_type == "motherduck"
    assert (config.credentials.database, config.credentials.password) == (
        "analytics",
        "md-token-value",
    )
    assert render_profile() == {
        "target": "motherduck",
        "type": "duckdb",
        "path": "md:analytics",
        "settings": {"motherduck_token": "md-token-value"},
        "schema": "main",
        "threads": 4,
    }


def test_dbt_debug_accepts_the_postgres_profile(make_project, monkeypatch):
    """dbt itself (dbt-postgres) reads the profile the project exports, and connects."""
    import subprocess
    import sys

    from helpers import require_service

    require_service("PostgreSQL", "127.0.0.1", 5432)
    project = _project(make_project, {"type": "postgres", "database": "test", "user": "postgres"})
    load_project(project)
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "--no-use-colors",
            "debug",
            "--profiles-dir",
            ".",
        ],
        cwd=project / "dbt_project",
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "adapter type: postgres" in done.stdout
    assert "Connection test: [OK connection ok]" in done.stdout
    assert "All checks passed!" in done.stdout

"""Several instances of one source, each with its own `[sources.<name>]` secrets (issue 18).

One function, `custom_sources/shopee_api.py: shopee_source(partner_key=dlt.secrets.value,
region=dlt.config.value)`, runs as three instances plus one from a module outside
`custom_sources/` (an installed package); a second function of the module has no secret set
anywhere. Also two `rest_api` and two `sql_database` instances with their own credentials.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import dlt
import pytest
from helpers import materialize_project, query
from werkzeug import Request, Response

from ingest_assets.project import build_definitions, load_project

SHOPEE = '''
import dlt


@dlt.source
def shopee_source(partner_key: str = dlt.secrets.value, region: str = dlt.config.value):
    """A partner API per market: rows carry the key's prefix, to tell which key was used."""

    @dlt.resource(primary_key="id", write_disposition="append")
    def orders(updated=dlt.sources.incremental("updated", initial_value=0)):
        for i in range(1, 4):
            yield {"id": i, "updated": i, "key_prefix": partner_key.split("-")[0], "region": region}

    return orders


@dlt.source
def needs_token(api_token: str = dlt.secrets.value):
    @dlt.resource
    def things():
        yield {"token_length": len(api_token)}

    return things
'''

SECRETS = """
[sources.shopee_sg]
partner_key = "SGKEY-111"

[sources.shopee_th]
partner_key = "THKEY-333"
region = "thailand"

# where dlt looks by itself (the module's section): the fallback of every instance
[sources.shopee_api]
partner_key = "MODULEKEY-000"
region = "asia"
"""


def _native(name: str, module: str = "shopee_api", function: str = "shopee_source") -> dict:
    return {
        "name": name,
        "type": "dlt_native",
        "max_retries": 0,
        "dlt_native": {"source_module": module, "source_function": function},
    }


@pytest.mark.e2e
def test_instances_of_one_function_have_their_own_secrets_state_and_ledger(
    make_project, tmp_path, monkeypatch
):
    installed = tmp_path / "site"
    (installed / "shopee_pkg").mkdir(parents=True)
    (installed / "shopee_pkg" / "__init__.py").write_text(SHOPEE)
    monkeypatch.syspath_prepend(str(installed))
    project = make_project(
        [
            _native("shopee_sg"),
            _native("shopee_my"),
            _native("shopee_xx"),
            _native("shopee_th", module="shopee_pkg"),
            _native("broken", function="needs_token"),
        ]
    )
    (project / "custom_sources" / "shopee_api.py").write_text(SHOPEE)
    (project / ".dlt" / "secrets.toml").write_text(SECRETS)
    monkeypatch.setenv("SOURCES__SHOPEE_MY__PARTNER_KEY", "MYKEY-222")
    monkeypatch.setenv("SOURCES__SHOPEE_MY__REGION", "malaysia")

    # definitions load reads no secret: the source without one still has its asset
    keys = {
        k.to_user_string()
        for k in build_definitions(load_project(project)).resolve_asset_graph().get_all_asset_keys()
    }
    assert {
        "raw_shopee_sg/orders",
        "raw_shopee_my/orders",
        "raw_shopee_xx/orders",
        "raw_shopee_th/orders",
        "raw_broken/things",
    } <= keys

    selection = "group:shopee_sg or group:shopee_my or group:shopee_xx or group:shopee_th"
    assert materialize_project(project, selection, checks=False).success
    rows = {
        source: query(project, f"select distinct key_prefix, region from raw_{source}.orders")
        for source in ("shopee_sg", "shopee_my", "shopee_xx", "shopee_th")
    }
    assert rows == {
        "shopee_sg": [("SGKEY", "asia")],  # [sources.shopee_sg], then the module's section
        "shopee_my": [("MYKEY", "malaysia")],  # SOURCES__SHOPEE_MY__...
        "shopee_xx": [("MODULEKEY", "asia")],  # nothing of its own: where dlt looks by itself
        "shopee_th": [("THKEY", "thailand")],  # an installed module, same lookup
    }

    # own state and cursor per instance: a second run of one instance loads nothing new
    assert materialize_project(project, "group:shopee_sg", checks=False).success
    for source in ("shopee_sg", "shopee_my"):
        pipeline = dlt.attach(
            pipeline_name=source, pipelines_dir=str(project / ".dlt" / "pipelines")
        )
        assert (
            pipeline.state["sources"][source]["resources"]["orders"]["incremental"]["updated"][
                "last_value"
            ]
            == 3
        )
    assert query(project, "select count(*) from raw_shopee_sg.orders") == [(3,)]
    ledger = query(
        project,
        "select source, count(*), sum(rows_loaded) from _ingest.load_history group by 1 order by 1",
    )
    assert ledger == [
        ("shopee_my", 1, 3),
        ("shopee_sg", 2, 3),
        ("shopee_th", 1, 3),
        ("shopee_xx", 1, 3),
    ]

    # the source whose secret is missing fails its own run, naming the key and where to add it
    failed = materialize_project(project, "group:broken", raise_on_error=False, checks=False)
    assert not failed.success
    message = next(
        e for e in failed.all_events if e.is_step_failure
    ).event_specific_data.error.message
    assert (
        "source 'broken': the secret 'api_token' is not set: add api_token = \"...\" under [sources.broken]"
        in message
    )
    assert "SOURCES__BROKEN__API_TOKEN" in message
    assert (
        "also looked up in [sources.shopee_api.needs_token], [sources.shopee_api], [sources.needs_token], [sources]"
        in message
    )
    assert "_asset_definitions" not in message and "Environment Variables" not in message
    # the internal describing pipeline is not among the pipelines dlt's CLI lists
    assert not [p for p in os.listdir(project / ".dlt" / "pipelines") if p.startswith("_")]

    # `ingest validate --build` warns about the missing secret only, naming the key to add
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ingest"), "validate", "--build"],
        env={**os.environ, "INGEST_PROJECT_DIR": str(project), "PYTHONPATH": str(installed)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("!")]
    assert len(warnings) == 1, result.stderr
    assert (
        "source 'broken': the secret 'api_token' is not set: add api_token = \"...\" under [sources.broken]"
        in warnings[0]
    )
    assert "SGKEY" not in result.stdout + result.stderr


@pytest.mark.integration
def test_rest_api_and_sql_database_instances_use_their_own_section(make_project, httpserver):
    tokens = {"Bearer tok-north-1111": "north", "Bearer tok-south-2222": "south"}

    def api(request: Request) -> Response:
        market = tokens.get(request.headers.get("Authorization", ""))
        if market is None:
            return Response(
                '{"error": "unauthorized"}', status=401, content_type="application/json"
            )
        return Response(
            f'{{"data": [{{"id": 1, "market": "{market}"}}]}}', content_type="application/json"
        )

    httpserver.expect_request("/stores").respond_with_handler(api)

    def rest(name: str) -> dict:
        return {
            "name": name,
            "type": "rest_api",
            "max_retries": 0,
            "rest_api": {
                "client": {"base_url": httpserver.url_for("/"), "auth": {"type": "bearer"}},
                "resources": [
                    {"name": "stores", "endpoint": {"path": "stores", "data_selector": "data"}}
                ],
            },
        }

    def sql(name: str) -> dict:
        return {
            "name": name,
            "type": "sql_database",
            "max_retries": 0,
            "sql_database": {"tables": ["stores"]},
        }

    project = make_project([rest("api_north"), rest("api_south"), sql("db_north"), sql("db_south")])
    for market in ("north", "south"):
        with sqlite3.connect(project / f"{market}.db") as conn:
            conn.execute("create table stores (id int primary key, market text)")
            conn.execute("insert into stores values (1, ?)", [market])
    (project / ".dlt" / "secrets.toml").write_text(
        '[sources.api_north.credentials]\ntoken = "tok-north-1111"\n'
        '[sources.api_south.credentials]\ntoken = "tok-south-2222"\n'
        '[sources.db_north]\ncredentials = "sqlite:///north.db"\n'
        '[sources.db_south]\ncredentials = "sqlite:///south.db"\n'
    )

    assert materialize_project(
        project,
        checks=False,
        selection="group:api_north or group:api_south or group:db_north or group:db_south",
    ).success
    for source in ("api_north", "api_south", "db_north", "db_south"):
        assert query(project, f"select market from raw_{source}.stores") == [
            (source.split("_")[1],)
        ]


@pytest.mark.unit
def test_describing_pipeline_is_in_no_config_lookup_and_not_in_the_pipelines_dir(tmp_path):
    from dlt.common.configuration.exceptions import ConfigFieldMissingException

    from ingest_assets.dlt.pipeline import describing_pipeline

    pipelines_dir = tmp_path / ".dlt" / "pipelines"
    describing_pipeline("duckdb", pipelines_dir)

    @dlt.source
    def probe(some_setting: str = dlt.config.value):
        return dlt.resource([1], name="r")

    with pytest.raises(ConfigFieldMissingException) as error:
        probe()
    looked_up = [t.key for traces in error.value.traces.values() for t in traces]
    assert looked_up and not [key for key in looked_up if "_asset_definitions" in key]
    assert not pipelines_dir.exists() or not list(pipelines_dir.iterdir())


@pytest.mark.e2e
def test_validate_warns_about_missing_rest_api_and_sql_database_secrets(make_project):
    from typer.testing import CliRunner

    from ingest_assets.cli import app

    def rest(name: str) -> dict:
        return {
            "name": name,
            "type": "rest_api",
            "rest_api": {
                "client": {"base_url": "http://127.0.0.1:9/", "auth": {"type": "bearer"}},
                "resources": ["stores"],
            },
        }

    project = make_project(
        [
            rest("api_west"),
            rest("api_east"),
            {"name": "db_west", "type": "sql_database", "sql_database": {"tables": ["stores"]}},
        ]
    )
    # read from the project's .dlt/ whatever the working directory is
    (project / ".dlt" / "secrets.toml").write_text(
        '[sources.api_east.credentials]\ntoken = "tok-east-9999"\n'
    )
    os.environ.pop("DLT_PROJECT_DIR", None)

    result = CliRunner().invoke(app, ["validate", "--build", "--project", str(project)])

    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("!")]
    assert len(warnings) == 2, result.output
    assert (
        "source 'api_west': rest_api.client.auth: token not set: add token under [sources.api_west.credentials]"
        in warnings[0]
    )
    assert (
        "source 'db_west': no database credentials" in warnings[1]
        and "[sources.db_west.credentials]" in warnings[1]
    )
    assert "tok-east-9999" not in result.output


CRM = '''
import dlt
from dlt.common.configuration.specs import ConnectionStringCredentials


@dlt.source
def crm(credentials: ConnectionStringCredentials = dlt.secrets.value):
    """Lists its tables from the database: cannot be described without its credentials."""
    return [dlt.resource([{"id": 1}], name=name) for name in credentials.database.split(",")]
'''


@pytest.mark.unit
def test_assets_of_a_source_that_needs_its_secret_to_know_its_tables(tmp_path, caplog):
    import json
    import logging

    from ingest_assets.settings import ProjectPaths
    from ingest_assets.sources.dlt_native import DltNativeSourceConfig, describe_dlt_source

    paths = ProjectPaths(tmp_path)
    (tmp_path / "custom_sources").mkdir()
    (tmp_path / "custom_sources" / "__init__.py").write_text("")
    (tmp_path / "custom_sources" / "crm_api.py").write_text(CRM)

    def config(**block) -> DltNativeSourceConfig:
        return DltNativeSourceConfig.model_validate(
            {
                "name": "crm_eu",
                "type": "dlt_native",
                "dlt_native": {"source_module": "crm_api", "source_function": "crm", **block},
            }
        )

    caplog.set_level(logging.WARNING, logger="ingest_assets.sources.dlt_native")
    # nothing to go by: no assets, and a warning naming the source and the way out
    assert list(describe_dlt_source(config(), paths).resources) == []
    assert (
        "source 'crm_eu': it has no assets until this is fixed, or its tables are declared with dlt_native.resources"
        in caplog.text
    )

    # the declared list
    declared = describe_dlt_source(
        config(
            resources=[
                "contacts",
                {"name": "deals", "write_disposition": "merge", "primary_key": "id"},
            ]
        ),
        paths,
    )
    assert list(declared.resources) == ["contacts", "deals"]
    assert declared.resources["deals"].write_disposition == "merge"

    # the last run's schema, kept in the pipeline's local state
    schemas = paths.pipelines_dir / "crm_eu" / "schemas"
    schemas.mkdir(parents=True)
    (schemas / "crm_eu.schema.json").write_text(
        json.dumps(
            {
                "tables": {
                    "_dlt_loads": {"name": "_dlt_loads"},
                    "contacts": {"name": "contacts", "resource": "contacts"},
                    "contacts__emails": {"name": "contacts__emails", "parent": "contacts"},
                }
            }
        )
    )
    assert list(describe_dlt_source(config(), paths).resources) == ["contacts"]

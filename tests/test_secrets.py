"""Secrets never leave the process: a leaky custom source, run through `ingest sync`.

The source reads `api_key = dlt.secrets.value` (and a second secret from a `SOURCES__...`
variable) and sends both as query parameters to a local server that answers 500, so the
requests error quotes the URL with the secrets. After the run, neither secret may appear in any
file under the project copy or DAGSTER_HOME (run and event databases, compute logs, dlt's trace,
the ledger, the audit log) nor in the command's output.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import query

LEAKY_SOURCE = """
import dlt
import requests


@dlt.source
def leaky(api_key: str = dlt.secrets.value, partner: str = dlt.secrets.value, base_url: str = dlt.config.value):
    @dlt.resource
    def items():
        response = requests.get(base_url, params={"k": api_key, "p": partner})
        response.raise_for_status()
        yield response.json()

    return items
"""

SECRET = "Zq8xLeakyApiKey7731"
ENV_SECRET = "EnvOnlyPartnerTok9942"


def _files_with(root: Path, needles: list[str]) -> dict[str, int]:
    """Every file under `root` holding a needle (as bytes), with its number of occurrences."""
    found: dict[str, int] = {}
    for path in root.rglob("*"):
        if path.is_file() and ".venv" not in path.parts:
            data = path.read_bytes()
            count = sum(data.count(n.encode()) for n in needles)
            if count:
                found[str(path.relative_to(root))] = count
    return found


@pytest.mark.integration
def test_leaky_custom_source_leaves_no_secret_anywhere(make_project, httpserver, tmp_path):
    httpserver.expect_request("/items").respond_with_data("boom", status=500)
    project = make_project(
        [
            {
                "name": "leaky",
                "type": "dlt_native",
                "max_retries": 1,
                "retry_backoff_seconds": 0,
                "dlt_native": {"source_module": "leaky_api", "source_function": "leaky"},
            }
        ]
    )
    (project / "sources.yml").write_text(
        "audit_log: metadata/audit_log.jsonl\n" + (project / "sources.yml").read_text()
    )
    (project / "custom_sources" / "leaky_api.py").write_text(LEAKY_SOURCE)
    (project / ".dlt" / "secrets.toml").write_text(f'[sources.leaky]\napi_key = "{SECRET}"\n')
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text(
        (project / "dagster_home" / "dagster.yaml").read_text()
    )
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "INGEST_PROJECT_DIR": str(project),
        "SOURCES__LEAKY__PARTNER": ENV_SECRET,
        "SOURCES__LEAKY__BASE_URL": httpserver.url_for("/items"),
    }
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ingest"), "sync", "leaky"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )

    assert result.returncode == 1, result.stdout + result.stderr
    assert len(httpserver.log) == 2  # the server was called: the first try and one retry
    assert SECRET in httpserver.log[0][0].url  # ... with the secret, so it was in the error's URL
    output = result.stdout + result.stderr
    assert "500" in output and "leaky" in output
    assert SECRET not in output and ENV_SECRET not in output
    leaks = {
        **_files_with(project, [SECRET, ENV_SECRET]),
        **_files_with(dagster_home, [SECRET, ENV_SECRET]),
    }
    leaks.pop(".dlt/secrets.toml")  # where the secret lives
    assert leaks == {}
    # the failure is recorded, redacted, in the ledger and the audit log
    errors = query(project, "select error from _ingest.load_history where source = 'leaky'")
    assert errors and all("***" in e[0] and "500" in e[0] for e in errors)
    assert "***" in (project / "metadata" / "audit_log.jsonl").read_text()


@pytest.mark.unit
def test_run_secrets_are_the_credentials_not_the_where_and_who(tmp_path, monkeypatch):
    from dlt.common.configuration.container import Container
    from dlt.common.configuration.specs.pluggable_run_context import PluggableRunContext

    from ingest_assets.dlt.secrets import remember_run_secrets
    from ingest_assets.redact import known_secrets, redact
    from ingest_assets.sources.sql_database import SqlDatabaseSourceConfig

    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "secrets.toml").write_text(
        '[sources.shop.credentials]\nhost = "db.internal"\nusername = "loader"\npassword = "toml-pw-1234"\n'
        '[sources.api]\npartner_key = "toml-partner-5678"\nretries = "3"\n'
    )
    monkeypatch.setenv("DLT_PROJECT_DIR", str(tmp_path))
    monkeypatch.setenv("SOURCES__API__ACCESS_TOKEN", "env-token-9012")
    monkeypatch.setenv("SOURCES__API__PRIMARY_KEY", "order_id")
    monkeypatch.setenv("SOURCES__API__BASE_URL", "https://api.example.com")
    monkeypatch.setenv("SHOP_DB_PASSWORD", "named-env-pw-3456")
    Container()[PluggableRunContext].reload(str(tmp_path))
    try:
        source = SqlDatabaseSourceConfig.model_validate(
            {
                "name": "shop",
                "type": "sql_database",
                "sql_database": {
                    "credentials": {
                        "drivername": "postgresql",
                        "host": "db.internal",
                        "database": "shop",
                        "username": "loader",
                        "password_env": "SHOP_DB_PASSWORD",
                    },
                    "tables": ["orders"],
                },
            }
        )
        remember_run_secrets(source, fresh=True)
        known = known_secrets()
    finally:
        Container()[PluggableRunContext].reload_providers()

    assert {"toml-pw-1234", "toml-partner-5678", "env-token-9012", "named-env-pw-3456"} <= known
    assert not {"db.internal", "loader", "order_id", "https://api.example.com", "3"} & known
    text = "login loader@db.internal with toml-pw-1234 for order_id failed"
    assert redact(text) == "login loader@db.internal with *** for order_id failed"

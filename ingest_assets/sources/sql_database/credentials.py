"""Credentials of a `sql_database` source: where they come from (sources.yml, `*_env` variables,
`.dlt/secrets.toml`), the connection URL and engine options built from them, and what to
install for a dialect."""

# no `from __future__ import annotations`: dlt's `configspec` reads the annotations at runtime
import os
from typing import Any

import sqlalchemy as sa
from dlt.common.configuration import configspec, resolve_configuration
from dlt.common.configuration.exceptions import ConfigFieldMissingException, ConfigurationException
from dlt.common.configuration.specs import BaseConfiguration, ConnectionStringCredentials
from sqlalchemy.engine import make_url

from ingest_assets.settings import ProjectPaths
from ingest_assets.sources.sql_database.config import (
    SqlDatabaseBlock,
    SqlDatabaseSourceConfig,
    _parse_url,
)
from ingest_assets.sources.sql_database.errors import SqlDatabaseError

DEFAULT_DRIVERS = {
    "postgresql": "postgresql+psycopg2",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
    "mssql": "mssql+pyodbc",
    "oracle": "oracle+oracledb",
}
"""A `drivername` without `+driver` gets the driver this project installs (or its extra does)."""


CONNECT_TIMEOUT_ARGS = {
    "psycopg2": "connect_timeout",
    "psycopg": "connect_timeout",
    "pymysql": "connect_timeout",
    "mysqldb": "connect_timeout",
    "mariadbconnector": "connect_timeout",
    "pyodbc": "timeout",
    "pymssql": "login_timeout",
    "oracledb": "tcp_connect_timeout",
}
"""SQLAlchemy driver name -> the DBAPI `connect()` argument that bounds connecting, in seconds."""


DRIVER_EXTRAS = {"mssql": "mssql", "oracle": "oracle"}
"""Dialect -> the optional dependency group of this project that installs its drivers."""


@configspec
class _SourceCredentials(BaseConfiguration):
    """What dlt resolves under `[sources.<source name>]`: the `credentials` (parts or URL)."""

    credentials: ConnectionStringCredentials = None


def resolve_credentials(
    config: SqlDatabaseSourceConfig, paths: ProjectPaths
) -> ConnectionStringCredentials:
    """Return the source's resolved connection credentials.

    Parts come from `sources.yml` (values, `*_env` variables, `url`/`url_env`); dlt fills the
    missing ones (typically the password) from `[sources.<name>.credentials]` in
    `.dlt/secrets.toml` or `SOURCES__<NAME>__CREDENTIALS__*` variables; without a `credentials:`
    block all of it comes from there. A bare dialect gets its default driver (`DEFAULT_DRIVERS`)
    and a relative SQLite file is taken against the project root. Reads no network.

    Args:
        config: the validated source config.
        paths: project paths.

    Raises:
        SqlDatabaseError: a named environment variable is unset or invalid, the URL is invalid,
            or no driver name is configured anywhere; the message says what to set.
    """
    parts = _configured_parts(config)
    problem: str | None = None
    try:
        resolved = resolve_configuration(
            _SourceCredentials(),
            sections=("sources", config.name),
            explicit_value={"credentials": parts} if parts else None,
        )
    except ConfigFieldMissingException:
        problem = (
            "no database credentials: add sql_database.credentials (drivername, host, database, "
            "username, password_env) to sources.yml, or put them under "
            f"[sources.{config.name}.credentials] in .dlt/secrets.toml, or set "
            f"SOURCES__{config.name.upper()}__CREDENTIALS to a connection URL"
        )
    except ConfigurationException as error:
        problem = (
            f"the credentials under [sources.{config.name}.credentials] in .dlt/secrets.toml or "
            f"in SOURCES__{config.name.upper()}__CREDENTIALS* are not valid "
            f"({type(error).__name__}); write a URL like "
            "postgresql://user:password@host:5432/database or a table of its parts"
        )
    if problem is not None:
        # raised outside the `except` block: dlt's exception may quote the configured value
        raise SqlDatabaseError(f"source '{config.name}': {problem}")
    credentials: ConnectionStringCredentials = resolved.credentials
    credentials.drivername = DEFAULT_DRIVERS.get(credentials.drivername, credentials.drivername)
    is_file = credentials.database not in (None, "", ":memory:")
    if credentials.drivername.startswith("sqlite") and is_file:
        credentials.database = str(paths.resolve(credentials.database))
    return credentials


def describe_location(credentials: ConnectionStringCredentials) -> str:
    """Where a database is, for messages: `postgresql database 'shop' at db:5432 as 'loader'`
    (a SQLite file: `sqlite database '/data/shop.db'`); never the password."""
    dialect = credentials.drivername.split("+")[0]
    where = f"{dialect} database '{credentials.database or ''}'"
    if credentials.host:
        where += f" at {credentials.host}" + (f":{credentials.port}" if credentials.port else "")
    if credentials.username:
        where += f" as '{credentials.username}'"
    return where


def engine_kwargs(
    credentials: ConnectionStringCredentials, block: SqlDatabaseBlock
) -> dict[str, Any]:
    """`create_engine` arguments for `credentials`: the driver's connect timeout (seconds, from
    `block.connect_timeout`) when the driver has a known one, else {}. Used by the source and by
    the reconcile check, so both connect the same way."""
    driver = make_url(f"{credentials.drivername}://").get_driver_name()
    argument = CONNECT_TIMEOUT_ARGS.get(driver)
    return {"connect_args": {argument: block.connect_timeout}} if argument else {}


def _configured_parts(config: SqlDatabaseSourceConfig) -> dict[str, Any]:
    """Connection parts given in `sources.yml`, `*_env` variables read; {} when none.

    Raises:
        SqlDatabaseError: a named environment variable is unset, or holds an invalid URL/port.
    """
    block = config.sql_database.credentials
    if block is None:
        return {}
    parts: dict[str, Any] = {}
    if block.url is not None:
        parts.update(_url_parts(make_url(block.url)))
    url_text = _env(config, block.url_env, "url_env")
    if url_text is not None:
        url = _parse_url(url_text)
        if url is None:
            raise SqlDatabaseError(
                f"source '{config.name}': the environment variable {block.url_env} "
                "(sql_database.credentials.url_env) does not hold a SQLAlchemy URL like "
                "postgresql://user:password@host:5432/database"
            )
        parts.update(_url_parts(url))
    for part in ("drivername", "host", "port", "database", "username", "query"):
        value = getattr(block, part, None)
        if value is not None:
            parts[part] = value
    for part in ("host", "port", "database", "username", "password"):
        value = _env(config, getattr(block, f"{part}_env"), f"{part}_env")
        if value is not None:
            parts[part] = value
    if isinstance(parts.get("port"), str):
        if not parts["port"].isdigit():
            raise SqlDatabaseError(
                f"source '{config.name}': the environment variable {block.port_env} "
                "(sql_database.credentials.port_env) must hold a port number"
            )
        parts["port"] = int(parts["port"])
    return parts


def _url_parts(url: sa.engine.URL) -> dict[str, Any]:
    """The parts of a SQLAlchemy URL that are set, as `ConnectionStringCredentials` fields."""
    parts = {k: v for k, v in url._asdict().items() if v is not None and k != "query"}
    if url.query:
        parts["query"] = dict(url.query)
    return parts


def _env(config: SqlDatabaseSourceConfig, variable: str | None, key: str) -> str | None:
    """The value of environment variable `variable` named by `credentials.<key>`; None if unnamed.

    Raises:
        SqlDatabaseError: the variable is named but not set.
    """
    if variable is None:
        return None
    value = os.environ.get(variable)
    if value is None:
        raise SqlDatabaseError(
            f"source '{config.name}': the environment variable {variable} "
            f"(sql_database.credentials.{key}) is not set; set it where Dagster runs"
        )
    return value


def _secrets_of(
    config: SqlDatabaseSourceConfig,
    paths: ProjectPaths,
    credentials: ConnectionStringCredentials | None = None,
) -> list[str]:
    """The source's secret values, for `redact`: the password and the connection URL with it
    (`redact` also removes their URL-encoded forms)."""
    if credentials is None:
        try:
            credentials = resolve_credentials(config, paths)
        except SqlDatabaseError:
            return []
    if not credentials.password:
        return []
    return [str(credentials.password), credentials.to_url().render_as_string(hide_password=False)]


def _install_hint(credentials: ConnectionStringCredentials, backend: str) -> str:
    """What to install for the source's dialect or backend."""
    dialect = credentials.drivername.split("+")[0]
    if backend == "connectorx":
        return "install it with pip install 'ingest-assets[connectorx]'"
    if backend == "pandas":
        return "install pandas (pip install pandas), or use backend: pyarrow"
    if dialect in DRIVER_EXTRAS:
        return f"install it with pip install 'ingest-assets[{DRIVER_EXTRAS[dialect]}]'"
    return (
        f"install the driver of {credentials.drivername}, or name an installed one in "
        "credentials.drivername (postgresql+psycopg2, mysql+pymysql)"
    )

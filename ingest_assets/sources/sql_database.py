"""`type: sql_database` sources: tables of a SQL database, read with dlt's `sql_database` source.

Any database SQLAlchemy can reach works: PostgreSQL, MySQL/MariaDB and SQLite with the drivers
this project installs, SQL Server (`pip install 'ingest-assets[mssql]'`) and Oracle
(`pip install 'ingest-assets[oracle]'`). Each configured table is one dlt resource, so one asset
`raw_<source>/<table>`; rows are read by dlt's own table reader (`table_rows`, the generator
`dlt.sources.sql_database.sql_table` builds its resource from) with the `pyarrow` backend and
`full_with_precision` reflection by default.

Nothing here connects, imports a database driver or reads a secret when definitions load: dlt's
`sql_table` creates its SQLAlchemy engine (importing the driver, needing resolved credentials) as
soon as it is called, so instead each resource declares its name, write disposition, key and
incremental cursor from `sources.yml`, and resolves credentials, creates the engine and reflects
the table (dlt's `defer_table_reflect` behaviour) only when it is extracted, inside the run. An
unreachable database, a bad password or a missing driver therefore fails that source's run, with
a `SqlDatabaseError` naming the source, the table and the host, never the password.

The one exception is `tables: "*"`: the table list is the asset list, so it is read at
definitions load (see `list_tables`); when the database cannot be reached then, the group has no
assets and a warning says why, while every other source loads as usual.
"""

# no `from __future__ import annotations`: dlt reads the resource function's `incremental`
# annotation at runtime and needs it as a real `Optional[...]`, not a string
import logging
import os
import re
from collections.abc import Iterator
from contextvars import ContextVar
import functools
from typing import TYPE_CHECKING, Any, Literal, Optional
from urllib.parse import quote, quote_plus

from pydantic import Field, ValidationInfo, field_validator, model_validator

from ingest_assets.config.common import LoadOptions, SourceBase, StrictModel
from ingest_assets.redact import redact
from ingest_assets.settings import ProjectPaths

if TYPE_CHECKING:
    import sqlalchemy as sa
    from dlt.common.configuration.exceptions import ConfigFieldMissingException
    from dlt.common.configuration.specs import ConnectionStringCredentials
    from dlt.extract.resource import DltResource
    from dlt.extract.source import DltSource

TableBackend = Literal["sqlalchemy", "pyarrow", "pandas", "connectorx"]
"""dlt's `sql_database` table backends (`dlt.sources.sql_database.TableBackend`)."""

ReflectionLevel = Literal["minimal", "full", "full_with_precision"]
"""dlt's `sql_database` reflection levels (`dlt.sources.sql_database.ReflectionLevel`)."""

logger = logging.getLogger(__name__)

ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
"""Names of environment variables given in `*_env` keys."""

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

_SOURCE_NAME: ContextVar[str | None] = ContextVar("sql_database_source_name", default=None)
_LISTED_TABLES: dict[tuple[str, str], list[str]] = {}


class SqlDatabaseError(Exception):
    """Reading a `sql_database` source failed: no credentials, no driver, no connection, no table.

    The message names the source, the table (when there is one) and where the database is, and
    says what to check; it never holds a password.
    """


def asset_table_name(db_table: str) -> str:
    """The warehouse table (and last asset key part) of a database table, e.g. `OrderLines` ->
    `order_lines`: dlt's default snake_case naming, so the key always equals the DuckDB table."""
    if _PLAIN_SNAKE_CASE.fullmatch(db_table):  # dlt keeps these as they are; no dlt import
        return db_table
    return _naming().normalize_table_identifier(db_table)


_PLAIN_SNAKE_CASE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
"""Names dlt's snake_case naming leaves unchanged (lower case words joined by single `_`)."""


@functools.cache
def _naming() -> Any:
    """dlt's default snake_case naming convention (imported on first use)."""
    from dlt.common.normalizers.naming.snake_case import NamingConvention

    return NamingConvention()


def _password_hint() -> str:
    """Where a password goes instead of sources.yml, naming the source when it is known."""
    name = _SOURCE_NAME.get() or "<source name>"
    return (
        'name an environment variable with password_env, or put password = "..." under '
        f"[sources.{name}.credentials] in .dlt/secrets.toml (or set "
        f"SOURCES__{name.upper()}__CREDENTIALS__PASSWORD)"
    )


class SqlCredentialsConfig(StrictModel):
    """The `credentials:` block: where the database is, never its password.

    Every part may be given as a value or as the name of an environment variable holding it
    (`host` or `host_env`, ...); the password only as `password_env`. Parts not given here are
    read by dlt from `[sources.<source name>.credentials]` in `.dlt/secrets.toml` or from
    `SOURCES__<SOURCE NAME>__CREDENTIALS__<PART>`; without a `credentials:` block the whole
    connection comes from there (a table of parts or a URL, e.g.
    `SOURCES__SHOP__CREDENTIALS=postgresql://loader:...@db/shop`).

    Attributes:
        url: a SQLAlchemy URL without password, e.g. `postgresql://loader@db:5432/shop`.
        url_env: an environment variable holding a full URL (it may hold the password).
        drivername: `dialect[+driver]`, e.g. `postgresql`, `mysql+pymysql`, `mssql+pyodbc`,
            `oracle+oracledb`, `sqlite`; a bare dialect gets the driver in `DEFAULT_DRIVERS`.
        host, port, database, username: connection parts (`database` of SQLite is a file path,
            relative to the project root).
        query: driver options put in the URL's query, e.g. `{sslmode: require}` or
            `{driver: ODBC Driver 18 for SQL Server}` or Oracle's `{service_name: ORCLPDB1}`.
        host_env, port_env, database_env, username_env, password_env: environment variables
            holding that part.
        password: never allowed; present only to say where the password goes instead.
    """

    url: str | None = None
    url_env: str | None = Field(default=None, pattern=ENV_NAME_PATTERN)
    drivername: str | None = Field(default=None, min_length=1)
    host: str | None = Field(default=None, min_length=1)
    port: int | None = Field(default=None, gt=0, lt=65536)
    database: str | None = None
    username: str | None = None
    query: dict[str, str | int | float | bool] | None = None
    host_env: str | None = Field(default=None, pattern=ENV_NAME_PATTERN)
    port_env: str | None = Field(default=None, pattern=ENV_NAME_PATTERN)
    database_env: str | None = Field(default=None, pattern=ENV_NAME_PATTERN)
    username_env: str | None = Field(default=None, pattern=ENV_NAME_PATTERN)
    password_env: str | None = Field(default=None, pattern=ENV_NAME_PATTERN)
    password: Any = None

    @field_validator("password")
    @classmethod
    def _no_password(cls, value: Any) -> None:
        raise ValueError(f"do not put passwords in sources.yml: {_password_hint()}")

    @field_validator("url")
    @classmethod
    def _url_without_password(cls, value: str | None) -> str | None:
        if value is None:
            return None
        url = _parse_url(value)
        if url is None:
            raise ValueError(
                "not a SQLAlchemy URL; write it like postgresql://user@host:5432/database"
            )
        if url.password is not None:
            raise ValueError(
                "the URL holds a password; remove it from sources.yml and "
                f"{_password_hint()}, or put the whole URL in an environment variable named "
                "by url_env"
            )
        return value

    @model_validator(mode="after")
    def _value_or_env(self) -> "SqlCredentialsConfig":
        for part in ("host", "port", "database", "username"):
            if getattr(self, part) is not None and getattr(self, f"{part}_env") is not None:
                raise ValueError(f"give either {part} or {part}_env, not both")
        if self.url is not None and self.url_env is not None:
            raise ValueError("give either url or url_env, not both")
        return self


QUERY_FILTER_DIALECTS = {
    "postgresql": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "mssql": "tsql",
    "oracle": "oracle",
    "sqlite": "sqlite",
}
"""SQLAlchemy dialect -> sqlglot dialect that `query_filter_problem` parses a filter in."""


@functools.cache
def _forbidden_nodes() -> tuple[type, ...]:
    """sqlglot node types a query filter must not hold (the first, a query, only outside a
    subquery)."""
    from sqlglot import exp

    return (
        exp.Query,
        exp.Command,
        exp.Insert,
        exp.Update,
        exp.Delete,
        exp.Merge,
        exp.Drop,
        exp.Create,
        exp.Alter,
    )


_QUERY_FILTER_HELP = "must be one SQL condition (like status = 'open')"


def query_filter_problem(text: str, drivername: str | None) -> str | None:
    """Why `text` is not one SQL condition that keeps the SELECT's shape, or None when it is.

    `query_filter` is added to dlt's SELECT as `WHERE ... AND (<text>)`. To keep it inside its
    parentheses, the text must tokenize in the database's dialect with no `;`, no comment
    (`--`, `/* */`, MySQL's `#`), parentheses that balance and never close one they did not
    open, and parse (sqlglot) as exactly one expression that is not a query or a statement
    (subqueries inside the condition are allowed: they cannot escape its parentheses). So
    `id <= 3) OR (1=1`, `1 = 1; DROP TABLE t` and `id <= 3 --` are refused.

    Args:
        text: the configured condition.
        drivername: the SQLAlchemy driver name (`postgresql+psycopg2`); None checks the
            condition in every dialect of `QUERY_FILTER_DIALECTS` (config validation, where the
            database may not be known yet), and it must pass in each one.

    Returns:
        A message starting with "must be one SQL condition", or None.
    """
    if drivername is None:
        for dialect in dict.fromkeys(QUERY_FILTER_DIALECTS.values()):
            problem = _filter_problem_in(text, dialect)
            if problem:
                return problem
        return None
    dialect = QUERY_FILTER_DIALECTS.get(drivername.split("+")[0])
    return _filter_problem_in(text, dialect)


def _filter_problem_in(text: str, dialect: str | None) -> str | None:
    from sqlglot import exp
    from sqlglot.errors import ParseError
    from sqlglot.errors import TokenError
    import sqlglot

    try:
        tokens = sqlglot.tokenize(text, read=dialect)
    except TokenError:
        return f"{_QUERY_FILTER_HELP}: it does not read as SQL (an unclosed quote?)"
    if any(token.comments for token in tokens) or re.search(r"--|/\*|\*/", _outside_quotes(tokens)):
        return f"{_QUERY_FILTER_HELP}, without comments (--, /* */ or #)"
    depth = 0
    for token in tokens:
        if token.token_type == sqlglot.TokenType.SEMICOLON:
            return f"{_QUERY_FILTER_HELP}, without ';'"
        if token.token_type == sqlglot.TokenType.L_PAREN:
            depth += 1
        elif token.token_type == sqlglot.TokenType.R_PAREN:
            depth -= 1
            if depth < 0:
                return (
                    f"{_QUERY_FILTER_HELP}: the ')' at character {token.start + 1} closes a "
                    "parenthesis the condition did not open"
                )
    if depth:
        return f"{_QUERY_FILTER_HELP}: its parentheses do not balance ({depth} left open)"
    try:
        expressions = [e for e in sqlglot.parse(text, read=dialect) if e is not None]
    except ParseError as error:
        first = str(error).splitlines()[0]
        return f"{_QUERY_FILTER_HELP}: it does not parse as SQL ({first})"
    if len(expressions) != 1:
        return f"{_QUERY_FILTER_HELP}, not {len(expressions)} statements"
    condition = expressions[0]
    if (
        isinstance(condition, exp.Query)
        and not isinstance(condition, exp.Subquery)
        or isinstance(condition, _forbidden_nodes()[1:])
    ):
        return f"{_QUERY_FILTER_HELP}, not a query or statement ({condition.key.upper()})"
    statement = next((n for n in condition.walk() if isinstance(n, _forbidden_nodes()[1:])), None)
    if statement is not None:
        return f"{_QUERY_FILTER_HELP}, without statements inside ({statement.key.upper()})"
    return None


def _outside_quotes(tokens: list[Any]) -> str:
    """The text of the tokens that are not strings or quoted identifiers (where `--` is data)."""
    import sqlglot

    return " ".join(
        t.text
        for t in tokens
        if t.token_type not in (sqlglot.TokenType.STRING, sqlglot.TokenType.IDENTIFIER)
    )


class SqlTableConfig(LoadOptions):
    """One database table, loaded into the warehouse table `asset_table_name(name)`.

    Attributes:
        name: the table's name in the database, as the database spells it (`OrderLines`,
            `order`); the warehouse table and asset key part is its snake_case form.
        query_filter: a SQL condition on the table's rows, e.g. `status <> 'deleted'`, added
            to the SELECT with SQLAlchemy (`WHERE ... AND (<condition>)`), never pasted into it.
        chunk_size: rows per batch read from the database; default: the source's `chunk_size`.
        columns: database column names to load; default all. Must include the primary key and
            the incremental cursor.
        description: shown on the asset in the Dagster UI.
    Load options are inherited: `write_disposition` (default `replace`, a full reload, or
    `append` when `incremental` is set), `primary_key` (database column names; required by
    `merge`) and `incremental` (`cursor` column, `initial_value`).
    """

    name: str = Field(min_length=1)
    query_filter: str | None = Field(default=None, min_length=1)
    chunk_size: int | None = Field(default=None, gt=0)
    columns: list[str] | None = Field(default=None, min_length=1)
    description: str | None = None

    @property
    def table_name(self) -> str:
        """The warehouse table and last asset key part."""
        return asset_table_name(self.name)

    @property
    def effective_write_disposition(self) -> str:
        """The write disposition, defaulted: `append` with an incremental cursor, else `replace`."""
        return self.write_disposition or ("append" if self.incremental else "replace")

    @model_validator(mode="after")
    def _merge_needs_key(self) -> "SqlTableConfig":
        if self.write_disposition == "merge" and not self.primary_key:
            raise ValueError(
                f"table {self.name!r}: write_disposition 'merge' needs a primary_key: add "
                "primary_key: <column> (or a list of columns) identifying a row"
            )
        if self.incremental and self.effective_write_disposition == "replace":
            raise ValueError(
                f"table {self.name!r}: an incremental cursor with write_disposition 'replace' "
                "would keep only the newest rows; use append or merge"
            )
        if self.columns is not None:
            keys = [self.primary_key] if isinstance(self.primary_key, str) else self.primary_key
            needed = [*(keys or []), *([self.incremental.cursor] if self.incremental else [])]
            missing = [column for column in needed if column not in self.columns]
            if missing:
                raise ValueError(
                    f"table {self.name!r}: columns must include the key and cursor columns; "
                    f"add {', '.join(missing)}"
                )
        return self

    @field_validator("query_filter")
    @classmethod
    def _one_condition(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Accept one SQL condition only (see `query_filter_problem`); the database's dialect is
        not known here, so it must hold in each dialect this project reads (and is checked again
        in the real dialect when the table is read)."""
        if value is not None:
            problem = query_filter_problem(value, None)
            if problem:
                name = info.data.get("name")
                raise ValueError((f"table {name!r}: " if name else "") + problem)
        return value


class SqlDatabaseBlock(StrictModel):
    """The `sql_database:` block of a source.

    Attributes:
        credentials: where the database is (see `SqlCredentialsConfig`); None reads it all from
            `.dlt/secrets.toml` or the environment.
        schema: the database schema holding the tables (PostgreSQL `public`, a MySQL database,
            ...); None is the connection's default schema.
        tables: the tables (names, or objects with load options), or `"*"` for every table of
            the schema, listed at definitions load (see `list_tables`).
        include_views: with `tables: "*"`, load views too (listed views always load).
        backend: dlt's table backend: `pyarrow` (default), `sqlalchemy`, `connectorx` (needs
            `pip install 'ingest-assets[connectorx]'`) or `pandas` (needs pandas).
        reflection_level: how much of the table schema dlt reflects: `full_with_precision`
            (default: types with precision and scale), `full` or `minimal`.
        chunk_size: rows per batch read, unless a table sets its own.
        connect_timeout: seconds to wait for a connection before the run (or the listing of
            `tables: "*"`) fails.
        parallelism: how many of the source's tables are read at once (1 to 8, default 1: one
            after another). Above 1 the table resources are dlt `parallelized` resources and the
            extract runs that many worker threads (see `extract_workers`); each table keeps its
            own connection. Only reading is parallel: the load into the warehouse is one step
            in the `duckdb` pool as always.
    """

    credentials: SqlCredentialsConfig | None = None
    schema_: str | None = Field(default=None, alias="schema", min_length=1)
    tables: list[SqlTableConfig] | None
    include_views: bool = False
    backend: TableBackend = "pyarrow"
    reflection_level: ReflectionLevel = "full_with_precision"
    chunk_size: int = Field(default=50000, gt=0)
    connect_timeout: int = Field(default=15, gt=0)
    parallelism: int = Field(default=1, ge=1, le=8)

    @field_validator("tables", mode="before")
    @classmethod
    def _star_or_list(cls, value: Any) -> Any:
        if value == "*":
            return None
        if value is None or isinstance(value, str):
            raise ValueError('list the tables to load, or write "*" for every table of the schema')
        if isinstance(value, list):
            return [{"name": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator("tables")
    @classmethod
    def _unique_tables(cls, tables: list[SqlTableConfig] | None) -> list[SqlTableConfig] | None:
        if tables is None:
            return None
        if not tables:
            raise ValueError('list at least one table, or write "*" for every table of the schema')
        seen: dict[str, str] = {}
        for table in tables:
            if table.table_name in seen:
                raise ValueError(
                    f"tables {seen[table.table_name]!r} and {table.name!r} both load into "
                    f"warehouse table {table.table_name!r}; list each table once"
                )
            seen[table.table_name] = table.name
        return tables

    @property
    def all_tables(self) -> bool:
        """True for `tables: "*"`: every table of the schema."""
        return self.tables is None


class SqlDatabaseSourceConfig(SourceBase):
    """A source of `type: sql_database`."""

    type: Literal["sql_database"]
    sql_database: SqlDatabaseBlock

    @model_validator(mode="wrap")
    @classmethod
    def _with_source_name(cls, data: Any, handler: Any) -> "SqlDatabaseSourceConfig":
        """Make the source name available to messages of nested fields (where secrets go)."""
        name = data.get("name") if isinstance(data, dict) else None
        token = _SOURCE_NAME.set(name if isinstance(name, str) else None)
        try:
            return handler(data)
        finally:
            _SOURCE_NAME.reset(token)

    def table_descriptions(self) -> dict[str, str]:
        """Descriptions of the tables that have one, by warehouse table name."""
        tables = self.sql_database.tables or []
        return {table.table_name: table.description for table in tables if table.description}

    def table_options(self) -> dict[str, LoadOptions]:
        """The options of every listed table, by warehouse table name (none for `tables: "*"`)."""
        return {table.table_name: table for table in self.sql_database.tables or []}

    def extract_workers(self) -> int | None:
        """dlt extract worker threads: `sql_database.parallelism` when above 1, else None."""
        return self.sql_database.parallelism if self.sql_database.parallelism > 1 else None


@functools.cache
def _source_credentials_spec() -> type:
    """The dlt config spec of what dlt resolves under `[sources.<source name>]`: the
    `credentials` (parts or URL). Made on first use (dlt is imported then)."""
    from dlt.common.configuration import configspec
    from dlt.common.configuration.specs import BaseConfiguration, ConnectionStringCredentials

    # annotations as objects, not strings (this module defers annotations; dlt resolves them)
    namespace = {
        "__annotations__": {"credentials": ConnectionStringCredentials},
        "credentials": None,
        "__module__": __name__,
    }
    return configspec(type("_SourceCredentials", (BaseConfiguration,), namespace))


def build_dlt_source(config: SqlDatabaseSourceConfig, paths: ProjectPaths) -> "DltSource":
    """Build a fresh dlt source with one resource per table.

    Args:
        config: the validated source config.
        paths: project paths (a relative SQLite `database` is taken against the root).

    Returns:
        A `DltSource` named after the source. Listed tables need no connection here; with
        `tables: "*"` the table names come from `list_tables` (which never raises).
    """
    from dlt.extract.resource import DltResource
    import dlt

    block = config.sql_database
    tables = (
        block.tables
        if not block.all_tables
        else [SqlTableConfig(name=name) for name in list_tables(config, paths)]
    )

    @dlt.source(name=config.name, max_table_nesting=0)
    def database() -> list[DltResource]:
        return [_table_resource(config, table, paths) for table in tables]

    return database()


def resolve_credentials(
    config: SqlDatabaseSourceConfig, paths: ProjectPaths
) -> "ConnectionStringCredentials":
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
    from dlt.common.configuration import resolve_configuration
    from dlt.common.configuration.exceptions import ConfigFieldMissingException
    from dlt.common.configuration.exceptions import ConfigurationException
    from dlt.common.configuration.specs import ConnectionStringCredentials

    parts = _configured_parts(config)
    problem: str | None = None
    try:
        resolved = resolve_configuration(
            _source_credentials_spec()(),
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


def describe_location(credentials: "ConnectionStringCredentials") -> str:
    """Where a database is, for messages: `postgresql database 'shop' at db:5432 as 'loader'`
    (a SQLite file: `sqlite database '/data/shop.db'`); never the password."""
    dialect = credentials.drivername.split("+")[0]
    where = f"{dialect} database '{credentials.database or ''}'"
    if credentials.host:
        where += f" at {credentials.host}" + (f":{credentials.port}" if credentials.port else "")
    if credentials.username:
        where += f" as '{credentials.username}'"
    return where


def list_tables(config: SqlDatabaseSourceConfig, paths: ProjectPaths) -> list[str]:
    """The table names of the source's schema (and views with `include_views`), for `tables: "*"`.

    Connects at definitions load, bounded by `connect_timeout`. The list is kept for the rest of
    the process, so the run that a definitions load prepared builds exactly the same assets;
    new tables appear when the definitions are reloaded (a new process).

    Args:
        config: a source with `tables: "*"`.
        paths: project paths.

    Returns:
        The database's table names, in its order; an empty list when the database cannot be
        listed (no credentials, no driver, unreachable): a warning then names the source and
        where the database is, and the group has no assets until it is reachable again.
    """
    from dlt.sources.sql_database import engine_from_credentials
    import sqlalchemy as sa

    block = config.sql_database
    key = (config.name, block.model_dump_json())
    if key in _LISTED_TABLES:
        return list(_LISTED_TABLES[key])
    location = "its database"
    try:
        credentials = resolve_credentials(config, paths)
        location = describe_location(credentials)
        engine = engine_from_credentials(credentials, **engine_kwargs(credentials, block))
        try:
            inspector = sa.inspect(engine)
            names = inspector.get_table_names(schema=block.schema_)
            if block.include_views:
                names += inspector.get_view_names(schema=block.schema_)
        finally:
            engine.dispose()
    except Exception as error:
        logger.warning(
            "source '%s': cannot list the tables of %s for tables: \"*\" (%s); the asset group "
            "'%s' has no assets until the database is reachable and definitions are reloaded",
            config.name,
            location,
            redact(_error_text(error), _secrets_of(config, paths)),
            config.name,
        )
        return []
    if not names:
        logger.warning(
            "source '%s': schema %s of %s has no tables (tables: \"*\"); check sql_database.schema",
            config.name,
            block.schema_ or "(default)",
            location,
        )
    _LISTED_TABLES[key] = _unique_by_table_name(config.name, names)
    return list(_LISTED_TABLES[key])


def _unique_by_table_name(source_name: str, names: list[str]) -> list[str]:
    """Drop (with a warning) database tables whose warehouse name an earlier table already has."""
    kept: dict[str, str] = {}
    for name in names:
        table_name = asset_table_name(name)
        if table_name in kept:
            logger.warning(
                "source '%s': skipping table %r: it would load into %r like table %r; list the "
                "tables explicitly to choose",
                source_name,
                name,
                table_name,
                kept[table_name],
            )
            continue
        kept[table_name] = name
    return list(kept.values())


def _table_resource(
    config: SqlDatabaseSourceConfig, table: SqlTableConfig, paths: ProjectPaths
) -> "DltResource":
    """The dlt resource of one table; it connects only when extracted."""

    from dlt.extract.incremental import Incremental
    import dlt

    def read_table(incremental: Optional[Incremental[Any]] = None) -> Iterator[Any]:  # noqa: UP045
        yield from _read_rows(config, table, paths, incremental)

    resource = dlt.resource(
        read_table,
        name=table.table_name,
        write_disposition=table.effective_write_disposition,
        primary_key=table.primary_key,
        # read in dlt's extract thread pool, `parallelism` tables at once (see extract_workers)
        parallelized=config.sql_database.parallelism > 1,
    )
    if table.incremental:
        resource.apply_hints(incremental=table.dlt_hints()["incremental"])
    return resource


def _read_rows(
    config: SqlDatabaseSourceConfig,
    table: SqlTableConfig,
    paths: ProjectPaths,
    incremental: "Incremental[Any] | None",
) -> Iterator[Any]:
    """Connect, reflect `table` and yield its rows in batches of the configured backend.

    Raises:
        SqlDatabaseError: credentials, driver, connection, table or query problems; the message
            names the source, the table and the database location, with secrets removed.
    """
    from dlt.sources.sql_database import engine_from_credentials
    from dlt.sources.sql_database.helpers import table_rows
    import sqlalchemy as sa

    block = config.sql_database
    credentials = resolve_credentials(config, paths)
    secrets = _secrets_of(config, paths, credentials)
    if table.query_filter:
        # checked again in the database's own dialect (config validation checks every dialect)
        problem = query_filter_problem(table.query_filter, credentials.drivername)
        if problem:
            raise SqlDatabaseError(
                f"source '{config.name}': table '{table.name}': query_filter: {problem}"
            )
    failure: SqlDatabaseError | None = None
    try:
        engine = engine_from_credentials(
            credentials, may_dispose_after_use=True, **engine_kwargs(credentials, block)
        )
        rows = table_rows(
            engine=engine,
            table=table.name,
            metadata=sa.MetaData(schema=block.schema_),
            chunk_size=table.chunk_size or block.chunk_size,
            backend=block.backend,
            incremental=incremental,
            table_adapter_callback=None,
            reflection_level=block.reflection_level,
            backend_kwargs=None,
            type_adapter_callback=None,
            included_columns=table.columns,
            excluded_columns=None,
            query_adapter_callback=_where(table.query_filter),
            resolve_foreign_keys=False,
        )
        yield from _with_configured_key(rows, table.primary_key)
    except Exception as error:  # noqa: BLE001 - classified below; unknown errors re-raised as is
        failure = _read_failure(error, config, table, credentials, secrets)
        if failure is None:
            raise
    if failure is not None:
        # raised outside the `except` block so that the driver's exception, whose text may
        # quote the connection URL, is not attached to it as `__context__` either
        raise failure


def _read_failure(
    error: Exception,
    config: SqlDatabaseSourceConfig,
    table: SqlTableConfig,
    credentials: "ConnectionStringCredentials",
    secrets: list[str],
) -> SqlDatabaseError | None:
    """The `SqlDatabaseError` to raise for an error of reading `table`, or None to re-raise it.

    Driver, connection, table and query errors get the source, table and location and what to
    check; any other error is wrapped only when its text holds a secret (then redacted).
    """
    from dlt.common.exceptions import MissingDependencyException
    import sqlalchemy as sa

    context = f"source '{config.name}': table '{table.name}' in {describe_location(credentials)}"
    text = redact(_error_text(error), secrets)
    block = config.sql_database
    if isinstance(error, sa.exc.NoSuchTableError):
        return SqlDatabaseError(
            f"{context}: no such table in schema {block.schema_ or '(default)'}; check the "
            "table name (as the database spells it) and sql_database.schema"
        )
    if isinstance(error, (ModuleNotFoundError, MissingDependencyException)):
        return SqlDatabaseError(
            f"{context}: a package is missing: {text}; {_install_hint(credentials, block.backend)}"
        )
    if isinstance(error, (sa.exc.OperationalError, sa.exc.InterfaceError)):
        return SqlDatabaseError(
            f"{context}: {text}; check that the database is reachable from here and that the "
            "credentials are right (the password comes from password_env in sources.yml or "
            f"from [sources.{config.name}.credentials] in .dlt/secrets.toml)"
        )
    if isinstance(error, sa.exc.SQLAlchemyError):
        hint = "; check query_filter" if table.query_filter else ""
        return SqlDatabaseError(f"{context}: {text}{hint}")
    if text != _error_text(error):
        return SqlDatabaseError(f"{context}: {text}")
    return None


def _with_configured_key(rows: Iterator[Any], primary_key: str | list[str] | None) -> Iterator[Any]:
    """Pass `rows` through; after the hints dlt reflected from the table (its first item), set
    the primary key of `sources.yml` again, so a configured key wins over the database's."""
    import dlt

    for index, item in enumerate(rows):
        yield item
        if index == 0 and primary_key:
            yield dlt.mark.with_hints([], dlt.mark.make_hints(primary_key=primary_key))


def _where(query_filter: str | None) -> Any:
    """A dlt `query_adapter_callback` adding `AND (<query_filter>)` to the table's SELECT, or None.

    The condition is a SQLAlchemy `text()` clause with its colons escaped (so `'10:00'` and
    `x::int` stay literal), grouped so it cannot change the precedence of dlt's own
    incremental conditions.
    """
    from sqlalchemy.sql.expression import Grouping
    import sqlalchemy as sa

    if not query_filter:
        return None
    condition = Grouping(sa.text(query_filter.replace(":", "\\:")))

    def add_filter(query: Any, table: Any, incremental: Any = None, engine: Any = None) -> Any:
        return query.where(condition)

    return add_filter


def engine_kwargs(
    credentials: "ConnectionStringCredentials", block: SqlDatabaseBlock
) -> dict[str, Any]:
    """`create_engine` arguments for `credentials`: the driver's connect timeout (seconds, from
    `block.connect_timeout`) when the driver has a known one, else {}. Used by the source and by
    the reconcile check, so both connect the same way."""
    from sqlalchemy.engine import make_url

    driver = make_url(f"{credentials.drivername}://").get_driver_name()
    argument = CONNECT_TIMEOUT_ARGS.get(driver)
    return {"connect_args": {argument: block.connect_timeout}} if argument else {}


def _configured_parts(config: SqlDatabaseSourceConfig) -> dict[str, Any]:
    """Connection parts given in `sources.yml`, `*_env` variables read; {} when none.

    Raises:
        SqlDatabaseError: a named environment variable is unset, or holds an invalid URL/port.
    """
    from sqlalchemy.engine import make_url

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


def _parse_url(text: str) -> "sa.engine.URL | None":
    """`text` parsed as a SQLAlchemy URL, or None when it is not one (no exception to leak it)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(text)
    except Exception:  # noqa: BLE001 - any parse failure means "not a URL"
        return None


def _url_parts(url: "sa.engine.URL") -> dict[str, Any]:
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
    credentials: "ConnectionStringCredentials | None" = None,
) -> list[str]:
    """Strings that must not appear in messages: the password (plain and URL-encoded) and URL."""
    if credentials is None:
        try:
            credentials = resolve_credentials(config, paths)
        except SqlDatabaseError:
            return []
    secrets: list[str] = []
    if credentials.password:
        password = str(credentials.password)
        secrets += [password, quote(password, safe=""), quote_plus(password)]
        secrets.append(credentials.to_url().render_as_string(hide_password=False))
    return sorted({s for s in secrets if s}, key=len, reverse=True)


def _error_text(error: BaseException) -> str:
    """The message of `error` without SQLAlchemy's 'Background on this error' link line."""
    text = str(error).strip() or type(error).__name__
    return re.sub(r"\s*\(Background on this error at: [^)]*\)", "", text)


def _install_hint(credentials: "ConnectionStringCredentials", backend: str) -> str:
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


__all__ = [
    "SqlDatabaseError",
    "SqlCredentialsConfig",
    "SqlTableConfig",
    "SqlDatabaseBlock",
    "SqlDatabaseSourceConfig",
    "asset_table_name",
    "build_dlt_source",
    "describe_location",
    "list_tables",
    "query_filter_problem",
    "resolve_credentials",
]

"""The `sql_database` source type's config: the `sql_database:` block, its credentials and tables,
and the check of a table's `query_filter`."""

from __future__ import annotations

# annotation at runtime and needs it as a real `Optional[...]`, not a string
import functools
import re
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from ingest_assets.config.common import LoadOptions, SourceBase, StrictModel

if TYPE_CHECKING:
    import sqlalchemy as sa

# dlt, sqlalchemy and sqlglot are imported inside the validators that need them, so that
# loading sources.yml (`ingest validate`, `status`, `summary`) does not import them: dlt only
# for a table name that is not snake_case already (`asset_table_name`), sqlglot only for a
# `query_filter`, sqlalchemy only for a `url`.

Backend = Literal["auto", "connectorx", "adbc", "pyarrow", "sqlalchemy", "pandas"]
"""`backend:` values of a `sql_database` source; `auto` picks per database (`readers.DEFAULT_READERS`)."""

ReflectionLevel = Literal["minimal", "full", "full_with_precision"]
"""`reflection_level:` values: dlt's `dlt.sources.sql_database.ReflectionLevel` (a unit test
compares the two)."""


class ChunksConfig(StrictModel):
    """`chunks:` of a table: read it in key ranges, in parallel.

    Attributes:
        column: an integer column (ideally the primary key's first column, indexed) whose
            min..max range is split into `count` equal ranges.
        count: how many ranges, each read by its own thread and connection at once (2-16).
    """

    column: str = Field(min_length=1)
    count: int = Field(ge=2, le=16)


ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
"""Names of environment variables given in `*_env` keys."""


@functools.cache
def _naming() -> Any:
    """dlt's default snake_case naming convention (imported on first use)."""
    from dlt.common.normalizers.naming.snake_case import NamingConvention

    return NamingConvention()


SNAKE_CASE_NAME = re.compile(r"_?[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
"""Names dlt's snake_case naming leaves as they are: ASCII lower case letters, digits and single
underscores, not starting with a digit, not ending with `_` (`orders`, `order_lines_2024`)."""


def asset_table_name(db_table: str) -> str:
    """The warehouse table (and last asset key part) of a database table, e.g. `OrderLines` ->
    `order_lines`: dlt's default snake_case naming, so the key always equals the DuckDB table.

    A name that is snake_case already (`SNAKE_CASE_NAME`, what dlt returns unchanged) is
    returned without importing dlt, so loading a sources.yml whose tables are named like that
    (`ingest validate`, `status`, `summary`) does not import it (~0.5 s); other names go through
    dlt's `NamingConvention` (a unit test compares both on many names).

    Raises:
        ValueError: `db_table` is empty or only white space (dlt's message).
    """
    if SNAKE_CASE_NAME.fullmatch(db_table):
        return db_table
    return _naming().normalize_table_identifier(db_table)


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
    def _value_or_env(self) -> SqlCredentialsConfig:
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
    """The sqlglot expressions a `query_filter` may not be or hold (the first, a query, is
    allowed inside as a subquery)."""
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
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError

    forbidden = _forbidden_nodes()
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
        or isinstance(condition, forbidden[1:])
    ):
        return f"{_QUERY_FILTER_HELP}, not a query or statement ({condition.key.upper()})"
    statement = next((n for n in condition.walk() if isinstance(n, forbidden[1:])), None)
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
        chunks: read the table in key ranges of one integer column, that many at once
            (`{column: id, count: 4}`), or `auto` (4 ranges of an integer primary key above
            1M rows, see `readers`); default one SELECT.
        description: shown on the asset in the Dagster UI.
    Load options are inherited: `write_disposition` (default `replace`, a full reload, or
    `append` when `incremental` is set), `primary_key` (database column names; required by
    `merge`) and `incremental` (`cursor` column, `initial_value`).
    """

    name: str = Field(min_length=1)
    query_filter: str | None = Field(default=None, min_length=1)
    chunk_size: int | None = Field(default=None, gt=0)
    columns: list[str] | None = Field(default=None, min_length=1)
    chunks: ChunksConfig | Literal["auto", "off"] | None = None
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
    def _merge_needs_key(self) -> SqlTableConfig:
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
        backend: the reader: `auto` (default: ConnectorX for PostgreSQL and MySQL/MariaDB,
            `pyarrow` for the rest, chosen by measurement; see `readers`), or one of
            `connectorx`, `adbc` (PostgreSQL), `pyarrow`, `sqlalchemy`, `pandas` (needs pandas).
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
    backend: Backend = "auto"
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
    def _with_source_name(cls, data: Any, handler: Any) -> SqlDatabaseSourceConfig:
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


_SOURCE_NAME: ContextVar[str | None] = ContextVar("sql_database_source_name", default=None)


def _parse_url(text: str) -> sa.engine.URL | None:
    """`text` parsed as a SQLAlchemy URL, or None when it is not one (no exception to leak it)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(text)
    except Exception:  # noqa: BLE001 - any parse failure means "not a URL"
        return None

"""`type: sql_database` sources: tables of a SQL database, read with dlt's `sql_database` source.

Any database SQLAlchemy can reach works: PostgreSQL, MySQL/MariaDB and SQLite with the drivers
this project installs, SQL Server (`pip install 'ingest-assets[mssql]'`) and Oracle
(`pip install 'ingest-assets[oracle]'`). Each configured table is one dlt resource, so one asset
`raw_<source>/<table>`; rows are read by dlt's own table reader (`table_rows`, the generator
`dlt.sources.sql_database.sql_table` builds its resource from) with `full_with_precision`
reflection by default; the rows are read by the reader `readers.choose_reader` picks (ConnectorX
for PostgreSQL and MySQL/MariaDB, ADBC for PostgreSQL tables read in parallel, dlt's `pyarrow`
backend otherwise; `backend:` overrides it).

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
from collections.abc import Iterator
from typing import Any, Optional

import dlt
import sqlalchemy as sa
from dlt.common.configuration.specs import ConnectionStringCredentials
from dlt.common.exceptions import MissingDependencyException
from dlt.extract.incremental import Incremental
from dlt.extract.resource import DltResource
from dlt.extract.source import DltSource
from dlt.sources.sql_database import engine_from_credentials
from dlt.sources.sql_database.helpers import table_rows
from sqlalchemy.sql.expression import Grouping

from ingest_assets.errors import exception_chain, library_transient
from ingest_assets.redact import redact
from ingest_assets.settings import ProjectPaths
from ingest_assets.sources.sql_database import readers
from ingest_assets.sources.sql_database.config import (
    SqlDatabaseSourceConfig,
    SqlTableConfig,
    asset_table_name,
    query_filter_problem,
)
from ingest_assets.sources.sql_database.credentials import (
    _install_hint,
    _secrets_of,
    describe_location,
    engine_kwargs,
    resolve_credentials,
)
from ingest_assets.sources.sql_database.errors import SqlDatabaseError, _error_text

logger = logging.getLogger(__name__)


_LISTED_TABLES: dict[tuple[str, str], list[str]] = {}


def build_dlt_source(config: SqlDatabaseSourceConfig, paths: ProjectPaths) -> DltSource:
    """Build a fresh dlt source with one resource per table.

    Args:
        config: the validated source config.
        paths: project paths (a relative SQLite `database` is taken against the root).

    Returns:
        A `DltSource` named after the source. Listed tables need no connection here; with
        `tables: "*"` the table names come from `list_tables` (which never raises).
    """
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
    except Exception as error:  # noqa: BLE001 - any listing failure leaves the group empty, with a warning
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
) -> DltResource:
    """The dlt resource of one table; it connects only when extracted."""

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
    incremental: Incremental[Any] | None,
) -> Iterator[Any]:
    """Connect, reflect `table` and yield its rows in batches of the configured backend.

    Raises:
        SqlDatabaseError: credentials, driver, connection, table or query problems; the message
            names the source, the table and the database location, with secrets removed.
    """
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
        parallel = block.parallelism > 1 or table.chunks not in (None, "off")
        reader, note = readers.choose_reader(block.backend, credentials.drivername, parallel)
        if note:
            readers.run_log().warning("source '%s': table '%s': %s", config.name, table.name, note)
        rows = table_rows(
            engine=engine,
            table=table.name,
            metadata=sa.MetaData(schema=block.schema_),
            chunk_size=table.chunk_size or block.chunk_size,
            backend=readers.dlt_backend(reader),
            incremental=incremental,
            table_adapter_callback=readers.floats_as_floats,
            reflection_level=block.reflection_level,
            backend_kwargs=None,
            type_adapter_callback=None,
            included_columns=table.columns,
            excluded_columns=None,
            query_adapter_callback=_where(table.query_filter),
            resolve_foreign_keys=False,
            table_loader_class=readers.table_loader(
                reader, table.chunks, f"source '{config.name}': table '{table.name}'"
            ),
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
    credentials: ConnectionStringCredentials,
    secrets: list[str],
) -> SqlDatabaseError | None:
    """The `SqlDatabaseError` to raise for an error of reading `table`, or None to re-raise it.

    Driver, connection, table and query errors get the source, table and location and what to
    check; any other error is wrapped only when its text holds a secret (then redacted).
    """
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
            f"from [sources.{config.name}.credentials] in .dlt/secrets.toml)",
            transient=_connection_failure_transient(error),
        )
    if isinstance(error, sa.exc.SQLAlchemyError):
        hint = "; check query_filter" if table.query_filter else ""
        return SqlDatabaseError(f"{context}: {text}{hint}")
    if text != _error_text(error):
        return SqlDatabaseError(f"{context}: {text}")
    return None


def _connection_failure_transient(error: BaseException) -> bool:
    """Whether a connection-level error (SQLAlchemy `OperationalError`/`InterfaceError`) is worth
    retrying: as the driver's error code says (`ingest_assets.errors.library_transient`: e.g.
    MySQL 1045 access denied is permanent, 2003 cannot connect is transient); without a code
    (psycopg2 failing to connect) it is taken as transient, like the network it came over."""
    for exc in exception_chain(error):
        verdict = library_transient(exc)
        if verdict is not None:
            return verdict
    return True


def _with_configured_key(rows: Iterator[Any], primary_key: str | list[str] | None) -> Iterator[Any]:
    """Pass `rows` through; after the hints dlt reflected from the table (its first item), set
    the primary key of `sources.yml` again, so a configured key wins over the database's."""
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
    if not query_filter:
        return None
    condition = Grouping(sa.text(query_filter.replace(":", "\\:")))

    def add_filter(query: Any, table: Any, incremental: Any = None, engine: Any = None) -> Any:
        return query.where(condition)

    return add_filter

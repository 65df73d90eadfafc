"""SQL connections to the warehouse for the project's own readers and writers (the Dagster
`warehouse` resource that hands them to asset checks is `ingest_assets.warehouses.resource`, so
that this module imports no Dagster).

The ledger, `ingest status`/`summary`, `ingest rewind` and the row-count/reconcile checks speak a
small SQL dialect both DuckDB and PostgreSQL understand (`information_schema`, `count(*)`,
`?` placeholders); `connect` gives them a `SqlConnection` on either. MotherDuck goes through
DuckDB. Snowflake and BigQuery are written by dlt and dbt only: `connect` refuses them with a
message saying so.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ingest_assets.warehouses.targets import Warehouse, as_warehouse

_PLACEHOLDER = re.compile(r"\?(?=(?:[^']*'[^']*')*[^']*$)")
"""A `?` outside single-quoted literals."""


def _pyformat(sql: str) -> str:
    """`sql` with DuckDB's `?` placeholders as psycopg2's `%s` (and a literal `%`, e.g. in a
    LIKE pattern, doubled, as psycopg2 wants when parameters are given)."""
    return _PLACEHOLDER.sub("%s", sql.replace("%", "%%"))


class UnsupportedWarehouse(Exception):
    """The project cannot open a SQL connection to this warehouse type (Snowflake, BigQuery)."""


def missing_table_errors() -> tuple[type[Exception], ...]:
    """Exceptions a query raises when its table or schema does not exist, on every warehouse the
    project reads (DuckDB's `CatalogException`, PostgreSQL's undefined table/schema)."""
    import duckdb
    import psycopg2.errors

    return (
        duckdb.CatalogException,
        psycopg2.errors.UndefinedTable,
        psycopg2.errors.InvalidSchemaName,
    )


def warehouse_errors() -> tuple[type[Exception], ...]:
    """Exceptions of the warehouse's drivers (DuckDB, psycopg2), for callers that report them."""
    import duckdb
    import psycopg2

    return (duckdb.Error, psycopg2.Error)


class SqlConnection:
    """A DB-API connection with DuckDB's `execute(sql, params) -> cursor` shape on every warehouse.

    `execute` takes `?` placeholders and returns an object with `fetchone()`, `fetchall()` and
    `description`. `executemany` takes a list of parameter lists. `commit`/`rollback` end the
    transaction `begin` started (PostgreSQL runs DDL inside it as DuckDB does).
    """

    def __init__(self, raw: Any, kind: str):
        self.raw = raw
        self.kind = kind

    def execute(self, sql: str, params: Sequence[Any] | None = None):
        """Run one statement (DuckDB: several separated by `;`); returns the cursor."""
        if self.kind == "duckdb":
            return self.raw.execute(sql, list(params or []))
        cursor = self.raw.cursor()
        cursor.execute(_pyformat(sql) if params else sql, list(params) if params else None)
        return cursor

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per parameter list in `rows`."""
        if self.kind == "duckdb":
            self.raw.executemany(sql, [list(r) for r in rows])
            return
        with self.raw.cursor() as cursor:
            cursor.executemany(_pyformat(sql), [list(r) for r in rows])

    def begin(self) -> None:
        """Start a transaction (PostgreSQL connections are in autocommit mode until then)."""
        if self.kind == "duckdb":
            self.raw.execute("BEGIN")
        else:
            self.raw.autocommit = False

    def commit(self) -> None:
        """Commit the transaction `begin` started."""
        if self.kind == "duckdb":
            self.raw.execute("COMMIT")
        else:
            self.raw.commit()
            self.raw.autocommit = True

    def rollback(self) -> None:
        """Roll back the transaction `begin` started."""
        if self.kind == "duckdb":
            self.raw.execute("ROLLBACK")
        else:
            self.raw.rollback()
            self.raw.autocommit = True


def exists(warehouse: Warehouse | Any) -> bool:
    """Whether there is anything to read: the DuckDB file exists; a server warehouse always is."""
    warehouse = as_warehouse(warehouse)
    return warehouse.type != "duckdb" or bool(warehouse.path and warehouse.path.exists())


@contextmanager
def connect(warehouse: Warehouse | Any, read_only: bool = False) -> Iterator[SqlConnection]:
    """Open a SQL connection to the warehouse; closed when the block ends.

    Args:
        warehouse: a `Warehouse`, or a DuckDB file path (`Path` or `str`).
        read_only: DuckDB opens the file read-only (a reader then never takes the write lock;
            it is refused while another process writes). PostgreSQL sessions are set
            `default_transaction_read_only`.

    Raises:
        UnsupportedWarehouse: Snowflake or BigQuery.
        WarehouseSecretMissing: the password variable is not set.
        duckdb.Error, psycopg2.Error: the warehouse cannot be opened.
    """
    import duckdb  # the driver is imported by the first connection, not at definitions load

    warehouse = as_warehouse(warehouse)
    if warehouse.type == "duckdb":
        with duckdb.connect(str(warehouse.path), read_only=read_only) as raw:
            yield SqlConnection(raw, "duckdb")
        return
    if warehouse.type == "motherduck":
        token = warehouse.secret()
        target = f"md:{warehouse.config.database}" + (f"?motherduck_token={token}" if token else "")
        with duckdb.connect(target, read_only=read_only) as raw:
            yield SqlConnection(raw, "duckdb")
        return
    if warehouse.type != "postgres":
        raise UnsupportedWarehouse(
            f"the project reads {warehouse.type} warehouses through dlt and dbt only; "
            "`ingest status`/`summary`, the load ledger and the row-count checks need duckdb, "
            "motherduck or postgres"
        )
    import psycopg2

    c = warehouse.config
    raw = psycopg2.connect(
        host=c.host,
        port=c.port,
        dbname=c.database,
        user=c.user,
        password=warehouse.secret(),
        connect_timeout=c.connect_timeout,
        sslmode=c.sslmode or "prefer",
        options="-c default_transaction_read_only=on" if read_only else None,
        application_name="ingest_assets",
    )
    raw.autocommit = True
    try:
        yield SqlConnection(raw, "postgres")
    finally:
        raw.close()

"""The project's error base type, and whether a failure is worth retrying, decided by type.

Every error this project raises about a source, a config or a load derives from `IngestError`,
which carries `transient`: set where the error is raised, by the code that knows. Errors raised
by libraries (connection resets, HTTP statuses, DuckDB's lock, database drivers) are classified
by their exception type and error codes in `is_transient`, the one place that does it; no
decision depends on an error's message text.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator


class IngestError(Exception):
    """Base of the errors this project raises, with whether retrying may help.

    Attributes:
        transient: True when the same run may succeed later (a lock, a connection); False when
            something must be fixed first (bad data, config, credentials). `is_transient`
            honours it. The load step's `Failure`s carry the same flag as metadata `transient`.
    """

    transient: bool = False

    def __init__(self, message: str, transient: bool | None = None) -> None:
        super().__init__(message)
        if transient is not None:
            self.transient = transient


TRANSIENT_HTTP_STATUS = {408, 425, 429, 500, 502, 503, 504}
"""HTTP statuses a later request may not get: timeouts, rate limits, server errors."""

TRANSIENT_ERRNOS = {
    errno.ECONNRESET,
    errno.ECONNREFUSED,
    errno.ECONNABORTED,
    errno.ETIMEDOUT,
    errno.EPIPE,
    errno.EHOSTUNREACH,
}
"""OS error numbers of connections that failed on the way, not because of what was sent."""

TRANSIENT_SQLSTATE_CLASSES = ("08", "53", "57P", "40001", "40P01", "55P03")
"""SQLSTATE prefixes (PostgreSQL's `pgcode`) worth retrying: connection exceptions, insufficient
resources, server shutdown, serialization failures and deadlocks, lock not available."""

TRANSIENT_MYSQL_CODES = {1040, 1205, 1213, 2002, 2003, 2006, 2013, 2055}
"""MySQL/MariaDB error codes worth retrying: too many connections, lock wait timeout, deadlock,
cannot connect, server gone away, lost connection. (1045 access denied, 1049 unknown database
and the others are permanent.)"""


def exception_chain(error: BaseException) -> Iterator[BaseException]:
    """`error` and every exception it was raised from or while handling, innermost last;
    a context hidden with `raise ... from None` is not followed (it may carry secrets)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )


def is_transient(error: BaseException) -> bool:
    """True when retrying later may succeed, decided from the types in `error`'s chain:

    - an exception with a boolean `transient` attribute (`IngestError`) decides;
    - dlt's `DestinationTerminalException` (a load job the warehouse refused) is permanent;
    - a type `library_transient` knows (HTTP status, connection errors, DuckDB's lock, database
      driver error codes) decides;
    - anything else is permanent: it fails now with its message, rather than retrying a bug.

    (dlt's `DestinationTransientException` is not trusted: dlt gives it to any unclassified
    DuckDB error, out-of-memory included.)
    """
    from dlt.common.destination.exceptions import DestinationTerminalException

    chain = list(exception_chain(error))
    for exc in chain:  # an error that knows says so: this project's, then dlt's destination errors
        if isinstance(getattr(exc, "transient", None), bool):
            return exc.transient
        if isinstance(exc, DestinationTerminalException):
            return False
    for exc in chain:
        verdict = library_transient(exc)
        if verdict is not None:
            return verdict
    return False


def library_transient(exc: BaseException) -> bool | None:
    """Whether one library exception is worth retrying, by its type and codes; None when its
    type says nothing (the caller looks further down the chain).

    Known: `requests`-style errors with a `response` (by HTTP status), DuckDB's `IOException`
    (the warehouse file locked by another process; transient) and `OutOfMemoryException`
    (permanent: see `ingest_assets.dlt.errors.fix_hint`), DB-API errors (PostgreSQL SQLSTATE
    `pgcode`, MySQL error code, SQLAlchemy's `connection_invalidated`), `ConnectionError`,
    `TimeoutError` and `OSError`s of a broken connection.
    """
    import duckdb  # imported when a failure is classified, not by every module importing this

    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status is not None:
        return status in TRANSIENT_HTTP_STATUS
    if isinstance(exc, duckdb.OutOfMemoryException):
        return False
    if isinstance(exc, duckdb.IOException):
        return True
    if getattr(exc, "connection_invalidated", False) is True:  # SQLAlchemy: the connection dropped
        return True
    pgcode = getattr(exc, "pgcode", None)
    if isinstance(pgcode, str):
        return pgcode.startswith(TRANSIENT_SQLSTATE_CLASSES)
    if type(exc).__module__.startswith("pymysql") and exc.args and isinstance(exc.args[0], int):
        return exc.args[0] in TRANSIENT_MYSQL_CODES
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, OSError) and exc.errno in TRANSIENT_ERRNOS:
        return True
    return None

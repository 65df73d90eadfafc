"""Tell transient load failures (retry) from permanent ones (fail now, say what to fix)."""

from __future__ import annotations

import errno
from collections.abc import Iterator

from dlt.common.destination.exceptions import DestinationTerminalException


class IngestError(Exception):
    """Base of the errors this project raises about a load, with whether retrying may help
    (issue 12 asks for one base type; the load step's `Failure`s carry the same flag as
    metadata `transient`).

    Attributes:
        transient: True when the same run may succeed later (a lock, a connection); False when
            something must be fixed first (bad data, config). `is_transient` honours it.
    """

    transient: bool = False

    def __init__(self, message: str, transient: bool | None = None) -> None:
        super().__init__(message)
        if transient is not None:
            self.transient = transient

TRANSIENT_MESSAGES = (
    "could not set lock on file",  # DuckDB: another process holds the warehouse
    "conflicting lock",
    "connection reset",
    "connection aborted",
    "connection refused",
    "temporarily unavailable",
    "timed out",
    "timeout",
    "too many requests",
    "server closed the connection unexpectedly",
    "broken pipe",
)
PERMANENT_MESSAGES = (
    "password authentication failed",
    "access denied",
    "authentication",
    "unauthorized",
    "forbidden",
    "permission denied",
    "does not exist",
    "unknown database",
    "not found",
)
TRANSIENT_HTTP_STATUS = {408, 425, 429, 500, 502, 503, 504}


def exception_chain(error: BaseException) -> Iterator[BaseException]:
    """`error` and every exception it was raised from or while handling, innermost last;
    a context hidden with `raise ... from None` is not followed (it may carry secrets)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)


def is_transient(error: BaseException) -> bool:
    """True when retrying later may succeed: connection resets and timeouts, HTTP 408/429/5xx,
    the DuckDB warehouse locked by another process. Bad credentials, missing tables, invalid
    config and data errors are permanent, even when wrapped in a connection-level exception.

    An exception in the chain with a boolean `transient` attribute (`IngestError`) decides,
    then dlt's `DestinationTerminalException` (e.g. a load job the warehouse refused) is
    permanent; else the messages and types above decide. (dlt's `DestinationTransientException`
    is not trusted: dlt gives it to any unclassified DuckDB error, out-of-memory included.)"""
    chain = list(exception_chain(error))
    for exc in chain:  # an error that knows says so: this project's, then dlt's destination errors
        if isinstance(getattr(exc, "transient", None), bool):
            return exc.transient
        if isinstance(exc, DestinationTerminalException):
            return False
    texts = " | ".join(str(e).lower() for e in chain)
    if any(message in texts for message in PERMANENT_MESSAGES):
        return False
    for exc in chain:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status is not None:
            return status in TRANSIENT_HTTP_STATUS
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return True
        if isinstance(exc, OSError) and exc.errno in (errno.ECONNRESET, errno.ECONNREFUSED, errno.ETIMEDOUT, errno.EPIPE):
            return True
    return any(message in texts for message in TRANSIENT_MESSAGES)


def root_message(error: BaseException) -> str:
    """The most specific message in the chain: dlt wraps step errors (`PipelineStepFailed`), and
    the innermost exception usually says what is wrong (which column, which file, which host)."""
    chain = list(exception_chain(error))
    for exc in reversed(chain):
        text = str(exc).strip()
        if text:
            return f"{type(exc).__name__}: {text}"
    return type(error).__name__


OUT_OF_MEMORY_HINT = (
    "DuckDB reached the memory limit of the load's warehouse connection (150 MB per core, at "
    "least 300 MB): raise it with `global_config = {memory_limit = \"2GB\"}` under "
    "[destination.duckdb.credentials] in .dlt/config.toml, or the environment variable "
    "DESTINATION__DUCKDB__CREDENTIALS__GLOBAL_CONFIG='{\"memory_limit\": \"2GB\"}'"
)


def fix_hint(error: BaseException) -> str | None:
    """What the user can do about a permanent failure this module recognises, else None.

    Recognised: DuckDB's `Out of Memory Error` (the load connection's memory limit, see
    `ingest_assets.dlt.pipeline.load_memory_limit`).
    """
    if any("out of memory" in str(exc).lower() for exc in exception_chain(error)):
        return OUT_OF_MEMORY_HINT
    return None

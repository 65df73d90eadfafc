"""What a failed load says: the most specific message of an error chain, and what to fix.

Whether a failure is retried is decided by type in `ingest_assets.errors` (`is_transient`,
re-exported here with the base type `IngestError`)."""

from __future__ import annotations

from ingest_assets.errors import IngestError, exception_chain, is_transient

__all__ = ["IngestError", "exception_chain", "fix_hint", "is_transient", "root_message"]


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
    'least 300 MB): raise it with `global_config = {memory_limit = "2GB"}` under '
    "[destination.duckdb.credentials] in .dlt/config.toml, or the environment variable "
    'DESTINATION__DUCKDB__CREDENTIALS__GLOBAL_CONFIG=\'{"memory_limit": "2GB"}\''
)


def fix_hint(error: BaseException) -> str | None:
    """What the user can do about a permanent failure this module recognises, else None.

    Recognised: DuckDB's `OutOfMemoryException` (the load connection's memory limit, see
    `ingest_assets.dlt.pipeline.load_memory_limit`).
    """
    import duckdb  # imported when a failure is reported, not at definitions load

    if any(isinstance(exc, duckdb.OutOfMemoryException) for exc in exception_chain(error)):
        return OUT_OF_MEMORY_HINT
    return None

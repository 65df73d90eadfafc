"""Errors of the `sql_database` source type."""

from __future__ import annotations

import re

from ingest_assets.errors import IngestError


class SqlDatabaseError(IngestError):
    """Reading a `sql_database` source failed: no credentials, no driver, no connection, no table.

    The message names the source, the table (when there is one) and where the database is, and
    says what to check; it never holds a password.
    """


def _error_text(error: BaseException) -> str:
    """The message of `error` without SQLAlchemy's 'Background on this error' link line."""
    text = str(error).strip() or type(error).__name__
    return re.sub(r"\s*\(Background on this error at: [^)]*\)", "", text)

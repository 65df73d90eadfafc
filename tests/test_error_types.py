"""Retry or fail is decided by exception type and error code, never by message text."""

from __future__ import annotations

import psycopg2
import pymysql
import pytest
import sqlalchemy as sa

from ingest_assets.config.errors import ConfigError
from ingest_assets.errors import IngestError, is_transient
from ingest_assets.sources.dlt_native import MissingConfigError, SourceImportError
from ingest_assets.sources.filesystem.options import FileReadError
from ingest_assets.sources.rest_api import CredentialsNotSetError, RestApiConfigError
from ingest_assets.sources.sql_database import SqlDatabaseError

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "error_type",
    [
        ConfigError,
        SqlDatabaseError,
        FileReadError,
        SourceImportError,
        MissingConfigError,
        RestApiConfigError,
        CredentialsNotSetError,
    ],
)
def test_project_errors_share_the_base_and_are_permanent_unless_raised_transient(error_type):
    error = error_type(["x"]) if error_type is ConfigError else error_type("x")
    assert isinstance(error, IngestError)
    assert error.transient is False and not is_transient(error)


def test_the_raiser_decides():
    assert is_transient(SqlDatabaseError("db down", transient=True))


def test_message_text_decides_nothing():
    assert not is_transient(RuntimeError("connection reset by peer; timed out; too many requests"))


@pytest.mark.parametrize(
    ("code", "transient"), [(1045, False), (1049, False), (2003, True), (2013, True), (1213, True)]
)
def test_mysql_error_codes(code, transient):
    error = sa.exc.OperationalError("SELECT 1", {}, pymysql.err.OperationalError(code, "..."))
    try:
        raise error from error.orig
    except sa.exc.OperationalError as raised:
        assert is_transient(raised) is transient


def test_postgres_sqlstate():
    class Coded(psycopg2.OperationalError):
        def __init__(self, code: str):
            super().__init__("...")
            self._code = code

        @property
        def pgcode(self):  # psycopg2's is read-only; a subclass stands in for the server's answer
            return self._code

    assert is_transient(Coded("08006"))  # connection failure
    assert is_transient(Coded("40P01"))  # deadlock
    assert not is_transient(Coded("28P01"))  # invalid password
    assert not is_transient(Coded("3D000"))  # unknown database

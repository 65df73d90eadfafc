"""Which failures are retried (transient) and which fail at once (permanent)."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest
import requests

from ingest_assets.dlt.errors import fix_hint, is_transient, root_message


def _wrapped(inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as error:
            raise RuntimeError("Pipeline execution failed at stage extract") from error
    except RuntimeError as outer:
        return outer


def _http_error(status: int) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = status
    return requests.HTTPError(f"{status} error", response=response)


@pytest.mark.unit
@pytest.mark.parametrize(
    "error",
    [
        ConnectionResetError(104, "Connection reset by peer"),
        _http_error(429),
        _http_error(503),
        TimeoutError("read timed out"),
    ],
)
def test_transient(error):
    assert is_transient(_wrapped(error))


@pytest.mark.unit
@pytest.mark.parametrize(
    "error",
    [
        _http_error(401),
        _http_error(404),
        ValueError("column 'x' is not a timestamp"),
        RuntimeError('FATAL:  password authentication failed for user "loader"'),
    ],
)
def test_permanent(error):
    assert not is_transient(_wrapped(error))


@pytest.mark.integration
def test_duckdb_lock_held_by_another_process_is_transient(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys, time; c = duckdb.connect({str(warehouse)!r}); print('ok', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        with pytest.raises(duckdb.Error) as caught:
            duckdb.connect(str(warehouse))
        assert is_transient(_wrapped(caught.value))
    finally:
        holder.kill()


@pytest.mark.unit
def test_root_message_is_the_innermost():
    assert (
        root_message(_wrapped(ValueError("bad value in row 7"))) == "ValueError: bad value in row 7"
    )


@pytest.mark.unit
def test_duckdb_out_of_memory_says_how_to_raise_the_limit():
    with duckdb.connect() as conn:
        conn.execute("SET memory_limit = '20MB'")
        with pytest.raises(duckdb.Error) as raised:
            conn.execute("SELECT list(range) FROM range(20000000)").fetchall()
    try:
        raise RuntimeError("Pipeline execution failed at stage load") from raised.value
    except RuntimeError as wrapped:
        hint = fix_hint(wrapped)

    assert not is_transient(raised.value)
    assert hint is not None and "memory_limit" in hint and ".dlt/config.toml" in hint
    assert fix_hint(ValueError("column 'x' has no type")) is None


@pytest.mark.unit
def test_an_error_that_knows_decides():
    from dlt.destinations.exceptions import DatabaseTerminalException

    from ingest_assets.dlt.errors import IngestError

    assert is_transient(_wrapped(IngestError("warehouse busy", transient=True)))
    assert not is_transient(_wrapped(IngestError("connection reset, but the data is bad")))
    # a load job the warehouse refused is permanent even if its text mentions a timeout
    refused = DatabaseTerminalException(duckdb.ConversionException("timestamp field timed out"))
    assert not is_transient(_wrapped(refused))

"""Asset checks on raw tables, evaluated for real after a load."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import file_table, materialize_project, source, write_csv

pytestmark = pytest.mark.e2e


def _events_source(**table_options) -> dict:
    return source(
        "events",
        bucket_url="data/events",
        tables=[
            file_table("clicks", "clicks*.csv", **table_options),
            file_table("signups", "signups*.csv", allow_empty=True),
        ],
    )


def _write(project: Path, clicks_at: datetime | None) -> None:
    folder = project / "data" / "events"
    folder.mkdir(parents=True, exist_ok=True)
    clicks = [{"id": 1, "at": clicks_at.isoformat()}] if clicks_at else []
    if clicks:
        write_csv(folder / "clicks.csv", clicks)
    else:
        (folder / "clicks.csv").write_text("id,at\n")
    (folder / "signups.csv").write_text("id,at\n")


def _results(result) -> dict[tuple[str, str], object]:
    return {(c.asset_key.path[-1], c.check_name): c for c in result.get_asset_check_evaluations()}


def test_row_count_fails_on_empty_table_unless_allowed(make_project):
    project = make_project([_events_source()])
    _write(project, None)

    results = _results(materialize_project(project, "group:events", raise_on_error=False))

    assert results[("clicks", "row_count")].passed is False
    assert results[("clicks", "row_count")].metadata["row_count"].value == 0
    assert results[("signups", "row_count")].passed is True


def test_cursor_freshness(make_project):
    project = make_project([_events_source(freshness={"max_lag": "24h", "cursor": "at"})])
    _write(project, datetime.now(UTC) - timedelta(hours=1))
    fresh = _results(materialize_project(project, "group:events"))
    assert fresh[("clicks", "cursor_freshness")].passed is True
    assert fresh[("clicks", "row_count")].passed is True

    stale_project = make_project(
        [_events_source(freshness={"max_lag": "24h", "cursor": "at"})], name="stale"
    )
    _write(stale_project, datetime.now(UTC) - timedelta(days=3))
    stale = _results(materialize_project(stale_project, "group:events", raise_on_error=False))
    assert stale[("clicks", "cursor_freshness")].passed is False
    assert stale[("clicks", "cursor_freshness")].metadata["lag_seconds"].value > 2 * 86400

"""When a cron schedule fires next, for people reading `ingest status`."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ingest_assets.cron import next_fire_time


def next_run(cron: str | None, timezone: str) -> str | None:
    """The next time `cron` fires after now, as `YYYY-MM-DD HH:MM <tz>`; None without a cron.

    Uses croniter (no Dagster import), with Dagster's cron rules (see `ingest_assets.cron`).
    """
    if not cron:
        return None
    upcoming = next_fire_time(cron, timezone, datetime.now(ZoneInfo(timezone)))
    return f"{upcoming.strftime('%Y-%m-%d %H:%M')} {timezone}"

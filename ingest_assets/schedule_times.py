"""When a cron schedule fires next, for people reading `ingest status`."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from dagster._utils.schedules import cron_string_iterator


def next_run(cron: str | None, timezone: str) -> str | None:
    """The next time `cron` fires after now, as `YYYY-MM-DD HH:MM <tz>`; None without a cron.

    Uses Dagster's own cron iterator, so the answer matches what the schedule will do.
    """
    if not cron:
        return None
    now = datetime.now(ZoneInfo(timezone)).timestamp()
    upcoming = next(cron_string_iterator(now, cron, timezone))
    return f"{upcoming.strftime('%Y-%m-%d %H:%M')} {timezone}"

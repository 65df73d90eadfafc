"""When a cron schedule fires next, for people reading `ingest status`."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from croniter import croniter


def next_run(cron: str | None, timezone: str) -> str | None:
    """The next time `cron` fires after now, as `YYYY-MM-DD HH:MM <tz>`; None without a cron.

    Uses croniter, the library Dagster's schedules evaluate cron strings with, on a
    time-zone-aware "now", so daylight-saving changes are taken as the schedule takes them.
    """
    if not cron:
        return None
    upcoming = croniter(cron, datetime.now(ZoneInfo(timezone))).get_next(datetime)
    return f"{upcoming.strftime('%Y-%m-%d %H:%M')} {timezone}"

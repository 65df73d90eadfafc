"""Cron expressions without importing Dagster: validation for `sources.yml` and the next fire
time for `ingest status`.

Uses `croniter` (a dependency of dlt and the library Dagster's own cron code is built from), so
`ingest validate` and `ingest status` stay fast. The rules are Dagster's: five fields (no
seconds), `@daily`-style aliases allowed, no February 30/31.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def is_valid_cron(expression: str) -> bool:
    """True when `expression` is a cron string a Dagster schedule accepts.

    Args:
        expression: e.g. `0 6 * * *` or `@hourly`.
    """
    from croniter import croniter

    if not isinstance(expression, str) or not croniter.is_valid(expression):
        return False
    try:
        fields, *_ = croniter.expand(expression)
    except Exception:  # noqa: BLE001 - any expansion error means invalid
        return False
    if len(fields) != 5:
        return False
    day_of_month, month = fields[2], fields[3]
    return not (month == [2] and len(day_of_month) == 1 and day_of_month[0] in (30, 31))


def next_fire_time(expression: str, timezone: str, after: datetime | None = None) -> datetime:
    """The first time after `after` (default now) at which `expression` fires, in `timezone`.

    Args:
        expression: a valid cron string (see `is_valid_cron`).
        timezone: an IANA time zone name, e.g. `Europe/Berlin`.
        after: an aware datetime; default the current time.
    """
    from croniter import croniter

    start = (after or datetime.now(ZoneInfo(timezone))).astimezone(ZoneInfo(timezone))
    return croniter(expression, start).get_next(datetime)

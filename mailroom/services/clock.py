"""Local time of the administration: stored times are UTC, days and display are Europe/Berlin."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Europe/Berlin")


def now_utc() -> datetime:
    return datetime.now(UTC)


def local_today() -> date:
    return datetime.now(LOCAL_TZ).date()


def day_bounds_utc(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day, in UTC (23 or 25 hours on DST change days)."""
    start = datetime.combine(day, time(0), tzinfo=LOCAL_TZ)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=LOCAL_TZ)
    return start.astimezone(UTC), end.astimezone(UTC)


def local_minutes_to_utc(day: date, minutes: float) -> datetime:
    """Minutes since local midnight of `day` (as the optimiser counts) to a UTC timestamp."""
    midnight = datetime.combine(day, time(0), tzinfo=LOCAL_TZ)
    return (midnight + timedelta(minutes=minutes)).astimezone(UTC)


def utc_to_local_minutes(day: date, moment: datetime) -> float:
    midnight = datetime.combine(day, time(0), tzinfo=LOCAL_TZ)
    return (moment.astimezone(LOCAL_TZ) - midnight).total_seconds() / 60.0


def month_bounds_utc(day: date) -> tuple[datetime, datetime]:
    first = day.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return day_bounds_utc(first)[0], day_bounds_utc(nxt)[0]

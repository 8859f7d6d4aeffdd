"""The product's clock and local time: stored times are UTC, days and display follow TIMEZONE.

Every "now" and "today" of the product comes from here, never from datetime.now(), so that the clock
can be pinned: the setting CLOCK_NOW ("2026-03-02T07:30:00+01:00", or MAILROOM_CLOCK_NOW in the
environment) makes the clock start at that moment when the app starts and run on from there. Tests
and demos use it to be independent of the calendar (a working day, not a weekend or a holiday).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_ZONE = "Europe/Berlin"
_OFFSET_KEY = "mailroom_clock_offset"


def local_zone() -> tzinfo:
    """The administration's time zone (TIMEZONE); Europe/Berlin outside an app."""
    name = current_app.config.get("TIMEZONE") if has_app_context() else None
    return _zone(name or DEFAULT_ZONE)


_ZONES: dict[str, ZoneInfo] = {}


def _zone(name: str) -> ZoneInfo:
    if name not in _ZONES:
        _ZONES[name] = ZoneInfo(name)
    return _ZONES[name]


class _LocalZone(tzinfo):
    """`LOCAL_TZ`: the configured zone, looked up when used (modules import it before an app exists)."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return local_zone().utcoffset(dt)

    def dst(self, dt: datetime | None) -> timedelta | None:
        return local_zone().dst(dt)

    def tzname(self, dt: datetime | None) -> str | None:
        return local_zone().tzname(dt)

    def fromutc(self, dt: datetime) -> datetime:
        return dt.replace(tzinfo=None).replace(tzinfo=UTC).astimezone(local_zone()).replace(tzinfo=self)

    def __repr__(self) -> str:
        return "LOCAL_TZ"


LOCAL_TZ: tzinfo = _LocalZone()


def parse_clock_now(value: str | datetime) -> datetime:
    """CLOCK_NOW as an aware moment; a naive value counts as local time."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=local_zone())
    return moment.astimezone(UTC)


def _offset() -> timedelta:
    """How far the product's clock is from the real one (zero unless CLOCK_NOW is set)."""
    if not has_app_context():
        return timedelta(0)
    app = current_app
    offset = app.extensions.get(_OFFSET_KEY)
    if offset is None:
        pinned = app.config.get("CLOCK_NOW")
        offset = parse_clock_now(pinned) - datetime.now(UTC) if pinned else timedelta(0)
        app.extensions[_OFFSET_KEY] = offset
    return offset


def now_utc() -> datetime:
    return datetime.now(UTC) + _offset()


def now_local() -> datetime:
    return now_utc().astimezone(local_zone())


def local_today() -> date:
    return now_local().date()


def day_bounds_utc(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day, in UTC (23 or 25 hours on DST change days)."""
    zone = local_zone()
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def local_minutes_to_utc(day: date, minutes: float) -> datetime:
    """Minutes since local midnight of `day` (as the optimiser counts) to a UTC timestamp."""
    midnight = datetime.combine(day, time(0), tzinfo=local_zone())
    return (midnight + timedelta(minutes=minutes)).astimezone(UTC)


def utc_to_local_minutes(day: date, moment: datetime) -> float:
    zone = local_zone()
    midnight = datetime.combine(day, time(0), tzinfo=zone)
    return (moment.astimezone(zone) - midnight).total_seconds() / 60.0


def month_bounds_utc(day: date) -> tuple[datetime, datetime]:
    first = day.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return day_bounds_utc(first)[0], day_bounds_utc(nxt)[0]

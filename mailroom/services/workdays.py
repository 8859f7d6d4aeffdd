"""Working days of the administration: weekends, public holidays of the state, and extra closed days.

Public holidays come from the `holidays` package (country HOLIDAY_COUNTRY, state HOLIDAY_SUBDIVISION;
Lower Saxony by default); CLOSED_DAYS adds days the administration is closed ("MM-DD": name).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import holidays
from flask import current_app


@cache
def _public_holidays(country: str, subdivision: str | None) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdivision, language="de")


def holiday(day: date) -> str | None:
    """The public holiday or closed day on `day` (German, e.g. "Feiertag (Karfreitag)"), or None."""
    config = current_app.config
    name = _public_holidays(config["HOLIDAY_COUNTRY"], config["HOLIDAY_SUBDIVISION"]).get(day)
    if name:
        return f"Feiertag ({name})"
    extra = dict(config.get("CLOSED_DAYS") or {}).get(f"{day:%m-%d}")
    return f"dienstfrei ({extra})" if extra else None


def closed_reason(day: date) -> str | None:
    """Why the administration is closed on `day` (German), or None on a working day."""
    return holiday(day) or ("Wochenende" if day.weekday() >= 5 else None)


def is_working_day(day: date) -> bool:
    return closed_reason(day) is None


def next_working_day(day: date) -> date:
    """The first working day after `day`."""
    day += timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day

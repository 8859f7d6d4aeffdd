"""Small pieces every part of the fleet service uses: settings, German numbers, labels."""

from __future__ import annotations

import functools
import re
from datetime import date, datetime

from babel.numbers import NumberPattern, parse_pattern
from flask import current_app

from mailroom.models import ReadingKind, TripPurpose
from mailroom.services import dates
from mailroom.services.clock import LOCAL_TZ
from mailroom.services.formatting import LOCALE, MONTH_NAMES, format_km, format_number  # noqa: F401 (re-exported)

KIND_LABELS = {
    ReadingKind.TOUR_START: "Tourbeginn",
    ReadingKind.TOUR_END: "Tourende",
    ReadingKind.MANUAL: "Kilometerstand",
    ReadingKind.TRIP: "Fahrt",
    ReadingKind.CORRECTION: "Korrektur",
}


def natural_key(code: str) -> tuple:
    """Sorts van codes as people count: E1, E2, E10 (not E1, E10, E2 as text does)."""
    parts = tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part.casefold()) for part in re.split(r"(\d+)", code)
    )
    return (*parts, code)


def kind_label(kind: str) -> str:
    try:
        return KIND_LABELS[ReadingKind(kind)]
    except ValueError:
        return kind


def purpose_label(purpose: str) -> str:
    try:
        return TripPurpose(purpose).label
    except ValueError:
        return purpose or ""


def setting(name: str) -> float:
    """A fleet setting from the app config (defaults in mailroom/config.py)."""
    return float(current_app.config[name])


def local_day(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TZ).date()


def local_text(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%d.%m.%Y %H:%M")


def month_label(first: date) -> str:
    return f"{MONTH_NAMES[first.month - 1]} {first.year}"


@functools.cache
def number_pattern(text: str) -> NumberPattern:
    """A babel number pattern parsed once (exports format thousands of numbers)."""
    return parse_pattern(text)


def parse_day(value: str | None) -> date:
    """A day from a form or the command line, with a German message (the shared dates module)."""
    return dates.parse_day(value)


def optional_day(value: str | None) -> date | None:
    return dates.parse_optional_day(value)

"""Days and times of day typed by people: one parser each, with a German message when it is wrong.

A day is written "2026-03-02" (forms, URLs, the command line) or "02.03.2026" (as Germans type it);
a time of day "HH:MM". Pure: no Flask, no database.
"""

from __future__ import annotations

from datetime import date, datetime, time

from mailroom.errors import ValidationFailed

DAY_FORMATS = ("%Y-%m-%d", "%d.%m.%Y")
DAY_HINT = "TT.MM.JJJJ oder JJJJ-MM-TT, z. B. 02.03.2026"


def _prefixed(what: str | None, text: str) -> str:
    return f"{what}: {text}" if what else text


def parse_day(value: str | date | None, *, what: str | None = None) -> date:
    """A calendar day; refuses empty text and impossible days ("31.02.2026") in German.

    `what` names the field in the message ("Zustelldatum: ...")."""
    if isinstance(value, datetime):
        raise ValidationFailed(_prefixed(what, "bitte ein Datum ohne Uhrzeit angeben."))
    if isinstance(value, date):
        return value
    text = (value or "").strip()
    for fmt in DAY_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 (a calendar day, no time)
        except ValueError:
            continue
    shown = f"„{text[:40]}“" if text else "Leere Eingabe"
    raise ValidationFailed(_prefixed(what, f"{shown} ist kein gültiges Datum (erwartet {DAY_HINT})."))


def parse_optional_day(value: str | date | None, *, what: str | None = None) -> date | None:
    """As `parse_day`, but nothing typed means no day (None)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_day(value, what=what)


def parse_hhmm(value: str | time, *, what: str | None = None) -> time:
    """A time of day "HH:MM" (also "9:30"); German message otherwise."""
    if isinstance(value, time):
        return value
    text = (value or "").strip()
    try:
        return datetime.strptime(text, "%H:%M").time()  # noqa: DTZ007 (a time of day, no date)
    except ValueError:
        shown = f"„{text[:20]}“" if text else "Leere Eingabe"
        raise ValidationFailed(
            _prefixed(what, f"{shown} ist keine gültige Uhrzeit (erwartet HH:MM, z. B. 12:30).")
        ) from None


def hhmm_minutes(value: str | time) -> int:
    """Minutes since midnight of a time of day ("09:30" -> 570), as the optimiser counts."""
    moment = parse_hhmm(value)
    return moment.hour * 60 + moment.minute


def format_hhmm(value: time | None) -> str:
    return value.strftime("%H:%M") if value is not None else ""

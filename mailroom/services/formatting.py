"""German numbers and dates for pages, messages and exports (Babel, locale de_DE).

One place for how the product writes a number or a day, so that a page, a flash message and a
CSV export agree ("12.345,6 km", "Mo., 02.03.2026"). Pure: no Flask, no database.
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.numbers import NumberPattern, format_decimal, parse_pattern

LOCALE = Locale.parse("de_DE")  # parsed once: babel would parse a locale name on every call (a 50-van PDF: 5,000)

# "Januar" ... "Dezember" (index 0 = January), from the locale's data
MONTH_NAMES: tuple[str, ...] = tuple(LOCALE.months["format"]["wide"][m] for m in range(1, 13))

Number = int | float | Decimal


@functools.cache
def _pattern(digits: int, *, fixed: bool) -> NumberPattern:
    """The pattern parsed once (babel would parse a pattern text on every call)."""
    if digits <= 0:
        return parse_pattern("#,##0")
    return parse_pattern("#,##0." + ("0" if fixed else "#") * digits)


def format_number(value: Number | None, digits: int = 1, *, fixed: bool = False) -> str:
    """A number the German way: "." groups thousands, "," before the decimals ("12.345,6").

    `digits` decimals at most (trailing zeros dropped), or exactly `digits` with `fixed`."""
    if value is None:
        return ""
    return format_decimal(value, format=_pattern(digits, fixed=fixed), locale=LOCALE)


def format_eur(cents: int | None, *, symbol: bool = True) -> str:
    """Cents as German euro text, exact: 123456 -> "1.234,56 €" (without the sign: "1.234,56")."""
    if cents is None:
        return ""
    text = format_decimal(Decimal(cents) / 100, format=_pattern(2, fixed=True), locale=LOCALE)
    return f"{text} €" if symbol else text


def format_km(value: Number | None, *, fixed: bool = False) -> str:
    """Kilometres, without the unit: one decimal at most ("12.340", "12.340,5"); with `fixed` always one
    decimal ("12.340,0"), as the pages' tables show it so that the column lines up."""
    return format_number(value, 1, fixed=fixed)


def format_day(value: date | None, *, weekday: bool = False) -> str:
    """A calendar day as Germans write it: "02.03.2026", with `weekday` "Montag, 02.03.2026"."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    pattern = "EEEE, dd.MM.yyyy" if weekday else "dd.MM.yyyy"
    return babel_format_date(value, format=pattern, locale=LOCALE)


def format_moment(value: datetime | None, zone: ZoneInfo, pattern: str = "dd.MM.yyyy HH:mm") -> str:
    """An aware timestamp in the local zone (`zone`), e.g. "02.03.2026 09:30"."""
    if value is None:
        return ""
    return babel_format_datetime(value.astimezone(zone), format=pattern, tzinfo=zone, locale=LOCALE)

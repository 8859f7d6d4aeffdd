"""Postage reports: pieces and postage per cost centre, org unit, product, month and year.

Everything is summed by the database (GROUP BY over indexed dates) over the three sources of outgoing
mail: franking lines (sessions and imports), billed tracked items (Einschreiben, PZU), parcels. Python
only merges the few grouped rows of the three sources."""

from __future__ import annotations

import calendar
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import extract, func, literal_column, null, select
from sqlalchemy.sql.elements import Null

from mailroom.errors import ValidationFailed
from mailroom.extensions import db
from mailroom.models import OrgUnit
from mailroom.models.outgoing import LetterCount, OutgoingParcel, TrackedItem
from mailroom.services import workdays
from mailroom.services.formatting import MONTH_NAMES
from mailroom.services.outgoing.catalogue import Catalogue

MONTHS = MONTH_NAMES  # the reports' name for it
_MONTH = re.compile(r"(\d{4})-(\d{2})")


def parse_month(text: str | None, today: date) -> date:
    """`YYYY-MM` to the first day of that month; empty: the current month."""
    if not text:
        return today.replace(day=1)
    match = _MONTH.fullmatch(text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or not 2000 <= int(match.group(1)) <= 2100:
        raise ValidationFailed(f"Monat „{text}“ ist ungültig (erwartet JJJJ-MM, z. B. 2026-11).", code="invalid_month")
    return date(int(match.group(1)), int(match.group(2)), 1)


def parse_year(text: str | None, today: date) -> int:
    if not text:
        return today.year
    if not text.strip().isdigit() or not 2000 <= int(text) <= 2100:
        raise ValidationFailed(f"Jahr „{text}“ ist ungültig (erwartet JJJJ).", code="invalid_year")
    return int(text)


def month_end(start: date) -> date:
    """The first day after the month that begins on `start`."""
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def month_label(start: date) -> str:
    return f"{MONTHS[start.month - 1]} {start.year}"


@dataclass(frozen=True)
class Source:
    """One table of outgoing mail, seen through the columns every report needs."""

    name: str
    day: object
    cost_centre: object
    org_unit_id: object
    product: object
    add_on: object
    pieces: object
    postage: object
    conditions: tuple = ()
    is_parcel: bool = False


def sources() -> tuple[Source, ...]:
    return (
        Source(
            "letters",
            LetterCount.service_date,
            LetterCount.cost_centre,
            LetterCount.org_unit_id,
            LetterCount.product,
            LetterCount.add_on,
            LetterCount.count,
            LetterCount.postage_cents,
        ),
        Source(
            "tracked",
            TrackedItem.posting_date,
            TrackedItem.cost_centre,
            TrackedItem.org_unit_id,
            TrackedItem.product,
            TrackedItem.add_on,
            literal_column("1"),
            TrackedItem.postage_cents,
            (TrackedItem.billed.is_(True),),
        ),
        Source(
            "parcels",
            OutgoingParcel.service_date,
            OutgoingParcel.cost_centre,
            OutgoingParcel.org_unit_id,
            OutgoingParcel.product,
            null(),
            literal_column("1"),
            OutgoingParcel.postage_cents,
            (),
            True,
        ),
    )


def grouped(
    start: date, end: date, keys: Callable[[Source], list], *, where: Callable[[Source], list] | None = None
) -> list[tuple[Source, tuple, int, int]]:
    """(source, key values, pieces, postage) per group of every source, for start <= day < end."""
    result = []
    for source in sources():
        columns = keys(source)
        query = select(*columns, func.sum(source.pieces), func.sum(source.postage)).where(
            source.day >= start, source.day < end, *source.conditions, *(where(source) if where else [])
        )
        group_columns = [c for c in columns if not isinstance(c, Null)]
        if group_columns:
            query = query.group_by(*group_columns)
        for row in db.session.execute(query):
            *key, pieces, postage = row
            result.append((source, tuple(key), int(pieces or 0), int(postage or 0)))
    return result


def totals_by_cost_centre(start: date, end: date, cost_centres: list[str] | None = None) -> dict[str, tuple[int, int]]:
    where = (lambda s: [s.cost_centre.in_(cost_centres)]) if cost_centres else None
    merged: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for _source, (cost_centre,), pieces, postage in grouped(start, end, lambda s: [s.cost_centre], where=where):
        merged[cost_centre][0] += pieces
        merged[cost_centre][1] += postage
    return {k: (v[0], v[1]) for k, v in merged.items()}


@dataclass
class Row:
    key: str
    label: str
    pieces: int = 0
    postage_cents: int = 0
    extra: dict = field(default_factory=dict)


@dataclass
class MonthReport:
    start: date
    pieces: int
    postage_cents: int
    cost_centres: list[Row]
    org_units: list[Row]
    products: list[Row]

    @property
    def month(self) -> str:
        return f"{self.start:%Y-%m}"

    @property
    def label(self) -> str:
        return month_label(self.start)

    def as_json(self) -> dict:
        return {
            "month": self.month,
            "pieces": self.pieces,
            "postage_cents": self.postage_cents,
            "cost_centres": [
                {"cost_centre": r.key, "pieces": r.pieces, "postage_cents": r.postage_cents} for r in self.cost_centres
            ],
        }


def _product_label(catalogue: Catalogue, product: str | None, add_on: str | None) -> str:
    def name(key: str | None) -> str:
        found = catalogue.products.get(key or "")
        return found.name if found else (key or "")

    return name(product) + (f" + {name(add_on)}" if add_on else "")


def _org_unit_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = db.session.execute(select(OrgUnit.id, OrgUnit.short_name, OrgUnit.name).where(OrgUnit.id.in_(ids)))
    return {i: f"{short} {name}" for i, short, name in rows}


def period_report(start: date, end: date) -> MonthReport:
    """Pieces and postage for start <= day < end per cost centre, org unit and product, with totals."""
    catalogue = Catalogue()
    by_unit: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    by_product: dict[tuple[str, str | None], list[int]] = defaultdict(lambda: [0, 0])
    for _s, (cost_centre, unit_id, product, add_on), pieces, postage in grouped(
        start, end, lambda s: [s.cost_centre, s.org_unit_id, s.product, s.add_on]
    ):
        by_unit[(cost_centre, unit_id)][0] += pieces
        by_unit[(cost_centre, unit_id)][1] += postage
        by_product[(product, add_on)][0] += pieces
        by_product[(product, add_on)][1] += postage
    names = _org_unit_names({unit_id for _, unit_id in by_unit})
    cost_centres: dict[str, Row] = {}
    org_units = []
    for (cost_centre, unit_id), (pieces, postage) in sorted(by_unit.items()):
        row = cost_centres.setdefault(cost_centre, Row(cost_centre, ""))
        row.pieces += pieces
        row.postage_cents += postage
        row.label = ", ".join(filter(None, [row.label, names.get(unit_id, "")]))
        org_units.append(Row(str(unit_id), names.get(unit_id, "?"), pieces, postage, {"cost_centre": cost_centre}))
    order = {key: i for i, key in enumerate(catalogue.products)}
    products = [
        Row(f"{p}+{a}" if a else p, _product_label(catalogue, p, a), v[0], v[1])
        for (p, a), v in sorted(by_product.items(), key=lambda kv: (order.get(kv[0][0], 999), kv[0][1] or ""))
    ]
    rows = list(cost_centres.values())
    return MonthReport(
        start=start,
        pieces=sum(r.pieces for r in rows),
        postage_cents=sum(r.postage_cents for r in rows),
        cost_centres=rows,
        org_units=sorted(org_units, key=lambda r: r.label),
        products=products,
    )


def month_report(start: date) -> MonthReport:
    return period_report(start, month_end(start))


# --- the year view ------------------------------------------------------------------------------


@dataclass
class MonthFigures:
    month: int
    letters: int = 0
    parcels: int = 0
    postage_cents: int = 0
    working_days: int = 0

    @property
    def letters_per_working_day(self) -> int:
        return round(self.letters / self.working_days) if self.working_days else 0


@dataclass
class YearView:
    year: int
    months: list[MonthFigures]

    @property
    def letters(self) -> int:
        return sum(m.letters for m in self.months)

    @property
    def parcels(self) -> int:
        return sum(m.parcels for m in self.months)

    @property
    def postage_cents(self) -> int:
        return sum(m.postage_cents for m in self.months)

    @property
    def working_days(self) -> int:
        return sum(m.working_days for m in self.months)

    @property
    def letters_per_working_day(self) -> int:
        return round(self.letters / self.working_days) if self.working_days else 0


def working_days_per_month(year: int, through: date | None = None) -> list[int]:
    """Working days per month of `year`, counting only days up to `through` (the running year)."""
    counts = []
    for month in range(1, 13):
        days = [date(year, month, d) for d in range(1, calendar.monthrange(year, month)[1] + 1)]
        counts.append(sum(1 for d in days if (through is None or d <= through) and workdays.is_working_day(d)))
    return counts


def year_view(year: int, *, through: date | None = None) -> YearView:
    """Letters, parcels and postage per month; letters per working day count working days up to `through`
    (today, for the running year), so that a year in progress is not divided by days still to come."""
    months = [MonthFigures(m, working_days=n) for m, n in enumerate(working_days_per_month(year, through), start=1)]
    for source, (month,), pieces, postage in grouped(
        date(year, 1, 1), date(year + 1, 1, 1), lambda s: [extract("month", s.day)]
    ):
        figures = months[int(month) - 1]
        if source.is_parcel:
            figures.parcels += pieces
        else:
            figures.letters += pieces
        figures.postage_cents += postage
    return YearView(year, months)


def year_chart_svg(view: YearView, *, width: int = 720, height: int = 260) -> str:
    """A bar chart of letters per month with parcels as a line, as inline SVG (no script, no CDN).

    Only numbers and fixed German month abbreviations go into the markup."""
    left, bottom, top = 56, 28, 16
    plot_w, plot_h = width - left - 12, height - bottom - top
    peak = max([m.letters for m in view.months] + [1])
    parcel_peak = max([m.parcels for m in view.months] + [1])
    step = plot_w / 12
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Briefe und Pakete je Monat {view.year}" class="outgoing-chart">'
    ]
    for fraction in (0, 0.5, 1):
        y = top + plot_h * (1 - fraction)
        parts.append(f'<line x1="{left}" x2="{width - 12}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ccc"/>')
        label = f"{round(peak * fraction):,}".replace(",", ".")
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{label}</text>')
    points = []
    for i, m in enumerate(view.months):
        bar_h = plot_h * m.letters / peak
        x = left + i * step + step * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - bar_h:.1f}" width="{step * 0.7:.1f}" height="{bar_h:.1f}" '
            f'fill="#2f6f9f" data-month="{m.month}" data-letters="{m.letters}"><title>{MONTHS[i]}: '
            f"{m.letters} Briefe, {m.parcels} Pakete</title></rect>"
        )
        parts.append(
            f'<text x="{x + step * 0.35:.1f}" y="{height - 10}" text-anchor="middle" '
            f'font-size="11">{MONTHS[i][:3]}</text>'
        )
        points.append(f"{left + i * step + step / 2:.1f},{top + plot_h * (1 - m.parcels / parcel_peak):.1f}")
    parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="#c0392b" stroke-width="2"/>')
    parts.append("</svg>")
    return "".join(parts)

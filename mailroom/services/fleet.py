"""The vehicle logbook (Fahrtenbuch): odometer readings per van, append-only.

Rules:
- Readings never go down in time: a new reading at time t must be at least the last effective reading
  before t (and at most the first one after t, for a reading that arrives late from a phone that was offline).
- A typo is fixed by a CORRECTION: a new entry that names the reading it corrects (`corrects_id`) and says
  why (note). The corrected reading then no longer counts; the correction takes its place in time.
  Corrections are exempt from the "never down" check: that is their purpose.
- State of charge 0–100 %.
- Tour start and end write TOUR_START / TOUR_END readings; a tour's driven km = end − start.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from mailroom.errors import ValidationFailed
from mailroom.extensions import db
from mailroom.models import OdometerReading, ReadingKind, Tour, TourStatus, User, Vehicle
from mailroom.services.clock import LOCAL_TZ, day_bounds_utc, local_today, now_utc
from mailroom.services.lookup import get_or_404

MAX_KM = 2_000_000.0
NOTE_MAX = 200

KIND_LABELS = {
    ReadingKind.TOUR_START: "Tourbeginn",
    ReadingKind.TOUR_END: "Tourende",
    ReadingKind.MANUAL: "Manuell",
    ReadingKind.CORRECTION: "Korrektur",
}


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(ReadingKind(kind), kind)


def format_km(value: float) -> str:
    """12340 -> "12.340", 12340.5 -> "12.340,5" (German)."""
    text = f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def _when(reading: OdometerReading) -> str:
    return reading.at.astimezone(LOCAL_TZ).strftime("%d.%m.%Y %H:%M")


# --- reading the logbook ---------------------------------------------------------------------------


def get_vehicle(vehicle_id: int) -> Vehicle:
    return get_or_404(Vehicle, vehicle_id, "Fahrzeug nicht gefunden.")


def get_reading(reading_id: int) -> OdometerReading:
    return get_or_404(OdometerReading, reading_id, "Eintrag im Fahrtenbuch nicht gefunden.")


def vehicles() -> list[Vehicle]:
    return list(db.session.scalars(select(Vehicle).order_by(Vehicle.active.desc(), Vehicle.code)))


def readings(vehicle: Vehicle) -> list[OdometerReading]:
    """All entries of a van, oldest first (by the time they are about, then by entry)."""
    return list(
        db.session.scalars(
            select(OdometerReading)
            .where(OdometerReading.vehicle_id == vehicle.id)
            .order_by(OdometerReading.at, OdometerReading.id)
        )
    )


def corrected_ids(entries: list[OdometerReading]) -> set[int]:
    return {r.corrects_id for r in entries if r.corrects_id is not None}


def effective(entries: list[OdometerReading]) -> list[OdometerReading]:
    """The readings that count: every entry that no later correction replaced, in time order."""
    replaced = corrected_ids(entries)
    return [r for r in entries if r.id not in replaced]


def last_reading(vehicle: Vehicle) -> OdometerReading | None:
    series = effective(readings(vehicle))
    return series[-1] if series else None


def _neighbours(series: list[OdometerReading], at: datetime) -> tuple[OdometerReading | None, OdometerReading | None]:
    before = [r for r in series if r.at <= at]
    after = [r for r in series if r.at > at]
    return (before[-1] if before else None), (after[0] if after else None)


# --- writing the logbook ---------------------------------------------------------------------------


def _check_values(km: float | None, soc_percent: int | None) -> tuple[float, int | None]:
    if km is None or km == "":
        raise ValidationFailed("Bitte den Kilometerstand angeben.")
    if isinstance(km, bool) or isinstance(soc_percent, bool):
        raise ValidationFailed("Kilometerstand und Ladezustand müssen Zahlen sein.")
    try:
        km = float(km)
    except (TypeError, ValueError):
        raise ValidationFailed("Der Kilometerstand muss eine Zahl sein.") from None
    if km != km or km < 0 or km > MAX_KM:  # NaN, negative, absurd
        raise ValidationFailed(f"Der Kilometerstand muss zwischen 0 und {format_km(MAX_KM)} km liegen.")
    km = round(km, 1)
    if soc_percent is not None:
        try:
            soc = float(soc_percent)
        except (TypeError, ValueError):
            raise ValidationFailed("Der Ladezustand muss eine ganze Zahl zwischen 0 und 100 % sein.") from None
        if soc != soc or not soc.is_integer() or not 0 <= soc <= 100:
            raise ValidationFailed("Der Ladezustand muss eine ganze Zahl zwischen 0 und 100 % sein.")
        soc_percent = int(soc)
    return km, soc_percent


def check_monotonic(vehicle: Vehicle, km: float, at: datetime) -> None:
    """Refuse a reading that would make the odometer go down (German message naming the neighbour)."""
    before, after = _neighbours(effective(readings(vehicle)), at)
    if before is not None and km < before.km:
        raise ValidationFailed(
            f"Kilometerstand {format_km(km)} km ist kleiner als der letzte Stand {format_km(before.km)} km "
            f"({kind_label(before.kind)}, {_when(before)}) von {vehicle.name}. Ein Kilometerstand kann nicht "
            "sinken: bitte die Eingabe prüfen oder den falschen Eintrag im Fahrtenbuch korrigieren.",
            code="odometer_decreasing",
        )
    if after is not None and km > after.km:
        raise ValidationFailed(
            f"Kilometerstand {format_km(km)} km ist größer als der spätere Stand {format_km(after.km)} km "
            f"({kind_label(after.kind)}, {_when(after)}) von {vehicle.name}. Bitte die Eingabe prüfen oder "
            "den falschen Eintrag im Fahrtenbuch korrigieren.",
            code="odometer_decreasing",
        )


def record_reading(
    vehicle: Vehicle,
    *,
    km: float | None,
    soc_percent: int | None = None,
    kind: ReadingKind = ReadingKind.MANUAL,
    at: datetime | None = None,
    user: User | None = None,
    tour: Tour | None = None,
    note: str = "",
    client_action_id: str | None = None,
) -> OdometerReading:
    """Append a reading (not a correction: see `record_correction`)."""
    if kind == ReadingKind.CORRECTION:
        raise ValidationFailed("Eine Korrektur muss den korrigierten Eintrag nennen.")
    if client_action_id:
        existing = db.session.scalar(
            select(OdometerReading).where(OdometerReading.client_action_id == client_action_id)
        )
        if existing is not None:
            return existing
    km, soc_percent = _check_values(km, soc_percent)
    at = at or now_utc()
    if at.tzinfo is None:
        raise ValueError("naive datetime")
    if at > now_utc() + timedelta(minutes=10):
        raise ValidationFailed("Der Zeitpunkt eines Eintrags darf nicht in der Zukunft liegen.")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationFailed(f"Die Notiz darf höchstens {NOTE_MAX} Zeichen lang sein.")
    check_monotonic(vehicle, km, at)
    reading = OdometerReading(
        vehicle_id=vehicle.id,
        at=at,
        km=km,
        soc_percent=soc_percent,
        kind=kind,
        tour_id=tour.id if tour else None,
        user_id=user.id if user else None,
        note=note,
        client_action_id=client_action_id,
    )
    db.session.add(reading)
    db.session.flush()
    return reading


def record_correction(
    corrected: OdometerReading,
    *,
    km: float | None,
    soc_percent: int | None = None,
    note: str,
    user: User | None = None,
) -> OdometerReading:
    """Append a correction of `corrected`: it takes the corrected reading's place in time; the
    corrected entry stays in the logbook, marked as corrected."""
    km, soc_percent = _check_values(km, soc_percent)
    note = (note or "").strip()
    if not note:
        raise ValidationFailed("Eine Korrektur braucht eine Begründung (Notiz).")
    if len(note) > NOTE_MAX:
        raise ValidationFailed(f"Die Notiz darf höchstens {NOTE_MAX} Zeichen lang sein.")
    already = db.session.scalar(select(OdometerReading).where(OdometerReading.corrects_id == corrected.id))
    if already is not None:
        raise ValidationFailed(
            f"Dieser Eintrag wurde bereits korrigiert (Eintrag {already.id}); bitte die Korrektur korrigieren.",
            code="already_corrected",
        )
    reading = OdometerReading(
        vehicle_id=corrected.vehicle_id,
        at=corrected.at,
        km=km,
        soc_percent=soc_percent if soc_percent is not None else corrected.soc_percent,
        kind=ReadingKind.CORRECTION,
        tour_id=corrected.tour_id,
        corrects_id=corrected.id,
        user_id=user.id if user else None,
        note=note,
    )
    db.session.add(reading)
    db.session.flush()
    return reading


# --- tours --------------------------------------------------------------------------------------------


def tour_readings(tour: Tour) -> tuple[OdometerReading | None, OdometerReading | None]:
    """The effective start and end readings of a tour (a correction of either counts instead)."""
    return _start_end(list(db.session.scalars(select(OdometerReading).where(OdometerReading.tour_id == tour.id))))


def _start_end(entries: list[OdometerReading]) -> tuple[OdometerReading | None, OdometerReading | None]:
    start = end = None
    for r in sorted(effective(entries), key=lambda r: (r.at, r.id)):
        kind = _original_kind(r, entries)
        if kind == ReadingKind.TOUR_START:
            start = r
        elif kind == ReadingKind.TOUR_END:
            end = r
    return start, end


def _original_kind(reading: OdometerReading | None, entries: list[OdometerReading]) -> str | None:
    seen = 0
    while reading is not None and reading.kind == ReadingKind.CORRECTION and seen < 100:
        reading = next((e for e in entries if e.id == reading.corrects_id), None)
        seen += 1
    return reading.kind if reading is not None else None


def tour_driven_km(tour: Tour) -> float | None:
    start, end = tour_readings(tour)
    if start is None or end is None:
        return None
    return round(end.km - start.km, 1)


# --- figures for the fleet page --------------------------------------------------------------------------


@dataclass
class Period:
    label: str
    start: date
    end: date  # exclusive
    tours: int = 0
    planned_km: float = 0.0
    tour_km: float = 0.0  # driven on tours (end − start)
    driven_km: float = 0.0  # odometer over the whole period (tours and errands)
    kwh: float = 0.0
    co2_kg: float = 0.0

    @property
    def difference_km(self) -> float:
        return round(self.tour_km - self.planned_km, 1)


@dataclass
class VanReport:
    vehicle: Vehicle
    entries: list[OdometerReading]  # newest first
    corrected: set[int]
    last: OdometerReading | None
    days: list[Period] = field(default_factory=list)
    months: list[Period] = field(default_factory=list)


def _driven_between(series: list[OdometerReading], start: datetime, end: datetime) -> float:
    """Km between two instants from an effective series: last reading before `end` minus last reading before
    `start` (or the first reading in the period when there is none before)."""
    before_end = [r for r in series if r.at < end]
    if not before_end:
        return 0.0
    before_start = [r for r in series if r.at < start]
    if before_start:
        start_km = before_start[-1].km
    else:
        inside = [r for r in series if start <= r.at < end]
        if not inside:
            return 0.0
        start_km = inside[0].km
    return max(0.0, round(before_end[-1].km - start_km, 1))


def _fill(period: Period, vehicle: Vehicle, series: list[OdometerReading], tours: list[tuple[Tour, float | None]]):
    start = day_bounds_utc(period.start)[0]
    end = day_bounds_utc(period.end)[0]
    period.driven_km = _driven_between(series, start, end)
    for tour, driven in tours:
        if period.start <= tour.service_date < period.end:
            period.tours += 1
            period.planned_km += tour.planned_km or 0.0
            period.tour_km += driven or 0.0
    period.planned_km = round(period.planned_km, 1)
    period.tour_km = round(period.tour_km, 1)
    period.kwh = round(period.driven_km * vehicle.kwh_per_100km / 100.0, 1)
    period.co2_kg = round(period.kwh * float(current_app.config.get("CO2_G_PER_KWH", 380)) / 1000.0, 1)


def parse_month(value: str | None) -> date:
    """ "2026-03" -> 1 March 2026; nothing or garbage -> this month."""
    today = local_today()
    if value:
        try:
            year, month = (int(part) for part in value.split("-", 1))
            if not 2000 <= year <= 2100:
                raise ValueError(value)
            return date(year, month, 1)
        except ValueError:
            raise ValidationFailed("Ungültiger Monat (erwartet JJJJ-MM).") from None
    return today.replace(day=1)


def _next_month(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1)


MONTH_NAMES = [
    "Januar", "Februar", "März", "April", "Mai", "Juni",
    "Juli", "August", "September", "Oktober", "November", "Dezember",
]  # fmt: skip


def shift_month(first: date, months: int) -> str:
    """ "2026-03" shifted by `months` (for the page's month links)."""
    index = first.year * 12 + first.month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def current_co2_factor() -> float:
    return float(current_app.config.get("CO2_G_PER_KWH", 380))


def month_label(first: date) -> str:
    return f"{MONTH_NAMES[first.month - 1]} {first.year}"


def van_report(vehicle: Vehicle, month: date) -> VanReport:
    """The logbook of one van and its figures: per day of `month`, per month of its year."""
    entries = readings(vehicle)
    series = effective(entries)
    year_start, year_end = date(month.year, 1, 1), date(month.year + 1, 1, 1)
    tours = list(
        db.session.scalars(
            select(Tour)
            .where(
                Tour.vehicle_id == vehicle.id,
                Tour.service_date >= year_start,
                Tour.service_date < year_end,
                Tour.status != TourStatus.CANCELLED,
            )
            .order_by(Tour.service_date, Tour.id)
        )
    )
    driven = _driven_by_tour(tours)
    tour_rows = [(t, driven.get(t.id)) for t in tours]
    report = VanReport(
        vehicle=vehicle,
        entries=sorted(entries, key=lambda r: (r.at, r.id), reverse=True),
        corrected=corrected_ids(entries),
        last=series[-1] if series else None,
    )
    day = month
    month_end = _next_month(month)
    while day < month_end:
        period = Period(label=day.strftime("%d.%m.%Y"), start=day, end=day + timedelta(days=1))
        _fill(period, vehicle, series, tour_rows)
        if period.driven_km or period.tours:
            report.days.append(period)
        day += timedelta(days=1)
    first = year_start
    while first < year_end and first <= local_today():
        period = Period(label=month_label(first), start=first, end=_next_month(first))
        _fill(period, vehicle, series, tour_rows)
        report.months.append(period)
        first = _next_month(first)
    return report


def _driven_by_tour(tours: list[Tour]) -> dict[int, float | None]:
    if not tours:
        return {}
    ids = [t.id for t in tours]
    entries = list(db.session.scalars(select(OdometerReading).where(OdometerReading.tour_id.in_(ids))))
    by_tour: dict[int, list[OdometerReading]] = defaultdict(list)
    for r in entries:
        by_tour[r.tour_id].append(r)
    result: dict[int, float | None] = {}
    for tour in tours:
        start, end = _start_end(by_tour.get(tour.id, []))
        result[tour.id] = round(end.km - start.km, 1) if start and end else None
    return result


# --- CSV export ---------------------------------------------------------------------------------------

CSV_HEADER = [
    "Fahrzeug",
    "Kennzeichen",
    "Eintrag",
    "Datum",
    "Uhrzeit",
    "Art",
    "Kilometerstand",
    "Ladezustand %",
    "Tour",
    "Korrigiert Eintrag",
    "Korrigiert durch",
    "Notiz",
    "Erfasst von",
    "Erfasst am",
]


def _csv_safe(value: str) -> str:
    """Text that German Excel shows as text: no formula injection from a note."""
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value


def _number(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def logbook_csv(vehicle: Vehicle | None = None) -> bytes:
    """The logbook (all vans or one), oldest first. UTF-8 with BOM, semicolons, CRLF: German Excel."""
    query = select(OdometerReading).order_by(OdometerReading.vehicle_id, OdometerReading.at, OdometerReading.id)
    if vehicle is not None:
        query = query.where(OdometerReading.vehicle_id == vehicle.id)
    entries = list(db.session.scalars(query))
    corrected_by = {r.corrects_id: r.id for r in entries if r.corrects_id is not None}
    vans = {v.id: v for v in db.session.scalars(select(Vehicle))}
    users = {u.id: u for u in db.session.scalars(select(User))}
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for r in entries:
        van = vans[r.vehicle_id]
        local = r.at.astimezone(LOCAL_TZ)
        user = users.get(r.user_id) if r.user_id else None
        row = [
            van.code,
            van.plate,
            str(r.id),
            f"{local:%d.%m.%Y}",
            f"{local:%H:%M}",
            kind_label(r.kind),
            _number(r.km),
            "" if r.soc_percent is None else str(r.soc_percent),
            str(r.tour_id or ""),
            str(r.corrects_id or ""),
            str(corrected_by.get(r.id, "")),
            r.note or "",
            user.username if user else "",
            r.created_at.astimezone(LOCAL_TZ).strftime("%d.%m.%Y %H:%M"),
        ]
        writer.writerow([_csv_safe(value) for value in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def csv_filename(vehicle: Vehicle | None) -> str:
    stem = f"fahrtenbuch-{vehicle.code.lower()}" if vehicle else "fahrtenbuch"
    return f"{stem}-{local_today().isoformat()}.csv"

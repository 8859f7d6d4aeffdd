"""Fleet reports: km per van per day, week, month or year; planned against driven km; energy, cost and CO2
against a diesel van; the year's projection; utilisation; the days that stand out. All figures come from
`figures` (grouped in SQL per van and period), so a report of 50 vans over five years stays fast."""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from mailroom.errors import ValidationFailed
from mailroom.models import Vehicle
from mailroom.services.clock import local_today
from mailroom.services.fleet.common import format_km, month_label, setting
from mailroom.services.fleet.figures import (
    BucketFigure,
    TourFigure,
    bucket_figures,
    days_over_range,
    days_to_review,
    grid_factor,
    grid_factors,
    km_driven,
    tour_days,
    tour_figures,
    working_days,
)

GRAINS = {"day": "Tag", "week": "Woche", "month": "Monat", "year": "Jahr"}
MAX_REPORT_DAYS = 10 * 366
STANDOUT_MIN_KM = 5.0
TOUR_LIST_MAX_DAYS = 62  # the per-tour table (planned against driven) for a month or two


@dataclass
class Period:
    label: str
    start: date
    end: date  # inclusive
    km: float = 0.0
    tours: int = 0
    planned_km: float = 0.0
    tour_km: float = 0.0
    kwh: float | None = None
    kwh_km: float = 0.0  # km of the days whose energy is known (for kWh/100 km)
    cost_cents: int = 0
    co2_kg: float | None = None
    diesel_co2_kg: float = 0.0

    def add(self, f: BucketFigure, diesel_g_per_km: float) -> None:
        self.km = round(self.km + f.km, 1)
        self.tours += f.tours
        self.planned_km = round(self.planned_km + f.planned_km, 1)
        self.tour_km = round(self.tour_km + f.tour_km, 1)
        self.cost_cents += f.cost_cents
        if f.kwh is not None:
            self.kwh = round((self.kwh or 0.0) + f.kwh, 2)
            self.kwh_km = round(self.kwh_km + f.km, 1)
        if f.co2_kg is not None:
            self.co2_kg = round((self.co2_kg or 0.0) + f.co2_kg, 3)
        self.diesel_co2_kg = round(self.diesel_co2_kg + f.km * diesel_g_per_km / 1000.0, 3)

    def merge(self, other: Period) -> None:
        self.km = round(self.km + other.km, 1)
        self.tours += other.tours
        self.planned_km = round(self.planned_km + other.planned_km, 1)
        self.tour_km = round(self.tour_km + other.tour_km, 1)
        self.cost_cents += other.cost_cents
        if other.kwh is not None:
            self.kwh = round((self.kwh or 0.0) + other.kwh, 2)
            self.kwh_km = round(self.kwh_km + other.kwh_km, 1)
        if other.co2_kg is not None:
            self.co2_kg = round((self.co2_kg or 0.0) + other.co2_kg, 3)
        self.diesel_co2_kg = round(self.diesel_co2_kg + other.diesel_co2_kg, 3)

    @property
    def kwh_per_100km(self) -> float | None:
        if self.kwh is None or self.kwh_km <= 0:
            return None
        return round(self.kwh / self.kwh_km * 100.0, 1)

    @property
    def difference_km(self) -> float:
        return round(self.tour_km - self.planned_km, 1)

    @property
    def co2_saved_kg(self) -> float | None:
        return None if self.co2_kg is None else round(self.diesel_co2_kg - self.co2_kg, 1)


@dataclass
class Standout:
    day: date
    vehicle: Vehicle
    reason: str


@dataclass
class VanReport:
    vehicle: Vehicle
    periods: list[Period]
    total: Period
    tours: list[TourFigure]  # per tour, planned against driven (short periods only)
    standouts: list[Standout]
    service_days: int
    tour_days: int
    year_km: float
    projection_km: float | None
    target_km: int

    @property
    def utilisation(self) -> float | None:
        return round(self.tour_days / self.service_days * 100.0, 1) if self.service_days else None


@dataclass
class FleetReport:
    first: date
    last: date
    grain: str
    vans: list[VanReport]
    total: Period
    co2_factors: list[tuple[int, float, str]] = field(default_factory=list)
    diesel_g_per_km: float = 0.0
    charging_loss: float = 0.0

    @property
    def title(self) -> str:
        return f"Fuhrpark-Bericht {self.first:%d.%m.%Y} – {self.last:%d.%m.%Y}"


def check_range(first: date | None, last: date | None) -> tuple[date, date]:
    if first is None or last is None:
        raise ValidationFailed("Bitte Anfang und Ende des Zeitraums angeben (JJJJ-MM-TT).")
    if last < first:
        raise ValidationFailed(
            f"Das Ende des Zeitraums ({last:%d.%m.%Y}) liegt vor seinem Anfang ({first:%d.%m.%Y}).",
            code="end_before_start",
        )
    if (last - first).days > MAX_REPORT_DAYS:
        raise ValidationFailed("Ein Bericht umfasst höchstens zehn Jahre.")
    return first, last


def period_key(day: date, grain: str) -> tuple[str, date, date]:
    """(label, first day, last day) of the period of `grain` that holds `day`."""
    if grain == "day":
        return f"{day:%d.%m.%Y}", day, day
    if grain == "week":
        monday = day - timedelta(days=day.weekday())
        year, week, _ = day.isocalendar()
        return f"KW {week:02d}/{year}", monday, monday + timedelta(days=6)
    if grain == "month":
        first = day.replace(day=1)
        return month_label(first), first, first.replace(day=calendar.monthrange(day.year, day.month)[1])
    return str(day.year), date(day.year, 1, 1), date(day.year, 12, 31)


def _periods(first: date, last: date, grain: str, figures: list[BucketFigure], diesel: float) -> list[Period]:
    periods: dict[date, Period] = {}
    if grain != "day":  # every week, month or year of the range, also empty ones (charts show the gaps)
        day = first
        while day <= last:
            label, start, end = period_key(day, grain)
            periods.setdefault(start, Period(label=label, start=start, end=end))
            day = end + timedelta(days=1)
    for f in figures:
        label, start, end = period_key(f.start, grain)
        periods.setdefault(start, Period(label=label, start=start, end=end)).add(f, diesel)
    return [periods[key] for key in sorted(periods)]


def _standouts(vehicles: list[Vehicle], first: date, last: date, today: date) -> dict[int, list[Standout]]:
    """Days over the range, days off the plan, tours without both readings (older than the grace days)."""
    by_id = {v.id: v for v in vehicles}
    ids = list(by_id)
    found: dict[int, list[Standout]] = defaultdict(list)
    for vehicle_id, day, km, limit in days_over_range(ids, first, last):
        reason = f"{format_km(km)} km an einem Tag: mehr als die Reichweite ({format_km(limit)} km)"
        found[vehicle_id].append(Standout(day, by_id[vehicle_id], reason))
    stale = today - timedelta(days=int(setting("FLEET_INCOMPLETE_DAYS")))
    deviation = setting("FLEET_PLAN_DEVIATION")
    for vehicle_id, day, driven, planned, tour_id in days_to_review(
        ids, first, last, deviation, STANDOUT_MIN_KM, stale
    ):
        if planned > 0 and abs(driven - planned) > max(STANDOUT_MIN_KM, deviation * planned):
            share = (driven - planned) / planned * 100.0
            reason = f"Touren {format_km(driven)} km statt geplant {format_km(planned)} km ({share:+.0f} %)"
            found[vehicle_id].append(Standout(day, by_id[vehicle_id], reason))
        if tour_id is not None:
            reason = "Tour: Kilometerstand bei Beginn oder Ende fehlt"  # the van and day are the standout's own
            found[vehicle_id].append(Standout(day, by_id[vehicle_id], reason))
    for items in found.values():
        items.sort(key=lambda s: s.day)
    return found


def _projection(vehicle: Vehicle, year: int, today: date, year_km: float) -> float | None:
    """The year's projection at the pace so far (None for a year not begun; the km for a year gone by)."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    if vehicle.commissioned_on and vehicle.commissioned_on > start:
        start = vehicle.commissioned_on
    until = min(today, end)
    if until < start:
        return None
    if until >= end:
        return year_km
    elapsed = (until - start).days + 1
    return round(year_km / elapsed * ((end - start).days + 1), 0)


def _service_days(vehicle: Vehicle, days: list[date]) -> int:
    """The working days the van was in service (the day-by-day check only where something could stop it)."""
    if not days:
        return 0
    if (
        vehicle.active
        and not vehicle.workshop_periods
        and vehicle.unavailable_from is None
        and (vehicle.commissioned_on is None or vehicle.commissioned_on <= days[0])
    ):
        return len(days)
    return sum(1 for day in days if vehicle.is_available_on(day))


def build_report(
    first: date,
    last: date,
    *,
    grain: str = "month",
    vehicles: list[Vehicle],
    today: date | None = None,
    details: bool = True,
) -> FleetReport:
    """The fleet report of first..last. `details=False` (the CLI's JSON): the figures per period and in total
    only, without the days that stand out, the tour list, utilisation and the year's projection."""
    if grain not in GRAINS:
        raise ValidationFailed("Unbekannte Einteilung: Tag, Woche, Monat oder Jahr.")
    first, last = check_range(first, last)
    today = today or local_today()
    ids = [v.id for v in vehicles]
    diesel = setting("FLEET_DIESEL_G_PER_KM")
    figures_by_van: dict[int, list[BucketFigure]] = defaultdict(list)
    for f in bucket_figures(vehicles, first, last, grain):
        figures_by_van[f.vehicle_id].append(f)
    tours_by_van: dict[int, list[TourFigure]] = defaultdict(list)
    if details and (last - first).days <= TOUR_LIST_MAX_DAYS:
        for t in tour_figures(ids, first, last):
            tours_by_van[t.vehicle_id].append(t)
    standouts = _standouts(vehicles, first, last, today) if details else {}
    days = working_days(first, min(last, today)) if details else []
    driving_days = tour_days(ids, first, last) if details else {}
    year_start = date(last.year, 1, 1)
    year_km = {}
    if details and today >= year_start:
        year_km = km_driven(ids, year_start, min(today, date(last.year, 12, 31)))
    total = Period(label="Gesamt", start=first, end=last)
    vans = []
    for vehicle in vehicles:
        own = figures_by_van[vehicle.id]
        van_total = Period(label="Gesamt", start=first, end=last)
        for f in own:
            van_total.add(f, diesel)
        total.merge(van_total)
        km_this_year = year_km.get(vehicle.id, 0.0)
        vans.append(
            VanReport(
                vehicle=vehicle,
                periods=_periods(first, last, grain, own, diesel),
                total=van_total,
                tours=tours_by_van[vehicle.id],
                standouts=standouts.get(vehicle.id, []),
                service_days=_service_days(vehicle, days),
                tour_days=driving_days.get(vehicle.id, 0),
                year_km=km_this_year,
                projection_km=_projection(vehicle, last.year, today, km_this_year),
                target_km=vehicle.annual_km_target,
            )
        )
    stored = grid_factors()
    return FleetReport(
        first=first,
        last=last,
        grain=grain,
        vans=vans,
        total=total,
        co2_factors=[(year, *grid_factor(year, stored)) for year in range(first.year, last.year + 1)],
        diesel_g_per_km=diesel,
        charging_loss=setting("FLEET_CHARGING_LOSS"),
    )


def report_json(report: FleetReport) -> dict:
    """The contract of `mailroom fleet report --json`."""

    def number(value: float | None, digits: int = 1) -> float | None:
        return None if value is None else round(value, digits)

    return {
        "from": report.first.isoformat(),
        "to": report.last.isoformat(),
        "vehicles": [
            {
                "vehicle": van.vehicle.code,
                "km_driven": number(van.total.km),
                "km_planned": number(van.total.planned_km),
                "tours": van.total.tours,
                "kwh": number(van.total.kwh),
                "kwh_per_100km": van.total.kwh_per_100km,
                "co2_kg": number(van.total.co2_kg),
            }
            for van in report.vans
        ],
    }


def year_bounds(year: int) -> tuple[date, date]:
    if not 2000 <= year <= 2100:
        raise ValidationFailed("Ungültiges Jahr.")
    return date(year, 1, 1), date(year, 12, 31)

"""Figures per van and period, aggregated in SQL: the one place that says how many km a van drove.

km driven in a period is read off the effective logbook (corrections replace what they correct): the highest
effective odometer value up to the period's end minus the highest before its start (a van's first period counts
from its lowest reading). Readings never go down, so the highest value before a moment is the last reading
before it. The start page, the fleet pages, every report, the CLI and the exports all use `km_driven` or
`bucket_figures`, which group in SQL per van and day, week, month or year: a report of 50 vans over five years
reads a few thousand rows, not a few hundred thousand.

Energy per day: the kWh charged that day when the charging log has entries for it; otherwise the drop in state
of charge over the day's tours x battery size x (1 + charging losses). CO2 from the grid factor of the year.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import Date, and_, case, cast, exists, func, literal, or_, select
from sqlalchemy.orm import aliased

from mailroom.extensions import db
from mailroom.models import ChargingSession, GridFactor, OdometerReading, Tour, TourStatus, Vehicle
from mailroom.services.fleet.common import setting
from mailroom.services.fleet.logbook import effective_clause
from mailroom.services.workdays import is_working_day

ONE_DAY = timedelta(days=1)
DRIVEN_TOUR_STATES = (TourStatus.STARTED.value, TourStatus.FINISHED.value)


@dataclass
class BucketFigure:
    """One van in one period (day, week, month or year, named by its first day)."""

    vehicle_id: int
    start: date
    km: float = 0.0
    tours: int = 0
    planned_km: float = 0.0
    tour_km: float = 0.0  # driven on tours with both readings
    kwh: float | None = None  # from the grid
    cost_cents: int = 0
    co2_kg: float | None = None


@dataclass
class TourFigure:
    tour_id: int
    vehicle_id: int
    day: date
    planned_km: float
    driven_km: float | None  # None: start or end reading missing
    soc_used: int | None


def _ids_filter(column, vehicle_ids: Iterable[int] | None) -> list:
    return [column.in_(list(vehicle_ids))] if vehicle_ids is not None else []


def bucket(column, grain: str):
    """SQL: the first day of the day/week (Monday)/month/year that holds a date column."""
    if grain == "day":
        return column
    if db.engine.dialect.name == "postgresql":
        return cast(func.date_trunc(grain, column), Date)
    modifiers = {"week": ("-6 days", "weekday 1"), "month": ("start of month",), "year": ("start of year",)}[grain]
    return func.date(column, *(literal(m) for m in modifiers))


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _last_km_before(vehicle_ids, day: date) -> dict[int, float]:
    """Per van the last effective odometer value on a day before `day` (one indexed lookup per van: the
    newest entry that no correction replaced)."""
    r = OdometerReading
    ids = list(vehicle_ids) if vehicle_ids is not None else list(db.session.scalars(select(Vehicle.id)))
    found = {}
    for vehicle_id in ids:
        km = db.session.scalar(
            select(r.km)
            .where(r.vehicle_id == vehicle_id, r.day < day, effective_clause())
            .order_by(r.day.desc(), r.at.desc(), r.id.desc())
            .limit(1)
        )
        if km is not None:
            found[vehicle_id] = km
    return found


def _first_km_from(vehicle_ids, first: date, last: date) -> dict[int, float]:
    """Per van the odometer at its first effective entry in first..last (a trip counts from its start)."""
    r = OdometerReading
    ids = list(vehicle_ids) if vehicle_ids is not None else list(db.session.scalars(select(Vehicle.id)))
    found = {}
    for vehicle_id in ids:
        row = db.session.execute(
            select(r.km, r.start_km)
            .where(r.vehicle_id == vehicle_id, r.day >= first, r.day <= last, effective_clause())
            .order_by(r.day, r.at, r.id)
            .limit(1)
        ).first()
        if row is not None:
            found[vehicle_id] = row.start_km if row.start_km is not None else row.km
    return found


def km_by_bucket(vehicle_ids, first: date, last: date, grain: str) -> dict[tuple[int, date], float]:
    """km driven per (van, period start) for days first..last, from the effective logbook."""
    r = OdometerReading
    key = bucket(r.day, grain).label("bucket")
    rows = db.session.execute(
        select(r.vehicle_id, key, func.max(r.km), func.min(func.coalesce(r.start_km, r.km)))
        .where(effective_clause(), r.day >= first, r.day <= last, *_ids_filter(r.vehicle_id, vehicle_ids))
        .group_by(r.vehicle_id, key)
    ).all()
    before = _last_km_before({v for v, *_rest in rows}, first)
    result: dict[tuple[int, date], float] = {}
    previous: dict[int, float | None] = {}
    for vehicle_id, start, highest, lowest in sorted((v, _as_date(b), h, low) for v, b, h, low in rows):
        prior = previous.get(vehicle_id, before.get(vehicle_id))
        base = lowest if prior is None else prior
        result[(vehicle_id, start)] = max(0.0, round(highest - base, 1))
        previous[vehicle_id] = highest if prior is None else max(prior, highest)
    return result


def km_driven(vehicle_ids: Iterable[int] | None, first: date, last: date) -> dict[int, float]:
    """km driven per van between two days (inclusive). The function for "km in a period"."""
    ids = list(vehicle_ids) if vehicle_ids is not None else None
    up_to_end = _last_km_before(ids, last + ONE_DAY)
    before = _last_km_before(list(up_to_end), first)
    first_inside = _first_km_from([v for v in up_to_end if v not in before], first, last)
    totals = {}
    for vehicle_id, end_km in up_to_end.items():
        start_km = before.get(vehicle_id, first_inside.get(vehicle_id))
        totals[vehicle_id] = max(0.0, round(end_km - start_km, 1)) if start_km is not None else 0.0
    return totals


def daily_km(vehicle_ids: Iterable[int] | None, first: date, last: date) -> dict[tuple[int, date], float]:
    return km_by_bucket(list(vehicle_ids) if vehicle_ids is not None else None, first, last, "day")


def _tour_readings(vehicle_ids, first: date, last: date):
    """SQL: per tour its effective reading count, driven km (end - start) and SoC used (start - end)."""
    r = OdometerReading
    return (
        select(
            r.tour_id.label("tour_id"),
            func.count(r.id).label("n"),
            (func.max(r.km) - func.min(r.km)).label("km"),
            (func.max(r.soc_percent) - func.min(r.soc_percent)).label("soc"),
        )
        .where(
            r.tour_id.is_not(None),
            effective_clause(),
            r.day >= first - ONE_DAY,
            r.day <= last + ONE_DAY,
            *_ids_filter(r.vehicle_id, vehicle_ids),
        )
        .group_by(r.tour_id)
        .subquery()
    )


def _driven_tours(vehicle_ids, first: date, last: date):
    return (
        Tour.service_date >= first,
        Tour.service_date <= last,
        Tour.status.in_(DRIVEN_TOUR_STATES),
        *_ids_filter(Tour.vehicle_id, vehicle_ids),
    )


def tour_figures(vehicle_ids: Iterable[int] | None, first: date, last: date) -> list[TourFigure]:
    """Planned against driven km of every started or finished tour (by its service day)."""
    ids = list(vehicle_ids) if vehicle_ids is not None else None
    driven = _tour_readings(ids, first, last)
    rows = db.session.execute(
        select(Tour.id, Tour.vehicle_id, Tour.service_date, Tour.planned_km, driven.c.n, driven.c.km, driven.c.soc)
        .outerjoin(driven, driven.c.tour_id == Tour.id)
        .where(*_driven_tours(ids, first, last))
        .order_by(Tour.service_date, Tour.vehicle_id, Tour.id)
    ).all()
    return [
        TourFigure(
            tour_id=tour_id,
            vehicle_id=vehicle_id,
            day=day,
            planned_km=round(planned or 0.0, 1),
            driven_km=round(km, 1) if n and n >= 2 and km is not None else None,
            soc_used=int(soc) if n and n >= 2 and soc is not None else None,
        )
        for tour_id, vehicle_id, day, planned, n, km, soc in rows
    ]


_NEWER_CHARGE = aliased(ChargingSession, name="newer_charge")


def _effective_charges():
    return ~exists().where(_NEWER_CHARGE.corrects_id == ChargingSession.id)


def grid_factors() -> dict[int, tuple[float, str]]:
    """{year: (g CO2 per kWh, source)} as stored; years without a row use the default setting."""
    return {f.year: (f.g_per_kwh, f.source) for f in db.session.scalars(select(GridFactor))}


def grid_factor(year: int, stored: dict[int, tuple[float, str]] | None = None) -> tuple[float, str]:
    stored = grid_factors() if stored is None else stored
    if year in stored:
        return stored[year]
    return setting("CO2_G_PER_KWH"), str(current_app.config["CO2_SOURCE"])


def bucket_figures(vehicles: list[Vehicle], first: date, last: date, grain: str) -> list[BucketFigure]:
    """Every (van, period) with km, a tour or a charge in first..last: five grouped SQL queries."""
    ids = [v.id for v in vehicles]
    battery = {v.id: v.battery_kwh for v in vehicles}
    figures: dict[tuple[int, date], BucketFigure] = {}

    def figure(vehicle_id: int, start) -> BucketFigure:
        key = (vehicle_id, _as_date(start))
        if key not in figures:
            figures[key] = BucketFigure(vehicle_id=vehicle_id, start=key[1])
        return figures[key]

    for (vehicle_id, start), km in km_by_bucket(ids, first, last, grain).items():
        figure(vehicle_id, start).km = km
    driven = _tour_readings(ids, first, last)
    complete = driven.c.n >= 2
    tour_key = bucket(Tour.service_date, grain).label("bucket")
    c = ChargingSession
    # tour days without a charge entry: energy from the state of charge
    charged_that_day = exists().where(
        and_(c.vehicle_id == Tour.vehicle_id, c.day == Tour.service_date, _effective_charges())
    )
    soc_counts = and_(complete, driven.c.soc.is_not(None), ~charged_that_day)
    tour_rows = db.session.execute(
        select(
            Tour.vehicle_id,
            tour_key,
            func.count(Tour.id),
            func.sum(Tour.planned_km),
            func.sum(case((complete, driven.c.km), else_=0.0)),
            func.sum(case((soc_counts, driven.c.soc), else_=None)),
        )
        .outerjoin(driven, driven.c.tour_id == Tour.id)
        .where(*_driven_tours(ids, first, last))
        .group_by(Tour.vehicle_id, tour_key)
    ).all()
    for vehicle_id, start, count, planned, tour_km, _soc in tour_rows:
        f = figure(vehicle_id, start)
        f.tours, f.planned_km, f.tour_km = count, round(planned or 0.0, 1), round(tour_km or 0.0, 1)
    charge_key = bucket(c.day, grain).label("bucket")
    for vehicle_id, start, kwh, cost in db.session.execute(
        select(c.vehicle_id, charge_key, func.sum(c.kwh), func.sum(c.cost_cents))
        .where(_effective_charges(), c.day >= first, c.day <= last, *_ids_filter(c.vehicle_id, ids))
        .group_by(c.vehicle_id, charge_key)
    ):
        f = figure(vehicle_id, start)
        f.kwh, f.cost_cents = round(kwh or 0.0, 2), int(cost or 0)
    loss = 1.0 + setting("FLEET_CHARGING_LOSS")
    for vehicle_id, start, _count, _planned, _tour_km, soc in tour_rows:
        if soc is not None:
            f = figure(vehicle_id, start)
            f.kwh = round((f.kwh or 0.0) + soc / 100.0 * battery[vehicle_id] * loss, 2)
    stored = grid_factors()
    for f in figures.values():
        if f.kwh is not None:
            f.co2_kg = round(f.kwh * grid_factor(f.start.year, stored)[0] / 1000.0, 3)
    return sorted(figures.values(), key=lambda f: (f.vehicle_id, f.start))


# --- what stands out (per day, found in SQL) ----------------------------------------------------------


def days_over_range(vehicle_ids, first: date, last: date) -> list[tuple[int, date, float, float]]:
    """(van, day, km logged that day, rated range) where a day's readings span more than the range."""
    r = OdometerReading
    span = func.max(r.km) - func.min(func.coalesce(r.start_km, r.km))
    rows = db.session.execute(
        select(r.vehicle_id, r.day, span, Vehicle.battery_range_km)
        .join(Vehicle, Vehicle.id == r.vehicle_id)
        .where(effective_clause(), r.day >= first, r.day <= last, *_ids_filter(r.vehicle_id, vehicle_ids))
        .group_by(r.vehicle_id, r.day, Vehicle.battery_range_km)
        .having(span > Vehicle.battery_range_km)
    ).all()
    return [(v, _as_date(d), round(km, 1), limit) for v, d, km, limit in rows]


def days_to_review(vehicle_ids, first: date, last: date, share: float, minimum_km: float, stale: date):
    """(van, day, driven, planned, tour without both readings or None) for the days whose tours were more than
    `share` (and `minimum_km`) off plan, or that have a started or finished tour lacking a reading and lie before
    `stale` (the grace days for entering it)."""
    driven = _tour_readings(vehicle_ids, first, last)
    complete = func.coalesce(driven.c.n, 0) >= 2
    planned = func.sum(case((complete, Tour.planned_km), else_=0.0))
    tour_km = func.sum(case((complete, driven.c.km), else_=0.0))
    allowed = case((planned * share > minimum_km, planned * share), else_=minimum_km)
    incomplete = func.min(case((and_(~complete, Tour.service_date < stale), Tour.id), else_=None))
    rows = db.session.execute(
        select(Tour.vehicle_id, Tour.service_date, tour_km, planned, incomplete)
        .outerjoin(driven, driven.c.tour_id == Tour.id)
        .where(*_driven_tours(vehicle_ids, first, last))
        .group_by(Tour.vehicle_id, Tour.service_date)
        .having(or_(and_(planned > 0, func.abs(tour_km - planned) > allowed), incomplete.is_not(None)))
    ).all()
    return [(v, _as_date(d), round(km or 0.0, 1), round(p or 0.0, 1), t) for v, d, km, p, t in rows]


def tour_days(vehicle_ids, first: date, last: date) -> dict[int, int]:
    return dict(
        db.session.execute(
            select(Tour.vehicle_id, func.count(func.distinct(Tour.service_date)))
            .where(*_driven_tours(vehicle_ids, first, last))
            .group_by(Tour.vehicle_id)
        ).all()
    )


def working_days(first: date, last: date) -> list[date]:
    """The working days in first..last (a van "in service" is available on them)."""
    days, day = [], first
    while day <= last:
        if is_working_day(day):
            days.append(day)
        day += ONE_DAY
    return days


def recent_consumption(vehicle: Vehicle, first: date, last: date, months: tuple[int, ...], limit: int):
    """(tours, km, SoC points used) over the last `limit` complete tours of `vehicle` in first..last whose
    service day falls in `months` (one season)."""
    driven = _tour_readings([vehicle.id], first, last)
    rows = db.session.execute(
        select(driven.c.km, driven.c.soc, Tour.service_date)
        .join(driven, driven.c.tour_id == Tour.id)
        .where(driven.c.n >= 2, driven.c.km > 0, driven.c.soc.is_not(None), *_driven_tours([vehicle.id], first, last))
        .order_by(Tour.service_date.desc(), Tour.id.desc())
    ).all()
    same_season = [(km, soc) for km, soc, day in rows if _as_date(day).month in months][:limit]
    return len(same_season), sum(km for km, _ in same_season), sum(soc for _, soc in same_season)

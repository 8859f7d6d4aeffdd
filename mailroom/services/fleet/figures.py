"""Figures per van and period, aggregated in SQL: the one place that says how many km a van drove.

km driven in a period is read off the effective logbook (corrections replace what they correct): the highest
effective odometer value up to the period's end minus the highest before its start (a van's first period counts
from its lowest reading). Readings never go down, so the highest value before a moment is the last reading
before it. The start page, the fleet pages, every report, the CLI and the exports all use `km_driven` or
`bucket_figures`, which group in SQL per van and day, week, month or year over `van_days` (one row per van and
day, kept with every write by `van_days`): a report of 50 vans over five years groups 90,000 day rows, not
180,000 logbook entries and 90,000 tours.

Energy per day: the kWh charged that day when the charging log has entries for it; otherwise the drop in state
of charge over the day's tours x battery size x (1 + charging losses). CO2 from the grid factor of the year.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import Date, DateTime, and_, bindparam, case, cast, extract, func, literal, or_, select

from mailroom.extensions import db
from mailroom.models import GridFactor, OdometerReading, Tour, VanDay, Vehicle
from mailroom.services.fleet.common import setting
from mailroom.services.fleet.logbook import effective_clause
from mailroom.services.fleet.van_days import DRIVEN_TOUR_STATES, tour_reading_columns
from mailroom.services.workdays import is_working_day

ONE_DAY = timedelta(days=1)


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
    if db.engine.dialect.name == "postgresql":  # on a timestamp without zone: no zone conversion per row
        return cast(func.date_trunc(grain, cast(column, DateTime())), Date)
    modifiers = {"week": ("-6 days", "weekday 1"), "month": ("start of month",), "year": ("start of year",)}[grain]
    return func.date(column, *(literal(m) for m in modifiers))


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _last_km_before(vehicle_ids, day: date) -> dict[int, float]:
    """Per van the last effective odometer value on a day before `day` (one indexed lookup per van: the
    highest value of its last day with entries)."""
    d = VanDay
    latest = (
        select(d.high_km)
        .where(d.vehicle_id == Vehicle.id, d.day < day, d.high_km.is_not(None))
        .order_by(d.day.desc())
        .limit(1)
        .scalar_subquery()
    )
    rows = db.session.execute(select(Vehicle.id, latest).where(*_ids_filter(Vehicle.id, vehicle_ids))).all()
    return {vehicle_id: km for vehicle_id, km in rows if km is not None}


def _first_km_from(vehicle_ids, first: date, last: date) -> dict[int, float]:
    """Per van the odometer at its first effective entry in first..last (a trip counts from its start)."""
    d = VanDay
    earliest = (
        select(d.low_km)
        .where(d.vehicle_id == Vehicle.id, d.day >= first, d.day <= last, d.low_km.is_not(None))
        .order_by(d.day)
        .limit(1)
        .scalar_subquery()
    )
    rows = db.session.execute(select(Vehicle.id, earliest).where(*_ids_filter(Vehicle.id, vehicle_ids))).all()
    return {vehicle_id: km for vehicle_id, km in rows if km is not None}


def _chain_km(rows, before: dict[int, float]) -> dict[tuple[int, date], float]:
    """km per (van, period) from each period's highest and lowest value: the highest minus the previous
    period's highest (the last value before the first period; a van's first entry ever: its lowest)."""
    result: dict[tuple[int, date], float] = {}
    previous: dict[int, float | None] = {}
    for vehicle_id, start, highest, lowest in sorted(rows):
        prior = previous.get(vehicle_id, before.get(vehicle_id))
        base = lowest if prior is None else prior
        result[(vehicle_id, start)] = max(0.0, round(highest - base, 1))
        previous[vehicle_id] = highest if prior is None else max(prior, highest)
    return result


def km_by_bucket(vehicle_ids, first: date, last: date, grain: str) -> dict[tuple[int, date], float]:
    """km driven per (van, period start) for days first..last, from the effective logbook."""
    d = VanDay
    key = bucket(d.day, grain).label("bucket")
    rows = db.session.execute(
        select(d.vehicle_id, key, func.max(d.high_km), func.min(d.low_km))
        .where(d.high_km.is_not(None), d.day >= first, d.day <= last, *_ids_filter(d.vehicle_id, vehicle_ids))
        .group_by(d.vehicle_id, key)
    ).all()
    before = _last_km_before({v for v, *_rest in rows}, first)
    return _chain_km([(v, _as_date(b), h, low) for v, b, h, low in rows], before)


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
        select(*tour_reading_columns())
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


def grid_factors() -> dict[int, tuple[float, str]]:
    """{year: (g CO2 per kWh, source)} as stored; years without a row use the default setting."""
    return {f.year: (f.g_per_kwh, f.source) for f in db.session.scalars(select(GridFactor))}


def grid_factor(year: int, stored: dict[int, tuple[float, str]] | None = None) -> tuple[float, str]:
    stored = grid_factors() if stored is None else stored
    if year in stored:
        return stored[year]
    return setting("CO2_G_PER_KWH"), str(current_app.config["CO2_SOURCE"])


def bucket_figures(vehicles: list[Vehicle], first: date, last: date, grain: str) -> list[BucketFigure]:
    """Every (van, period) with km, a tour or a charge in first..last: one grouped SQL query over `van_days`
    (and one indexed lookup per van for the last km before the range)."""
    ids = [v.id for v in vehicles]
    battery = {v.id: v.battery_kwh for v in vehicles}
    d = VanDay
    key = bucket(d.day, grain).label("bucket")
    rows = db.session.execute(
        select(
            d.vehicle_id,
            key,
            func.max(d.high_km),
            func.min(d.low_km),
            func.sum(d.tours),
            func.sum(d.planned_km),
            func.sum(d.tour_km),
            func.sum(d.charged_kwh),
            func.sum(d.cost_cents),
            # tour days without a charge entry: energy from the state of charge
            func.sum(case((d.charged_kwh.is_(None), d.soc_used), else_=None)),
        )
        .where(d.day >= first, d.day <= last, *_ids_filter(d.vehicle_id, ids))
        .group_by(d.vehicle_id, key)
    ).all()
    with_km = [(v, _as_date(b), high, low) for v, b, high, low, *_rest in rows if high is not None]
    km = _chain_km(with_km, _last_km_before({v for v, *_rest in with_km}, first))
    loss = 1.0 + setting("FLEET_CHARGING_LOSS")
    stored = grid_factors()
    figures = []
    for vehicle_id, start, _high, _low, tours, planned, tour_km, charged, cost, soc in rows:
        f = BucketFigure(vehicle_id=vehicle_id, start=_as_date(start))
        f.km = km.get((vehicle_id, f.start), 0.0)
        f.tours, f.planned_km, f.tour_km = int(tours or 0), round(planned or 0.0, 1), round(tour_km or 0.0, 1)
        if charged is not None:
            f.kwh, f.cost_cents = round(charged, 2), int(cost or 0)
        if soc is not None:
            f.kwh = round((f.kwh or 0.0) + soc / 100.0 * battery[vehicle_id] * loss, 2)
        if f.kwh is not None:
            f.co2_kg = round(f.kwh * grid_factor(f.start.year, stored)[0] / 1000.0, 3)
        figures.append(f)
    return sorted(figures, key=lambda f: (f.vehicle_id, f.start))


# --- what stands out (per day, from `van_days`) --------------------------------------------------------


def days_over_range(vehicle_ids, first: date, last: date) -> list[tuple[int, date, float, float]]:
    """(van, day, km logged that day, rated range) where a day's readings span more than the range."""
    d = VanDay
    span = d.high_km - d.low_km
    rows = db.session.execute(
        select(d.vehicle_id, d.day, span, Vehicle.battery_range_km)
        .join(Vehicle, Vehicle.id == d.vehicle_id)
        .where(d.day >= first, d.day <= last, span > Vehicle.battery_range_km, *_ids_filter(d.vehicle_id, vehicle_ids))
    ).all()
    return [(v, _as_date(day), round(km, 1), limit) for v, day, km, limit in rows]


def days_to_review(vehicle_ids, first: date, last: date, share: float, minimum_km: float, stale: date):
    """(van, day, driven, planned, tour without both readings or None) for the days whose complete tours were
    more than `share` (and `minimum_km`) off plan, or that have a started or finished tour lacking a reading
    and lie before `stale` (the grace days for entering it)."""
    d = VanDay
    planned = d.complete_planned_km
    allowed = case((planned * share > minimum_km, planned * share), else_=minimum_km)
    incomplete = case((d.day < stale, d.incomplete_tour_id), else_=None)
    rows = db.session.execute(
        select(d.vehicle_id, d.day, d.tour_km, planned, incomplete).where(
            d.day >= first,
            d.day <= last,
            d.tours > 0,
            or_(and_(planned > 0, func.abs(d.tour_km - planned) > allowed), incomplete.is_not(None)),
            *_ids_filter(d.vehicle_id, vehicle_ids),
        )
    ).all()
    return [(v, _as_date(day), round(km or 0.0, 1), round(p or 0.0, 1), t) for v, day, km, p, t in rows]


def tour_days(vehicle_ids, first: date, last: date) -> dict[int, int]:
    d = VanDay
    return dict(
        db.session.execute(
            select(d.vehicle_id, func.count(d.day))
            .where(d.tours > 0, d.day >= first, d.day <= last, *_ids_filter(d.vehicle_id, vehicle_ids))
            .group_by(d.vehicle_id)
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


@functools.cache
def _season_statements():
    """(days, tours) for `recent_consumption`, built once with bound parameters (called per van)."""
    d = VanDay
    vehicle, first, last = bindparam("vehicle_id"), bindparam("first"), bindparam("last")
    months, limit = bindparam("months", expanding=True), bindparam("limit")
    days = (
        select(d.day)
        .where(
            d.vehicle_id == vehicle,
            d.day >= first,
            d.day <= last,
            d.complete_tours > 0,
            d.soc_used.is_not(None),
            extract("month", d.day).in_(months),
        )
        .order_by(d.day.desc())
        .limit(limit)
    )
    r = OdometerReading
    driven = (
        select(*tour_reading_columns())
        .where(
            r.tour_id.is_not(None),
            effective_clause(),
            r.vehicle_id == vehicle,
            r.day >= bindparam("readings_from"),  # a day either side, as `_tour_readings`
            r.day <= bindparam("readings_to"),
        )
        .group_by(r.tour_id)
        .subquery()
    )
    tours = (
        select(driven.c.km, driven.c.soc)
        .select_from(Tour)
        .join(driven, driven.c.tour_id == Tour.id)
        .where(
            driven.c.n >= 2,
            driven.c.km > 0,
            driven.c.soc.is_not(None),
            extract("month", Tour.service_date).in_(months),
            Tour.vehicle_id == vehicle,
            Tour.service_date >= first,
            Tour.service_date <= last,
            Tour.status.in_(DRIVEN_TOUR_STATES),
        )
        .order_by(Tour.service_date.desc(), Tour.id.desc())
        .limit(limit)
    )
    return days, tours


def recent_consumption(vehicle: Vehicle, first: date, last: date, months: tuple[int, ...], limit: int):
    """(tours, km, SoC points used) over the last `limit` complete tours of `vehicle` in first..last whose
    service day falls in `months` (one season). The last `limit` such days in `van_days` bound the search (each
    holds at least one complete tour); the whole period only if they hold fewer such tours."""
    days, tours = _season_statements()
    parameters = {"vehicle_id": vehicle.id, "first": first, "last": last, "months": list(months), "limit": limit}
    found_days = db.session.scalars(days, parameters).all()
    if not found_days:
        return 0, 0, 0
    since = _as_date(found_days[-1])

    def season_tours(start: date):
        readings = {"readings_from": start - ONE_DAY, "readings_to": last + ONE_DAY}
        return db.session.execute(tours, {**parameters, "first": start, **readings}).all()

    found = season_tours(since)
    if len(found) < limit and since > first:
        found = season_tours(first)
    return len(found), sum(km for km, _ in found), sum(soc for _, soc in found)

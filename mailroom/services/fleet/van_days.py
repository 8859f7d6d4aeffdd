"""The per-van, per-day figures the reports group (`VanDay`), kept in the same transaction as every write.

A flush that adds a logbook entry or a charge, or adds, moves, changes or deletes a tour, makes the fleet
service compute the `van_days` rows of the (van, day)s it touched again, in SQL from the rows themselves:
- from the effective logbook (corrections replace what they correct): the highest odometer value of the day
  and the lowest (a trip counts from its start);
- from the van's started or finished tours of that service day: how many, planned km, and of those with a start
  and an end reading (effective, a correction counts instead) how many, their planned km, driven km and the
  state-of-charge points used; the first tour that lacks a reading; how many lack an effective start or end
  entry of their own kind (a correction may stand for either: `lines.incomplete_tours` looks at those);
- from the charging log (effective entries): kWh and cost.
The van's row is locked first (PostgreSQL: FOR NO KEY UPDATE), so two transactions writing for the same van
compute one after the other, each from what the other committed. Rows written past the ORM (bulk inserts of
the benchmark, a restore) are made again by `rebuild` (`mailroom fleet rebuild-days`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import date

from sqlalchemy import and_, bindparam, case, delete, event, exists, func, insert, inspect, or_, select
from sqlalchemy.orm import Session, aliased

from mailroom.models import ChargingSession, OdometerReading, ReadingKind, Tour, TourStatus, VanDay, Vehicle
from mailroom.services.fleet.logbook import effective_clause

DRIVEN_TOUR_STATES = (TourStatus.STARTED.value, TourStatus.FINISHED.value)
TOUR_FIELDS = ("vehicle_id", "service_date", "status", "planned_km")  # what of a tour the rows hold
LISTED_DAYS_MAX = 100  # more days of one van in one flush: one range instead of a list
INSERT_CHUNK = 5_000

_NEWER_CHARGE = aliased(ChargingSession, name="newer_charge")

Keys = dict[int, set[date]]  # van id -> days
Filter = dict[int, set[date] | None]  # van id -> days (None: all its days)


def effective_charges():
    """SQL: the charge was not replaced by a correction."""
    return ~exists().where(_NEWER_CHARGE.corrects_id == ChargingSession.id)


def tour_reading_columns() -> tuple:
    """SQL, per tour (grouped by tour_id): its reading count `n`, driven km (end - start) and SoC used."""
    r = OdometerReading
    return (
        r.tour_id.label("tour_id"),
        func.count(r.id).label("n"),
        (func.max(r.km) - func.min(r.km)).label("km"),
        (func.max(r.soc_percent) - func.min(r.soc_percent)).label("soc"),
    )


def _where(vehicle_column, day_column, form: str) -> list:
    """SQL: the rows of one form of filter: "all"; "van" (:vehicle_id); "days" (:vehicle_id, :days);
    "range" (:vehicle_id, :first..:last)."""
    if form == "all":
        return []
    van = vehicle_column == bindparam("vehicle_id")
    if form == "van":
        return [van]
    if form == "days":
        return [van, day_column.in_(bindparam("days", expanding=True))]
    return [van, day_column.between(bindparam("first"), bindparam("last"))]


@functools.cache
def _statements(form: str):
    """(logbook, tours, charges, delete) for one form of filter, built once (a flush runs them often)."""
    r, c = OdometerReading, ChargingSession
    logbook = (
        select(r.vehicle_id, r.day, func.max(r.km), func.min(func.coalesce(r.start_km, r.km)))
        .where(effective_clause(), *_where(r.vehicle_id, r.day, form))
        .group_by(r.vehicle_id, r.day)
    )
    tour_filter = [Tour.vehicle_id.is_not(None), Tour.status.in_(DRIVEN_TOUR_STATES)]
    tour_filter += _where(Tour.vehicle_id, Tour.service_date, form)
    per_tour = select(
        *tour_reading_columns(),
        func.sum(case((r.kind == ReadingKind.TOUR_START.value, 1), else_=0)).label("starts"),
        func.sum(case((r.kind == ReadingKind.TOUR_END.value, 1), else_=0)).label("ends"),
    ).where(r.tour_id.is_not(None), effective_clause())
    if form != "all":
        per_tour = per_tour.where(r.tour_id.in_(select(Tour.id).where(*tour_filter)))
    driven = per_tour.group_by(r.tour_id).subquery()
    complete = func.coalesce(driven.c.n, 0) >= 2
    lacks_a_kind = or_(func.coalesce(driven.c.starts, 0) == 0, func.coalesce(driven.c.ends, 0) == 0)
    planned = func.coalesce(Tour.planned_km, 0.0)
    tours = (
        select(
            Tour.vehicle_id,
            Tour.service_date,
            func.count(Tour.id),
            func.sum(planned),
            func.sum(case((complete, 1), else_=0)),
            func.sum(case((complete, planned), else_=0.0)),
            func.sum(case((complete, driven.c.km), else_=0.0)),
            func.sum(case((and_(complete, driven.c.soc.is_not(None)), driven.c.soc), else_=None)),
            func.min(case((~complete, Tour.id), else_=None)),
            func.sum(case((lacks_a_kind, 1), else_=0)),
        )
        .outerjoin(driven, driven.c.tour_id == Tour.id)
        .where(*tour_filter)
        .group_by(Tour.vehicle_id, Tour.service_date)
    )
    charges = (
        select(c.vehicle_id, c.day, func.sum(c.kwh), func.sum(c.cost_cents))
        .where(effective_charges(), *_where(c.vehicle_id, c.day, form))
        .group_by(c.vehicle_id, c.day)
    )
    return logbook, tours, charges, delete(VanDay).where(*_where(VanDay.vehicle_id, VanDay.day, form))


def _forms(keys: Filter | None) -> list[tuple[str, dict]]:
    """The filters (form, parameters) that together cover `keys`: one per van."""
    if keys is None:
        return [("all", {})]
    forms = []
    for vehicle_id, days in sorted(keys.items()):
        if days is None:
            forms.append(("van", {"vehicle_id": vehicle_id}))
        elif len(days) > LISTED_DAYS_MAX:
            forms.append(("range", {"vehicle_id": vehicle_id, "first": min(days), "last": max(days)}))
        else:
            forms.append(("days", {"vehicle_id": vehicle_id, "days": sorted(days)}))
    return forms


def _blank(vehicle_id: int, day: date) -> dict:
    return {
        "vehicle_id": vehicle_id,
        "day": day,
        "high_km": None,
        "low_km": None,
        "tours": 0,
        "planned_km": 0.0,
        "complete_tours": 0,
        "complete_planned_km": 0.0,
        "tour_km": 0.0,
        "soc_used": None,
        "incomplete_tour_id": None,
        "open_tours": 0,
        "charged_kwh": None,
        "cost_cents": 0,
    }


def compute(connection, keys: Filter | None) -> list[dict]:
    """The `van_days` rows of `keys` (None: all), from the logbook, the tours and the charging log."""
    rows: dict[tuple[int, date], dict] = {}

    def row(vehicle_id: int, day) -> dict:
        day = day if isinstance(day, date) else date.fromisoformat(str(day)[:10])
        if (vehicle_id, day) not in rows:
            rows[(vehicle_id, day)] = _blank(vehicle_id, day)
        return rows[(vehicle_id, day)]

    for form, parameters in _forms(keys):
        logbook, tours, charges, _delete = _statements(form)
        for vehicle_id, day, high, low in connection.execute(logbook, parameters):
            item = row(vehicle_id, day)
            item["high_km"], item["low_km"] = high, low
        for (
            vehicle_id,
            day,
            count,
            planned,
            complete,
            complete_planned,
            tour_km,
            soc,
            incomplete,
            unchecked,
        ) in connection.execute(tours, parameters):
            row(vehicle_id, day).update(  # sums as they are: the reports round what they add up
                tours=count,
                planned_km=planned or 0.0,
                complete_tours=int(complete or 0),
                complete_planned_km=complete_planned or 0.0,
                tour_km=tour_km or 0.0,
                soc_used=None if soc is None else int(soc),
                incomplete_tour_id=incomplete,
                open_tours=int(unchecked or 0),
            )
        for vehicle_id, day, kwh, cost in connection.execute(charges, parameters):
            item = row(vehicle_id, day)
            item["charged_kwh"], item["cost_cents"] = kwh or 0.0, int(cost or 0)
    return [rows[key] for key in sorted(rows)]


def _replace(connection, keys: Filter | None) -> int:
    found = compute(connection, keys)
    for form, parameters in _forms(keys):
        connection.execute(_statements(form)[3], parameters)
    for start in range(0, len(found), INSERT_CHUNK):
        connection.execute(insert(VanDay), found[start : start + INSERT_CHUNK])
    return len(found)


def refresh(connection, keys: Keys) -> None:
    """Compute the rows of `keys` again (the van rows locked first, in id order)."""
    keys = {vehicle_id: days for vehicle_id, days in keys.items() if vehicle_id is not None and days}
    if not keys:
        return
    connection.execute(
        select(Vehicle.id).where(Vehicle.id.in_(sorted(keys))).order_by(Vehicle.id).with_for_update(key_share=True)
    ).all()
    wanted: Filter = dict(keys)
    _replace(connection, wanted)


def rebuild(session: Session, vehicle_ids: Iterable[int] | None = None) -> int:
    """Make every row again (of some vans); returns how many rows that made. The caller commits."""
    keys = None if vehicle_ids is None else dict.fromkeys(sorted(set(vehicle_ids)))
    return _replace(session.connection(), keys)


# --- which (van, day)s a flush touched ---------------------------------------------------------------


def _history_values(obj, attribute: str) -> set:
    history = inspect(obj).attrs[attribute].history
    values = {getattr(obj, attribute)}
    values.update(history.deleted or ())
    return {v for v in values if v is not None}


def _tour_changed(tour: Tour) -> bool:
    state = inspect(tour)
    return any(state.attrs[name].history.has_changes() for name in TOUR_FIELDS)


def touched(session: Session) -> tuple[Keys, set[int], set[int], set[int]]:
    """(van -> days, tour ids, corrected reading ids, corrected charge ids) of the pending objects."""
    keys: Keys = {}
    tour_ids: set[int] = set()
    corrected_readings: set[int] = set()
    corrected_charges: set[int] = set()

    def add(vehicle_id, day) -> None:
        if vehicle_id is not None and day is not None:
            keys.setdefault(vehicle_id, set()).add(day)

    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, OdometerReading):
            add(obj.vehicle_id, obj.day)
            if obj.tour_id is not None:
                tour_ids.add(obj.tour_id)
            if obj.corrects_id is not None:
                corrected_readings.add(obj.corrects_id)
        elif isinstance(obj, Tour) and (obj not in session.dirty or _tour_changed(obj)):
            for vehicle_id in _history_values(obj, "vehicle_id"):
                for day in _history_values(obj, "service_date"):
                    add(vehicle_id, day)
        elif isinstance(obj, ChargingSession):
            add(obj.vehicle_id, obj.day)
            if obj.corrects_id is not None:
                corrected_charges.add(obj.corrects_id)
    return keys, tour_ids, corrected_readings, corrected_charges


@event.listens_for(Session, "after_flush")
def _keep_van_days(session: Session, _flush_context) -> None:
    keys, tour_ids, corrected_readings, corrected_charges = touched(session)
    if not (keys or tour_ids):
        return
    connection = session.connection()
    more = []
    if tour_ids:
        more += connection.execute(select(Tour.vehicle_id, Tour.service_date).where(Tour.id.in_(tour_ids))).all()
    if corrected_readings:
        r = OdometerReading
        more += connection.execute(select(r.vehicle_id, r.day).where(r.id.in_(corrected_readings))).all()
    if corrected_charges:
        c = ChargingSession
        more += connection.execute(select(c.vehicle_id, c.day).where(c.id.in_(corrected_charges))).all()
    for vehicle_id, day in more:
        if vehicle_id is not None and day is not None:
            keys.setdefault(vehicle_id, set()).add(day)
    refresh(connection, keys)

"""A van's breakdown: its open stops go to the day's other tours and to a free van, from where each
van is now; the items still in the broken van are named as to be fetched, and its courier is told."""

from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy import select

import routes
from mailroom.extensions import db
from mailroom.models import (
    EventKind,
    ItemStatus,
    MailEvent,
    MailItem,
    PlanRun,
    PlanRunKind,
    StopStatus,
    Tour,
    TourStatus,
    TourStop,
    User,
)
from mailroom.services import clock
from mailroom.services.dates import hhmm_minutes
from mailroom.services.dispatch.adjust import (
    now_minutes,
    record_adjust,
    require_adjustable,
    rewrite_tour,
    solve_pool,
    tour_state,
)
from mailroom.services.dispatch.day import (
    available_vehicles,
    couriers,
    drivers_for_day,
    reason_label,
    setting,
    tours_of,
    usable_range_km,
)


def _tours_for_free_vans(broken: Tour, now_min: float) -> list[Tour]:
    """New (planned) tours for the vans available on the broken tour's day that have no tour yet, each
    with a courier who drives nothing else that day (the van's usual driver if free)."""
    day = broken.service_date
    tours = tours_of(day)
    used = {t.vehicle_id for t in tours} | {broken.vehicle_id}
    free = [v for v in available_vehicles(day) if v.id not in used]
    if not free:
        return []
    busy = {t.driver_id for t in tours if t.driver_id is not None and t.status != TourStatus.FINISHED}
    people = [u.id for u in couriers() if u.id not in busy]
    usual = drivers_for_day(day, free)
    start = clock.local_minutes_to_utc(day, max(math.ceil(now_min), hhmm_minutes(setting("DISPATCH_SHIFT_START"))))
    made = []
    for vehicle in free:
        driver = usual.get(vehicle.id) if usual.get(vehicle.id) in people else (people[0] if people else None)
        if driver in people:
            people.remove(driver)
        new = Tour(
            service_date=day,
            vehicle_id=vehicle.id,
            driver_id=driver,
            status=TourStatus.PLANNED,
            planned_start=start,
            range_km=round(usable_range_km(vehicle, day), 2),
        )
        db.session.add(new)
        made.append(new)
    db.session.flush()
    return made


def breakdown_notice(tour: Tour) -> dict | None:
    """For the courier of a van that broke down: which tours took over its open stops (van, driver) and
    the items still in the van that another van fetches. None unless the tour was cancelled."""
    if tour.status != TourStatus.CANCELLED:
        return None
    loaded_here = (
        select(MailEvent.item_id)
        .where(MailEvent.tour_id == tour.id, MailEvent.kind == EventKind.LOADED)
        .scalar_subquery()
    )
    items = list(
        db.session.scalars(
            select(MailItem)
            .where(MailItem.id.in_(loaded_here), MailItem.status == ItemStatus.LOADED)
            .order_by(MailItem.id)
        )
    )
    takers: dict[int, Tour] = {}
    fetch: list[dict] = []
    back: list[str] = []
    for item in items:
        stop = db.session.get(TourStop, item.tour_stop_id) if item.tour_stop_id is not None else None
        if stop is not None and stop.tour_id != tour.id and stop.status == StopStatus.OPEN:
            takers[stop.tour_id] = stop.tour
            fetch.append({"code": item.code, "vehicle": stop.tour.vehicle.code, "site": stop.site.name})
        else:
            back.append(item.code)
    for other in tours_of(tour.service_date, include_cancelled=False):
        if any(s.note and f"Ausfall {tour.vehicle.code}" in s.note for s in other.stops):
            takers[other.id] = other
    return {
        "takers": [
            {"vehicle": t.vehicle.code, "driver": t.driver.display_name if t.driver else ""}
            for t in sorted(takers.values(), key=lambda t: t.vehicle.code)
        ],
        "fetch": fetch,
        "back": back,
    }


def replan_breakdown(
    tour: Tour,
    *,
    user: User | None = None,
    now: datetime | None = None,
    position: tuple[float, float] | None = None,
    time_limit_s: float | None = None,
) -> PlanRun:
    """A van broke down: its open stops go to the day's other tours, each re-planned from where its van
    is now (its last done stop, the depot if not yet started, or `position` (lat, lon) if given).
    Stops no van can serve stay on the broken tour as skipped, with the reason; their sorted items
    go back to the shelf. The broken tour is marked cancelled."""
    require_adjustable(tour)
    day = tour.service_date
    others = [
        t
        for t in tours_of(day, include_cancelled=False)
        if t.id != tour.id and t.status in (TourStatus.PLANNED, TourStatus.STARTED)
    ]
    limit = float(time_limit_s or setting("DISPATCH_ADJUST_TIME_LIMIT_S"))
    now_min = now_minutes(day, now)
    broken_open = [s for s in tour.stops if s.status == StopStatus.OPEN and not s.is_depot]
    others = [t for t in others if t.vehicle.is_available_on(day)]
    states = [tour_state(t, day, now_min, None, position) for t in others]
    # Vans free that day (available, no tour yet) take part too: a new tour from the depot, leaving now.
    fresh = _tours_for_free_vans(tour, now_min) if broken_open else []
    states += [tour_state(t, day, now_min, None, None) for t in fresh]
    others += fresh
    pool = [s for t in others for s in t.stops if s.status == StopStatus.OPEN and not s.is_depot and not s.pinned]
    pool += broken_open
    warm = {t.vehicle.code: [s.site.code for s in t.stops if s in pool and s.tour_id == t.id] for t in others}
    if states:
        plan = solve_pool(day, states, pool, warm, limit)
    else:
        plan = routes.Plan(
            tours=[],
            unserved=[
                routes.Unserved(s.site.code, routes.UnservedReason.NO_VEHICLE, "kein anderes Fahrzeug unterwegs")
                for s in broken_open
            ],
            total_km=0.0,
            solve_time_s=0.0,
        )
    unserved_codes = {u.stop_id: u for u in (plan.unserved if plan else [])}
    pool_by_code = {s.site.code: s for s in pool}
    for state in states:
        rewrite_tour(day, state, plan, pool_by_code)
    # What no van can serve any more stays where it was, skipped with the reason; its sorted items
    # go back to the shelf (loaded ones stay with their stop until the courier brings them back).
    unserved: list[dict] = []
    for code, u in unserved_codes.items():
        stop = pool_by_code.get(code)
        if stop is None:
            continue
        stop.status = StopStatus.SKIPPED
        prefix = "Fahrzeugausfall, nicht übernommen" if stop in broken_open else "Nach Fahrzeugausfall nicht erreichbar"
        stop.skip_reason = f"{prefix}: {reason_label(u.reason)}"[:200]
        stop.position = 10_000 + len(unserved)
        for item in db.session.scalars(select(MailItem).where(MailItem.tour_stop_id == stop.id)):
            if item.status == ItemStatus.SORTED:
                item.tour_stop_id = None
        unserved.append({"site": u.stop_id, "reason": str(u.reason), "detail": u.detail})
    # The items loaded in the broken van for stops another van now serves: to be fetched from it.
    code = tour.vehicle.code
    db.session.flush()
    for stop in broken_open:
        if stop.tour_id == tour.id or stop.status != StopStatus.OPEN:
            continue
        stuck = [i for i in db.session.scalars(select(MailItem).where(MailItem.tour_stop_id == stop.id))
                 if i.status == ItemStatus.LOADED]  # fmt: skip
        note = f"Übernommen nach Ausfall {code}"
        if stuck:
            count = f"{len(stuck)} Sendung{'en' if len(stuck) != 1 else ''}"
            note += f": {count} im Fahrzeug {code} abholen ({', '.join(i.code for i in stuck)})"
        stop.note = (f"{note}; {stop.note}" if stop.note else note)[:200]
    for fresh_tour in fresh:
        if not any(not s.is_depot for s in fresh_tour.stops):  # the solver did not need this van
            for stop in list(fresh_tour.stops):
                fresh_tour.stops.remove(stop)
                db.session.delete(stop)
            others.remove(fresh_tour)
            db.session.delete(fresh_tour)
    for other in others:
        for number, stop in enumerate(sorted(other.stops, key=lambda s: s.position), start=1):
            stop.position = number
    for stop in list(tour.stops):
        if stop.status == StopStatus.OPEN and stop.is_depot:
            tour.stops.remove(stop)
            db.session.delete(stop)
    # Numbers as the courier sees them: done stops first, then what was left (never 10000 and up).
    for number, stop in enumerate(sorted(tour.stops, key=lambda s: s.position), start=1):
        stop.position = number
    tour.status = TourStatus.CANCELLED
    vehicle = tour.vehicle
    if vehicle.is_available_on(day):
        vehicle.unavailable_from = day
        vehicle.unavailable_until = day
        vehicle.unavailable_note = "Ausfall während der Tour"
    db.session.flush()
    return record_adjust(day, PlanRunKind.BREAKDOWN, user, unserved, limit)

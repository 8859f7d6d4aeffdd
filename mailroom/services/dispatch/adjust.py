"""Adjusting a planned day: pin stops, re-plan the rest of a tour, move a stop, a van's breakdown.

Each adjustment re-plans only the open part of the tours concerned, from where each van is now, and
refuses (nothing changed, the caller rolls back) if a stop could then not be served or a courier
order would be split. Each is recorded as a plan run (kind adjust or breakdown).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import date, datetime

import routes
from mailroom.errors import InvalidTransition, PlanningFailed, ValidationFailed
from mailroom.extensions import db
from mailroom.models import (
    PlanRun,
    PlanRunKind,
    PlanRunStatus,
    Site,
    StopStatus,
    Tour,
    TourStatus,
    TourStop,
    User,
)
from mailroom.services import clock
from mailroom.services.dates import hhmm_minutes
from mailroom.services.dispatch.day import (
    courier_pairs,
    depot_site,
    reason_label,
    setting,
    tours_of,
    usable_range_km,
)
from mailroom.services.dispatch.problem import (
    apply_visit,
    circuity,
    distance_matrix,
    leg,
    location,
    routes_depot,
    routes_stop,
    routes_vehicle,
    tour_stop_from_visit,
    window,
)
from mailroom.services.dispatch.runs import ensure_not_planning


def check_courier_orders(day: date) -> None:
    """After an adjustment: each courier order whose two stops are both still open must stay on one
    tour, pickup first; otherwise the change is refused (the caller rolls back)."""
    open_stops: dict[str, TourStop] = {
        s.site.code: s
        for t in tours_of(day, include_cancelled=False)
        for s in t.stops
        if s.status == StopStatus.OPEN and not s.is_depot
    }
    for pair in courier_pairs(day):
        pickup, drop = open_stops.get(pair.pickup_stop), open_stops.get(pair.delivery_stop)
        if pickup is None or drop is None:
            continue
        if pickup.tour_id != drop.tour_id or pickup.position > drop.position:
            raise PlanningFailed(
                f"Kurierauftrag {pair.pickup_stop} → {pair.delivery_stop}: beide Stopps müssen in derselben Tour "
                f"liegen, {pair.pickup_stop} zuerst. Es wurde nichts geändert.",
                code="courier_order",
            )


@dataclass
class _TourState:
    """Where a tour stands for a re-plan: kept stops, the fixed (pinned) part, the van's start."""

    tour: Tour
    kept: list[TourStop]  # done/skipped stops: never touched
    pinned: list[TourStop]  # open stops in fixed order, visited next
    pinned_visits: list[routes.Visit]
    vehicle: routes.Vehicle  # starts after the pinned part
    round: int


def tour_state(
    tour: Tour, day: date, now_min: float, matrix: routes.Matrix | None, position: tuple[float, float] | None
) -> _TourState:
    vehicle = tour.vehicle
    depot = depot_site()
    stops = list(tour.stops)
    kept = [s for s in stops if s.status != StopStatus.OPEN]
    pinned = sorted((s for s in stops if s.status == StopStatus.OPEN and s.pinned and not s.is_depot),
                    key=lambda s: s.position)  # fmt: skip
    shift_start = hhmm_minutes(setting("DISPATCH_SHIFT_START"))
    last_done = max((s for s in kept if s.status == StopStatus.DONE), key=lambda s: s.position, default=None)
    under_way = tour.status == TourStatus.STARTED or bool(kept) or position is not None
    if position is not None:
        here = ("@", position[0], position[1])
    elif last_done is not None:
        here = location(last_done.site)
    else:
        here = location(depot)
    if under_way:
        minute = max(now_min, shift_start)
        if last_done is not None and last_done.departure is not None:
            minute = max(minute, clock.utc_to_local_minutes(day, last_done.departure))
    else:
        # Not yet left: it leaves when planned (re-planning does not move the departure), but not before
        # now: a tour that should have left already leaves now.
        planned = clock.utc_to_local_minutes(day, tour.planned_start) if tour.planned_start is not None else shift_start
        minute = max(planned, now_min) if 0 <= now_min < 24 * 60 else planned  # now on the tour's day
    km = last_done.km_after if last_done is not None else 0.0
    current_round = last_done.round if last_done is not None else 1
    on_board_pickups = sum(s.pickup_boxes for s in kept if s.status == StopStatus.DONE and s.round == current_round)
    # Courier boxes already picked up (or picked up at a pinned stop) whose delivery is still open ride
    # along for the rest of the tour: counted like pickups, on the safe side.
    pairs = courier_pairs(day)
    if pairs:
        status_of = {s.site.code: s.status for t in tours_of(day, include_cancelled=False) for s in t.stops}
        taken = {s.site.code for s in kept if s.status == StopStatus.DONE} | {s.site.code for s in pinned}
        on_board_pickups += sum(
            p.boxes for p in pairs if p.pickup_stop in taken and status_of.get(p.delivery_stop) == StopStatus.OPEN
        )
    open_deliveries = sum(s.deliver_boxes for s in stops if s.status == StopStatus.OPEN and not s.is_depot)
    load = open_deliveries + on_board_pickups
    visits: list[routes.Visit] = []
    for stop in pinned:
        leg_km, leg_min = leg(matrix, here, location(stop.site), vehicle.speed_kmh)
        arrival = minute + leg_min
        opens, _ = window(stop.site)
        start = max(arrival, opens)
        minute = start + (stop.site.service_min or 0)
        km += leg_km
        load = load - stop.deliver_boxes + stop.pickup_boxes
        on_board_pickups += stop.pickup_boxes
        visits.append(routes.Visit(stop.site.code, arrival, minute, load, km, current_round))
        here = location(stop.site)
    overrides = {
        "available": True,
        "capacity": max(0, vehicle.capacity_boxes - on_board_pickups),
        # Never after the shift end (a re-plan after hours leaves every stop unserved, "Schichtende").
        "start_min": min(math.ceil(minute), hhmm_minutes(setting("DISPATCH_SHIFT_END"))),
        "driven_km": km,
        "max_rounds": max(1, int(setting("DISPATCH_MAX_ROUNDS")) - current_round + 1),
    }
    if here[0] != depot.code:
        overrides.update(start_lat=here[1], start_lon=here[2])
    rvehicle = routes_vehicle(vehicle, day, **overrides)
    return _TourState(tour, kept, pinned, visits, rvehicle, current_round)


def remaining_capacity(tour: Tour, *, now: datetime | None = None) -> int:
    """Boxes the van can still take on for the rest of its tour: its capacity less what it picked up
    (and the courier boxes it carries on to an open delivery)."""
    day = tour.service_date
    return tour_state(tour, day, now_minutes(day, now), None, None).vehicle.capacity


def _pool_stop(stop: TourStop) -> routes.Stop:
    return routes_stop(stop.site, deliver=stop.deliver_boxes, pickup=stop.pickup_boxes)


def solve_pool(
    day: date, states: list[_TourState], pool: list[TourStop], warm: dict[str, list[str]], time_limit_s: float
) -> routes.Plan | None:
    if not pool:
        return None
    depot = routes_depot(depot_site())
    rstops = [_pool_stop(s) for s in pool]
    speed = min(s.vehicle.speed_kmh for s in states)
    codes = {s.id for s in rstops}
    problem = routes.Problem(
        depot=depot,
        stops=rstops,
        vehicles=[s.vehicle for s in states],
        matrix=distance_matrix(depot, rstops, speed),
        previous_routes={k: v for k, v in warm.items() if v} or None,
        circuity=circuity(),
        pairs=[p for p in courier_pairs(day) if p.pickup_stop in codes and p.delivery_stop in codes],
    )
    return routes.plan_tours(problem, time_limit_s=time_limit_s)


def rewrite_tour(day: date, state: _TourState, plan: routes.Plan | None, pool_by_code: dict[str, TourStop]) -> None:
    """Give the tour its new open part: pinned visits, then the solver's visits (rows are reused, so the
    items stay attached to their stop)."""
    tour = state.tour
    depot = depot_site()
    for stop in list(tour.stops):
        if stop.status == StopStatus.OPEN and stop.is_depot:
            tour.stops.remove(stop)
            db.session.delete(stop)
    position = 0
    for stop in sorted(state.kept, key=lambda s: s.position):
        position += 1
        stop.position = position
    for stop, visit in zip(state.pinned, state.pinned_visits, strict=True):
        position += 1
        apply_visit(day, stop, visit, position)
    rtour = next((t for t in plan.tours if t.vehicle_id == tour.vehicle.code), None) if plan else None
    end_min = state.pinned_visits[-1].departure_min if state.pinned_visits else None
    km = state.pinned_visits[-1].km_after if state.pinned_visits else state.vehicle.driven_km
    if rtour is not None and rtour.visits:
        offset = state.vehicle.driven_km  # the solver counts km from the van's start position
        for visit in rtour.visits:
            position += 1
            visit = dataclasses.replace(visit, km_after=visit.km_after + offset)
            if visit.is_depot:
                stop = tour_stop_from_visit(day, visit, position, depot)
                stop.round = visit.round + state.round - 1
                tour.stops.append(stop)
                continue
            stop = pool_by_code[visit.stop_id]
            if stop.tour_id != tour.id:
                stop.tour = tour
            apply_visit(day, stop, visit, position)
            stop.round = visit.round + state.round - 1
        end_min, km = rtour.end_min, rtour.km + offset
    elif state.pinned_visits:
        end_min, km = _returnleg(state, depot)
    if end_min is not None:
        tour.planned_end = clock.local_minutes_to_utc(day, end_min)
    tour.planned_km = round(km, 2)
    tour.range_km = round(usable_range_km(tour.vehicle, day), 2)


def _returnleg(state: _TourState, depot: Site) -> tuple[float, float]:
    last = state.pinned[-1]
    leg_km, leg_min = leg(None, location(last.site), location(depot), state.tour.vehicle.speed_kmh)
    return state.pinned_visits[-1].departure_min + leg_min, state.pinned_visits[-1].km_after + leg_km


def now_minutes(day: date, now: datetime | None) -> float:
    return clock.utc_to_local_minutes(day, now or clock.now_utc())


def require_adjustable(tour: Tour) -> None:
    if tour.status in (TourStatus.FINISHED, TourStatus.CANCELLED):
        raise InvalidTransition(f"Die Tour {tour.vehicle.code} ist {TourStatus(tour.status).label.lower()}.")
    ensure_not_planning(tour.service_date)  # the running plan would overwrite the adjustment


def _unserved_message(plan: routes.Plan) -> str:
    """One German sentence: how many stops could not be served and the main reason (no list of codes)."""
    reasons = [str(u.reason) for u in plan.unserved]
    main = max(set(reasons), key=reasons.count)
    count = len(reasons)
    stops = "1 Stopp wäre" if count == 1 else f"{count} Stopps wären"
    return (
        f"Nicht alle Stopps lassen sich so bedienen: {stops} nicht mehr erreichbar "
        f"({reason_label(main)}), deshalb wurde nichts geändert."
    )


def record_adjust(day: date, kind: PlanRunKind, user: User | None, unserved: list[dict], limit: float) -> PlanRun:
    run = PlanRun(
        service_date=day,
        kind=kind,
        created_by_id=user.id if user else None,
        total_km=round(sum(t.planned_km for t in tours_of(day, include_cancelled=False)), 2),
        unserved=unserved,
        routes=None,  # adjustments are no warm start for tomorrow's plan
        status=PlanRunStatus.DONE,
        time_limit_s=limit,
        finished_at=clock.now_utc(),
    )
    db.session.add(run)
    db.session.flush()
    return run


def replan_tour(
    tour: Tour,
    pinned_order: list[int] | None = None,
    *,
    user: User | None = None,
    now: datetime | None = None,
    time_limit_s: float | None = None,
) -> PlanRun:
    """Fix the order of some open stops (`pinned_order`: tour stop ids, visited next in this order) and
    re-plan the rest of this tour. None keeps the current pins. Refuses (nothing changed) if a stop
    could then not be served."""
    require_adjustable(tour)
    day = tour.service_date
    if pinned_order is not None:
        _set_pins(tour, pinned_order)
    limit = float(time_limit_s or setting("DISPATCH_ADJUST_TIME_LIMIT_S"))
    state = tour_state(tour, day, now_minutes(day, now), None, None)
    pool = [s for s in tour.stops if s.status == StopStatus.OPEN and not s.is_depot and not s.pinned]
    warm = {tour.vehicle.code: [s.site.code for s in sorted(pool, key=lambda s: s.position)]}
    plan = solve_pool(day, [state], pool, warm, limit)
    if plan is not None and plan.unserved:
        raise PlanningFailed(_unserved_message(plan))
    rewrite_tour(day, state, plan, {s.site.code: s for s in pool})
    db.session.flush()
    check_courier_orders(day)
    return record_adjust(day, PlanRunKind.ADJUST, user, [], limit)


def _set_pins(tour: Tour, pinned_order: list[int]) -> None:
    open_stops = {s.id: s for s in tour.stops if s.status == StopStatus.OPEN and not s.is_depot}
    unknown = [i for i in pinned_order if i not in open_stops]
    if unknown:
        raise ValidationFailed("Nur offene Stopps dieser Tour können fixiert werden.")
    if len(set(pinned_order)) != len(pinned_order):
        raise ValidationFailed("Jeder Stopp kann nur einmal fixiert werden.")
    base = min((s.position for s in open_stops.values()), default=1)
    for stop in open_stops.values():
        stop.pinned = False
    for offset, stop_id in enumerate(pinned_order):
        stop = open_stops[stop_id]
        stop.pinned = True
        stop.position = base + offset - len(pinned_order) - 1  # before every unpinned open stop, in order


def move_stop(
    stop: TourStop,
    target: Tour,
    *,
    user: User | None = None,
    now: datetime | None = None,
    time_limit_s: float | None = None,
) -> PlanRun:
    """Move an open stop to another tour of the same day; re-plan both (pins kept). The open stops of
    its courier orders on the same tour move along."""
    source = stop.tour
    if stop.status != StopStatus.OPEN or stop.is_depot:
        raise InvalidTransition("Nur offene Stopps können verschoben werden.")
    if target.id == source.id:
        raise ValidationFailed("Der Stopp gehört schon zu dieser Tour.")
    if target.service_date != source.service_date:
        raise ValidationFailed("Stopps können nur zwischen Touren desselben Tages verschoben werden.")
    require_adjustable(source)
    require_adjustable(target)
    day = source.service_date
    limit = float(time_limit_s or setting("DISPATCH_ADJUST_TIME_LIMIT_S"))
    now_min = now_minutes(day, now)
    moving = [stop, *_courier_partners(stop)]
    for s in moving:
        s.pinned = False
    results = []
    for tour, extra, leave_out in ((source, [], moving), (target, moving, [])):
        state = tour_state(tour, day, now_min, None, None)
        pool = [s for s in tour.stops if s.status == StopStatus.OPEN and not s.is_depot and not s.pinned]
        pool = [s for s in pool if s not in leave_out] + extra
        warm = {tour.vehicle.code: [s.site.code for s in sorted(pool, key=lambda s: s.position)]}
        plan = solve_pool(day, [state], pool, warm, limit)
        if plan is not None and plan.unserved:
            raise PlanningFailed(_unserved_message(plan))
        results.append((state, plan, {s.site.code: s for s in pool}))
    for s in moving:
        if s in source.stops:
            source.stops.remove(s)
        target.stops.append(s)
    for state, plan, pool_by_code in results:
        rewrite_tour(day, state, plan, pool_by_code)
    db.session.flush()
    check_courier_orders(day)
    return record_adjust(day, PlanRunKind.ADJUST, user, [], limit)


def _courier_partners(stop: TourStop) -> list[TourStop]:
    """The other open stops of the same tour that share a courier order with `stop`."""
    code = stop.site.code
    pairs = courier_pairs(stop.tour.service_date)
    partner_codes = {p.delivery_stop for p in pairs if p.pickup_stop == code}
    partner_codes |= {p.pickup_stop for p in pairs if p.delivery_stop == code}
    return [
        s
        for s in stop.tour.stops
        if s is not stop and s.status == StopStatus.OPEN and not s.is_depot and s.site.code in partner_codes
    ]

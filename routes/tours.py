"""From the model's routes to the `Plan`'s tours, and why a stop is left out."""

from __future__ import annotations

import time

from routes.model import (
    DAY_MINUTES,
    Problem,
    Stop,
    Tour,
    Unserved,
    UnservedReason,
    Visit,
)
from routes.ormodel import Solved, _build_and_solve
from routes.prep import (
    _active_breaks,
    _Data,
    _range_left,
    _speed_key,
    _stop_boxes,
    _vehicle_end_min,
    _vehicle_start_min,
    fmt_min,
)

# --- explanation of stops no van can serve on its own --------------------------------------------------


def _single_stop_reason(problem: Problem, data_km: list[list[float]], minutes, loc_index, stop: Stop):
    """Why no van could serve this stop even if it were its only stop, or None if some van could."""
    vehicles = [v for v in problem.vehicles if v.available]
    if not vehicles:
        return UnservedReason.NO_VEHICLE, "No van is available (all in the workshop)."
    boxes = _stop_boxes(problem)[stop.id]
    s_loc = loc_index[stop.id]
    reasons: list[tuple[UnservedReason, str]] = []
    for v in vehicles:
        if max(boxes) > v.capacity:
            reasons.append(
                (
                    UnservedReason.CAPACITY,
                    f"{stop.id} needs {max(boxes)} boxes on board, more than van {v.id} carries ({v.capacity}).",
                )
            )
            continue
        start_loc = loc_index.get(f"@{v.id}", 0)
        trip = data_km[start_loc][s_loc] + data_km[s_loc][0]
        if trip > _range_left(v) + 1e-6:
            reasons.append(
                (
                    UnservedReason.RANGE,
                    f"{stop.id} needs a {trip:.1f} km trip, van {v.id} has {_range_left(v):.1f} km usable range "
                    f"({v.battery_range_km:g} km x {v.winter_factor:g} winter x {1 - v.safety_reserve:.0%} "
                    f"without reserve{f', {v.driven_km:.1f} km already driven' if v.driven_km else ''}).",
                )
            )
            continue
        mins = minutes[_speed_key(problem, v)]
        start = _vehicle_start_min(v, problem)
        arrive = start + mins[start_loc][s_loc]
        opens, closes = stop.window if stop.window else (0, DAY_MINUTES)
        if arrive > closes + 1e-6:
            reasons.append(
                (
                    UnservedReason.TIME_WINDOW,
                    f"{stop.id} closes at {fmt_min(closes)}, van {v.id} can arrive "
                    f"at {fmt_min(arrive)} at the earliest.",
                )
            )
            continue
        back = max(arrive, opens) + stop.service_min + mins[s_loc][0]
        end = _vehicle_end_min(v, problem)
        if back > end + 1e-6:
            reasons.append(
                (
                    UnservedReason.SHIFT,
                    f"Serving {stop.id} (open from {fmt_min(opens)}) brings van {v.id} back at {fmt_min(back)}, "
                    f"after its shift ends at {fmt_min(end)}.",
                )
            )
            continue
        return None
    return reasons[0]


# --- from the model's routes to the Plan ---------------------------------------------------------------


def _make_tours(data: _Data, solved: Solved) -> list[Tour]:
    problem = data.problem
    boxes = _stop_boxes(problem)
    tours = []
    for vi, v in enumerate(data.vehicles):
        seq = list(solved.routes[vi])
        # drop depot calls that start no round: reloads right at the depot start or right before the end
        cleaned: list[int] = []
        for node in seq:
            if node in data.reload_owner and not cleaned and data.start_node[vi] == 0:
                continue
            cleaned.append(node)
        while cleaned and cleaned[-1] in data.reload_owner:
            cleaned.pop()
        if not any(n not in data.reload_owner for n in cleaned):
            continue
        # rounds, each followed by a group of back-to-back reloads (one longer stay at the depot)
        rounds: list[list[int]] = [[]]
        reload_groups: list[list[int]] = []
        for k, node in enumerate(cleaned):
            if node in data.reload_owner:
                if k > 0 and cleaned[k - 1] in data.reload_owner:
                    reload_groups[-1].append(node)
                else:
                    reload_groups.append([node])
                    rounds.append([])
            else:
                rounds[-1].append(node)
        visits: list[Visit] = []
        prev_loc = data.node_loc[data.start_node[vi]]
        km_run = 0.0
        carried = 0  # internal mail on board from a previous round
        for r, nodes in enumerate(rounds, start=1):
            # load at the round's start = everything delivered in the round, plus internal mail on board
            load = carried + sum(data.node_stop[n].deliver for n in nodes)  # type: ignore[union-attr,misc]
            for node in nodes:
                stop = data.node_stop[node]
                assert stop is not None
                km_run += data.km[prev_loc][data.node_loc[node]]
                prev_loc = data.node_loc[node]
                drop, take = boxes[stop.id]
                load += take - drop
                arr = solved.times[node]
                visits.append(Visit(stop.id, arr, arr + stop.service_min, load, round(km_run, 3), r))
            # boxes still on board at the depot: internal mail for a later round
            carried = _carried_after_round(problem, data, nodes, cleaned)
            if r < len(rounds):
                km_run += data.km[prev_loc][0]
                prev_loc = 0
                group = reload_groups[r - 1]
                arr, dep = solved.times[group[0]], solved.times[group[-1]] + problem.reload_min
                visits.append(Visit(problem.depot.id, arr, dep, carried, round(km_run, 3), r, True))
        km_run += data.km[prev_loc][0]
        start, end = solved.start_end[vi]
        tour = Tour(
            vehicle_id=v.id,
            visits=visits,
            km=round(km_run, 3),
            start_min=start,
            end_min=end,
            rounds=len(rounds),
            range_km=round(_range_left(v), 3),
        )
        tour.break_start_min = _place_break(data, vi, tour)
        tours.append(tour)
    return tours


def _carried_after_round(problem: Problem, data: _Data, nodes: list[int], all_nodes: list[int]) -> int:
    """Internal-mail boxes picked up in or before this round and delivered in a later round."""
    order = {data.node_stop[n].id: k for k, n in enumerate(all_nodes) if data.node_stop[n] is not None}  # type: ignore[union-attr]
    last = max((order[data.node_stop[n].id] for n in nodes), default=-1)  # type: ignore[union-attr]
    carried = 0
    for p in problem.pairs:
        if (
            p.pickup_stop in order
            and p.delivery_stop in order
            and order[p.pickup_stop] <= last < order[p.delivery_stop]
        ):
            carried += p.boxes
    return carried


def _place_break(data: _Data, vi: int, tour: Tour) -> float | None:
    """Earliest feasible break start in the tour's schedule (OR-Tools guarantees one exists)."""
    v = data.vehicles[vi]
    brks = _active_breaks(v, _vehicle_start_min(v, data.problem))
    if not brks:
        return None
    b = brks[0]
    # gaps: (free from, must be back by, driving in between)
    events = []
    prev_t, prev_loc = tour.start_min, data.node_loc[data.start_node[vi]]
    for visit in tour.visits:
        loc = 0 if visit.is_depot else data.node_loc[data.stops.index(_stop_by_id(data, visit.stop_id)) + 1]
        events.append((prev_t, visit.arrival_min, data.travel_min(vi, prev_loc, loc)))
        prev_t, prev_loc = visit.departure_min, loc
    events.append((prev_t, tour.end_min, data.travel_min(vi, prev_loc, 0)))
    for free, back, drive in events:
        lo = max(b.earliest_start_min, free)
        # the break may split the drive: it only has to fit in the leg together with it
        hi = min(b.latest_start_min, back - b.duration_min)
        if lo <= hi + 1e-9 and back - free >= b.duration_min + drive - 2.0 / 60:
            return float(lo)
    if tour.end_min <= b.latest_start_min:
        return float(max(b.earliest_start_min, tour.end_min))
    if tour.start_min >= b.earliest_start_min + b.duration_min:
        return float(b.earliest_start_min)
    return None


def _stop_by_id(data: _Data, sid: str) -> Stop:
    for s in data.stops:
        if s.id == sid:
            return s
    raise KeyError(sid)


# Seconds the explanation of left-out stops may add beyond the plan's time limit (small days need less).
EXPLAIN_GRACE_S = 0.5

_RELAX_DETAIL = {
    "range": (UnservedReason.RANGE, "the vans' remaining range does not reach it together with the other stops"),
    "capacity": (UnservedReason.CAPACITY, "the vans' load capacity over all rounds is used up by the other stops"),
    "time_window": (
        UnservedReason.TIME_WINDOW,
        "its opening hours cannot be met together with the other stops' opening hours",
    ),
    "shift": (UnservedReason.SHIFT, "the drivers' shifts are too short to fit it in with the other stops"),
}


def _explain_dropped(
    problem: Problem, stops: list[Stop], dropped: list[Stop], time_limit_s: float, t0: float
) -> list[Unserved]:
    """Find the constraint family that keeps each dropped must-visit stop out, by relaxing one at a time."""
    out: dict[str, Unserved] = {}
    relaxations = ("capacity", "range", "time_window", "shift")
    # The plan's time limit is a hard cap: the explanation gets what the search left (at least a short
    # grace, enough for small days); a relaxation it has no time for leaves the general reason.
    explain_until = max(t0 + time_limit_s, time.perf_counter() + EXPLAIN_GRACE_S)
    for k, relax in enumerate(relaxations):
        pending = [s for s in dropped if s.id not in out]
        left = explain_until - time.perf_counter()
        if not pending or left < 0.05:
            break
        budget = max(0.05, min(2.0, time_limit_s / 4, left / (len(relaxations) - k)))
        _, sol = _build_and_solve(problem, stops, budget, 200 + 10 * len(stops), relax=relax)
        if not sol.status_ok:
            continue
        still = set(sol.dropped)
        must_ids = {s.id for s in stops if s.must_visit}
        if len(still & must_ids) >= len(dropped):
            continue  # this relaxation serves no more stops: it only picked others to leave out
        reason, why = _RELAX_DETAIL[relax]
        for s in pending:
            if s.id not in still:
                out[s.id] = Unserved(s.id, reason, f"{s.id} is left out: {why}.")
    for s in dropped:
        if s.id not in out:
            out[s.id] = Unserved(
                s.id,
                UnservedReason.SHIFT,
                f"{s.id} is left out: no van has time, range and room for it alongside the other stops.",
            )
    return [out[s.id] for s in dropped]

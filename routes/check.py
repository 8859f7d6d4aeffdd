"""Independent plan checker: recomputes every constraint of a Plan from the Problem (used by the tests)."""

from __future__ import annotations

from routes.model import Plan, Problem, UnservedReason
from routes.prep import _active_breaks, _matrices, _range_left, _speed_key, _vehicle_end_min, _vehicle_start_min

EPS_MIN = 0.05  # minutes: the model rounds times to whole seconds
EPS_KM = 0.005


def check_plan(problem: Problem, plan: Plan) -> list[str]:
    """Return a list of violated constraints (empty: the plan is valid)."""
    errors: list[str] = []
    vehicles = {v.id: v for v in problem.vehicles}
    avail = [v for v in problem.vehicles if v.available]
    stops = {s.id: s for s in problem.stops}
    served: dict[str, str] = {}
    for t in plan.tours:
        for sid in t.stop_ids:
            if sid in served:
                errors.append(f"{sid} served twice")
            served[sid] = t.vehicle_id
    unserved = {u.stop_id: u for u in plan.unserved}
    for s in problem.stops:
        if s.must_visit and s.id not in served and s.id not in unserved:
            errors.append(f"must-visit {s.id} neither served nor explained")
        if s.id in served and s.id in unserved:
            errors.append(f"{s.id} both served and unserved")
        if s.id in unserved and not unserved[s.id].detail:
            errors.append(f"{s.id} unserved without detail")
        if s.must_visit and s.id in unserved and unserved[s.id].reason == UnservedReason.OPTIONAL:
            errors.append(f"must-visit {s.id} reported as optional")
    if not avail:
        return errors + [f"tour for {t.vehicle_id} without vans" for t in plan.tours]
    km, minutes, loc_index = _matrices(problem, avail)
    for p in problem.pairs:
        a, b = served.get(p.pickup_stop), served.get(p.delivery_stop)
        if (a is None) != (b is None) or a != b:
            errors.append(f"pair {p.pickup_stop}->{p.delivery_stop} split ({a}, {b})")
    for t in plan.tours:
        v = vehicles.get(t.vehicle_id)
        if v is None or not v.available:
            errors.append(f"tour for unavailable van {t.vehicle_id}")
            continue
        mins = minutes[_speed_key(problem, v)]
        start_loc = loc_index.get(f"@{v.id}", 0)
        battery = _range_left(v)
        prev_loc, prev_dep, run = start_loc, t.start_min, 0.0
        brks = _active_breaks(v, _vehicle_start_min(v, problem))
        brk = brks[0] if brks else None
        b0 = t.break_start_min
        if brk is not None:
            if b0 is None:
                errors.append(f"{v.id}: no break")
            elif not (brk.earliest_start_min - EPS_MIN <= b0 <= brk.latest_start_min + EPS_MIN):
                errors.append(f"{v.id}: break at {b0} outside its window")
        if t.start_min < _vehicle_start_min(v, problem) - EPS_MIN:
            errors.append(f"{v.id}: starts {t.start_min} before its shift")
        if t.end_min > _vehicle_end_min(v, problem) + EPS_MIN:
            errors.append(f"{v.id}: ends {t.end_min} after its shift")
        # boxes: recompute the load at each round's start
        rounds: list[list[str]] = [[]]
        for vis in t.visits:
            if vis.is_depot:
                rounds.append([])
            else:
                rounds[-1].append(vis.stop_id)
        order = {sid: k for k, sid in enumerate(t.stop_ids)}
        for p in problem.pairs:
            if p.pickup_stop in order and p.delivery_stop in order and order[p.pickup_stop] > order[p.delivery_stop]:
                errors.append(f"pair {p.pickup_stop}->{p.delivery_stop} delivered before pickup")
        round_start = [sum(stops[s].deliver for s in r) for r in rounds]
        for r, load in enumerate(round_start):
            if load > v.capacity:
                errors.append(f"{v.id}: round {r + 1} starts with {load} boxes > {v.capacity}")
        for vis in t.visits:
            loc = 0 if vis.is_depot else loc_index[vis.stop_id]
            leg = km[prev_loc][loc]
            run += leg
            battery -= leg
            if battery < -EPS_KM:
                errors.append(f"{v.id}: out of range before {vis.stop_id}")
            if abs(run - vis.km_after) > 0.01:
                errors.append(f"{v.id}: km_after at {vis.stop_id} is {vis.km_after}, recomputed {run:.3f}")
            if not 0 <= vis.load_after <= v.capacity:
                errors.append(f"{v.id}: load {vis.load_after} after {vis.stop_id}")
            need = mins[prev_loc][loc]
            if b0 is not None and brk is not None and prev_dep - EPS_MIN <= b0 < vis.arrival_min:
                need += brk.duration_min
                if b0 + brk.duration_min > vis.arrival_min + EPS_MIN:
                    errors.append(f"{v.id}: break overlaps the call at {vis.stop_id}")
            if b0 is not None and brk is not None and vis.arrival_min < b0 + EPS_MIN < vis.departure_min:
                errors.append(f"{v.id}: break during service at {vis.stop_id}")
            if prev_dep + need > vis.arrival_min + EPS_MIN:
                errors.append(f"{v.id}: cannot reach {vis.stop_id} by {vis.arrival_min:.1f}")
            if not vis.is_depot:
                s = stops[vis.stop_id]
                if s.window and not (s.window[0] - EPS_MIN <= vis.arrival_min <= s.window[1] + EPS_MIN):
                    errors.append(f"{vis.stop_id}: arrival {vis.arrival_min:.1f} outside window {s.window}")
                if abs(vis.departure_min - vis.arrival_min - s.service_min) > EPS_MIN:
                    errors.append(f"{vis.stop_id}: wrong service time")
            else:
                # recharging all the time the van stays at the depot
                dwell = vis.departure_min - vis.arrival_min
                battery = min(_range_left(v), battery + problem.recharge_km_per_min * dwell)
            prev_loc, prev_dep = loc, vis.departure_min
        leg = km[prev_loc][0]
        run += leg
        battery -= leg
        if battery < -EPS_KM:
            errors.append(f"{v.id}: out of range on the way back")
        if abs(run - t.km) > 0.01:
            errors.append(f"{v.id}: tour km {t.km}, recomputed {run:.3f}")
        need = mins[prev_loc][0]
        if b0 is not None and brk is not None and prev_dep - EPS_MIN <= b0 < t.end_min:
            need += brk.duration_min
        if prev_dep + need > t.end_min + EPS_MIN:
            errors.append(f"{v.id}: cannot be back by {t.end_min:.1f}")
    if abs(sum(t.km for t in plan.tours) - plan.total_km) > 0.01:
        errors.append("total_km does not add up")
    return errors

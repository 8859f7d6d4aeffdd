"""OR-Tools routing model for the vans: range, load, shifts with breaks, time windows, internal mail.

Model (one OR-Tools vehicle per available van):
* nodes: the depot (node 0, where every tour ends), one node per stop, a start node per van that is
  re-planned from where it is now, and `max_rounds - 1` optional depot copies per van ("reload"
  nodes) where the van starts a new round: it reloads and recharges during `reload_min`;
* cost: metres driven (the plan is cheaper the fewer km it drives); optional stops have a drop
  penalty of `optional_km_per_priority` km per priority point, must-visit stops a huge one, so that
  the solver always returns a plan and we can explain what is left out;
* "energy" dimension: metres driven since the battery was full, capacity = usable range - km already
  driven today; a reload node gives back up to `recharge_km_per_min * reload_min` km (negative transit
  plus slack, as in OR-Tools' reload example);
* "picked" and "load" dimensions: boxes picked up for the depot, and boxes on board. The load at a
  round's start is free, and at the round's end it must be >= the boxes picked up in that round, which
  forces it to be >= the boxes delivered in the round: together with load <= capacity after every
  call this is exact for deliveries and pickups (simultaneous pickup and delivery);
* "time" dimension in seconds with one transit callback per distinct van speed, stop windows on the
  service start, the shift as start/end bounds, breaks as OR-Tools break intervals;
* internal mail as pickup-and-delivery pairs (same van, pickup first).

Search: parallel cheapest insertion (or the previous day's tours as a warm start), then guided local
search. The search stops after a fixed number of solutions (deterministic for the same input) or at
the time limit, whichever comes first.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from routes.matrix import haversine_km
from routes.model import (
    DAY_MINUTES,
    Break,
    Plan,
    Problem,
    Stop,
    Tour,
    Unserved,
    UnservedReason,
    Vehicle,
    Visit,
)

MUST_PENALTY = 10**10  # metres: far above any plan's length, so must-visit stops are dropped only if impossible
DAY_S = DAY_MINUTES * 60


def fmt_min(m: float) -> str:
    m = round(m)
    return f"{m // 60:02d}:{m % 60:02d}"


@dataclass
class _Data:
    """Everything the OR-Tools model needs, in node indices."""

    problem: Problem
    vehicles: list[Vehicle]  # available vans, model vehicle index = position here
    stops: list[Stop]  # stops in the model (node i + 1 = stops[i])
    km: list[list[float]]  # by location index
    minutes_by_speed: dict[float, list[list[float]]]
    node_loc: list[int] = field(default_factory=list)  # location index per node
    node_stop: list[Stop | None] = field(default_factory=list)
    reload_owner: dict[int, int] = field(default_factory=dict)  # reload node -> vehicle
    start_node: list[int] = field(default_factory=list)
    pair_delta: dict[int, int] = field(default_factory=dict)  # node -> boxes of internal mail (+pick, -drop)

    def travel_min(self, v: int, a_loc: int, b_loc: int) -> float:
        return self.minutes_by_speed[_speed_key(self.problem, self.vehicles[v])][a_loc][b_loc]


def _speed_key(problem: Problem, v: Vehicle) -> float:
    # a given matrix has fixed driving times: all vans share them
    return 0.0 if problem.matrix is not None else round(v.speed_kmh, 6)


def _locations(problem: Problem, vehicles: list[Vehicle]) -> tuple[list[tuple[str, float, float]], dict[str, int]]:
    locs = [(problem.depot.id, problem.depot.lat, problem.depot.lon)]
    locs += [(s.id, s.lat, s.lon) for s in problem.stops]
    for v in vehicles:
        if v.start_lat is not None and v.start_lon is not None:
            locs.append((f"@{v.id}", v.start_lat, v.start_lon))
    return locs, {loc[0]: i for i, loc in enumerate(locs)}


def _matrices(
    problem: Problem, vehicles: list[Vehicle]
) -> tuple[list[list[float]], dict[float, list[list[float]]], dict[str, int]]:
    locs, loc_index = _locations(problem, vehicles)
    n = len(locs)
    geo = [
        [0.0 if i == j else haversine_km(a[1], a[2], b[1], b[2]) * problem.circuity for j, b in enumerate(locs)]
        for i, a in enumerate(locs)
    ]
    mat = problem.matrix
    if mat is None:
        km = geo
        minutes = {_speed_key(problem, v): [[d / v.speed_kmh * 60.0 for d in row] for row in km] for v in vehicles}
        return km, minutes, loc_index
    pos = {mid: i for i, mid in enumerate(mat.ids)}
    missing = [loc[0] for loc in locs if not loc[0].startswith("@") and loc[0] not in pos]
    if missing:
        raise ValueError(f"the matrix has no entry for {', '.join(missing[:5])}")
    km = [[0.0] * n for _ in range(n)]
    mins = [[0.0] * n for _ in range(n)]
    speed = vehicles[0].speed_kmh if vehicles else 30.0
    for i, a in enumerate(locs):
        for j, b in enumerate(locs):
            if i == j:
                continue
            if a[0] in pos and b[0] in pos:
                km[i][j] = mat.km[pos[a[0]]][pos[b[0]]]
                mins[i][j] = mat.minutes[pos[a[0]]][pos[b[0]]]
            else:
                # a van's current position is not in the matrix: estimate that leg
                km[i][j] = geo[i][j]
                mins[i][j] = geo[i][j] / speed * 60.0
    return km, {0.0: mins}, loc_index


def _vehicle_start_min(v: Vehicle, problem: Problem) -> float:
    start = v.shift_start_min if v.start_min is None else max(v.shift_start_min, v.start_min)
    if v.start_lat is None:
        start = max(start, problem.depot.opens_min)
    return start


def _vehicle_end_min(v: Vehicle, problem: Problem) -> float:
    return min(v.shift_end_min, problem.depot.closes_min)


def _range_left(v: Vehicle) -> float:
    return max(0.0, v.usable_range_km - v.driven_km)


def _active_breaks(v: Vehicle, start_min: float) -> list[Break]:
    """Breaks still to take: a van re-planned after its break window has had its break."""
    out = []
    for b in v.breaks:
        if b.latest_start_min < start_min:
            continue
        out.append(replace(b, earliest_start_min=max(b.earliest_start_min, math.ceil(start_min))))
    return out


def _stop_boxes(problem: Problem) -> dict[str, tuple[int, int]]:
    """Per stop: boxes to drop (deliveries + internal mail delivered), boxes to take (pickups + internal)."""
    out = {s.id: (s.deliver, s.pickup) for s in problem.stops}
    for p in problem.pairs:
        d, t = out.get(p.pickup_stop, (0, 0))
        out[p.pickup_stop] = (d, t + p.boxes)
        d, t = out.get(p.delivery_stop, (0, 0))
        out[p.delivery_stop] = (d + p.boxes, t)
    return out


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


# --- the OR-Tools model -----------------------------------------------------------------------------------


@dataclass
class _Solved:
    routes: list[list[int]]  # node sequences per model vehicle (without start/end)
    times: dict[int, float]  # node -> service start (min)
    start_end: list[tuple[float, float]]  # per vehicle (min)
    dropped: list[str]
    status_ok: bool


def _build_and_solve(
    problem: Problem,
    stops: list[Stop],
    time_limit_s: float,
    solution_limit: int | None,
    relax: str | None = None,
) -> tuple[_Data, _Solved]:
    vehicles = [v for v in problem.vehicles if v.available]
    if relax == "capacity":
        vehicles = [replace(v, capacity=v.capacity * 1000) for v in vehicles]
    elif relax == "range":
        vehicles = [replace(v, battery_range_km=v.battery_range_km * 1000, driven_km=0.0) for v in vehicles]
    elif relax == "shift":
        vehicles = [replace(v, shift_end_min=DAY_MINUTES) for v in vehicles]
    if relax == "time_window":
        stops = [replace(s, window=None) for s in stops]
    if relax == "shift":
        problem = replace(problem, depot=replace(problem.depot, closes_min=DAY_MINUTES))
    km, minutes, loc_index = _matrices(problem, vehicles)
    data = _Data(problem, vehicles, stops, km, minutes)
    stop_pos = {s.id: i for i, s in enumerate(stops)}
    # nodes: 0 depot, 1..S stops, then van start nodes, then reload nodes
    data.node_loc = [0] + [loc_index[s.id] for s in stops]
    data.node_stop = [None, *stops]
    for v in vehicles:
        if f"@{v.id}" in loc_index:
            data.start_node.append(len(data.node_loc))
            data.node_loc.append(loc_index[f"@{v.id}"])
            data.node_stop.append(None)
        else:
            data.start_node.append(0)
    for vi, v in enumerate(vehicles):
        for _ in range(max(0, v.max_rounds - 1)):
            data.reload_owner[len(data.node_loc)] = vi
            data.node_loc.append(0)
            data.node_stop.append(None)
    n_nodes = len(data.node_loc)
    pairs = [p for p in problem.pairs if p.pickup_stop in stop_pos and p.delivery_stop in stop_pos]
    for p in pairs:
        pn, dn = stop_pos[p.pickup_stop] + 1, stop_pos[p.delivery_stop] + 1
        data.pair_delta[pn] = data.pair_delta.get(pn, 0) + p.boxes
        data.pair_delta[dn] = data.pair_delta.get(dn, 0) - p.boxes

    n_veh = len(vehicles)
    manager = pywrapcp.RoutingIndexManager(n_nodes, n_veh, data.start_node, [0] * n_veh)
    routing = pywrapcp.RoutingModel(manager)
    solver = routing.solver()
    loc = data.node_loc

    # cost and energy: metres, rounded up so that the plan never exceeds the range by rounding
    metres = [[math.ceil(km[loc[a]][loc[b]] * 1000) for b in range(n_nodes)] for a in range(n_nodes)]
    dist_cb = routing.RegisterTransitMatrix(metres)
    routing.SetArcCostEvaluatorOfAllVehicles(dist_cb)
    recharge_m = int(problem.recharge_km_per_min * problem.reload_min * 1000)
    energy = [row[:] for row in metres]
    for rn in data.reload_owner:
        energy[rn] = [m - recharge_m for m in metres[rn]]
    energy_cb = routing.RegisterTransitMatrix(energy)
    routing.AddDimensionWithVehicleCapacity(
        energy_cb, max(recharge_m, 0), [int(_range_left(v) * 1000) for v in vehicles], True, "energy"
    )
    energy_dim = routing.GetDimensionOrDie("energy")

    # boxes
    boxes = {s.id: (s.deliver, s.pickup) for s in stops}
    max_cap = max((v.capacity for v in vehicles), default=0)
    picked_vec, load_vec = [0] * n_nodes, [0] * n_nodes
    for node in range(1, len(stops) + 1):
        d, pk = boxes[stops[node - 1].id]
        picked_vec[node] = pk
        load_vec[node] = pk - d + data.pair_delta.get(node, 0)
    for rn, vi in data.reload_owner.items():
        picked_vec[rn] = -vehicles[vi].capacity
        load_vec[rn] = -vehicles[vi].capacity
    caps = [v.capacity for v in vehicles]
    routing.AddDimensionWithVehicleCapacity(
        routing.RegisterUnaryTransitVector(picked_vec), max_cap, caps, True, "picked"
    )
    routing.AddDimensionWithVehicleCapacity(
        routing.RegisterUnaryTransitVector(load_vec), 2 * max_cap, caps, False, "load"
    )
    picked_dim, load_dim = routing.GetDimensionOrDie("picked"), routing.GetDimensionOrDie("load")

    # time (seconds)
    service_s = [0] * n_nodes
    for node in range(1, len(stops) + 1):
        service_s[node] = round(stops[node - 1].service_min * 60)
    for rn in data.reload_owner:
        service_s[rn] = round(problem.reload_min * 60)
    time_cbs = []
    cb_by_speed: dict[float, int] = {}
    for v in vehicles:
        key = _speed_key(problem, v)
        if key not in cb_by_speed:
            mins = minutes[key]
            tmat = [
                [service_s[a] + math.ceil(mins[loc[a]][loc[b]] * 60) for b in range(n_nodes)] for a in range(n_nodes)
            ]
            cb_by_speed[key] = routing.RegisterTransitMatrix(tmat)
        time_cbs.append(cb_by_speed[key])
    routing.AddDimensionWithVehicleTransitAndCapacity(time_cbs, DAY_S, [DAY_S] * n_veh, False, "time")
    time_dim = routing.GetDimensionOrDie("time")

    for node in range(1, n_nodes):
        if node in data.start_node:
            continue
        idx = manager.NodeToIndex(node)
        if node in data.reload_owner:
            energy_dim.SlackVar(idx).SetRange(0, max(recharge_m, 0))
            # the recharge cannot go beyond a full battery: used energy + slack - recharge >= 0
            solver.Add(energy_dim.CumulVar(idx) + energy_dim.SlackVar(idx) >= recharge_m)
            picked_dim.SlackVar(idx).SetRange(0, vehicles[data.reload_owner[node]].capacity)
            load_dim.SlackVar(idx).SetRange(0, 2 * vehicles[data.reload_owner[node]].capacity)
            routing.VehicleVar(idx).SetValues([-1, data.reload_owner[node]])
            routing.AddDisjunction([idx], 0)
            time_dim.CumulVar(idx).SetRange(problem.depot.opens_min * 60, problem.depot.closes_min * 60)
            solver.Add(load_dim.CumulVar(idx) >= picked_dim.CumulVar(idx))
            continue
        energy_dim.SlackVar(idx).SetValue(0)
        picked_dim.SlackVar(idx).SetValue(0)
        load_dim.SlackVar(idx).SetValue(0)
        stop = data.node_stop[node]
        assert stop is not None
        if stop.window:
            time_dim.CumulVar(idx).SetRange(int(stop.window[0] * 60), int(stop.window[1] * 60))
        if stop.must_visit:
            penalty = MUST_PENALTY
        else:
            penalty = int(max(1, stop.priority) * problem.optional_km_per_priority * 1000)
        routing.AddDisjunction([idx], penalty)
    for vi, v in enumerate(vehicles):
        s_idx, e_idx = routing.Start(vi), routing.End(vi)
        start = _vehicle_start_min(v, problem)
        end = _vehicle_end_min(v, problem)
        time_dim.CumulVar(s_idx).SetRange(math.ceil(start * 60), max(math.ceil(start * 60), int(end * 60)))
        time_dim.CumulVar(e_idx).SetRange(0, int(end * 60))
        solver.Add(load_dim.CumulVar(e_idx) >= picked_dim.CumulVar(e_idx))
        # start as late as possible and come back early: no idle time at the depot is planned
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(e_idx))
        routing.AddVariableMaximizedByFinalizer(time_dim.CumulVar(s_idx))
        brks = _active_breaks(v, start)
        if brks:
            intervals = [
                solver.FixedDurationIntervalVar(
                    int(b.earliest_start_min * 60),
                    int(b.latest_start_min * 60),
                    int(b.duration_min * 60),
                    False,
                    f"break {v.id} {k}",
                )
                for k, b in enumerate(brks)
            ]
            time_dim.SetBreakIntervalsOfVehicle(intervals, vi, service_s)
    # internal mail: same van, pickup first
    paired: set[int] = set()
    for p in pairs:
        pi, di = manager.NodeToIndex(stop_pos[p.pickup_stop] + 1), manager.NodeToIndex(stop_pos[p.delivery_stop] + 1)
        if pi == di:
            continue
        if pi not in paired and di not in paired:
            routing.AddPickupAndDelivery(pi, di)
            paired.update((pi, di))
        solver.Add(routing.VehicleVar(pi) == routing.VehicleVar(di))
        solver.Add(routing.ActiveVar(pi) == routing.ActiveVar(di))
        solver.Add(time_dim.CumulVar(pi) <= time_dim.CumulVar(di))

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.guided_local_search_lambda_coefficient = 0.3
    params.time_limit.FromMilliseconds(max(50, int(time_limit_s * 1000)))
    if solution_limit:
        params.solution_limit = solution_limit
    solution = None
    warm = _warm_routes(problem, vehicles, stop_pos, data)
    if warm is not None:
        routing.CloseModelWithParameters(params)
        init = routing.ReadAssignmentFromRoutes(warm, True)
        if init is not None:
            solution = routing.SolveFromAssignmentWithParameters(init, params)
    if solution is None:
        solution = routing.SolveWithParameters(params)
    if solution is None:
        return data, _Solved([[] for _ in vehicles], {}, [], [s.id for s in stops], False)

    routes, times, start_end = [], {}, []
    served: set[int] = set()
    for vi in range(n_veh):
        idx = routing.Start(vi)
        start_t = solution.Min(time_dim.CumulVar(idx)) / 60.0
        seq = []
        idx = solution.Value(routing.NextVar(idx))
        while not routing.IsEnd(idx):
            node = manager.IndexToNode(idx)
            seq.append(node)
            times[node] = solution.Min(time_dim.CumulVar(idx)) / 60.0
            served.add(node)
            idx = solution.Value(routing.NextVar(idx))
        start_end.append((start_t, solution.Min(time_dim.CumulVar(idx)) / 60.0))
        routes.append(seq)
    dropped = [stops[i - 1].id for i in range(1, len(stops) + 1) if i not in served]
    return data, _Solved(routes, times, start_end, dropped, True)


def _warm_routes(problem: Problem, vehicles: list[Vehicle], stop_pos: dict[str, int], data: _Data):
    """The previous day's tours as OR-Tools routes (unknown stops and vans skipped), or None."""
    prev = problem.previous_routes
    if not prev:
        return None
    routes: list[list[int]] = []
    used: set[int] = set()
    for v in vehicles:
        seq = []
        for sid in prev.get(v.id, []):
            if sid in stop_pos and stop_pos[sid] + 1 not in used:
                seq.append(stop_pos[sid] + 1)
                used.add(stop_pos[sid] + 1)
        routes.append(seq)
    return routes if any(routes) else None


# --- from the model's routes to the Plan ---------------------------------------------------------------


def _make_tours(data: _Data, solved: _Solved) -> list[Tour]:
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
            load = carried + sum(data.node_stop[n].deliver for n in nodes)  # type: ignore[union-attr]
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


# --- public entry point ----------------------------------------------------------------------------------


def plan_tours(problem: Problem, time_limit_s: float = 5.0, solution_limit: int | None = None) -> Plan:
    """Plan the day's tours. Every must-visit stop is served, or listed in `Plan.unserved` with its reason.

    The search is deterministic for the same input: it stops after `solution_limit` improving steps
    (default: scaled with the problem size) unless `time_limit_s` is reached first.
    """
    t0 = time.perf_counter()
    ids = [s.id for s in problem.stops]
    if len(set(ids)) != len(ids) or problem.depot.id in ids:
        raise ValueError("stop ids must be unique and differ from the depot id")
    vehicles = [v for v in problem.vehicles if v.available]
    unserved: list[Unserved] = []
    if not vehicles:
        unserved = [
            Unserved(s.id, UnservedReason.NO_VEHICLE, "No van is available (all in the workshop).")
            for s in problem.stops
        ]
        return Plan([], unserved, 0.0, time.perf_counter() - t0, "partial" if problem.stops else "ok")
    km, minutes, loc_index = _matrices(problem, vehicles)
    model_stops: list[Stop] = []
    excluded: set[str] = set()
    real_reason: dict[str, UnservedReason] = {}
    for s in problem.stops:
        why = _single_stop_reason(problem, km, minutes, loc_index, s)
        if why is None:
            model_stops.append(s)
        else:
            excluded.add(s.id)
            real_reason[s.id] = why[0]
            unserved.append(Unserved(s.id, why[0] if s.must_visit else UnservedReason.OPTIONAL, why[1]))
    # internal mail whose other end cannot be served cannot be served either
    changed = True
    while changed:
        changed = False
        for p in problem.pairs:
            a, b = p.pickup_stop, p.delivery_stop
            for x, y in ((a, b), (b, a)):
                if x in excluded and y not in excluded and any(s.id == y for s in model_stops):
                    excluded.add(y)
                    model_stops = [s for s in model_stops if s.id != y]
                    real_reason[y] = real_reason[x]
                    must = next(s.must_visit for s in problem.stops if s.id == y)
                    reason = real_reason[x] if must else UnservedReason.OPTIONAL
                    unserved.append(Unserved(y, reason, f"Internal mail between {a} and {b}: {x} cannot be served."))
                    changed = True
    if solution_limit is None:
        solution_limit = 100 + 10 * len(model_stops)
    data, solved = _build_and_solve(problem, model_stops, time_limit_s, solution_limit)
    dropped = set(solved.dropped)
    must_dropped = [s for s in model_stops if s.id in dropped and s.must_visit]
    for s in model_stops:
        if s.id in dropped and not s.must_visit:
            unserved.append(
                Unserved(
                    s.id, UnservedReason.OPTIONAL, f"Optional stop {s.id} (priority {s.priority}) did not pay off."
                )
            )
    if must_dropped:
        unserved += _explain_dropped(problem, model_stops, must_dropped, time_limit_s, t0)
    tours = _make_tours(data, solved)
    total = round(sum(t.km for t in tours), 3)
    order = {s.id: i for i, s in enumerate(problem.stops)}
    unserved.sort(key=lambda u: order.get(u.stop_id, 0))
    status = "partial" if any(u.reason != UnservedReason.OPTIONAL for u in unserved) else "ok"
    return Plan(tours, unserved, total, time.perf_counter() - t0, status)


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
    budget = max(0.3, min(2.0, time_limit_s / 4))
    for relax in ("capacity", "range", "time_window", "shift"):
        pending = [s for s in dropped if s.id not in out]
        if not pending:
            break
        _, sol = _build_and_solve(problem, stops, budget, 200 + 10 * len(stops), relax=relax)
        if not sol.status_ok:
            continue
        still = set(sol.dropped)
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

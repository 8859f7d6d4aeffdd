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

Search (`plan_tours`, the one engine of the app, the CLI and the benchmarks): parallel cheapest insertion
(or the previous day's tours as a warm start) and guided local search for a fifth of the time, then the
ruin-and-recreate loop of `routes.lns` (SISR + simulated annealing) on the same rules as plain arrays,
with an OR-Tools local search (greedy descent) on every new best plan; one such search per worker
process (different seeds and guided-local-search penalties), the cheapest plan wins. OR-Tools finally
restores the plan and schedules it (its finalizers: start late, back early, breaks). Every stop of the
model is optional with a penalty (huge for must-visit stops), so the search always has a plan and can
say what it left out.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import time
from dataclasses import dataclass, field, replace

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from routes.lns import SearchModel, Sisr, VehicleSpec
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


@dataclass
class _Model:
    """The OR-Tools routing model of one problem, and the same rules as arrays for the ruin-and-recreate loop."""

    data: _Data
    manager: pywrapcp.RoutingIndexManager
    routing: pywrapcp.RoutingModel
    time_dim: pywrapcp.RoutingDimension
    params: object  # RoutingSearchParameters
    search: SearchModel
    warm: list[list[int]] | None


def _build_model(problem: Problem, stops: list[Stop], relax: str | None = None) -> _Model:
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
    metres = [[math.ceil(km[loc[a]][loc[b]] * 1000 - 1e-6) for b in range(n_nodes)] for a in range(n_nodes)]
    dist_cb = routing.RegisterTransitMatrix(metres)
    routing.SetArcCostEvaluatorOfAllVehicles(dist_cb)
    recharge_m = int(problem.recharge_km_per_min * problem.reload_min * 1000)
    energy = [row[:] for row in metres]
    for rn in data.reload_owner:
        energy[rn] = [m - recharge_m for m in metres[rn]]
    energy_cb = routing.RegisterTransitMatrix(energy)
    energy_caps = [int(_range_left(v) * 1000) for v in vehicles]
    routing.AddDimensionWithVehicleCapacity(energy_cb, max(recharge_m, 0), energy_caps, True, "energy")
    energy_dim = routing.GetDimensionOrDie("energy")

    # boxes
    boxes = {s.id: (s.deliver, s.pickup) for s in stops}
    max_cap = max((v.capacity for v in vehicles), default=0)
    picked_vec, load_vec, deliver_vec = [0] * n_nodes, [0] * n_nodes, [0] * n_nodes
    for node in range(1, len(stops) + 1):
        d, pk = boxes[stops[node - 1].id]
        picked_vec[node] = pk
        load_vec[node] = pk - d + data.pair_delta.get(node, 0)
        deliver_vec[node] = d
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
    tmats: list[list[list[int]]] = []
    time_key: dict[float, int] = {}
    for v in vehicles:
        key = _speed_key(problem, v)
        if key not in cb_by_speed:
            mins = minutes[key]
            tmat = [
                [service_s[a] + math.ceil(mins[loc[a]][loc[b]] * 60 - 1e-6) for b in range(n_nodes)]
                for a in range(n_nodes)
            ]
            cb_by_speed[key] = routing.RegisterTransitMatrix(tmat)
            time_key[key] = len(tmats)
            tmats.append(tmat)
        time_cbs.append(cb_by_speed[key])
    routing.AddDimensionWithVehicleTransitAndCapacity(time_cbs, DAY_S, [DAY_S] * n_veh, False, "time")
    time_dim = routing.GetDimensionOrDie("time")

    tw_lo, tw_hi, penalty = [0] * n_nodes, [DAY_S] * n_nodes, [0] * n_nodes
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
            tw_lo[node], tw_hi[node] = int(problem.depot.opens_min * 60), int(problem.depot.closes_min * 60)
            time_dim.CumulVar(idx).SetRange(tw_lo[node], tw_hi[node])
            solver.Add(load_dim.CumulVar(idx) >= picked_dim.CumulVar(idx))
            continue
        energy_dim.SlackVar(idx).SetValue(0)
        picked_dim.SlackVar(idx).SetValue(0)
        load_dim.SlackVar(idx).SetValue(0)
        stop = data.node_stop[node]
        assert stop is not None
        if stop.window:
            tw_lo[node], tw_hi[node] = int(stop.window[0] * 60), int(stop.window[1] * 60)
            time_dim.CumulVar(idx).SetRange(tw_lo[node], tw_hi[node])
        if stop.must_visit:
            penalty[node] = MUST_PENALTY
        else:
            penalty[node] = int(max(1, stop.priority) * problem.optional_km_per_priority * 1000)
        routing.AddDisjunction([idx], penalty[node])
    specs: list[VehicleSpec] = []
    for vi, v in enumerate(vehicles):
        s_idx, e_idx = routing.Start(vi), routing.End(vi)
        start = _vehicle_start_min(v, problem)
        end = _vehicle_end_min(v, problem)
        start_lo = math.ceil(start * 60)
        start_hi = max(start_lo, int(end * 60))
        time_dim.CumulVar(s_idx).SetRange(start_lo, start_hi)
        time_dim.CumulVar(e_idx).SetRange(0, int(end * 60))
        solver.Add(load_dim.CumulVar(e_idx) >= picked_dim.CumulVar(e_idx))
        # start as late as possible and come back early: no idle time at the depot is planned
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(e_idx))
        routing.AddVariableMaximizedByFinalizer(time_dim.CumulVar(s_idx))
        brks = _active_breaks(v, start)
        spec_breaks = []
        if brks:
            intervals = []
            for k, b in enumerate(brks):
                b_lo, b_hi, dur = int(b.earliest_start_min * 60), int(b.latest_start_min * 60), int(b.duration_min * 60)
                spec_breaks.append((b_lo, b_hi, dur))
                intervals.append(solver.FixedDurationIntervalVar(b_lo, b_hi, dur, False, f"break {v.id} {k}"))
            time_dim.SetBreakIntervalsOfVehicle(intervals, vi, service_s)
        specs.append(
            VehicleSpec(
                start_node=data.start_node[vi],
                start_lo=start_lo,
                start_hi=start_hi,
                end_hi=int(end * 60),
                capacity=v.capacity,
                energy_cap=energy_caps[vi],
                time_key=time_key[_speed_key(problem, v)],
                breaks=spec_breaks,
            )
        )
    # internal mail: same van, pickup first
    paired: set[int] = set()
    node_pairs: list[tuple[int, int]] = []
    for p in pairs:
        pn, dn = stop_pos[p.pickup_stop] + 1, stop_pos[p.delivery_stop] + 1
        pi, di = manager.NodeToIndex(pn), manager.NodeToIndex(dn)
        if pi == di:
            continue
        node_pairs.append((pn, dn))
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
    params.time_limit.FromSeconds(1)  # each solve sets its own
    # tight fleets and route limits can leave a stop out of the start: these operators make room for it
    ops = params.local_search_operators
    ops.use_relocate_and_make_active = pywrapcp.BOOL_TRUE
    ops.use_exchange_and_make_active = pywrapcp.BOOL_TRUE
    ops.use_extended_swap_active = pywrapcp.BOOL_TRUE
    ops.use_inactive_lns = pywrapcp.BOOL_TRUE
    routing.CloseModelWithParameters(params)
    search = SearchModel(
        metres=metres,
        time_ls=tmats,
        service_s=service_s,
        tw_lo=tw_lo,
        tw_hi=tw_hi,
        picked=picked_vec,
        load=load_vec,
        deliver=deliver_vec,
        recharge_m=recharge_m,
        reload_owner=dict(data.reload_owner),
        customers=list(range(1, len(stops) + 1)),
        penalty=penalty,
        vehicles=specs,
        pairs=node_pairs,
    )
    warm = _warm_routes(problem, vehicles, stop_pos, data)
    return _Model(data, manager, routing, time_dim, params, search, warm)


def _params(model: _Model, seconds: float, solution_limit: int | None, metaheuristic: str, gls_lambda: float):
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.CopyFrom(model.params)
    params.local_search_metaheuristic = getattr(routing_enums_pb2.LocalSearchMetaheuristic, metaheuristic)
    params.guided_local_search_lambda_coefficient = gls_lambda
    params.time_limit.FromMilliseconds(max(20, int(seconds * 1000)))
    if solution_limit:
        params.solution_limit = solution_limit
    return params


def _routes_of(model: _Model, solution) -> list[list[int]]:
    routing, manager = model.routing, model.manager
    out = []
    for vi in range(len(model.data.vehicles)):
        idx = solution.Value(routing.NextVar(routing.Start(vi)))
        seq = []
        while not routing.IsEnd(idx):
            seq.append(manager.IndexToNode(idx))
            idx = solution.Value(routing.NextVar(idx))
        out.append(seq)
    return out


def _first_solution(model: _Model, seconds: float, solution_limit: int | None, gls_lambda: float = 0.3):
    """OR-Tools' start: the warm start or parallel cheapest insertion, improved by guided local search."""
    params = _params(model, seconds, solution_limit, "GUIDED_LOCAL_SEARCH", gls_lambda)
    solution = None
    if model.warm is not None:
        init = _assignment(model, model.warm)
        if init is not None:
            solution = model.routing.SolveFromAssignmentWithParameters(init, params)
    if solution is None:
        solution = model.routing.SolveWithParameters(params)
    if solution is None or solution.ObjectiveValue() >= MUST_PENALTY:
        # a must-visit stop left out (tight fleet or route limits, CMT7): the path-cheapest-arc start
        # builds routes one after the other and often keeps every stop in
        params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
        other = model.routing.SolveWithParameters(params)
        if other is not None and (solution is None or other.ObjectiveValue() < solution.ObjectiveValue()):
            solution = other
    return solution


def _indices(model: _Model, routes: list[list[int]]) -> list[list[int]]:
    """Nodes -> OR-Tools variable indices (they differ once a van starts away from the depot)."""
    return [[model.manager.NodeToIndex(node) for node in r] for r in routes]


def _assignment(model: _Model, routes: list[list[int]]):
    """Our routes as a fresh OR-Tools assignment of the next variables, or None if they do not fit the model's graph.

    Not `ReadAssignmentFromRoutes`: that restores into the model's own assignment, which keeps values of the last
    search, and after some searches it refuses plans that a fresh model accepts (Solomon R2/RC, 2026-12-04)."""
    init = model.routing.solver().Assignment()
    if not model.routing.RoutesToAssignment(_indices(model, routes), True, True, init):
        return None
    return init


def _settle(model: _Model, routes: list[list[int]], seconds: float, solution_limit: int | None = None):
    """OR-Tools' local search (greedy descent) from our routes: a polished solution with all cumuls, or None.

    `solution_limit=1` only restores the plan and schedules it (OR-Tools' finalizers): fast and deterministic."""
    init = _assignment(model, routes)
    if init is None:
        return None
    params = _params(model, seconds, solution_limit, "GREEDY_DESCENT", 0.0)
    solution = model.routing.SolveFromAssignmentWithParameters(init, params)
    if solution is None and os.environ.get("ROUTES_LOG_SEARCH"):
        print(f"OR-Tools rejects the plan {routes}", flush=True)
    return solution


def _extract(model: _Model, solution) -> _Solved:
    routing, manager, time_dim = model.routing, model.manager, model.time_dim
    stops = model.data.stops
    if solution is None:
        return _Solved([[] for _ in model.data.vehicles], {}, [], [s.id for s in stops], False)
    routes, times, start_end = [], {}, []
    served: set[int] = set()
    for vi in range(len(model.data.vehicles)):
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
    return _Solved(routes, times, start_end, dropped, True)


def _build_and_solve(
    problem: Problem,
    stops: list[Stop],
    time_limit_s: float,
    solution_limit: int | None,
    relax: str | None = None,
) -> tuple[_Data, _Solved]:
    """Plain OR-Tools search (used to explain dropped stops with one constraint family relaxed)."""
    model = _build_model(problem, stops, relax)
    return model.data, _extract(model, _first_solution(model, time_limit_s, solution_limit))


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


# --- the search: OR-Tools start, ruin-and-recreate, OR-Tools polish, one process per core ------------

# SISR iterations per second of time limit for 100 stops (scaled by 100/stops): the search is a fixed
# amount of work for the same input, time limit and seed, so that it gives the same plan on every run;
# the time limit stays a hard cap (on a slower or busy machine it stops the search first).
ITERATIONS_PER_S_100 = 1500
OR_TOOLS_SHARE = 0.2  # share of the time for OR-Tools' start (guided local search)
POLISH_S = 0.1  # OR-Tools local search on every new best plan of the loop (seconds, cap)
SEARCH_LAMBDAS = (0.3, 0.1)  # guided local search per worker: different penalties, different trajectories


@dataclass
class _Outcome:
    score: int
    routes: list[list[int]]
    iterations: int
    seed: int
    start: list[list[int]]  # OR-Tools' start plan (a fallback that OR-Tools surely accepts)


_FORK_MODEL: _Model | None = None  # handed to forked workers (OR-Tools models cannot be pickled)


def _search_one(model: _Model, seed: int, deadline: float, solution_limit: int | None, iterations: int | None):
    now = time.perf_counter()
    gls_lambda = SEARCH_LAMBDAS[(seed - 1) % len(SEARCH_LAMBDAS)]
    left = max(0.05, deadline - now)
    # short limits (the app's adjustments, 1 s) or a busy machine: OR-Tools' start must still finish
    start_s = max(left * OR_TOOLS_SHARE, min(left * 0.8, 1.0))
    first = _first_solution(model, start_s, solution_limit, gls_lambda)
    start = _routes_of(model, first) if first is not None else [[] for _ in model.data.vehicles]
    sisr = Sisr(model.search, seed=seed)
    # OR-Tools needs longer to restore and settle a bigger plan; polishing takes at most a sixth of the time
    polish_s = POLISH_S * max(1.0, len(model.search.customers) / 60)
    t_loop = time.perf_counter()
    spent = [0.0]

    def polish(routes: list[list[int]]) -> list[list[int]]:
        now = time.perf_counter()
        if deadline - now < polish_s or spent[0] > (now - t_loop) / 6:
            return routes
        solution = _settle(model, routes, polish_s)
        spent[0] += time.perf_counter() - now
        if solution is None and os.environ.get("ROUTES_LOG_SEARCH"):
            print("polish: no solution", flush=True)
        return _routes_of(model, solution) if solution is not None else routes

    best = sisr.run(start, deadline, polish, max_iterations=iterations)
    if os.environ.get("ROUTES_LOG_SEARCH"):
        print(
            f"seed {seed}: start {sisr.score(start, sisr.unplaced_of(start))} best {sisr.best_cost} "
            f"after {sisr.iterations} iterations",
            flush=True,
        )
    score = sisr.score(best, sisr.unplaced_of(best))
    start_score = sisr.score(start, sisr.unplaced_of(start))
    if first is not None and start_score <= score:
        best, score = start, start_score
    return _Outcome(score, best, sisr.iterations, seed, start)


def _worker(job: tuple[int, float, int | None, int | None]) -> _Outcome:
    assert _FORK_MODEL is not None
    return _search_one(_FORK_MODEL, *job)


def default_workers() -> int:
    """One search per core, at most two (more cores do not pay off at a day's size)."""
    return max(1, min(2, os.cpu_count() or 1))


def _search(
    model: _Model, deadline: float, solution_limit: int | None, workers: int, seed: int, iterations: int | None
) -> _Outcome:
    global _FORK_MODEL
    jobs = [(seed + k, deadline, solution_limit, iterations) for k in range(workers)]
    if workers <= 1 or "fork" not in mp.get_all_start_methods():
        return _search_one(model, *jobs[0])
    _FORK_MODEL = model
    try:
        with mp.get_context("fork").Pool(workers) as pool:
            results = pool.map(_worker, jobs)
    finally:
        _FORK_MODEL = None
    # cheapest plan, ties to the lower seed: the same for every run
    return min(results, key=lambda r: (r.score, r.seed))


# --- public entry point ----------------------------------------------------------------------------------


def plan_tours(
    problem: Problem,
    time_limit_s: float = 5.0,
    solution_limit: int | None = None,
    *,
    workers: int | None = None,
    seed: int = 1,
    iterations: int | None = None,
) -> Plan:
    """Plan the day's tours. Every must-visit stop is served, or listed in `Plan.unserved` with its reason.

    Search: OR-Tools builds a start (cheapest insertion or the previous day's tours, then guided local
    search for a fifth of the time, at least 1 s if the limit allows), a ruin-and-recreate loop
    (`routes.lns`: SISR with simulated annealing, insertion checks for every constraint) improves it,
    and OR-Tools polishes every new best plan.
    `workers` searches (default: one per core, at most 2; one for fewer than 10 stops or under 2 s) run in
    parallel processes with seeds `seed`, `seed + 1`, ...; the cheapest plan wins.

    The search is deterministic for the same input, time limit, seed and workers: OR-Tools stops after
    `solution_limit` solutions (default scaled with the problem size), the loop after `iterations` steps
    (default proportional to the time limit); `time_limit_s` is a hard cap that stops it earlier on a slow
    or busy machine.
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
    if iterations is None:
        iterations = int(ITERATIONS_PER_S_100 * time_limit_s * 100 / max(20, len(model_stops)))
    if workers is None:
        # a second process pays off from a few seconds and a dozen stops on (start-up costs ~0.1 s)
        workers = default_workers() if len(model_stops) >= 10 and time_limit_s >= 2.0 else 1
    model = _build_model(problem, model_stops)
    data = model.data
    # the rest: turning the routes into tours, explaining left-out stops
    deadline = t0 + time_limit_s * 0.95 - 0.05
    solved = _Solved([[] for _ in data.vehicles], {}, [], [s.id for s in model_stops], False)
    if model_stops:
        outcome = _search(model, deadline, solution_limit, workers, seed, iterations)
        # schedule the plan as it is (the loop polished it already): restore + finalizers, one solution
        solution = _settle(model, outcome.routes, 10.0, solution_limit=1)
        if solution is None:  # cannot happen if the loop's checks match the model: OR-Tools' own start then
            solution = _settle(model, outcome.start, 10.0, solution_limit=1)
        if os.environ.get("ROUTES_LOG_SEARCH"):
            print(f"final settle: {'ok' if solution is not None else 'REJECTED'}", flush=True)
        if solution is None:
            solution = _first_solution(model, max(0.1, t0 + time_limit_s - time.perf_counter()), solution_limit)
        solved = _extract(model, solution)
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

"""The OR-Tools routing model for the vans: range, load, shifts with breaks, time windows, internal mail.

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

The same rules go to the ruin-and-recreate loop as plain arrays (`routes.lns.SearchModel`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from routes.lns import SearchModel, VehicleSpec
from routes.model import (
    DAY_MINUTES,
    Problem,
    Stop,
    Vehicle,
)
from routes.prep import (
    DAY_S,
    MUST_PENALTY,
    _active_breaks,
    _Data,
    _matrices,
    _range_left,
    _speed_key,
    _vehicle_end_min,
    _vehicle_start_min,
)

# --- the OR-Tools model -----------------------------------------------------------------------------------


@dataclass
class Solved:
    routes: list[list[int]]  # node sequences per model vehicle (without start/end)
    times: dict[int, float]  # node -> service start (min)
    start_end: list[tuple[float, float]]  # per vehicle (min)
    dropped: list[str]
    status_ok: bool


@dataclass
class OrModel:
    """The OR-Tools routing model of one problem, and the same rules as arrays for the ruin-and-recreate loop."""

    data: _Data
    manager: pywrapcp.RoutingIndexManager
    routing: pywrapcp.RoutingModel
    time_dim: pywrapcp.RoutingDimension
    params: object  # RoutingSearchParameters
    search: SearchModel
    warm: list[list[int]] | None


def build_model(problem: Problem, stops: list[Stop], relax: str | None = None) -> OrModel:
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
        # pickup first, only if served: a pair whose windows cannot be kept in that order stays out (unconditional,
        # it made the whole model infeasible: no plan at all, every stop unserved)
        solver.Add(routing.ActiveVar(pi) * time_dim.CumulVar(pi) <= time_dim.CumulVar(di))

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
    return OrModel(data, manager, routing, time_dim, params, search, warm)


def _params(model: OrModel, seconds: float, solution_limit: int | None, metaheuristic: str, gls_lambda: float):
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.CopyFrom(model.params)
    params.local_search_metaheuristic = getattr(routing_enums_pb2.LocalSearchMetaheuristic, metaheuristic)
    params.guided_local_search_lambda_coefficient = gls_lambda
    params.time_limit.FromMilliseconds(max(20, int(seconds * 1000)))
    if solution_limit:
        params.solution_limit = solution_limit
    return params


def routes_of(model: OrModel, solution) -> list[list[int]]:
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


def first_solution(model: OrModel, seconds: float, solution_limit: int | None, gls_lambda: float = 0.3):
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


def _indices(model: OrModel, routes: list[list[int]]) -> list[list[int]]:
    """Nodes -> OR-Tools variable indices (they differ once a van starts away from the depot)."""
    return [[model.manager.NodeToIndex(node) for node in r] for r in routes]


def _assignment(model: OrModel, routes: list[list[int]]):
    """Our routes as a fresh OR-Tools assignment of the next variables, or None if they do not fit the model's graph.

    Not `ReadAssignmentFromRoutes`: that restores into the model's own assignment, which keeps values of the last
    search, and after some searches it refuses plans that a fresh model accepts (Solomon R2/RC, 2026-12-04)."""
    init = model.routing.solver().Assignment()
    if not model.routing.RoutesToAssignment(_indices(model, routes), True, True, init):
        return None
    return init


def settle(model: OrModel, routes: list[list[int]], seconds: float, solution_limit: int | None = None):
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


def extract_solution(model: OrModel, solution) -> Solved:
    routing, manager, time_dim = model.routing, model.manager, model.time_dim
    stops = model.data.stops
    if solution is None:
        return Solved([[] for _ in model.data.vehicles], {}, [], [s.id for s in stops], False)
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
    return Solved(routes, times, start_end, dropped, True)


def _build_and_solve(
    problem: Problem,
    stops: list[Stop],
    time_limit_s: float,
    solution_limit: int | None,
    relax: str | None = None,
) -> tuple[_Data, Solved]:
    """Plain OR-Tools search (used to explain dropped stops with one constraint family relaxed)."""
    model = build_model(problem, stops, relax)
    return model.data, extract_solution(model, first_solution(model, time_limit_s, solution_limit))


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

"""CVRPLIB/TSPLIB and Solomon VRPTW instances as `Problem`s, solved by `plan_tours` (the product's engine).

Used by `python -m routes solve` and the benchmarks. The conversion keeps the instance's rules exact:

* distances become the matrix's km (the model counts metres, i.e. the instance's distance x 1000, rounded
  up per arc; the reported cost is recomputed from the routes with the instance's own distances);
* travel time = distance. One instance time unit becomes `unit_s` whole seconds of the model's day
  (the largest that fits the horizon into 24 h), so windows and service times are exact and travel
  times are rounded up to the second: every plan keeps every window in the instance's own numbers;
* a DISTANCE limit (CMT: route length incl. service times) is the vans' shift length;
* capacity is the vans' capacity, every customer a must-visit stop that is delivered to.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from routes.cvrplib import CvrpInstance
from routes.model import DAY_MINUTES, Depot, Matrix, Problem, Stop, Vehicle
from routes.solver import plan_tours

DAY_S = DAY_MINUTES * 60
UNLIMITED_KM = 1e9


@dataclass
class CvrpResult:
    routes: list[list[int]]  # node indices (1..n), depot left out
    cost: float  # total distance with the instance's distances
    time_s: float

    def routes_in_file_ids(self, inst: CvrpInstance) -> list[list[int]]:
        return [[inst.ids[i] for i in r] for r in self.routes]


class InfeasibleError(Exception):
    """No plan serves every customer; the message says why."""


def route_cost(route: list[int], dist: list[list[float]]) -> float:
    prev, total = 0, 0.0
    for n in route:
        total += dist[prev][n]
        prev = n
    return total + dist[prev][0]


def route_length(route: list[int], dist: list[list[float]], service: float) -> float:
    return route_cost(route, dist) + service * len(route)


def check_instance(inst: CvrpInstance, dist: list[list[float]]) -> None:
    """Raise InfeasibleError for customers no single route could serve."""
    for i in range(1, len(inst.coords)):
        if inst.demands[i] > inst.capacity:
            raise InfeasibleError(
                f"customer {inst.ids[i]} demands {inst.demands[i]} > vehicle capacity {inst.capacity}"
            )
        if inst.distance_limit is not None:
            length = dist[0][i] + dist[i][0] + inst.service_time
            if length > inst.distance_limit + 1e-9:
                raise InfeasibleError(
                    f"customer {inst.ids[i]}: depot-customer-depot takes {length:.2f} "
                    f"> DISTANCE {inst.distance_limit:g}"
                )


def fleet_size(inst: CvrpInstance, max_vehicles: int | None) -> int:
    """`max_vehicles` if given, else the file's VEHICLES, else free: what the load needs plus 3."""
    if max_vehicles is not None:
        return max_vehicles
    lower = math.ceil(sum(inst.demands) / inst.capacity) if inst.capacity else 1
    if inst.windows is not None:  # Solomon: the file's fleet (25) is more than any known plan uses
        return max(inst.vehicles or 0, lower + 3)
    return inst.vehicles if inst.vehicles else lower + 3


def _horizon(inst: CvrpInstance) -> float | None:
    if inst.windows is not None:
        return inst.windows[0][1]
    return inst.distance_limit


def instance_problem(inst: CvrpInstance, rounding: str | None = None, max_vehicles: int | None = None) -> Problem:
    """The instance as a `Problem` (node i = stop id str(i), depot "0")."""
    dist = inst.distance_matrix(rounding)
    n = len(dist)
    horizon = _horizon(inst)
    unit_s = max(1, math.floor(DAY_S / horizon)) if horizon else 0  # seconds per instance time unit
    ids = tuple(str(i) for i in range(n))
    eps = 1e-9  # minutes: keeps int(minutes * 60) of an exact bound from falling a second short

    def minutes(units: float) -> float:
        return units * unit_s / 60.0

    km = tuple(tuple(row) for row in dist)
    mins = tuple(tuple(minutes(d) for d in row) for row in dist)
    if inst.windows is not None:
        start, end = minutes(inst.windows[0][0]) + eps, minutes(inst.windows[0][1]) + eps
    elif horizon:
        start, end = 0.0, minutes(horizon) + eps
    else:
        start, end = 0.0, float(DAY_MINUTES)
    stops = []
    for i in range(1, n):
        service = inst.service_times[i] if inst.service_times is not None else inst.service_time
        window = None
        if inst.windows is not None:
            window = (minutes(inst.windows[i][0]) + eps, minutes(inst.windows[i][1]) + eps)
        stops.append(
            Stop(
                ids[i], 0.0, 0.0,
                service_min=minutes(service) if horizon else 0.0,
                window=window,  # type: ignore[arg-type]
                deliver=inst.demands[i],
            )
        )  # fmt: skip
    vans = [
        Vehicle(
            f"V{k + 1}", capacity=inst.capacity, battery_range_km=UNLIMITED_KM, safety_reserve=0.0,
            shift_start_min=start, shift_end_min=end, max_rounds=1,  # type: ignore[arg-type]
        )
        for k in range(fleet_size(inst, max_vehicles))
    ]  # fmt: skip
    depot = Depot(ids[0], 0.0, 0.0, opens_min=start, closes_min=end)  # type: ignore[arg-type]
    return Problem(depot=depot, stops=stops, vehicles=vans, matrix=Matrix(ids, km, mins))


def solve_instance(
    inst: CvrpInstance,
    time_limit_s: float = 5.0,
    rounding: str | None = None,
    max_vehicles: int | None = None,
    workers: int | None = None,
    seed: int = 1,
) -> CvrpResult:
    """Solve through `plan_tours`; raises InfeasibleError when some customer cannot be served."""
    t0 = time.perf_counter()
    dist = inst.distance_matrix(rounding)
    check_instance(inst, dist)
    problem = instance_problem(inst, rounding, max_vehicles)
    plan = plan_tours(
        problem, time_limit_s=max(0.1, time_limit_s - (time.perf_counter() - t0)), workers=workers, seed=seed
    )
    if plan.unserved:
        names = ", ".join(str(inst.ids[int(u.stop_id)]) for u in plan.unserved[:10])
        why = f"{len(plan.unserved)} customer(s) left out ({names})"
        if max_vehicles is not None:
            why += f" with at most {max_vehicles} routes of capacity {inst.capacity}"
        if inst.distance_limit is not None:
            why += f" and route length <= {inst.distance_limit:g}"
        raise InfeasibleError(f"{why}: {plan.unserved[0].detail}")
    routes = [[int(s) for s in t.stop_ids] for t in plan.tours if t.stop_ids]
    cost = sum(route_cost(r, dist) for r in routes)
    return CvrpResult(routes, cost, time.perf_counter() - t0)

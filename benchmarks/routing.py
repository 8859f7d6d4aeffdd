"""Routing benchmark: the product's engine (`routes.plan_tours`) vs PyVRP and VROOM, gaps to the best known.

    python -m benchmarks.routing --sets A,P --limits 1,5 --max-n 80
    python -m benchmarks.routing --sets CMT --limits 30 --instances CMT6,CMT7,CMT8

Every solver gets the same time limit per instance in the same run (VROOM usually stops earlier on its
own) and the same cores: see benchmarks/_report.py (ours with 1 worker vs PyVRP and VROOM on one core,
ours with 2 workers vs the best of two PyVRP seeds side by side). Costs are recomputed here from the
returned routes with the instance's distances, and every plan is checked (each customer once, capacity,
DISTANCE limit incl. service time, vehicle bound).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from benchmarks._report import DEFAULT_SOLVERS, describe, print_mean_gaps, side_by_side, timed_solve
from routes.cvrp import InfeasibleError, route_cost, route_length, solve_instance
from routes.cvrplib import CvrpInstance, read_instance

DATA = Path(__file__).parent / "data"
SETS = {"A": "cvrp_A", "B": "cvrp_B", "P": "cvrp_P", "CMT": "cmt"}
# best known values (optimal for A/B/P, literature BKS for CMT), see ../shared/bench/README.md
CMT_BKS = {
    "CMT1": 524.61, "CMT2": 835.26, "CMT3": 826.14, "CMT4": 1028.42, "CMT5": 1291.29, "CMT6": 555.43,
    "CMT7": 909.68, "CMT8": 865.94, "CMT9": 1162.55, "CMT10": 1395.85, "CMT11": 1042.11, "CMT12": 819.56,
    "CMT13": 1541.14, "CMT14": 866.37,
}  # fmt: skip
BKS_OVERRIDE = {"P-n55-k8": 576.0}  # LKH-3 tour with 7 routes (fleet size free), see the bench README

Routes = list[list[int]]
Solver = Callable[[CvrpInstance, float], Routes | None]


def bks(inst: CvrpInstance) -> float | None:
    if inst.name in BKS_OVERRIDE:
        return BKS_OVERRIDE[inst.name]
    if inst.name in CMT_BKS:
        return CMT_BKS[inst.name]
    m = re.search(r"(?:Optimal value|Best value)\s*:\s*(\d+(?:\.\d+)?)", inst.comment) or re.fullmatch(
        r"\s*(\d+(?:\.\d+)?)\s*", inst.comment
    )
    return float(m.group(1)) if m else None


def n_vehicles(inst: CvrpInstance) -> int:
    if inst.vehicles:
        return inst.vehicles
    # fleet size free: enough vans that the bound never binds in practice
    return math.ceil(sum(inst.demands) / inst.capacity) + 3


def check(inst: CvrpInstance, routes: Routes, dist: list[list[float]]) -> str | None:
    flat = sorted(c for r in routes for c in r)
    if flat != list(range(1, len(inst.coords))):
        return "customers missing or repeated"
    if inst.vehicles and len([r for r in routes if r]) > inst.vehicles:
        return "too many routes"
    for r in routes:
        if sum(inst.demands[c] for c in r) > inst.capacity:
            return "capacity"
        if inst.distance_limit is not None and route_length(r, dist, inst.service_time) > inst.distance_limit + 1e-6:
            return "route length"
    return None


def _scale(inst: CvrpInstance) -> int:
    return 1 if inst.default_rounding() == "nint" else 1000


def ours(inst: CvrpInstance, limit: float, workers: int = 1) -> Routes | None:
    try:
        return solve_instance(inst, time_limit_s=limit, workers=workers).routes
    except InfeasibleError:
        return None


def vroom_solver(inst: CvrpInstance, limit: float, threads: int = 1) -> Routes | None:
    import vroom

    scale = _scale(inst)
    d = inst.distance_matrix()
    n = len(d)
    mat = [[round(x * scale) for x in row] for row in d]
    problem = vroom.Input()
    problem.set_durations_matrix("car", mat)
    tw = None
    if inst.distance_limit is not None:
        # route length incl. service = vehicle working time: travel (duration = distance) + service
        tw = vroom.TimeWindow(0, math.floor(inst.distance_limit * scale + 1e-6))
    for k in range(n_vehicles(inst)):
        kw: dict = {"start": 0, "end": 0, "capacity": [inst.capacity]}
        if tw is not None:
            kw["time_window"] = tw
        problem.add_vehicle(vroom.Vehicle(k + 1, **kw))
    svc = round(inst.service_time * scale)
    for i in range(1, n):
        problem.add_job(vroom.Job(i, location=i, delivery=[inst.demands[i]], default_service=svc))
    sol = problem.solve(exploration_level=5, nb_threads=threads, timeout=timedelta(seconds=limit))
    out: dict[int, list[int]] = {}
    for _, row in sol.routes.iterrows():
        if row["type"] == "job":
            out.setdefault(int(row["vehicle_id"]), []).append(int(row["id"]))
    return list(out.values())


def pyvrp_solver(inst: CvrpInstance, limit: float, seed: int = 1) -> Routes | None:
    from pyvrp import Model
    from pyvrp.stop import MaxRuntime

    scale = _scale(inst)
    d = inst.distance_matrix()
    n = len(d)
    m = Model()
    locs = [m.add_location(x, y) for x, y in inst.coords]
    m.add_depot(locs[0])
    kw: dict = {}
    svc = round(inst.service_time * scale)
    if inst.distance_limit is not None:
        # route length incl. service = shift duration (travel duration = distance)
        kw["shift_duration"] = math.floor(inst.distance_limit * scale + 1e-6)
    m.add_vehicle_type(num_available=n_vehicles(inst), capacity=inst.capacity, **kw)
    for i in range(1, n):
        m.add_client(locs[i], delivery=inst.demands[i], service_duration=svc)
    for i, a in enumerate(locs):
        for j, b in enumerate(locs):
            if i != j:
                dij = round(d[i][j] * scale)
                m.add_edge(a, b, distance=dij, duration=dij)
    res = m.solve(stop=MaxRuntime(limit), seed=seed, display=False)
    if not res.is_feasible():
        return None
    # a client activity's idx counts clients from 0 in the order added: our node number - 1
    return [[a.idx + 1 for a in r if a.is_client()] for r in res.best.routes()]


def _total(inst: CvrpInstance) -> Callable[[Routes], float]:
    d = inst.distance_matrix()
    return lambda routes: sum(route_cost(r, d) for r in routes)


SOLVERS: dict[str, Solver] = {
    "ours1": ours,
    "pyvrp": pyvrp_solver,
    "vroom": vroom_solver,
    "ours2": lambda inst, limit: ours(inst, limit, workers=2),
    "pyvrp2": lambda inst, limit: side_by_side(pyvrp_solver, inst, limit, (1, 2), _total(inst)),
    "vroom2": lambda inst, limit: vroom_solver(inst, limit, threads=2),
}


def instances(sets: list[str], max_n: int, names: set[str] | None) -> list[tuple[str, Path]]:
    out = []
    for s in sets:
        folder = DATA / SETS[s]
        files = sorted(folder.glob("*.vrp"), key=lambda p: (len(p.stem), p.stem))
        for f in files:
            inst_n = int(re.search(r"-n(\d+)", f.stem).group(1)) if "-n" in f.stem else None
            if names and f.stem not in names:
                continue
            if inst_n is not None and inst_n - 1 > max_n:
                continue
            out.append((s, f))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.routing", description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="A,P", help="comma list of A,B,P,CMT (default A,P)")
    ap.add_argument("--limits", default="1,5", help="seconds per instance, comma list (default 1,5)")
    ap.add_argument("--max-n", type=int, default=80, help="skip instances with more customers (default 80)")
    ap.add_argument("--instances", default="", help="comma list of instance names to run (default all)")
    ap.add_argument("--solvers", default=DEFAULT_SOLVERS, help=f"comma list of {','.join(SOLVERS)}")
    args = ap.parse_args(argv)
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    limits = [float(x) for x in args.limits.split(",")]
    solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
    names = {x.strip() for x in args.instances.split(",") if x.strip()} or None
    todo = instances(sets, args.max_n if "CMT" not in sets else max(args.max_n, 200), names)
    print(f"routing benchmark: sets {','.join(sets)}, limits {limits} s, solvers {','.join(solvers)}")
    print(describe(solvers))
    gaps: dict[tuple[str, float, str], list[float]] = {}
    header = f"{'set':4} {'instance':12} {'limit':>5} {'BKS':>9} " + " ".join(
        f"{s + ' cost':>11} {'gap%':>6} {'t(s)':>5}" for s in solvers
    )
    print(header)
    for set_name, path in todo:
        inst = read_instance(path)
        best = bks(inst)
        dist = inst.distance_matrix()
        for limit in limits:
            cells = []
            for s in solvers:
                routes, elapsed, err = timed_solve(SOLVERS[s], inst, limit, check, dist)
                if err:
                    cells.append(f"{err[:11]:>11} {'-':>6} {elapsed:5.1f}")
                    continue
                assert routes is not None
                cost = sum(route_cost(r, dist) for r in routes)
                gap = 100 * (cost / best - 1) if best else float("nan")
                if best:
                    gaps.setdefault((set_name, limit, s), []).append(gap)
                cells.append(f"{cost:11.2f} {gap:+6.2f} {elapsed:5.1f}")
            print(f"{set_name:4} {inst.name:12} {limit:5g} {best or 0:9.2f} " + " ".join(cells), flush=True)
    print("\nmean gap to best known (%), instances solved feasibly:")
    print_mean_gaps(gaps, sets, limits, solvers)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Solomon VRPTW benchmark: the product's engine (`routes.plan_tours`, time windows) vs PyVRP and VROOM.

    python -m benchmarks solomon --limits 1,10
    python -m benchmarks solomon --instances R101,C201 --limits 5

Convention of the CVRPLIB .sol files in `data/solomon_100/` (see ../shared/bench/README.md): the
objective is total distance only, distances truncated to one decimal, travel time = distance, the
number of vehicles free up to the file's fleet (25). Every plan is re-checked here (each customer
once, capacity, service starts within the windows, back at the depot before it closes) and scored
with those distances, whatever a solver reported.

Ours reads the file with the product's reader and solves through `routes.cvrp.solve_instance`, i.e.
`plan_tours` (one Solomon time unit = whole seconds of the model's day, see routes/cvrp.py).
"""

from __future__ import annotations

import argparse
import itertools
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from benchmarks._report import DEFAULT_SOLVERS, describe, print_mean_gaps, side_by_side, timed_solve

DATA = Path(__file__).parent / "data" / "solomon_100"

Routes = list[list[int]]


@dataclass(frozen=True)
class SolomonInstance:
    name: str
    vehicles: int
    capacity: int
    coords: list[tuple[float, float]]  # node 0 is the depot
    demand: list[int]
    ready: list[int]
    due: list[int]
    service: list[int]

    def distances(self) -> list[list[float]]:
        """Euclidean distances truncated to one decimal (the CVRPLIB .sol convention)."""
        return [[math.floor(10 * math.dist(a, b)) / 10 for b in self.coords] for a in self.coords]


def read_solomon(path: Path) -> SolomonInstance:
    lines = [ln.split() for ln in path.read_text().splitlines()]
    name = lines[0][0]
    vehicles = capacity = 0
    rows: list[list[int]] = []
    for i, parts in enumerate(lines):
        if parts[:2] == ["NUMBER", "CAPACITY"]:
            vehicles, capacity = int(lines[i + 1][0]), int(lines[i + 1][1])
        elif len(parts) == 7 and all(re.fullmatch(r"-?\d+(\.\d+)?", p) for p in parts):
            rows.append([int(float(p)) for p in parts])
    rows.sort(key=lambda r: r[0])
    return SolomonInstance(
        name=name,
        vehicles=vehicles,
        capacity=capacity,
        coords=[(r[1], r[2]) for r in rows],
        demand=[r[3] for r in rows],
        ready=[r[4] for r in rows],
        due=[r[5] for r in rows],
        service=[r[6] for r in rows],
    )


def best_known(path: Path) -> float | None:
    sol = path.with_suffix(".sol")
    if not sol.exists():
        return None
    m = re.search(r"Cost\s+(\d+(?:\.\d+)?)", sol.read_text())
    return float(m.group(1)) if m else None


def check(inst: SolomonInstance, routes: Routes, dist: list[list[float]]) -> str | None:
    n = len(inst.coords)
    if sorted(c for r in routes for c in r) != list(range(1, n)):
        return "customers"
    if len([r for r in routes if r]) > inst.vehicles:
        return "fleet"
    for r in routes:
        if sum(inst.demand[c] for c in r) > inst.capacity:
            return "capacity"
        t, here = float(inst.ready[0]), 0
        for c in r:
            t = max(t + dist[here][c], inst.ready[c])
            if t > inst.due[c] + 1e-6:
                return "window"
            t += inst.service[c]
            here = c
        if r and t + dist[here][0] > inst.due[0] + 1e-6:
            return "depot"
    return None


def cost(routes: Routes, dist: list[list[float]]) -> float:
    total = 0.0
    for r in routes:
        seq = [0, *r, 0] if r else []
        total += sum(dist[a][b] for a, b in itertools.pairwise(seq))
    return round(total, 1)


def ours(inst: SolomonInstance, limit: float, workers: int = 1) -> Routes | None:
    """Through `routes.plan_tours`: the file read by the product's reader, distances as the .sol files."""
    from routes.cvrp import InfeasibleError, solve_instance
    from routes.cvrplib import read_instance

    try:
        return solve_instance(
            read_instance(DATA / f"{inst.name}.txt"), limit, rounding="trunc1", max_vehicles=inst.vehicles,
            workers=workers,
        ).routes  # fmt: skip
    except InfeasibleError:
        return None


def vroom_solver(inst: SolomonInstance, limit: float, threads: int = 1) -> Routes | None:
    import vroom

    mat = [[round(d * 10) for d in row] for row in inst.distances()]  # tenths: exact
    problem = vroom.Input()
    problem.set_durations_matrix("car", mat)
    horizon = vroom.TimeWindow(inst.ready[0] * 10, inst.due[0] * 10)
    for k in range(inst.vehicles):
        problem.add_vehicle(vroom.Vehicle(k + 1, start=0, end=0, capacity=[inst.capacity], time_window=horizon))
    for i in range(1, len(inst.coords)):
        problem.add_job(
            vroom.Job(
                i, location=i, delivery=[inst.demand[i]], default_service=inst.service[i] * 10,
                time_windows=[vroom.TimeWindow(inst.ready[i] * 10, inst.due[i] * 10)],
            )
        )  # fmt: skip
    sol = problem.solve(exploration_level=5, nb_threads=threads, timeout=timedelta(seconds=limit))
    out: dict[int, list[int]] = {}
    for _, row in sol.routes.iterrows():
        if row["type"] == "job":
            out.setdefault(int(row["vehicle_id"]), []).append(int(row["id"]))
    return list(out.values())


def pyvrp_solver(inst: SolomonInstance, limit: float, seed: int = 1) -> Routes | None:
    from pyvrp import Model
    from pyvrp.stop import MaxRuntime

    dist = inst.distances()
    m = Model()
    locs = [m.add_location(x, y) for x, y in inst.coords]
    m.add_depot(locs[0], tw_early=inst.ready[0] * 10, tw_late=inst.due[0] * 10)
    m.add_vehicle_type(
        num_available=inst.vehicles, capacity=inst.capacity, tw_early=inst.ready[0] * 10, tw_late=inst.due[0] * 10
    )
    for i in range(1, len(locs)):
        m.add_client(
            locs[i], delivery=inst.demand[i], service_duration=inst.service[i] * 10,
            tw_early=inst.ready[i] * 10, tw_late=inst.due[i] * 10,
        )  # fmt: skip
    for i, a in enumerate(locs):
        for j, b in enumerate(locs):
            if i != j:
                d = round(dist[i][j] * 10)
                m.add_edge(a, b, distance=d, duration=d)
    res = m.solve(stop=MaxRuntime(limit), seed=seed, display=False)
    if not res.is_feasible():
        return None
    return [[a.idx + 1 for a in r if a.is_client()] for r in res.best.routes()]


def _total(inst: SolomonInstance) -> Callable[[Routes], float]:
    dist = inst.distances()
    return lambda routes: cost(routes, dist)


SOLVERS: dict[str, Callable[[SolomonInstance, float], Routes | None]] = {
    "ours1": ours,
    "pyvrp": pyvrp_solver,
    "vroom": vroom_solver,
    "ours2": lambda inst, limit: ours(inst, limit, workers=2),
    "pyvrp2": lambda inst, limit: side_by_side(pyvrp_solver, inst, limit, (1, 2), _total(inst)),
    "vroom2": lambda inst, limit: vroom_solver(inst, limit, threads=2),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.solomon", description=__doc__.splitlines()[0])
    ap.add_argument("--limits", default="1", help="seconds per instance, comma list (default 1)")
    ap.add_argument("--instances", default="", help="comma list of instance names, e.g. R101,C201 (default all)")
    ap.add_argument("--solvers", default=DEFAULT_SOLVERS, help=f"comma list of {','.join(SOLVERS)}")
    args = ap.parse_args(argv)
    limits = [float(x) for x in args.limits.split(",")]
    solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
    names = {x.strip().upper() for x in args.instances.split(",") if x.strip()}
    files = sorted(DATA.glob("*.txt"), key=lambda p: (re.sub(r"\d", "", p.stem), p.stem))
    files = [f for f in files if not names or f.stem.upper() in names]
    print(f"Solomon VRPTW benchmark: {len(files)} instances, limits {limits} s, solvers {','.join(solvers)}")
    print(describe(solvers))
    columns = " ".join(f"{s + ' cost':>11} {'gap%':>6} {'t(s)':>5}" for s in solvers)
    print(f"{'instance':8} {'limit':>5} {'BKS':>8} {columns}")
    gaps: dict[tuple[str, float, str], list[float]] = {}
    failures: dict[tuple[float, str], int] = {}
    for path in files:
        inst = read_solomon(path)
        best = best_known(path)
        dist = inst.distances()
        family = re.sub(r"\d", "", inst.name)[:2].upper()
        for limit in limits:
            cells = []
            for s in solvers:
                routes, elapsed, err = timed_solve(SOLVERS[s], inst, limit, check, dist)
                if err:
                    failures[(limit, s)] = failures.get((limit, s), 0) + 1
                    cells.append(f"{err[:11]:>11} {'-':>6} {elapsed:5.1f}")
                    continue
                assert routes is not None
                c = cost(routes, dist)
                gap = 100 * (c / best - 1) if best else float("nan")
                if best:
                    gaps.setdefault((family, limit, s), []).append(gap)
                    gaps.setdefault(("all", limit, s), []).append(gap)
                cells.append(f"{c:11.1f} {gap:+6.2f} {elapsed:5.1f}")
            print(f"{inst.name:8} {limit:5g} {best or 0:8.1f} " + " ".join(cells), flush=True)
    print("\nmean gap to the CVRPLIB best known (%), (instances solved feasibly):")
    families = [*sorted({k[0] for k in gaps if k[0] != "all"}), "all"]
    print_mean_gaps(gaps, families, limits, solvers)
    for (limit, s), k in sorted(failures.items()):
        print(f"  {s} at {limit:g}s: {k} instance(s) without a feasible plan")
    return 0


if __name__ == "__main__":
    sys.exit(main())

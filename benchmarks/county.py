"""Product cases: the 200-stop county day (`routes.demo.county_problem`) and the Oldenburg demo day.

    python -m benchmarks county --limits 30
    python -m benchmarks county --cases oldenburg --limits 5

Both cases are ours (generated deterministically / from the demo CSV), not published instances, so the
table compares the solvers with each other, not with a best known value. Every solver sees the same
matrix (haversine x circuity at the vans' speed, as `plan_tours`), in whole seconds rounded up and metres
rounded up (as the product model), and every plan is re-checked with the product model's own rules
(`routes.lns.route_feasible`: windows, capacity with pickups, range, break, shift), whatever a solver
reported. PyVRP has no driver breaks: it plans with the shift shortened by the break, and its plan then
has to pass the same check with the break placed (VROOM models the break itself).
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from benchmarks._report import DEFAULT_SOLVERS, describe, side_by_side
from routes import Problem, plan_tours
from routes.demo import county_problem, demo_problem
from routes.lns import route_feasible
from routes.ormodel import build_model
from routes.prep import _active_breaks, _matrices, _range_left, _vehicle_end_min, _vehicle_start_min

OLDENBURG_CSV = Path(__file__).resolve().parents[1] / "tests" / "routes" / "data" / "oldenburg-sites.csv"
Routes = list[list[int]]  # per van (position in problem.vehicles): stop numbers 1..n (problem.stops[i - 1])


class _Case:
    def __init__(self, name: str, problem: Problem) -> None:
        self.name = name
        self.problem = problem
        vans = [v for v in problem.vehicles if v.available]
        self.km, minutes, _ = _matrices(problem, vans)
        self.minutes = next(iter(minutes.values()))
        self.model = build_model(problem, problem.stops)
        n = len(self.km)
        self.metres = [[math.ceil(self.km[a][b] * 1000 - 1e-6) for b in range(n)] for a in range(n)]
        self.seconds = [[math.ceil(self.minutes[a][b] * 60 - 1e-6) for b in range(n)] for a in range(n)]

    def check(self, routes: Routes) -> str | None:
        n = len(self.problem.stops)
        if sorted(c for r in routes for c in r) != list(range(1, n + 1)):
            return "stops"
        if len(routes) > len(self.model.search.vehicles):
            return "fleet"
        where = {c: k for k, r in enumerate(routes) for c in r}
        for k, r in enumerate(routes):
            if r and not route_feasible(self.model.search, k, r, where):
                return "violated"
        return None

    def cost_km(self, routes: Routes) -> float:
        total = 0.0
        for r in routes:
            seq = [0, *r, 0] if r else []
            total += sum(self.km[a][b] for a, b in itertools.pairwise(seq))
        return total


def ours(case: _Case, limit: float, workers: int = 1) -> Routes | None:
    plan = plan_tours(case.problem, time_limit_s=limit, workers=workers)
    if plan.unserved:
        return None
    index = {s.id: i + 1 for i, s in enumerate(case.problem.stops)}
    by_van = {t.vehicle_id: [index[s] for s in t.stop_ids] for t in plan.tours}
    return [by_van.get(v.id, []) for v in case.problem.vehicles if v.available]


def _shift_s(case: _Case, v_index: int) -> tuple[int, int]:
    v = [v for v in case.problem.vehicles if v.available][v_index]
    return math.ceil(_vehicle_start_min(v, case.problem) * 60), int(_vehicle_end_min(v, case.problem) * 60)


def pyvrp_solver(case: _Case, limit: float, seed: int = 1) -> Routes | None:
    from pyvrp import Model
    from pyvrp.stop import MaxRuntime

    p = case.problem
    m = Model()
    locs = [m.add_location(0, 0) for _ in range(len(case.km))]
    depot = m.add_depot(locs[0])
    vans = [v for v in p.vehicles if v.available]
    for k, v in enumerate(vans):
        start, end = _shift_s(case, k)
        brk = sum(b.duration_min * 60 for b in _active_breaks(v, start / 60))
        m.add_vehicle_type(
            num_available=1, capacity=v.capacity, start_depot=depot, end_depot=depot, tw_early=start, tw_late=end,
            shift_duration=end - start - brk, max_distance=int(_range_left(v) * 1000),
        )  # fmt: skip
    for i, s in enumerate(p.stops, start=1):
        lo, hi = (int(s.window[0] * 60), int(s.window[1] * 60)) if s.window else (0, 24 * 3600)
        m.add_client(
            locs[i], delivery=s.deliver, pickup=s.pickup, service_duration=round(s.service_min * 60), tw_early=lo,
            tw_late=hi,
        )  # fmt: skip
    for a in range(len(locs)):
        for b in range(len(locs)):
            if a != b:
                m.add_edge(locs[a], locs[b], distance=case.metres[a][b], duration=case.seconds[a][b])
    res = m.solve(stop=MaxRuntime(limit), seed=seed, display=False)
    if not res.is_feasible():
        return None
    out: Routes = [[] for _ in vans]
    for r in res.best.routes():
        out[r.vehicle_type()] = [a.idx + 1 for a in r if a.is_client()]
    return out


def vroom_solver(case: _Case, limit: float, threads: int = 1) -> Routes | None:
    import vroom

    p = case.problem
    inp = vroom.Input()
    inp.set_durations_matrix("car", case.seconds)
    inp.set_costs_matrix("car", case.metres)
    inp.set_distances_matrix("car", case.metres)
    vans = [v for v in p.vehicles if v.available]
    for k, v in enumerate(vans):
        start, end = _shift_s(case, k)
        brks = [
            vroom.Break(j + 1, [vroom.TimeWindow(int(b.earliest_start_min * 60), int(b.latest_start_min * 60))],
                        service=int(b.duration_min * 60))
            for j, b in enumerate(_active_breaks(v, start / 60))
        ]  # fmt: skip
        inp.add_vehicle(
            vroom.Vehicle(
                k + 1, start=0, end=0, capacity=[v.capacity], time_window=vroom.TimeWindow(start, end), breaks=brks,
                max_distance=int(_range_left(v) * 1000),
            )
        )  # fmt: skip
    for i, s in enumerate(p.stops, start=1):
        tws = [vroom.TimeWindow(int(s.window[0] * 60), int(s.window[1] * 60))] if s.window else []
        inp.add_job(
            vroom.Job(i, location=i, delivery=[s.deliver], pickup=[s.pickup],
                      default_service=round(s.service_min * 60), time_windows=tws)
        )  # fmt: skip
    sol = inp.solve(exploration_level=5, nb_threads=threads, timeout=timedelta(seconds=limit))
    out: Routes = [[] for _ in vans]
    for _, row in sol.routes.iterrows():
        if row["type"] == "job":
            out[int(row["vehicle_id"]) - 1].append(int(row["id"]))
    return out


def _solvers(case: _Case) -> dict[str, Callable[[_Case, float], Routes | None]]:
    return {
        "ours1": ours,
        "pyvrp": pyvrp_solver,
        "vroom": vroom_solver,
        "ours2": lambda c, limit: ours(c, limit, workers=2),
        "pyvrp2": lambda c, limit: side_by_side(pyvrp_solver, c, limit, (1, 2), case.cost_km),
        "vroom2": lambda c, limit: vroom_solver(c, limit, threads=2),
    }


def cases(names: list[str]) -> list[_Case]:
    out = []
    if "county" in names:
        out.append(_Case("county-200", county_problem()))
    if "oldenburg" in names:
        out.append(_Case("oldenburg-40", demo_problem(OLDENBURG_CSV)))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.county", description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="county,oldenburg", help="comma list of county,oldenburg")
    ap.add_argument("--limits", default="30", help="seconds per case, comma list (default 30)")
    ap.add_argument("--solvers", default=DEFAULT_SOLVERS, help="comma list of ours1,pyvrp,vroom,ours2,pyvrp2,vroom2")
    args = ap.parse_args(argv)
    limits = [float(x) for x in args.limits.split(",")]
    solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
    print(f"product cases: limits {limits} s, solvers {','.join(solvers)} (km driven, all stops served?)")
    print(describe(solvers))
    for case in cases([c.strip() for c in args.cases.split(",")]):
        table = _solvers(case)
        for limit in limits:
            cells = []
            for s in solvers:
                t0 = time.perf_counter()
                try:
                    routes = table[s](case, limit)
                except Exception as exc:
                    print(f"  {s} failed: {exc}", file=sys.stderr)
                    routes = None
                elapsed = time.perf_counter() - t0
                err = "no plan" if routes is None else case.check(routes)
                cells.append(f"{s} {err or f'{case.cost_km(routes or []):8.2f} km'} ({elapsed:.1f}s)")
            print(f"  {case.name:13} {limit:4g}s  " + "  ".join(cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

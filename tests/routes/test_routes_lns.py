"""The ruin-and-recreate loop (routes.lns) on the product model: its insertion checks agree with OR-Tools.

Every plan the loop builds must be accepted by the OR-Tools model (which holds every side constraint):
if a check let a window, the load, the range, a break or a pair slip, OR-Tools would refuse the plan.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_routes_properties import problems  # the sibling test module (pytest puts its folder on the path)

from routes import Depot, Problem, Stop, Vehicle, plan_tours
from routes.check import check_plan
from routes.cvrp import route_length, solve_instance
from routes.cvrplib import read_instance
from routes.lns import Sisr, route_feasible
from routes.ormodel import build_model, first_solution, routes_of, settle

DATA = Path(__file__).parent / "data"


@st.composite
def replanned(draw: st.DrawFn) -> Problem:
    """Random problems, some re-planned mid-day: the first van starts where it is, later, with km driven."""
    problem = draw(problems())
    if draw(st.booleans()):
        van = problem.vehicles[0]
        problem.vehicles[0] = replace(
            van,
            start_lat=53.1455 + draw(st.floats(-0.05, 0.05)),
            start_lon=8.2035 + draw(st.floats(-0.05, 0.05)),
            start_min=van.shift_start_min + draw(st.integers(0, 90)),
            driven_km=draw(st.floats(0, 10)),
        )
    return problem


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(replanned())
def test_every_plan_of_the_loop_is_accepted_by_or_tools(problem: Problem) -> None:
    if not any(v.available for v in problem.vehicles):
        return
    model = build_model(problem, problem.stops)
    first = first_solution(model, 10.0, 20)  # a solution limit, not the clock, ends it: the same start every run
    start = routes_of(model, first) if first is not None else [[] for _ in model.data.vehicles]
    sisr = Sisr(model.search, seed=7, blink=0.0)
    routes = [list(r) for r in start]
    for _ in range(15):
        ruined, removed = sisr.ruin(routes)
        routes, _ = sisr.recreate(ruined, removed + sisr.unplaced_of(ruined))
        where = {c: k for k, r in enumerate(routes) for c in r}
        for k, r in enumerate(routes):
            # (an empty route can break the rules by itself: a van re-planned too late to drive back in its shift)
            assert not r or route_feasible(model.search, k, r, where)
        if any(routes):  # (OR-Tools may refuse an empty plan of a problem with unservable stops: never used)
            solution = settle(model, routes, 10.0, solution_limit=1)  # restored and scheduled
            assert solution is not None, routes
            # as it is (rarely, on stops at one spot, OR-Tools hands back another order of the same cost)
            got = routes_of(model, solution)
            assert sisr.score(got, sisr.unplaced_of(got)) <= sisr.score(routes, sisr.unplaced_of(routes)), routes
        served = {c for r in routes for c in r}
        for p, d in model.search.pairs:  # internal mail: both or neither
            assert (p in served) == (d in served)


def test_recreate_leaves_out_what_no_van_can_take() -> None:
    # capacity 10, one van, two stops of 6 boxes: one stays out instead of overloading the van
    depot = Depot("D", 53.14, 8.20)
    stops = [Stop("A", 53.15, 8.21, deliver=6), Stop("B", 53.13, 8.19, deliver=6)]
    problem = Problem(depot, stops, [Vehicle("V", capacity=10, battery_range_km=100, max_rounds=1)])
    model = build_model(problem, stops)
    sisr = Sisr(model.search, seed=1)
    routes, unplaced = sisr.recreate([[]], [1, 2])
    assert len(unplaced) == 1 and len(routes[0]) == 1
    plan = plan_tours(problem, time_limit_s=0.5)
    assert check_plan(problem, plan) == []
    assert len(plan.unserved) == 1


def test_loop_improves_the_start_and_stops_after_its_iterations() -> None:
    inst = read_instance(DATA / "A-n32-k5.vrp")
    from routes.cvrp import instance_problem

    problem = instance_problem(inst)
    model = build_model(problem, problem.stops)
    start = routes_of(model, first_solution(model, 0.1, 5))
    sisr = Sisr(model.search, seed=3)
    best = sisr.run(start, time.perf_counter() + 60, max_iterations=1500)
    assert sisr.iterations == 1500
    assert sisr.cost(best) < sisr.cost(start)
    assert sisr.cost(best) <= 784 * 1000 * 1.05  # optimum 784 (metres = distance x 1000)


@pytest.mark.parametrize("workers", [1, 2])
def test_cmt6_route_length_limit_through_plan_tours(workers: int) -> None:
    inst = read_instance(DATA / "CMT6.vrp")
    res = solve_instance(inst, time_limit_s=5.0, workers=workers)
    d = inst.distance_matrix()
    assert sorted(c for r in res.routes for c in r) == list(range(1, 51))
    assert len(res.routes) <= 6
    for r in res.routes:
        assert route_length(r, d, inst.service_time) <= 200 + 1e-6
        assert sum(inst.demands[c] for c in r) <= 160
    assert res.cost <= 555.43 * 1.05


def test_same_seed_same_plan_other_seed_may_differ() -> None:
    inst = read_instance(DATA / "P-n16-k8.vrp")
    a = solve_instance(inst, time_limit_s=2.0, workers=1, seed=5)
    b = solve_instance(inst, time_limit_s=2.0, workers=1, seed=5)
    assert a.routes == b.routes

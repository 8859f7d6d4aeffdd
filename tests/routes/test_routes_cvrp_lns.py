"""Ruin-and-recreate loop (routes.lns) and its use in routes.cvrp: plans stay complete and feasible."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest

from routes.cvrp import SearchConfig, route_length, savings_routes, solve_cvrp
from routes.cvrplib import parse_vrp, read_instance
from routes.lns import Sisr

DATA = Path(__file__).parent / "data"


def _sisr(name: str, max_routes: int, seed: int = 3) -> tuple[Sisr, object, list[list[float]]]:
    inst = read_instance(DATA / name)
    d = inst.distance_matrix()
    scale = 1 if inst.default_rounding() == "nint" else 1000
    idist = np.array([[round(x * scale) for x in row] for row in d], dtype=np.int64)
    lmat = lmax = None
    if inst.distance_limit is not None:
        n = len(d)
        svc = round(inst.service_time * scale)
        lmat = np.array(
            [[math.ceil(d[a][b] * scale - 1e-9) + (svc if a else 0) for b in range(n)] for a in range(n)],
            dtype=np.int64,
        )
        lmax = math.floor(inst.distance_limit * scale + 1e-6)
    return Sisr(idist, list(inst.demands), inst.capacity, max_routes, lmat, lmax, seed=seed), inst, d


def _assert_feasible(inst: object, routes: list[list[int]], d: list[list[float]], max_routes: int) -> None:
    assert sorted(c for r in routes for c in r) == list(range(1, len(inst.coords)))
    assert len(routes) <= max_routes
    for r in routes:
        assert sum(inst.demands[c] for c in r) <= inst.capacity
        if inst.distance_limit is not None:
            assert route_length(r, d, inst.service_time) <= inst.distance_limit + 1e-6


def test_ruin_then_recreate_keeps_every_customer_once() -> None:
    sisr, inst, d = _sisr("A-n32-k5.vrp", max_routes=8)
    routes = savings_routes(inst, d)
    for _ in range(300):
        ruined, removed = sisr.ruin(routes)
        assert removed and sorted([c for r in ruined for c in r] + removed) == list(range(1, 32))
        routes, unplaced = sisr.recreate(ruined, removed)
        assert unplaced == []
        _assert_feasible(inst, routes, d, 8)


def test_run_improves_savings_start_and_never_reports_worse() -> None:
    sisr, inst, d = _sisr("A-n32-k5.vrp", max_routes=8)
    start = savings_routes(inst, d)
    best = sisr.run(start, time.perf_counter() + 60, max_iterations=2000)
    _assert_feasible(inst, best, d, 8)
    assert sisr.iterations == 2000
    assert sisr.cost(best) < sisr.cost(start)
    assert sisr.cost(best) <= 784 * 1.06  # optimum 784; a broken acceptance or insertion ends far above


def test_route_length_limit_and_fleet_bound_hold_in_recreate() -> None:
    sisr, inst, d = _sisr("CMT6.vrp", max_routes=6)
    lam = 1.0
    start = savings_routes(inst, d, lam)
    assert len(start) <= 6
    best = sisr.run(start, time.perf_counter() + 60, max_iterations=1000)
    _assert_feasible(inst, best, d, 6)
    assert sisr.cost(best) <= sisr.cost(start)


def test_missing_customers_of_the_start_are_inserted() -> None:
    sisr, inst, d = _sisr("A-n32-k5.vrp", max_routes=8)
    start = [r for r in savings_routes(inst, d)]
    start[0] = start[0][2:]  # two customers left out
    best = sisr.run(start, time.perf_counter() + 60, max_iterations=50)
    _assert_feasible(inst, best, d, 8)


def test_unplaceable_customer_stays_out_instead_of_breaking_a_limit() -> None:
    # two customers of demand 6 and capacity 10, one route allowed: one of them cannot be placed
    text = """NAME : tiny
TYPE : CVRP
DIMENSION : 3
EDGE_WEIGHT_TYPE : EUC_2D
CAPACITY : 10
NODE_COORD_SECTION
1 0 0
2 10 0
3 0 20
DEMAND_SECTION
1 0
2 6
3 6
DEPOT_SECTION
1
-1
EOF
"""
    inst = parse_vrp(text)
    d = np.array(inst.distance_matrix(), dtype=np.int64)
    sisr = Sisr(d, list(inst.demands), inst.capacity, max_routes=1, seed=1)
    routes, unplaced = sisr.recreate([], [1, 2])
    assert len(routes) == 1 and len(unplaced) == 1
    assert sum(inst.demands[c] for c in routes[0]) <= 10


@pytest.mark.parametrize("workers", [1, 2])
def test_solve_cvrp_with_lns_on_cmt6_is_feasible_and_close(workers: int) -> None:
    inst = read_instance(DATA / "CMT6.vrp")
    res = solve_cvrp(inst, time_limit_s=2.0, workers=workers)
    d = inst.distance_matrix()
    _assert_feasible(inst, res.routes, d, 6)
    assert "LNS" in res.config
    assert res.cost == pytest.approx(sum(route_length(r, d, 0) for r in res.routes))
    assert res.cost <= 555.43 * 1.05


def test_lns_off_keeps_plain_gls_available() -> None:
    inst = read_instance(DATA / "P-n16-k8.vrp")
    res = solve_cvrp(inst, time_limit_s=0.5, workers=1, configs=(SearchConfig(gls_lambda=0.3),))
    assert "LNS" not in res.config
    _assert_feasible(inst, res.routes, inst.distance_matrix(), 8)

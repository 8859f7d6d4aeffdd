"""The compiled O(1) insertion tests (`routes.kernels`) agree with the full route check (`route_feasible`)."""

from __future__ import annotations

import numpy as np
import pytest

from routes import kernels
from routes.feasible import SearchModel, VehicleSpec, route_feasible
from routes.lns import Sisr, _block


def _model(rng: np.random.Generator, n: int, energy_cap: int, capacity: int) -> SearchModel:
    xy = rng.uniform(0, 20, size=(n, 2))
    metres = np.ceil(np.linalg.norm(xy[:, None] - xy[None], axis=2) * 1000).astype(int)
    service = [0, *rng.integers(60, 600, size=n - 1).tolist()]
    time = (metres // 10 + np.array(service)[:, None]).tolist()
    lo = [0, *rng.integers(0, 20000, size=n - 1).tolist()]
    hi = [30000, *(x + int(w) for x, w in zip(lo[1:], rng.integers(500, 12000, size=n - 1), strict=True))]
    deliver = [0, *rng.integers(1, 6, size=n - 1).tolist()]
    van = VehicleSpec(start_node=0, start_lo=0, start_hi=30000, end_hi=30000, capacity=capacity,
                      energy_cap=energy_cap, time_key=0)  # fmt: skip
    return SearchModel(
        metres=metres.tolist(), time_ls=[time], service_s=service, tw_lo=lo, tw_hi=hi, picked=[0] * n,
        load=[-d for d in deliver], deliver=deliver, recharge_m=0, reload_owner={}, customers=list(range(1, n)),
        penalty=[0] + [10**9] * (n - 1), vehicles=[van], pairs=[],
    )  # fmt: skip


@pytest.mark.parametrize("seed", range(40))
def test_the_o1_tests_accept_exactly_the_positions_the_full_check_accepts(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m = _model(rng, n=10, energy_cap=int(rng.integers(40_000, 120_000)), capacity=int(rng.integers(8, 30)))
    # a feasible route: customers in order of their windows, as many as fit
    route: list[int] = []
    for c in sorted(m.customers, key=lambda c: m.tw_lo[c]):
        if rng.random() < 0.6 and route_feasible(m, 0, [*route, c]):
            route.append(c)
    block = _block(m, 0, route)
    checked = 0
    for c in (c for c in m.customers if c not in route):
        order, deltas = kernels.scan_positions(
            block, c, m.time_np, m.metres_np, m.tw_lo[c], m.tw_hi[c], m.deliver[c], True, np.empty(0), 0.0
        )
        accepted = {int(block[kernels.POS, j]): int(d) for j, d in zip(order, deltas, strict=True)}
        expected = {pos for pos in range(len(route) + 1) if route_feasible(m, 0, [*route[:pos], c, *route[pos:]])}
        assert set(accepted) == expected, (c, route)
        seq = [0, *route, 0]
        for pos, d in accepted.items():
            assert d == m.metres[seq[pos]][c] + m.metres[c][seq[pos + 1]] - m.metres[seq[pos]][seq[pos + 1]]
        assert list(deltas) == sorted(deltas)
        checked += len(route) + 1
    assert checked > 0


def test_blinks_skip_positions_and_the_search_is_repeatable() -> None:
    rng = np.random.default_rng(7)
    m = _model(rng, n=12, energy_cap=10**9, capacity=100)
    block = _block(m, 0, [])
    c = 1
    all_pos, _ = kernels.scan_positions(block, c, m.time_np, m.metres_np, 0, 10**9, 1, True, np.ones(1), 0.5)
    none, _ = kernels.scan_positions(block, c, m.time_np, m.metres_np, 0, 10**9, 1, True, np.zeros(1), 0.5)
    assert len(all_pos) == 1 and len(none) == 0
    plans = []
    for _ in range(2):
        sisr = Sisr(m, seed=3)
        start = [[c for c in m.customers if route_feasible(m, 0, [c])][:1]]
        best = sisr.run(start, deadline=float("inf"), max_iterations=300)
        assert route_feasible(m, 0, best[0])
        plans.append(best)
    assert plans[0] == plans[1]

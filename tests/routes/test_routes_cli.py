"""`python -m routes solve` contract, CVRPLIB reader, route-length limited instances."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from routes.cvrp import InfeasibleError, route_cost, route_length, solve_instance
from routes.cvrplib import parse_vrp, read_instance

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "routes", "solve", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_reader_a_n32_k5() -> None:
    inst = read_instance(DATA / "A-n32-k5.vrp")
    assert inst.n_customers == 31 and inst.capacity == 100 and inst.ids[0] == 1
    d = inst.distance_matrix()
    x = math.hypot(inst.coords[0][0] - inst.coords[1][0], inst.coords[0][1] - inst.coords[1][1])
    assert d[0][1] == int(x + 0.5)  # CVRPLIB nint
    assert inst.distance_matrix("exact")[0][1] == pytest.approx(x)
    assert inst.vehicles is None and inst.distance_limit is None


def test_reader_cmt6_limits() -> None:
    inst = read_instance(DATA / "CMT6.vrp")
    assert inst.distance_limit == 200 and inst.service_time == 10 and inst.vehicles == 6
    assert inst.default_rounding() == "exact"


def test_cli_contract_json() -> None:
    res = _run(str(DATA / "A-n32-k5.vrp"), "--time-limit", "2", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert set(out) == {"cost", "routes", "time_s"}
    inst = read_instance(DATA / "A-n32-k5.vrp")
    flat = sorted(c for r in out["routes"] for c in r)
    assert flat == list(range(2, 33))  # every customer once, file numbering, depot (1) left out
    d = inst.distance_matrix()
    pos = {fid: i for i, fid in enumerate(inst.ids)}
    cost = sum(route_cost([pos[c] for c in r], d) for r in out["routes"])
    assert cost == pytest.approx(out["cost"])
    for r in out["routes"]:
        assert sum(inst.demands[pos[c]] for c in r) <= inst.capacity
    assert out["cost"] <= 784 * 1.08  # quality is measured by the benchmarks, not here


def test_cli_vehicles_and_rounding_flags() -> None:
    res = _run(str(DATA / "P-n16-k8.vrp"), "--time-limit", "1", "--json", "--vehicles", "8", "--rounding", "exact")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert len(out["routes"]) <= 8
    inst = read_instance(DATA / "P-n16-k8.vrp")
    pos = {fid: i for i, fid in enumerate(inst.ids)}
    d = inst.distance_matrix("exact")
    assert sum(route_cost([pos[c] for c in r], d) for r in out["routes"]) == pytest.approx(out["cost"])


def test_cmt6_distance_limit_is_feasible() -> None:
    inst = read_instance(DATA / "CMT6.vrp")
    res = solve_instance(inst, time_limit_s=3.0)
    d = inst.distance_matrix()
    assert sorted(c for r in res.routes for c in r) == list(range(1, 51))
    assert len(res.routes) <= 6
    for r in res.routes:
        assert route_length(r, d, inst.service_time) <= 200 + 1e-6
        assert sum(inst.demands[c] for c in r) <= 160
    assert res.cost <= 555.43 * 1.05


IMPOSSIBLE = """NAME : impossible
TYPE : CVRP
DIMENSION : 3
CAPACITY : 10
EDGE_WEIGHT_TYPE : EUC_2D
NODE_COORD_SECTION
1 0 0
2 3 4
3 6 8
DEMAND_SECTION
1 0
2 5
3 11
DEPOT_SECTION
1
-1
EOF
"""


def test_impossible_instance_exits_2(tmp_path: Path) -> None:
    f = tmp_path / "impossible.vrp"
    f.write_text(IMPOSSIBLE, encoding="utf-8")
    res = _run(str(f), "--time-limit", "1", "--json")
    assert res.returncode == 2
    assert res.stdout == ""
    assert "customer 3 demands 11 > vehicle capacity 10" in res.stderr


def test_too_few_vehicles_is_infeasible() -> None:
    inst = parse_vrp(IMPOSSIBLE.replace("3 11", "3 9"))
    assert solve_instance(inst, time_limit_s=1.0, workers=1).cost == pytest.approx(10 + 20)  # two out-and-backs
    with pytest.raises(InfeasibleError, match="at most 1 routes"):
        solve_instance(inst, time_limit_s=1.0, max_vehicles=1, workers=1)


def test_cli_solves_a_solomon_file_and_keeps_every_window() -> None:
    # R101's first 25 customers; distances Euclidean, not rounded; travel time = distance
    path = DATA / "R101-25.txt"
    res = _run(str(path), "--time-limit", "3", "--json", "--workers", "1")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    inst = read_instance(path)
    assert inst.windows is not None and inst.service_times is not None
    d = inst.distance_matrix()
    assert d[0][1] == pytest.approx(math.hypot(35 - 41, 35 - 49))  # not rounded
    pos = {fid: i for i, fid in enumerate(inst.ids)}
    assert sorted(c for r in out["routes"] for c in r) == list(range(1, 26))
    for r in out["routes"]:
        nodes = [pos[c] for c in r]
        assert sum(inst.demands[c] for c in nodes) <= inst.capacity
        t, here = inst.windows[0][0], 0
        for c in nodes:
            t = max(t + d[here][c], inst.windows[c][0])
            assert t <= inst.windows[c][1] + 1e-9, f"customer {inst.ids[c]} served at {t}, due {inst.windows[c][1]}"
            t += inst.service_times[c]
            here = c
        assert t + d[here][0] <= inst.windows[0][1] + 1e-9
    assert out["cost"] == pytest.approx(sum(route_cost([pos[c] for c in r], d) for r in out["routes"]))

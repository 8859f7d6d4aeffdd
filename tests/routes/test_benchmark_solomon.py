"""The Solomon benchmark reads the instances and scores plans by the .sol files' convention.

If the reader or the distance rule (truncated to one decimal) were wrong, the best known routes
would not check out or would not cost what their file says, and every reported gap would be off.
"""

import re
from pathlib import Path

import pytest

from benchmarks.solomon import DATA, best_known, check, cost, ours, read_solomon


def _sol_routes(path: Path) -> list[list[int]]:
    text = path.with_suffix(".sol").read_text()
    return [[int(c) for c in m.split()] for m in re.findall(r"Route #\d+:([\d ]+)", text)]


@pytest.mark.parametrize("name", ["R101", "C201", "RC105"])
def test_best_known_routes_check_out_at_their_stated_cost(name):
    path = DATA / f"{name}.txt"
    inst = read_solomon(path)
    assert len(inst.coords) == 101 and inst.vehicles == 25
    routes = _sol_routes(path)
    dist = inst.distances()
    assert check(inst, routes, dist) is None
    assert cost(routes, dist) == pytest.approx(best_known(path), abs=0.05)


def test_check_refuses_a_late_service():
    inst = read_solomon(DATA / "R101.txt")
    dist = inst.distances()
    routes = _sol_routes(DATA / "R101.txt")
    # visit the customer with the earliest deadline last in the longest route
    earliest = min(range(1, len(inst.coords)), key=lambda c: inst.due[c])
    routes = [[c for c in r if c != earliest] for r in routes]
    max(routes, key=len).append(earliest)
    assert check(inst, routes, dist) == "window"


def test_product_model_gives_a_feasible_plan_on_solomon():
    inst = read_solomon(DATA / "C101.txt")
    routes = ours(inst, 1.0)
    assert routes is not None
    assert check(inst, routes, inst.distances()) is None

"""Property tests: on random small problems every plan respects all constraints or explains each gap."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routes import Break, Depot, PickupDelivery, Problem, Stop, UnservedReason, Vehicle, plan_tours
from routes.check import check_plan

DEPOT = Depot("D", 53.1455, 8.2035, 6 * 60, 18 * 60)


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    n = draw(st.integers(1, 7))
    stops = []
    for k in range(n):
        lat = 53.1455 + draw(st.floats(-0.12, 0.12))
        lon = 8.2035 + draw(st.floats(-0.2, 0.2))
        window = None
        if draw(st.booleans()):
            opens = draw(st.integers(6 * 60, 14 * 60))
            window = (opens, opens + draw(st.integers(15, 6 * 60)))
        stops.append(
            Stop(
                id=f"S{k}",
                lat=lat,
                lon=lon,
                service_min=draw(st.integers(0, 20)),
                window=window,
                deliver=draw(st.integers(0, 12)),
                pickup=draw(st.integers(0, 12)),
                must_visit=draw(st.booleans()) or k == 0,
                priority=draw(st.integers(1, 3)),
            )
        )
    pairs = []
    if n >= 2 and draw(st.booleans()):
        a, b = draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True))
        pairs.append(PickupDelivery(f"S{a}", f"S{b}", draw(st.integers(1, 5))))
    vans = []
    for k in range(draw(st.integers(1, 2))):
        start = draw(st.integers(6 * 60, 9 * 60))
        brk = draw(st.booleans())
        vans.append(
            Vehicle(
                id=f"V{k}",
                capacity=draw(st.integers(8, 30)),
                battery_range_km=draw(st.floats(15, 120)),
                winter_factor=draw(st.sampled_from([1.0, 0.8])),
                safety_reserve=0.15,
                speed_kmh=draw(st.sampled_from([20.0, 30.0])),
                shift_start_min=start,
                shift_end_min=start + draw(st.integers(2 * 60, 9 * 60)),
                breaks=(Break(start + 120, start + 180, 30),) if brk else (),
                available=draw(st.booleans()) or k == 0,
                max_rounds=draw(st.integers(1, 2)),
            )
        )
    return Problem(DEPOT, stops, vans, pairs=pairs, reload_min=draw(st.sampled_from([10.0, 20.0])))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(problems())
def test_every_plan_is_valid_or_explained(problem: Problem) -> None:
    plan = plan_tours(problem, time_limit_s=0.5)
    assert check_plan(problem, plan) == []
    served = {s for t in plan.tours for s in t.stop_ids}
    for s in problem.stops:
        if s.must_visit:
            assert s.id in served or any(
                u.stop_id == s.id and u.reason != UnservedReason.OPTIONAL for u in plan.unserved
            )
    assert (plan.status == "ok") == all(u.reason == UnservedReason.OPTIONAL for u in plan.unserved)

"""What every part of the planner derives from a `Problem`: matrices, the vans' shift times, range, breaks, boxes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from routes.matrix import haversine_km
from routes.model import (
    DAY_MINUTES,
    Break,
    Problem,
    Stop,
    Vehicle,
)

MUST_PENALTY = 10**10  # metres: far above any plan's length, so must-visit stops are dropped only if impossible
DAY_S = DAY_MINUTES * 60


def fmt_min(m: float) -> str:
    m = round(m)
    return f"{m // 60:02d}:{m % 60:02d}"


@dataclass
class _Data:
    """Everything the OR-Tools model needs, in node indices."""

    problem: Problem
    vehicles: list[Vehicle]  # available vans, model vehicle index = position here
    stops: list[Stop]  # stops in the model (node i + 1 = stops[i])
    km: list[list[float]]  # by location index
    minutes_by_speed: dict[float, list[list[float]]]
    node_loc: list[int] = field(default_factory=list)  # location index per node
    node_stop: list[Stop | None] = field(default_factory=list)
    reload_owner: dict[int, int] = field(default_factory=dict)  # reload node -> vehicle
    start_node: list[int] = field(default_factory=list)
    pair_delta: dict[int, int] = field(default_factory=dict)  # node -> boxes of internal mail (+pick, -drop)

    def travel_min(self, v: int, a_loc: int, b_loc: int) -> float:
        return self.minutes_by_speed[_speed_key(self.problem, self.vehicles[v])][a_loc][b_loc]


def _speed_key(problem: Problem, v: Vehicle) -> float:
    # a given matrix has fixed driving times: all vans share them
    return 0.0 if problem.matrix is not None else round(v.speed_kmh, 6)


def _locations(problem: Problem, vehicles: list[Vehicle]) -> tuple[list[tuple[str, float, float]], dict[str, int]]:
    locs = [(problem.depot.id, problem.depot.lat, problem.depot.lon)]
    locs += [(s.id, s.lat, s.lon) for s in problem.stops]
    for v in vehicles:
        if v.start_lat is not None and v.start_lon is not None:
            locs.append((f"@{v.id}", v.start_lat, v.start_lon))
    return locs, {loc[0]: i for i, loc in enumerate(locs)}


def _matrices(
    problem: Problem, vehicles: list[Vehicle]
) -> tuple[list[list[float]], dict[float, list[list[float]]], dict[str, int]]:
    locs, loc_index = _locations(problem, vehicles)
    n = len(locs)
    geo = [
        [0.0 if i == j else haversine_km(a[1], a[2], b[1], b[2]) * problem.circuity for j, b in enumerate(locs)]
        for i, a in enumerate(locs)
    ]
    mat = problem.matrix
    if mat is None:
        km = geo
        minutes = {_speed_key(problem, v): [[d / v.speed_kmh * 60.0 for d in row] for row in km] for v in vehicles}
        return km, minutes, loc_index
    pos = {mid: i for i, mid in enumerate(mat.ids)}
    missing = [loc[0] for loc in locs if not loc[0].startswith("@") and loc[0] not in pos]
    if missing:
        raise ValueError(f"the matrix has no entry for {', '.join(missing[:5])}")
    km = [[0.0] * n for _ in range(n)]
    mins = [[0.0] * n for _ in range(n)]
    speed = vehicles[0].speed_kmh if vehicles else 30.0
    for i, a in enumerate(locs):
        for j, b in enumerate(locs):
            if i == j:
                continue
            if a[0] in pos and b[0] in pos:
                km[i][j] = mat.km[pos[a[0]]][pos[b[0]]]
                mins[i][j] = mat.minutes[pos[a[0]]][pos[b[0]]]
            else:
                # a van's current position is not in the matrix: estimate that leg
                km[i][j] = geo[i][j]
                mins[i][j] = geo[i][j] / speed * 60.0
    return km, {0.0: mins}, loc_index


def _vehicle_start_min(v: Vehicle, problem: Problem) -> float:
    start = v.shift_start_min if v.start_min is None else max(v.shift_start_min, v.start_min)
    if v.start_lat is None:
        start = max(start, problem.depot.opens_min)
    return start


def _vehicle_end_min(v: Vehicle, problem: Problem) -> float:
    return min(v.shift_end_min, problem.depot.closes_min)


def _range_left(v: Vehicle) -> float:
    return max(0.0, v.usable_range_km - v.driven_km)


def _active_breaks(v: Vehicle, start_min: float) -> list[Break]:
    """Breaks still to take: a van re-planned after its break window has had its break."""
    out = []
    for b in v.breaks:
        if b.latest_start_min < start_min:
            continue
        out.append(replace(b, earliest_start_min=max(b.earliest_start_min, math.ceil(start_min))))
    return out


def _stop_boxes(problem: Problem) -> dict[str, tuple[int, int]]:
    """Per stop: boxes to drop (deliveries + internal mail delivered), boxes to take (pickups + internal)."""
    out = {s.id: (s.deliver, s.pickup) for s in problem.stops}
    for p in problem.pairs:
        d, t = out.get(p.pickup_stop, (0, 0))
        out[p.pickup_stop] = (d, t + p.boxes)
        d, t = out.get(p.delivery_stop, (0, 0))
        out[p.delivery_stop] = (d + p.boxes, t)
    return out

"""The Oldenburg demo: the mail room (depot) and its 40 sites from a CSV file, and the two vans."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from routes.model import Break, Depot, Problem, Stop, Vehicle

# boxes delivered / picked up per visit, by kind of site (the mail room's typical day)
BOXES_BY_KIND: dict[str, tuple[int, int]] = {
    "administration": (3, 2),
    "culture": (1, 1),
    "fire": (1, 0),
    "school": (1, 1),
    "library": (1, 1),
    "leisure": (1, 0),
    "operations": (2, 1),
    "childcare": (1, 0),
}


def _hhmm(text: str) -> int:
    h, m = text.strip().split(":")
    return int(h) * 60 + int(m)


def load_sites(path: str | Path) -> tuple[Depot, list[Stop]]:
    """Read `code,name,kind,district,street,lat,lon,opens,closes,service_min`; the first row is the depot."""
    with Path(path).open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise ValueError(f"{path}: no sites")
    d = rows[0]
    depot = Depot(d["code"], float(d["lat"]), float(d["lon"]), _hhmm(d["opens"]), _hhmm(d["closes"]), d["name"])
    stops = []
    for r in rows[1:]:
        deliver, pickup = BOXES_BY_KIND.get(r["kind"], (1, 1))
        stops.append(
            Stop(
                id=r["code"],
                lat=float(r["lat"]),
                lon=float(r["lon"]),
                service_min=float(r["service_min"]),
                window=(_hhmm(r["opens"]), _hhmm(r["closes"])),
                deliver=deliver,
                pickup=pickup,
                name=r["name"],
            )
        )
    return depot, stops


def demo_vans(n: int = 2) -> list[Vehicle]:
    """The mail room's electric vans: 40 boxes, 120 km battery, winter derating 0.8, 15 % reserve."""
    return [
        Vehicle(
            id=f"EV{k + 1}",
            capacity=40,
            battery_range_km=120.0,
            winter_factor=0.8,
            safety_reserve=0.15,
            speed_kmh=25.0,
            shift_start_min=7 * 60,
            shift_end_min=15 * 60 + 30,
            breaks=(Break(11 * 60 + 30, 12 * 60 + 30, 30),),
        )
        for k in range(n)
    ]


def demo_problem(path: str | Path) -> Problem:
    depot, stops = load_sites(path)
    return Problem(depot=depot, stops=stops, vehicles=demo_vans())


COUNTY_SEAT = Depot("KREISHAUS", 52.8942, 8.4331, 6 * 60, 17 * 60, "Kreishaus (county seat)")


def county_problem(n_stops: int = 200, n_vans: int = 8, seed: int = 2026) -> Problem:
    """A county-sized day, generated deterministically (our own test case, not a published instance).

    `n_stops` sites spread over about 55 x 55 km around the county seat, opening hours of four kinds
    (all day, mornings, afternoons, a two-hour slot), 4-8 minutes per call, 1-3 boxes to deliver and
    0-2 to pick up; `n_vans` vans with 70 boxes, 260 km battery (85 % usable), 45 km/h, shift 07:00-16:00
    and a 30-minute break starting between 11:30 and 13:00, one round each.
    """
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    stops = []
    for k in range(n_stops):
        kind = rng.random()
        if kind < 0.5:
            window = (7 * 60 + 30, 15 * 60 + 30)
        elif kind < 0.75:
            window = (8 * 60, 12 * 60)
        elif kind < 0.9:
            window = (12 * 60 + 30, 15 * 60 + 30)
        else:
            opens = rng.randrange(8 * 60, 13 * 60 + 1, 30)
            window = (opens, opens + 120)
        stops.append(
            Stop(
                id=f"K{k + 1:03d}",
                lat=COUNTY_SEAT.lat + rng.uniform(-0.25, 0.25),
                lon=COUNTY_SEAT.lon + rng.uniform(-0.4, 0.4),
                service_min=float(rng.randint(4, 8)),
                window=window,
                deliver=rng.randint(1, 3),
                pickup=rng.randint(0, 2),
            )
        )
    vans = [
        Vehicle(
            id=f"KV{k + 1}",
            capacity=70,
            battery_range_km=260.0,
            winter_factor=1.0,
            safety_reserve=0.15,
            speed_kmh=45.0,
            shift_start_min=7 * 60,
            shift_end_min=16 * 60,
            breaks=(Break(11 * 60 + 30, 13 * 60, 30),),
            max_rounds=1,
        )
        for k in range(n_vans)
    ]
    return Problem(depot=COUNTY_SEAT, stops=stops, vehicles=vans)

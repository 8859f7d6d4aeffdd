"""The Oldenburg demo: the mail room (depot) and its 40 sites from a CSV file, and the two vans."""

from __future__ import annotations

import csv
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

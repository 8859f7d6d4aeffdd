"""Reader for CVRPLIB / TSPLIB capacitated VRP instances (and Solomon VRPTW text files).

Supported TSPLIB keys: NAME, COMMENT, TYPE, DIMENSION, CAPACITY, DISTANCE, SERVICE_TIME, VEHICLES,
EDGE_WEIGHT_TYPE (EUC_2D, EXACT_2D, FLOOR_2D, CEIL_2D), NODE_COORD_SECTION, DEMAND_SECTION, DEPOT_SECTION.
Distances follow the file's EDGE_WEIGHT_TYPE: EUC_2D is CVRPLIB's `nint` (Euclidean rounded to the
nearest integer), EXACT_2D the real Euclidean distance (also the default for Solomon files).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

ROUNDINGS = ("nint", "exact", "floor", "ceil", "trunc1")


@dataclass
class CvrpInstance:
    """A CVRP instance. Node 0 is the depot; `ids[i]` is node i's number in the file."""

    name: str
    coords: list[tuple[float, float]]
    demands: list[int]
    capacity: int
    ids: list[int]
    edge_weight_type: str = "EUC_2D"
    distance_limit: float | None = None  # max route length incl. service times (CMT6-10, 13, 14)
    service_time: float = 0.0  # per customer, counts against `distance_limit` only
    vehicles: int | None = None  # upper bound on the number of routes, when given
    comment: str = ""
    # VRPTW (Solomon) only: per node (ready, due, service); None for plain CVRP.
    windows: list[tuple[float, float]] | None = None
    service_times: list[float] | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def n_customers(self) -> int:
        return len(self.coords) - 1

    def default_rounding(self) -> str:
        return {"EUC_2D": "nint", "EXACT_2D": "exact", "FLOOR_2D": "floor", "CEIL_2D": "ceil", "TRUNC1": "trunc1"}.get(
            self.edge_weight_type, "exact"
        )

    def distance_matrix(self, rounding: str | None = None) -> list[list[float]]:
        """Pairwise distances, rounded as the file says (or as `rounding` overrides)."""
        mode = rounding or self.default_rounding()
        if mode not in ROUNDINGS:
            raise ValueError(f"unknown rounding {mode!r}, expected one of {ROUNDINGS}")
        n = len(self.coords)
        out = [[0.0] * n for _ in range(n)]
        for i in range(n):
            xi, yi = self.coords[i]
            for j in range(i + 1, n):
                xj, yj = self.coords[j]
                d = math.hypot(xi - xj, yi - yj)
                if mode == "nint":
                    d = float(int(d + 0.5))
                elif mode == "floor":
                    d = float(math.floor(d))
                elif mode == "ceil":
                    d = float(math.ceil(d))
                elif mode == "trunc1":
                    d = math.floor(d * 10) / 10
                out[i][j] = out[j][i] = d
        return out


class CvrplibError(ValueError):
    """The file is not a CVRP instance this reader understands."""


_KEY_RE = re.compile(r"^\s*([A-Z_]+)\s*:\s*(.*?)\s*$")


def read_instance(path: str | Path) -> CvrpInstance:
    """Read a CVRPLIB `.vrp` file or a Solomon `.txt` file."""
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    if "VEHICLE" in text and "CUST NO." in text and ":" not in first:
        return _read_solomon(text, Path(path).stem)
    return parse_vrp(text, default_name=Path(path).stem)


def parse_vrp(text: str, default_name: str = "instance") -> CvrpInstance:
    header: dict[str, str] = {}
    coords: dict[int, tuple[float, float]] = {}
    demands: dict[int, int] = {}
    depots: list[int] = []
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line == "EOF":
            continue
        m = _KEY_RE.match(line)
        if m and not line.endswith("SECTION"):
            header[m.group(1)] = m.group(2)
            section = ""
            continue
        if line.endswith("SECTION") and line.split()[0].endswith("SECTION"):
            section = line.split()[0]
            continue
        parts = line.split()
        try:
            if section == "NODE_COORD_SECTION":
                coords[int(parts[0])] = (float(parts[1]), float(parts[2]))
            elif section == "DEMAND_SECTION":
                demands[int(parts[0])] = int(float(parts[1]))
            elif section == "DEPOT_SECTION":
                v = int(parts[0])
                if v >= 0:
                    depots.append(v)
        except (IndexError, ValueError) as exc:
            raise CvrplibError(f"cannot parse line {raw!r} in {section or 'header'}") from exc
    if not coords:
        raise CvrplibError("no NODE_COORD_SECTION (only coordinate-based instances are supported)")
    ewt = header.get("EDGE_WEIGHT_TYPE", "EUC_2D").split()[0]
    if ewt not in ("EUC_2D", "EXACT_2D", "FLOOR_2D", "CEIL_2D"):
        raise CvrplibError(f"EDGE_WEIGHT_TYPE {ewt} is not supported")
    if "CAPACITY" not in header:
        raise CvrplibError("no CAPACITY")
    depot = depots[0] if depots else min(coords)
    order = [depot, *sorted(i for i in coords if i != depot)]
    vehicles = header.get("VEHICLES")
    dist = header.get("DISTANCE")
    return CvrpInstance(
        name=header.get("NAME", default_name),
        coords=[coords[i] for i in order],
        demands=[0 if i == depot else demands.get(i, 0) for i in order],
        capacity=int(float(header["CAPACITY"])),
        ids=order,
        edge_weight_type=ewt,
        distance_limit=float(dist) if dist else None,
        service_time=float(header.get("SERVICE_TIME", 0) or 0),
        vehicles=int(vehicles) if vehicles else None,
        comment=header.get("COMMENT", ""),
    )


def _read_solomon(text: str, name: str) -> CvrpInstance:
    lines = [ln.split() for ln in text.splitlines() if ln.strip()]
    name = lines[0][0] if lines and len(lines[0]) == 1 else name
    k = cap = 0
    rows: list[list[float]] = []
    for idx, parts in enumerate(lines):
        if parts[0] == "NUMBER":
            k, cap = int(lines[idx + 1][0]), int(lines[idx + 1][1])
        elif len(parts) == 7 and all(re.fullmatch(r"-?\d+(\.\d+)?", p) for p in parts):
            rows.append([float(p) for p in parts])
    if not rows:
        raise CvrplibError("no customer rows in Solomon file")
    return CvrpInstance(
        name=name,
        coords=[(r[1], r[2]) for r in rows],
        demands=[int(r[3]) for r in rows],
        capacity=cap,
        ids=[int(r[0]) for r in rows],
        # Euclidean, not rounded (the CVRPLIB .sol files truncate to one decimal: rounding="trunc1")
        edge_weight_type="EXACT_2D",
        vehicles=k or None,
        windows=[(r[4], r[5]) for r in rows],
        service_times=[r[6] for r in rows],
    )


def read_solution_cost(path: str | Path) -> float | None:
    """The `Cost` line of a CVRPLIB `.sol` file, if any."""
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.lower().startswith("cost"):
            return float(line.split()[1])
    return None

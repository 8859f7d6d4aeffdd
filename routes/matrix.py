"""Distances (km) and driving times (minutes) between the depot and the stops.

The default needs no network: great-circle (haversine) distance x a road circuity factor, driven at an
average speed. A matrix can also come from a CSV file, or from an OSRM or Valhalla server that the user
runs; when the server cannot be reached the default is used instead (with a warning, never silently
wrong numbers).
"""

from __future__ import annotations

import csv
import json
import logging
import math
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from routes.model import Depot, Matrix, Stop

log = logging.getLogger(__name__)

EARTH_RADIUS_KM = 6371.0088
DEFAULT_CIRCUITY = 1.3  # road km per great-circle km in a German city (typical 1.2-1.4)
DEFAULT_SPEED_KMH = 30.0


class MatrixError(RuntimeError):
    """A distance matrix could not be built (bad file, unreachable or broken routing server)."""


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


Point = tuple[str, float, float]  # id, lat, lon


def _points(depot: Depot, stops: Sequence[Stop]) -> list[Point]:
    return [(depot.id, depot.lat, depot.lon)] + [(s.id, s.lat, s.lon) for s in stops]


def matrix_from_points(
    points: Sequence[Point], speed_kmh: float = DEFAULT_SPEED_KMH, circuity: float = DEFAULT_CIRCUITY
) -> Matrix:
    if speed_kmh <= 0:
        raise ValueError("speed_kmh must be positive")
    km = tuple(
        tuple(0.0 if a is b else haversine_km(a[1], a[2], b[1], b[2]) * circuity for b in points) for a in points
    )
    minutes = tuple(tuple(d / speed_kmh * 60.0 for d in row) for row in km)
    return Matrix(ids=tuple(p[0] for p in points), km=km, minutes=minutes)


def build_matrix(
    depot: Depot, stops: Sequence[Stop], speed_kmh: float = DEFAULT_SPEED_KMH, circuity: float = DEFAULT_CIRCUITY
) -> Matrix:
    """Haversine x circuity matrix; ids are the depot first, then the stops in order."""
    return matrix_from_points(_points(depot, stops), speed_kmh, circuity)


def with_speed(matrix: Matrix, speed_kmh: float) -> Matrix:
    """The same distances driven at another average speed."""
    minutes = tuple(tuple(d / speed_kmh * 60.0 for d in row) for row in matrix.km)
    return Matrix(ids=matrix.ids, km=matrix.km, minutes=minutes)


def matrix_from_csv(path: str | Path, speed_kmh: float = DEFAULT_SPEED_KMH) -> Matrix:
    """Read a matrix from CSV.

    Two layouts are accepted:
    * long: a header with `from,to,km` and optionally `minutes` (one row per pair);
    * square: a header row `,id1,id2,...` and one row per origin `idA,km,km,...`.
    Missing minutes are derived from km at `speed_kmh`.
    """
    try:
        with Path(path).open(newline="", encoding="utf-8") as fh:
            rows = [r for r in csv.reader(fh) if r and any(c.strip() for c in r)]
    except OSError as exc:
        raise MatrixError(f"cannot read matrix file {path}: {exc}") from exc
    if not rows:
        raise MatrixError(f"matrix file {path} is empty")
    header = [c.strip().lower() for c in rows[0]]
    try:
        if "from" in header and "to" in header and "km" in header:
            fi, ti, ki = header.index("from"), header.index("to"), header.index("km")
            mi = header.index("minutes") if "minutes" in header else None
            pairs: dict[tuple[str, str], tuple[float, float | None]] = {}
            ids: list[str] = []
            for r in rows[1:]:
                a, b = r[fi].strip(), r[ti].strip()
                for x in (a, b):
                    if x not in ids:
                        ids.append(x)
                pairs[(a, b)] = (float(r[ki]), float(r[mi]) if mi is not None and r[mi].strip() else None)
            km_rows, min_rows = [], []
            for a in ids:
                krow, mrow = [], []
                for b in ids:
                    if a == b:
                        krow.append(0.0)
                        mrow.append(0.0)
                        continue
                    if (a, b) not in pairs:
                        raise MatrixError(f"matrix file {path} has no entry from {a} to {b}")
                    k, m = pairs[(a, b)]
                    krow.append(k)
                    mrow.append(m if m is not None else k / speed_kmh * 60.0)
                km_rows.append(tuple(krow))
                min_rows.append(tuple(mrow))
            return Matrix(ids=tuple(ids), km=tuple(km_rows), minutes=tuple(min_rows))
        ids = [c.strip() for c in rows[0][1:]]
        km = []
        for r, expected in zip(rows[1:], ids, strict=True):
            if r[0].strip() != expected:
                raise MatrixError(f"row {r[0]!r} in {path} does not match column {expected!r}")
            km.append(tuple(float(c) for c in r[1 : len(ids) + 1]))
    except (ValueError, IndexError) as exc:
        raise MatrixError(f"matrix file {path} is malformed: {exc}") from exc
    if any(len(row) != len(ids) for row in km):
        raise MatrixError(f"matrix file {path} is not square")
    minutes = tuple(tuple(d / speed_kmh * 60.0 for d in row) for row in km)
    return Matrix(ids=tuple(ids), km=tuple(km), minutes=minutes)


def _http_json(url: str, timeout_s: float, body: dict | None = None) -> dict:
    if not url.startswith(("http://", "https://")):
        raise MatrixError(f"routing server URL must be http(s): {url}")
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310 (scheme checked above)
            return json.loads(resp.read().decode("utf-8"))
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise MatrixError(f"routing server {url.split('?')[0]} not reachable: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise MatrixError(f"routing server answered no JSON: {exc}") from exc


def _fallback(
    exc: MatrixError, depot: Depot, stops: Sequence[Stop], speed_kmh: float, circuity: float, fallback: bool
) -> Matrix:
    if not fallback:
        raise exc
    log.warning("%s; falling back to haversine x %.2f at %.0f km/h", exc, circuity, speed_kmh)
    return build_matrix(depot, stops, speed_kmh, circuity)


def _check_square(rows: object, n: int, what: str) -> list[list[float]]:
    if not isinstance(rows, list) or len(rows) != n or any(not isinstance(r, list) or len(r) != n for r in rows):
        raise MatrixError(f"routing server returned a malformed {what} table")
    out = []
    for r in rows:
        if any(v is None for v in r):
            raise MatrixError(f"routing server found no route between some locations ({what} is null)")
        out.append([float(v) for v in r])
    return out


def matrix_from_osrm(
    base_url: str,
    depot: Depot,
    stops: Sequence[Stop],
    timeout_s: float = 10.0,
    profile: str = "driving",
    fallback: bool = True,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    circuity: float = DEFAULT_CIRCUITY,
) -> Matrix:
    """Road distances and durations from an OSRM `table` request (`annotations=distance,duration`).

    On a network error, timeout or malformed answer: the haversine default (fallback=True), or MatrixError.
    """
    pts = _points(depot, stops)
    coords = ";".join(f"{lon:.6f},{lat:.6f}" for _, lat, lon in pts)
    url = f"{base_url.rstrip('/')}/table/v1/{profile}/{coords}?annotations=distance,duration"
    try:
        data = _http_json(url, timeout_s)
        if data.get("code") != "Ok":
            raise MatrixError(f"OSRM answered {data.get('code')}: {data.get('message', '')}")
        n = len(pts)
        meters = _check_square(data.get("distances"), n, "distance")
        seconds = _check_square(data.get("durations"), n, "duration")
    except MatrixError as exc:
        return _fallback(exc, depot, stops, speed_kmh, circuity, fallback)
    return Matrix(
        ids=tuple(p[0] for p in pts),
        km=tuple(tuple(m / 1000.0 for m in row) for row in meters),
        minutes=tuple(tuple(s / 60.0 for s in row) for row in seconds),
    )


def matrix_from_valhalla(
    base_url: str,
    depot: Depot,
    stops: Sequence[Stop],
    timeout_s: float = 10.0,
    costing: str = "auto",
    fallback: bool = True,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    circuity: float = DEFAULT_CIRCUITY,
) -> Matrix:
    """Road distances and durations from a Valhalla `sources_to_targets` request (units km)."""
    pts = _points(depot, stops)
    locs = [{"lat": lat, "lon": lon} for _, lat, lon in pts]
    body = {"sources": locs, "targets": locs, "costing": costing, "units": "kilometers"}
    try:
        data = _http_json(f"{base_url.rstrip('/')}/sources_to_targets", timeout_s, body)
        table = data.get("sources_to_targets")
        n = len(pts)
        if not isinstance(table, list) or len(table) != n:
            raise MatrixError("Valhalla returned a malformed sources_to_targets table")
        km = _check_square([[c.get("distance") for c in row] for row in table], n, "distance")
        sec = _check_square([[c.get("time") for c in row] for row in table], n, "time")
    except (MatrixError, AttributeError, TypeError) as exc:
        err = exc if isinstance(exc, MatrixError) else MatrixError(f"Valhalla answer malformed: {exc}")
        return _fallback(err, depot, stops, speed_kmh, circuity, fallback)
    return Matrix(
        ids=tuple(p[0] for p in pts),
        km=tuple(tuple(row) for row in km),
        minutes=tuple(tuple(s / 60.0 for s in row) for row in sec),
    )

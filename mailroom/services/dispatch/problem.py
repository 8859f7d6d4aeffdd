"""The adapter between the ORM and `routes`: the only place where sites and vans become optimiser
dataclasses, and the optimiser's visits become tour stops again.

Stop ids in the optimiser are site codes, vehicle ids are van codes. Times in the optimiser are
minutes since local midnight of the service day; the database keeps aware UTC timestamps.
A stop whose site has no coordinates refuses the plan, naming the site (no guessing of places).
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from flask import current_app

import routes
from mailroom.errors import PlanningFailed
from mailroom.models import Site, StopStatus, TourStop, Vehicle
from mailroom.services import clock
from mailroom.services.dates import format_hhmm, hhmm_minutes, parse_hhmm
from mailroom.services.dispatch.day import DayStop, depot_site, full_range_km, setting

Location = tuple[str, float, float]  # (id, lat, lon)


def coordinates(site: Site) -> tuple[float, float]:
    """A site's (lat, lon); a site without them cannot be planned (checked before, named in German)."""
    if site.lat is None or site.lon is None:
        raise PlanningFailed(f"„{site.name}“ ({site.code}) hat keine Koordinaten.", code="missing_coordinates")
    return site.lat, site.lon


def location(site: Site) -> Location:
    return (site.code, *coordinates(site))


def window(site: Site) -> tuple[int, int]:
    """A site's service window in minutes: open, and the latest start that ends before it closes."""
    opens, closes = hhmm_minutes(site.opens), hhmm_minutes(site.closes)
    latest = max(opens, closes - int(site.service_min or 0))
    return opens, latest


def routes_depot(depot: Site) -> routes.Depot:
    lat, lon = coordinates(depot)
    return routes.Depot(
        id=depot.code,
        lat=lat,
        lon=lon,
        opens_min=hhmm_minutes(depot.opens),
        closes_min=max(hhmm_minutes(depot.closes), hhmm_minutes(setting("DISPATCH_SHIFT_END"))),
        name=depot.name,
    )


def routes_stop(site: Site, *, deliver: int, pickup: int, must_visit: bool = True, priority: int = 1) -> routes.Stop:
    lat, lon = coordinates(site)
    return routes.Stop(
        id=site.code,
        lat=lat,
        lon=lon,
        service_min=float(site.service_min or 0),
        window=window(site),
        deliver=deliver,
        pickup=pickup,
        must_visit=must_visit,
        priority=priority,
        name=site.name,
    )


def breaks() -> tuple[routes.Break, ...]:
    spec = setting("DISPATCH_BREAK")
    if not spec:
        return ()
    earliest, latest, minutes = spec
    return (routes.Break(hhmm_minutes(earliest), hhmm_minutes(latest), int(minutes)),)


def routes_vehicle(vehicle: Vehicle, day: date, **overrides: Any) -> routes.Vehicle:
    values: dict[str, Any] = {
        "id": vehicle.code,
        "capacity": vehicle.capacity_boxes,
        # the season's range (measured from recent tours, else rated x winter factor): the factor is in it
        "battery_range_km": full_range_km(vehicle, day),
        "winter_factor": 1.0,
        "safety_reserve": vehicle.safety_reserve,
        "speed_kmh": vehicle.speed_kmh,
        "shift_start_min": hhmm_minutes(setting("DISPATCH_SHIFT_START")),
        "shift_end_min": hhmm_minutes(setting("DISPATCH_SHIFT_END")),
        "breaks": breaks(),
        "available": vehicle.is_available_on(day),
        "max_rounds": int(setting("DISPATCH_MAX_ROUNDS")),
        "name": vehicle.name,
    }
    values.update(overrides)
    return routes.Vehicle(**values)


def earliest_start_min(day: date) -> int | None:
    """A plan for today leaves from now (the product's clock, rounded up to the minute), not at the shift
    start, once the shift has begun: no times in the past. None for other days or before the shift."""
    if day != clock.local_today():
        return None
    now_min = math.ceil(clock.utc_to_local_minutes(day, clock.now_utc()))
    shift_start = hhmm_minutes(setting("DISPATCH_SHIFT_START"))
    return now_min if now_min > shift_start else None


def circuity() -> float:
    """Road km per straight-line km for the haversine model (DISTANCE_CIRCUITY)."""
    return float(setting("DISTANCE_CIRCUITY"))


def distance_matrix(depot: routes.Depot, stops: list[routes.Stop], speed_kmh: float) -> routes.Matrix | None:
    """The configured distance model; None for the default (haversine x circuity, done by `routes`)."""
    from routes import matrix as rmatrix

    model = (current_app.config["DISTANCE_MODEL"] or "haversine").lower()
    try:
        if model == "csv":
            path = current_app.config["DISTANCE_CSV"]
            if not path:
                raise PlanningFailed("DISTANCE_MODEL ist „csv“, aber DISTANCE_CSV ist nicht gesetzt.")
            full = rmatrix.matrix_from_csv(path, speed_kmh)
            return _sub_matrix(full, [depot.id] + [s.id for s in stops])
        if model in ("osrm", "valhalla"):
            url = current_app.config["DISTANCE_SERVER_URL"]
            if not url:
                raise PlanningFailed(f"DISTANCE_MODEL ist „{model}“, aber DISTANCE_SERVER_URL ist nicht gesetzt.")
            build = rmatrix.matrix_from_osrm if model == "osrm" else rmatrix.matrix_from_valhalla
            return build(url, depot, stops, speed_kmh=speed_kmh, circuity=circuity())
    except rmatrix.MatrixError as exc:
        raise PlanningFailed(f"Die Entfernungstabelle konnte nicht geladen werden: {exc}") from exc
    return None


def _sub_matrix(full: routes.Matrix, ids: list[str]) -> routes.Matrix:
    missing = [i for i in ids if i not in full.ids]
    if missing:
        raise PlanningFailed(f"Die Entfernungstabelle enthält diese Standorte nicht: {', '.join(missing)}.")
    idx = [full.index(i) for i in ids]
    return routes.Matrix(
        ids=tuple(ids),
        km=tuple(tuple(full.km[a][b] for b in idx) for a in idx),
        minutes=tuple(tuple(full.minutes[a][b] for b in idx) for a in idx),
    )


def leg(matrix: routes.Matrix | None, a: Location, b: Location, speed: float) -> tuple[float, float]:
    """km and minutes from a to b: from the matrix if it has both, else haversine x circuity."""
    from routes.matrix import haversine_km

    if matrix is not None and a[0] in matrix.ids and b[0] in matrix.ids:
        i, j = matrix.index(a[0]), matrix.index(b[0])
        return matrix.km[i][j], matrix.minutes[i][j]
    if a[1:] == b[1:]:
        return 0.0, 0.0
    km = haversine_km(a[1], a[2], b[1], b[2]) * circuity()
    return km, km / speed * 60.0


def check_coordinates(stops: list[DayStop]) -> None:
    missing = [s.site for s in stops if not s.site.has_coordinates]
    if missing:
        names = ", ".join(f"„{site.name}“ ({site.code})" for site in missing)
        raise PlanningFailed(
            f"Ohne Koordinaten kann nicht geplant werden: {names}. Bitte die Koordinaten unter Verwaltung → "
            "Standorte ergänzen.",
            code="missing_coordinates",
        )


def build_problem(
    day: date,
    stops: list[DayStop],
    vehicles: list[Vehicle],
    previous_routes: dict[str, list[str]] | None = None,
    return_by: str | None = None,
    pairs: list[routes.PickupDelivery] | None = None,
) -> routes.Problem:
    depot = routes_depot(depot_site())
    check_coordinates(stops)
    rstops = [
        routes_stop(
            s.site, deliver=s.deliver_boxes, pickup=s.pickup_boxes, must_visit=s.must_visit, priority=s.priority
        )
        for s in stops
    ]
    overrides: dict[str, Any] = {"shift_end_min": hhmm_minutes(return_by)} if return_by else {}
    earliest = earliest_start_min(day)
    if earliest is not None:
        back_by = format_hhmm(parse_hhmm(return_by or setting("DISPATCH_SHIFT_END")))
        if earliest >= hhmm_minutes(back_by):
            raise PlanningFailed(
                f"Es ist schon nach {back_by} Uhr (Rückkehr spätestens): für heute kann keine Tour mehr geplant "
                "werden, bitte den nächsten Arbeitstag planen.",
                code="too_late",
            )
        overrides["shift_start_min"] = earliest
    rvehicles = [routes_vehicle(v, day, **overrides) for v in vehicles]
    speed = min((v.speed_kmh for v in vehicles), default=25.0)
    warm = None
    if previous_routes:
        known_stops = {s.id for s in rstops}
        known_vans = {v.id for v in rvehicles}
        warm = {
            van: [code for code in codes if code in known_stops]
            for van, codes in previous_routes.items()
            if van in known_vans
        }
        warm = {van: codes for van, codes in warm.items() if codes} or None
    return routes.Problem(
        depot=depot,
        stops=rstops,
        vehicles=rvehicles,
        matrix=distance_matrix(depot, rstops, speed),
        previous_routes=warm,
        circuity=circuity(),
        pairs=list(pairs or []),
    )


def tour_stop_from_visit(day: date, visit: routes.Visit, position: int, site: Site) -> TourStop:
    """A new open tour stop where the optimiser put a visit."""
    return TourStop(
        site=site,
        position=position,
        round=visit.round,
        is_depot=visit.is_depot,
        eta=clock.local_minutes_to_utc(day, visit.arrival_min),
        departure=clock.local_minutes_to_utc(day, visit.departure_min),
        km_after=round(visit.km_after, 2),
        load_after=int(visit.load_after),
        status=StopStatus.OPEN,
    )


def apply_visit(day: date, stop: TourStop, visit: routes.Visit, position: int) -> None:
    """Move an existing tour stop to where the optimiser put it (the row is kept: items stay attached)."""
    stop.position = position
    stop.eta = clock.local_minutes_to_utc(day, visit.arrival_min)
    stop.departure = clock.local_minutes_to_utc(day, visit.departure_min)
    stop.km_after = round(visit.km_after, 2)
    stop.load_after = int(visit.load_after)

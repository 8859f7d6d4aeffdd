"""Daily dispatch: the day's stops and vans, planning with `routes`, adjusting and re-planning.

This module is the only place where ORM objects become `routes` dataclasses and back. Stop ids in
the optimiser are site codes, vehicle ids are van codes. Times in the optimiser are minutes since
local midnight of the service day; the database keeps aware UTC timestamps.

Planning rules:
- The stops of a day: the sites of every active stop template whose weekdays include the day, plus
  the ad-hoc stops of that day (an ad-hoc stop at a template site adds its pick-up boxes).
- Delivered per stop: the SORTED items for the site, as boxes (parcels one box each, other items
  ITEMS_PER_BOX to a box); pick-ups: the ad-hoc stop's boxes, else one box.
- A stop whose site has no coordinates refuses the plan, naming the site (no guessing of places).
- A (re-)plan of a day replaces that day's tours only while none of them has started; once a tour is
  under way, the breakdown re-plan (`replan_breakdown`) moves open stops instead.
- Warm start: the routes of the last finished plan of the same stop template.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time

from flask import current_app
from sqlalchemy import func, select

import routes
from mailroom.errors import InvalidTransition, NotFound, PlanningFailed, ValidationFailed
from mailroom.extensions import db
from mailroom.models import (
    AdhocStop,
    ItemKind,
    ItemStatus,
    MailEvent,
    MailItem,
    OdometerReading,
    PlanRun,
    Role,
    Site,
    StopStatus,
    StopTemplate,
    Tour,
    TourStatus,
    TourStop,
    User,
    Vehicle,
    utcnow,
)
from mailroom.services import clock, workdays
from mailroom.services.lookup import get_or_404

WEEKDAYS_DE = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"]
PARCEL_KINDS = frozenset({ItemKind.PAKET, ItemKind.PAECKCHEN})

REASON_LABELS = {
    "range": "Reichweite",
    "time_window": "Zeitfenster/Öffnungszeit",
    "capacity": "Kapazität",
    "shift": "Schichtende/Rückkehrzeit",
    "no_vehicle": "kein Fahrzeug",
    "optional": "optional, nicht lohnend",
}

DEFAULTS = {
    "ITEMS_PER_BOX": 25,
    "DISPATCH_SHIFT_START": "09:30",  # vans leave after the morning intake is sorted
    "DISPATCH_SHIFT_END": "15:30",
    "DISPATCH_BREAK": None,  # e.g. ("12:00", "13:30", 30): earliest start, latest start, minutes
    "DISPATCH_WINTER_MONTHS": (11, 12, 1, 2, 3),  # the vans' winter factor applies in these months
    "DISPATCH_MAX_ROUNDS": 2,
    "DISPATCH_ADJUST_TIME_LIMIT_S": 2.0,
    "DISPATCH_STALE_RUN_S": 120.0,  # a "running" plan older than its limit plus this is treated as failed
}


def _config(name: str):
    return current_app.config.get(name, DEFAULTS[name])


def _hhmm_minutes(value: str | time) -> int:
    if isinstance(value, time):
        return value.hour * 60 + value.minute
    hours, minutes = str(value).split(":")
    return int(hours) * 60 + int(minutes)


def parse_return_by(value: str | None) -> str | None:
    """The latest return to the depot from a form or the command line: "HH:MM", or None for the shift end.

    It must leave room for a tour: after the vans leave and no later than the shift end."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        parsed = datetime.strptime(text, "%H:%M").time()  # noqa: DTZ007 (a time of day, no date)
    except ValueError:
        raise ValidationFailed(f"„{text[:20]}“ ist keine gültige Uhrzeit (erwartet HH:MM, z. B. 12:30).") from None
    start, end = shift_hours()
    if not _hhmm_minutes(start) < _hhmm_minutes(parsed) <= _hhmm_minutes(end):
        raise ValidationFailed(
            f"Die Rückkehrzeit muss nach dem Tourbeginn ({start} Uhr) "
            f"und spätestens zum Schichtende ({end} Uhr) liegen."
        )
    return parsed.strftime("%H:%M")


def shift_hours() -> tuple[str, str]:
    """When the vans may leave and must be back ("HH:MM" local)."""
    return str(_config("DISPATCH_SHIFT_START")), str(_config("DISPATCH_SHIFT_END"))


def default_return_by(day: date) -> str:
    """What the return-by field shows: the choice of the day's last plan, else the shift end."""
    run = db.session.scalar(
        select(PlanRun)
        .where(PlanRun.service_date == day, PlanRun.status == "done", PlanRun.return_by.is_not(None))
        .order_by(PlanRun.id.desc())
        .limit(1)
    )
    return run.return_by if run is not None else shift_hours()[1]


def reason_label(reason: str) -> str:
    return REASON_LABELS.get(str(reason), str(reason))


def parse_day(value: str | None) -> date:
    """A date from a form or the command line (YYYY-MM-DD or DD.MM.YYYY); German error otherwise."""
    text = (value or "").strip()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 (a calendar date, no time)
        except ValueError:
            continue
    raise ValidationFailed(f"„{text[:40]}“ ist kein gültiges Datum (erwartet JJJJ-MM-TT, z. B. 2026-03-02).")


def day_label(day: date) -> str:
    return f"{WEEKDAYS_DE[day.weekday()]}, {day:%d.%m.%Y}"


# --- the day's stops, vans and drivers -------------------------------------------------------------


@dataclass
class DayStop:
    """One site to serve on a day, with what goes there and what comes back."""

    site: Site
    must_visit: bool = True
    priority: int = 1
    pickup_boxes: int = 1
    note: str = ""
    source: str = "template"  # template | adhoc
    adhoc_ids: list[int] = field(default_factory=list)
    items: list[MailItem] = field(default_factory=list)

    def add_note(self, text: str) -> None:
        self.note = f"{self.note}; {text}" if self.note else text

    @property
    def deliver_items(self) -> int:
        return len(self.items)

    @property
    def registered(self) -> list[MailItem]:
        return [i for i in self.items if i.is_registered]

    @property
    def deliver_boxes(self) -> int:
        return boxes_for(self.items)


def boxes_for(items: list[MailItem]) -> int:
    """Parcels one box each; all other items ITEMS_PER_BOX to a box (rounded up)."""
    per_box = max(1, int(_config("ITEMS_PER_BOX")))
    parcels = sum(1 for i in items if i.kind in PARCEL_KINDS)
    others = len(items) - parcels
    return parcels + math.ceil(others / per_box)


def templates_for(day: date) -> list[StopTemplate]:
    """The active stop templates of the day's weekday; none on a public holiday or closed day."""
    if workdays.holiday(day):
        return []
    templates = db.session.scalars(select(StopTemplate).where(StopTemplate.active).order_by(StopTemplate.id))
    return [t for t in templates if str(day.weekday()) in {w.strip() for w in (t.weekdays or "").split(",")}]


def sorted_items_by_site(site_ids: list[int] | None = None) -> dict[int, list[MailItem]]:
    query = select(MailItem).where(MailItem.status == ItemStatus.SORTED, MailItem.site_id.is_not(None))
    if site_ids is not None:
        query = query.where(MailItem.site_id.in_(site_ids))
    result: dict[int, list[MailItem]] = {}
    for item in db.session.scalars(query.order_by(MailItem.id)):
        result.setdefault(item.site_id, []).append(item)
    return result


def day_stops(day: date) -> list[DayStop]:
    """The stops of a day: template sites (in template order), then ad-hoc stops; merged per site."""
    stops: dict[int, DayStop] = {}
    for template in templates_for(day):
        for entry in template.entries:
            if entry.site.is_depot or not entry.site.active or entry.site_id in stops:
                continue
            stops[entry.site_id] = DayStop(site=entry.site, must_visit=entry.must_visit, priority=entry.priority)
    for extra in adhoc_stops(day):
        if extra.site.is_depot:
            continue
        # A courier order's boxes ride to the other site (a pickup-and-delivery pair), not to the depot.
        to_depot = 0 if extra.deliver_to is not None else extra.pickup_boxes
        stop = stops.get(extra.site_id)
        if stop is None:
            stop = DayStop(site=extra.site, must_visit=extra.must_visit, pickup_boxes=to_depot, source="adhoc")
            stops[extra.site_id] = stop
        else:
            # An ad-hoc request at a daily site: more to pick up there.
            stop.pickup_boxes = max(stop.pickup_boxes, to_depot)
            stop.must_visit = stop.must_visit or extra.must_visit
        stop.adhoc_ids.append(extra.id)
        if extra.note:
            stop.add_note(extra.note)
        target = extra.deliver_to
        if target is not None and not target.is_depot:
            boxes = f"{extra.pickup_boxes} Kiste{'n' if extra.pickup_boxes != 1 else ''}"
            stop.add_note(f"Kurier: {boxes} für {target.code} mitnehmen")
            drop = stops.get(target.id)
            if drop is None:
                drop = DayStop(site=target, must_visit=extra.must_visit, pickup_boxes=0, source="adhoc")
                stops[target.id] = drop
            drop.must_visit = drop.must_visit or extra.must_visit
            drop.add_note(f"Kurier: {boxes} von {extra.site.code} abgeben")
    items = sorted_items_by_site(list(stops))
    for site_id, stop in stops.items():
        stop.items = items.get(site_id, [])
    return list(stops.values())


def courier_pairs(day: date) -> list[routes.PickupDelivery]:
    """The day's courier orders as pickup-and-delivery pairs (site codes): same van, pickup first."""
    return [
        routes.PickupDelivery(a.site.code, a.deliver_to.code, max(0, a.pickup_boxes))
        for a in adhoc_stops(day)
        if a.deliver_to is not None and not a.site.is_depot and not a.deliver_to.is_depot
    ]


def _check_courier_orders(day: date) -> None:
    """After an adjustment: each courier order whose two stops are both still open must stay on one
    tour, pickup first; otherwise the change is refused (the caller rolls back)."""
    open_stops: dict[str, TourStop] = {
        s.site.code: s
        for t in tours_of(day, include_cancelled=False)
        for s in t.stops
        if s.status == StopStatus.OPEN and not s.is_depot
    }
    for pair in courier_pairs(day):
        pickup, drop = open_stops.get(pair.pickup_stop), open_stops.get(pair.delivery_stop)
        if pickup is None or drop is None:
            continue
        if pickup.tour_id != drop.tour_id or pickup.position > drop.position:
            raise PlanningFailed(
                f"Kurierauftrag {pair.pickup_stop} → {pair.delivery_stop}: beide Stopps müssen in derselben Tour "
                f"liegen, {pair.pickup_stop} zuerst. Es wurde nichts geändert.",
                code="courier_order",
            )


def all_vehicles() -> list[Vehicle]:
    return list(db.session.scalars(select(Vehicle).order_by(Vehicle.code)))


def available_vehicles(day: date) -> list[Vehicle]:
    return [v for v in all_vehicles() if v.is_available_on(day)]


def couriers() -> list[User]:
    return list(db.session.scalars(select(User).where(User.role == Role.COURIER, User.active).order_by(User.full_name)))


def tours_of(day: date, *, include_cancelled: bool = True) -> list[Tour]:
    query = select(Tour).where(Tour.service_date == day)
    if not include_cancelled:
        query = query.where(Tour.status != TourStatus.CANCELLED)
    tours = list(db.session.scalars(query))
    order = {v.id: v.code for v in all_vehicles()}
    return sorted(tours, key=lambda t: (t.status == TourStatus.CANCELLED, order.get(t.vehicle_id, ""), t.id))


def default_drivers(day: date, vehicles: list[Vehicle]) -> dict[int, int | None]:
    """Per van the driver of its tour that day, else of its last tour, else the couriers in turn."""
    people = couriers()
    ids = {u.id for u in people}
    chosen: dict[int, int | None] = {}
    for vehicle in vehicles:
        last = db.session.scalar(
            select(Tour.driver_id)
            .where(Tour.vehicle_id == vehicle.id, Tour.driver_id.is_not(None), Tour.service_date <= day)
            .order_by(Tour.service_date.desc(), Tour.id.desc())
            .limit(1)
        )
        chosen[vehicle.id] = last if last in ids and last not in chosen.values() else None
    free = [u.id for u in people if u.id not in chosen.values()]
    for vehicle_id, driver in chosen.items():
        if driver is None and free:
            chosen[vehicle_id] = free.pop(0)
    return chosen


def depot_site() -> Site:
    depot = db.session.scalar(select(Site).where(Site.is_depot, Site.active).order_by(Site.id).limit(1))
    if depot is None:
        raise PlanningFailed("Es ist keine Poststelle (Depot) als Standort angelegt.")
    if not depot.has_coordinates:
        raise PlanningFailed(f"Die Poststelle „{depot.name}“ ({depot.code}) hat keine Koordinaten.")
    return depot


# --- ORM -> routes ---------------------------------------------------------------------------------


def _window(site: Site) -> tuple[int, int]:
    opens, closes = _hhmm_minutes(site.opens), _hhmm_minutes(site.closes)
    latest = max(opens, closes - int(site.service_min or 0))
    return opens, latest


def _routes_depot(depot: Site) -> routes.Depot:
    return routes.Depot(
        id=depot.code,
        lat=depot.lat,
        lon=depot.lon,
        opens_min=_hhmm_minutes(depot.opens),
        closes_min=max(_hhmm_minutes(depot.closes), _hhmm_minutes(_config("DISPATCH_SHIFT_END"))),
        name=depot.name,
    )


def _routes_stop(site: Site, *, deliver: int, pickup: int, must_visit: bool = True, priority: int = 1) -> routes.Stop:
    return routes.Stop(
        id=site.code,
        lat=site.lat,
        lon=site.lon,
        service_min=float(site.service_min or 0),
        window=_window(site),
        deliver=deliver,
        pickup=pickup,
        must_visit=must_visit,
        priority=priority,
        name=site.name,
    )


def winter_factor(vehicle: Vehicle, day: date) -> float:
    return vehicle.winter_factor if day.month in tuple(_config("DISPATCH_WINTER_MONTHS")) else 1.0


def usable_range_km(vehicle: Vehicle, day: date) -> float:
    return vehicle.battery_range_km * winter_factor(vehicle, day) * (1.0 - vehicle.safety_reserve)


def _breaks() -> tuple[routes.Break, ...]:
    spec = _config("DISPATCH_BREAK")
    if not spec:
        return ()
    earliest, latest, minutes = spec
    return (routes.Break(_hhmm_minutes(earliest), _hhmm_minutes(latest), int(minutes)),)


def _routes_vehicle(vehicle: Vehicle, day: date, **overrides) -> routes.Vehicle:
    values = {
        "id": vehicle.code,
        "capacity": vehicle.capacity_boxes,
        "battery_range_km": vehicle.battery_range_km,
        "winter_factor": winter_factor(vehicle, day),
        "safety_reserve": vehicle.safety_reserve,
        "speed_kmh": vehicle.speed_kmh,
        "shift_start_min": _hhmm_minutes(_config("DISPATCH_SHIFT_START")),
        "shift_end_min": _hhmm_minutes(_config("DISPATCH_SHIFT_END")),
        "breaks": _breaks(),
        "available": vehicle.is_available_on(day),
        "max_rounds": int(_config("DISPATCH_MAX_ROUNDS")),
        "name": vehicle.name,
    }
    values.update(overrides)
    return routes.Vehicle(**values)


def _matrix(depot: routes.Depot, stops: list[routes.Stop], speed_kmh: float) -> routes.Matrix | None:
    """The configured distance model; None for the default (haversine x circuity, done by `routes`)."""
    from routes import matrix as rmatrix

    model = (current_app.config.get("DISTANCE_MODEL") or "haversine").lower()
    circuity = float(current_app.config.get("DISTANCE_CIRCUITY") or rmatrix.DEFAULT_CIRCUITY)
    try:
        if model == "csv":
            path = current_app.config.get("DISTANCE_CSV")
            if not path:
                raise PlanningFailed("DISTANCE_MODEL ist „csv“, aber DISTANCE_CSV ist nicht gesetzt.")
            full = rmatrix.matrix_from_csv(path, speed_kmh)
            return _sub_matrix(full, [depot.id] + [s.id for s in stops])
        if model in ("osrm", "valhalla"):
            url = current_app.config.get("DISTANCE_SERVER_URL")
            if not url:
                raise PlanningFailed(f"DISTANCE_MODEL ist „{model}“, aber DISTANCE_SERVER_URL ist nicht gesetzt.")
            build = rmatrix.matrix_from_osrm if model == "osrm" else rmatrix.matrix_from_valhalla
            return build(url, depot, stops, speed_kmh=speed_kmh, circuity=circuity)
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


def _circuity() -> float:
    return float(current_app.config.get("DISTANCE_CIRCUITY") or 1.3)


def _leg(matrix: routes.Matrix | None, a: tuple[str, float, float], b: tuple[str, float, float], speed: float):
    """km and minutes from a to b ((id, lat, lon) each): from the matrix if it has both, else haversine."""
    from routes.matrix import haversine_km

    if matrix is not None and a[0] in matrix.ids and b[0] in matrix.ids:
        i, j = matrix.index(a[0]), matrix.index(b[0])
        return matrix.km[i][j], matrix.minutes[i][j]
    if a[1:] == b[1:]:
        return 0.0, 0.0
    km = haversine_km(a[1], a[2], b[1], b[2]) * _circuity()
    return km, km / speed * 60.0


def _check_coordinates(stops: list[DayStop]) -> None:
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
    depot = _routes_depot(depot_site())
    _check_coordinates(stops)
    rstops = [
        _routes_stop(
            s.site, deliver=s.deliver_boxes, pickup=s.pickup_boxes, must_visit=s.must_visit, priority=s.priority
        )
        for s in stops
    ]
    overrides = {"shift_end_min": _hhmm_minutes(return_by)} if return_by else {}
    rvehicles = [_routes_vehicle(v, day, **overrides) for v in vehicles]
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
        matrix=_matrix(depot, rstops, speed),
        previous_routes=warm,
        circuity=_circuity(),
        pairs=list(pairs or []),
    )


# --- planning a day --------------------------------------------------------------------------------


def previous_routes_for(template_id: int | None, *, before_run_id: int | None = None) -> dict[str, list[str]] | None:
    """The routes of the last finished plan of the same stop template (the warm start)."""
    if template_id is None:
        return None
    query = select(PlanRun).where(
        PlanRun.status == "done", PlanRun.routes.is_not(None), PlanRun.template_id == template_id
    )
    if before_run_id is not None:
        query = query.where(PlanRun.id != before_run_id)
    last = db.session.scalar(query.order_by(PlanRun.id.desc()).limit(1))
    return dict(last.routes) if last is not None and last.routes else None


def problem_for_day(
    day: date,
    stops: list[DayStop] | None = None,
    vehicles: list[Vehicle] | None = None,
    template_id: int | None = None,
    *,
    exclude_run_id: int | None = None,
    return_by: str | None = None,
) -> routes.Problem:
    """The optimiser's problem for a day, warm-started from the last plan of the same stop template."""
    if stops is None or vehicles is None:
        stops, vehicles, template = check_plannable(day)
        template_id = template.id if template else None
    warm = previous_routes_for(template_id, before_run_id=exclude_run_id)
    return build_problem(day, stops, vehicles, warm, return_by, courier_pairs(day))


def _check_replaceable(day: date) -> list[Tour]:
    tours = tours_of(day)
    busy = [t for t in tours if t.status != TourStatus.PLANNED]
    if busy:
        names = ", ".join(f"{t.vehicle.code} ({TourStatus(t.status).label})" for t in busy)
        raise InvalidTransition(
            f"Die Touren vom {day:%d.%m.%Y} sind schon unterwegs oder beendet ({names}); ein neuer Plan würde sie "
            "ersetzen. Bitte „Fahrzeugausfall: neu planen“ bzw. „Rest neu planen“ an der Tour verwenden.",
            code="tours_started",
        )
    ids = [t.id for t in tours]
    if ids:
        referenced = db.session.scalar(select(func.count(MailEvent.id)).where(MailEvent.tour_id.in_(ids))) or 0
        referenced += (
            db.session.scalar(select(func.count(OdometerReading.id)).where(OdometerReading.tour_id.in_(ids))) or 0
        )
        if referenced:
            raise InvalidTransition(
                f"Zu den Touren vom {day:%d.%m.%Y} gibt es schon Ladevorgänge oder Fahrtenbuch-Einträge; "
                "bitte die Ausfall-Neuplanung verwenden.",
                code="tours_started",
            )
    return tours


def check_plannable(day: date) -> tuple[list[DayStop], list[Vehicle], StopTemplate | None]:
    """What a plan of `day` would use; raises a German PlanningFailed when it cannot be planned."""
    templates = templates_for(day)
    stops = day_stops(day)
    if not stops:
        closed = workdays.holiday(day)
        if closed:
            raise PlanningFailed(
                f"{day_label(day)} ist {closed}: keine Touren nach Stoppvorlage. "
                "Für eine Sonderfahrt bitte Sonderstopps anlegen.",
                code="holiday",
            )
        if not templates:
            raise PlanningFailed(
                f"Für {day_label(day)} gibt es keine Stoppvorlage und keine Sonderstopps: an diesem Tag fährt "
                "keine Tour. Für eine Sonderfahrt bitte Sonderstopps anlegen.",
                code="no_template",
            )
        raise PlanningFailed(f"Für {day_label(day)} sind keine Stopps vorgesehen.", code="no_stops")
    vehicles = available_vehicles(day)
    if not vehicles:
        raise PlanningFailed(
            f"Am {day:%d.%m.%Y} ist kein Fahrzeug verfügbar (alle in der Werkstatt oder außer Dienst).",
            code="no_vehicle",
        )
    _check_coordinates(stops)
    depot_site()
    return stops, vehicles, (templates[0] if templates else None)


def start_plan_run(
    day: date, *, user: User | None, time_limit_s: float | None = None, return_by: str | None = None
) -> PlanRun:
    """Record a plan as running (the caller commits and starts `execute_plan_run` in the background).

    The day is checked here already, so that a plan that cannot work is refused at once."""
    return_by = parse_return_by(return_by)
    _check_replaceable(day)
    _, _, template = check_plannable(day)
    running = running_run(day)
    if running is not None:
        raise InvalidTransition("Für diesen Tag läuft bereits eine Planung.", code="plan_running")
    limit = float(time_limit_s or current_app.config.get("PLAN_TIME_LIMIT_S", 5.0))
    run = PlanRun(
        service_date=day,
        template_id=template.id if template else None,
        kind="plan",
        created_by_id=user.id if user else None,
        status="running",
        time_limit_s=limit,
        return_by=return_by,
    )
    db.session.add(run)
    db.session.flush()
    return run


def running_run(day: date) -> PlanRun | None:
    runs = db.session.scalars(select(PlanRun).where(PlanRun.service_date == day, PlanRun.status == "running"))
    now = utcnow()
    for run in runs:
        if (now - run.created_at).total_seconds() <= run.time_limit_s + float(_config("DISPATCH_STALE_RUN_S")):
            return run
    return None


def plan_day(
    day: date,
    *,
    user: User | None = None,
    time_limit_s: float | None = None,
    drivers: dict[int, int | None] | None = None,
    run: PlanRun | None = None,
    return_by: str | None = None,
) -> PlanRun:
    """Plan (or re-plan) the tours of `day` and store them; only flushes.

    Solves first, then replaces the day's tours in the same transaction: a refused or failed plan
    leaves the previous tours as they were. `return_by` ("HH:MM") brings every van back earlier than
    the shift end, which spreads the stops over more vans."""
    return_by = parse_return_by(return_by) or (run.return_by if run else None)
    old_tours = _check_replaceable(day)
    stops, vehicles, template = check_plannable(day)
    limit = float(time_limit_s or (run.time_limit_s if run else 0) or current_app.config.get("PLAN_TIME_LIMIT_S", 5))
    template_id = template.id if template else None
    problem = problem_for_day(
        day, stops, vehicles, template_id, exclude_run_id=run.id if run else None, return_by=return_by
    )
    plan = routes.plan_tours(problem, time_limit_s=limit)

    if drivers is None:
        drivers = {t.vehicle_id: t.driver_id for t in old_tours if t.driver_id} or default_drivers(day, vehicles)
    _delete_tours(old_tours)

    if run is None:
        run = PlanRun(service_date=day, kind="plan", created_by_id=user.id if user else None)
        db.session.add(run)
    run.kind = "replan" if old_tours else "plan"
    run.template_id = template_id
    run.total_km = round(plan.total_km, 2)
    run.solve_time_s = round(plan.solve_time_s, 3)
    run.time_limit_s = limit
    run.return_by = return_by
    run.routes = {t.vehicle_id: t.stop_ids for t in plan.tours if t.stop_ids}
    run.unserved = [{"site": u.stop_id, "reason": str(u.reason), "detail": u.detail} for u in plan.unserved]
    run.status = "done"
    run.error = None
    run.finished_at = utcnow()
    db.session.flush()

    by_code = {v.code: v for v in vehicles}
    stop_by_code = {s.site.code: s for s in stops}
    depot = depot_site()
    for rtour in plan.tours:
        if not rtour.stop_ids:
            continue
        vehicle = by_code[rtour.vehicle_id]
        tour = Tour(
            service_date=day,
            vehicle_id=vehicle.id,
            driver_id=drivers.get(vehicle.id),
            plan_run_id=run.id,
            status=TourStatus.PLANNED,
            planned_km=round(rtour.km, 2),
            range_km=round(rtour.range_km or usable_range_km(vehicle, day), 2),
            planned_start=clock.local_minutes_to_utc(day, rtour.start_min),
            planned_end=clock.local_minutes_to_utc(day, rtour.end_min),
        )
        db.session.add(tour)
        for position, visit in enumerate(rtour.visits, start=1):
            stop = stop_by_code.get(visit.stop_id)
            tour_stop = _tour_stop_from_visit(day, visit, position, stop.site if stop else depot)
            if stop is not None:
                tour_stop.deliver_boxes = stop.deliver_boxes
                tour_stop.pickup_boxes = stop.pickup_boxes
                tour_stop.note = stop.note[:200]
            tour.stops.append(tour_stop)
        db.session.flush()
        for tour_stop in tour.stops:
            stop = stop_by_code.get(tour_stop.site.code) if not tour_stop.is_depot else None
            for item in stop.items if stop else ():
                item.tour_stop_id = tour_stop.id
    db.session.flush()
    return run


def _tour_stop_from_visit(day: date, visit: routes.Visit, position: int, site: Site) -> TourStop:
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


def _delete_tours(tours: list[Tour]) -> None:
    stop_ids = [s.id for t in tours for s in t.stops]
    if stop_ids:
        for item in db.session.scalars(select(MailItem).where(MailItem.tour_stop_id.in_(stop_ids))):
            item.tour_stop_id = None
        db.session.flush()
    for tour in tours:
        db.session.delete(tour)
    db.session.flush()


def execute_plan_run(run_id: int) -> PlanRun:
    """The body of a background plan: plan the run's day into the run. Only flushes."""
    run = db.session.get(PlanRun, run_id)
    if run is None:
        raise NotFound("Planungslauf nicht gefunden.")
    if run.status != "running":
        raise InvalidTransition("Dieser Planungslauf ist schon abgeschlossen.")
    user = db.session.get(User, run.created_by_id) if run.created_by_id else None
    return plan_day(run.service_date, user=user, run=run)


def fail_plan_run(run_id: int, message: str) -> None:
    run = db.session.get(PlanRun, run_id)
    if run is not None:
        run.status = "failed"
        run.error = message[:500]
        run.finished_at = utcnow()
        db.session.flush()


def run_status(run: PlanRun) -> dict:
    """What the planning page polls: status, progress 0..1 over the time limit, message."""
    status = run.status
    now = utcnow()
    elapsed = ((run.finished_at or now) - run.created_at).total_seconds()
    if status == "running" and elapsed > run.time_limit_s + float(_config("DISPATCH_STALE_RUN_S")):
        status, message = "failed", "Die Planung wurde unterbrochen. Bitte erneut planen."
    elif status == "running":
        message = f"Optimiere Touren … {min(elapsed, run.time_limit_s):.0f} von {run.time_limit_s:.0f} s"
    elif status == "done":
        served = sum(len(codes) for codes in (run.routes or {}).values())
        message = f"Fertig: {served} Stopps geplant, {run.total_km:.1f} km".replace(".", ",")
        if run.unserved:
            message += f", {len(run.unserved)} nicht bedienbar"
    else:
        message = run.error or "Die Planung ist fehlgeschlagen."
    progress = 1.0 if status != "running" else min(0.99, elapsed / max(run.time_limit_s, 0.1))
    return {
        "id": run.id,
        "date": run.service_date.isoformat(),
        "status": status,
        "progress": round(progress, 3),
        "elapsed_s": round(elapsed, 1),
        "time_limit_s": run.time_limit_s,
        "message": message,
    }


def latest_run(day: date) -> PlanRun | None:
    return db.session.scalar(select(PlanRun).where(PlanRun.service_date == day).order_by(PlanRun.id.desc()).limit(1))


def unserved_for_display(run: PlanRun | None) -> list[dict]:
    if run is None or not run.unserved:
        return []
    sites = {
        s.code: s for s in db.session.scalars(select(Site).where(Site.code.in_([u["site"] for u in run.unserved])))
    }
    return [
        {
            "site": u["site"],
            "name": sites[u["site"]].name if u["site"] in sites else u["site"],
            "reason": u["reason"],
            "reason_label": reason_label(u["reason"]),
            "detail": u.get("detail", ""),
        }
        for u in run.unserved
    ]


# --- drivers, ad-hoc stops -------------------------------------------------------------------------


def assign_driver(tour: Tour, driver_id: int | None) -> None:
    if tour.status in (TourStatus.FINISHED, TourStatus.CANCELLED):
        raise InvalidTransition("Die Tour ist beendet; der Fahrer kann nicht mehr geändert werden.")
    if driver_id is not None:
        driver = db.session.get(User, driver_id)
        if driver is None or driver.role != Role.COURIER or not driver.active:
            raise ValidationFailed("Bitte eine Botin oder einen Boten (Rolle Botendienst) wählen.")
        other = db.session.scalar(
            select(Tour).where(
                Tour.service_date == tour.service_date,
                Tour.driver_id == driver_id,
                Tour.id != tour.id,
                Tour.status.in_([TourStatus.PLANNED, TourStatus.STARTED]),
            )
        )
        if other is not None:
            raise ValidationFailed(f"{driver.display_name} fährt an diesem Tag schon {other.vehicle.name}.")
    tour.driver_id = driver_id
    db.session.flush()


def add_adhoc_stop(
    day: date,
    site_id: int,
    *,
    user: User | None,
    pickup_boxes: int = 1,
    must_visit: bool = True,
    note: str = "",
    deliver_to_site_id: int | None = None,
) -> AdhocStop:
    """An extra stop for one day; with `deliver_to_site_id` a courier order: the boxes picked up here go
    straight to that site on the same van."""
    site = db.session.get(Site, site_id)
    if site is None or not site.active or site.is_depot:
        raise ValidationFailed("Bitte einen aktiven Standort wählen.")
    if not 0 <= pickup_boxes <= 40:
        raise ValidationFailed("Abholkisten: bitte eine Zahl von 0 bis 40.")
    deliver_to = None
    if deliver_to_site_id:
        deliver_to = db.session.get(Site, deliver_to_site_id)
        if deliver_to is None or not deliver_to.active or deliver_to.is_depot:
            raise ValidationFailed("Kurierauftrag: bitte einen aktiven Zielstandort wählen.")
        if deliver_to.id == site.id:
            raise ValidationFailed("Kurierauftrag: Abhol- und Zielstandort müssen verschieden sein.")
        if pickup_boxes < 1:
            raise ValidationFailed("Kurierauftrag: bitte mindestens eine Kiste angeben.")
    stop = AdhocStop(
        service_date=day,
        site_id=site.id,
        deliver_to_site_id=deliver_to.id if deliver_to else None,
        pickup_boxes=pickup_boxes,
        must_visit=must_visit,
        note=(note or "").strip()[:200],
        created_by_id=user.id if user else None,
    )
    db.session.add(stop)
    db.session.flush()
    return stop


def delete_adhoc_stop(stop_id: int) -> date:
    stop = db.session.get(AdhocStop, stop_id)
    if stop is None:
        raise NotFound("Sonderstopp nicht gefunden.")
    day = stop.service_date
    db.session.delete(stop)
    db.session.flush()
    return day


def adhoc_stops(day: date) -> list[AdhocStop]:
    return list(db.session.scalars(select(AdhocStop).where(AdhocStop.service_date == day).order_by(AdhocStop.id)))


# --- adjusting: move, pin, re-plan the rest, breakdown ---------------------------------------------


@dataclass
class _TourState:
    """Where a tour stands for a re-plan: kept stops, the fixed (pinned) part, the van's start."""

    tour: Tour
    kept: list[TourStop]  # done/skipped stops: never touched
    pinned: list[TourStop]  # open stops in fixed order, visited next
    pinned_visits: list[routes.Visit]
    vehicle: routes.Vehicle  # starts after the pinned part
    round: int


def _location(site: Site) -> tuple[str, float, float]:
    return (site.code, site.lat, site.lon)


def _current_state(
    tour: Tour, day: date, now_min: float, matrix: routes.Matrix | None, position: tuple[float, float] | None
) -> _TourState:
    vehicle = tour.vehicle
    depot = depot_site()
    stops = list(tour.stops)
    kept = [s for s in stops if s.status != StopStatus.OPEN]
    pinned = sorted((s for s in stops if s.status == StopStatus.OPEN and s.pinned and not s.is_depot),
                    key=lambda s: s.position)  # fmt: skip
    shift_start = _hhmm_minutes(_config("DISPATCH_SHIFT_START"))
    last_done = max((s for s in kept if s.status == StopStatus.DONE), key=lambda s: s.position, default=None)
    under_way = tour.status == TourStatus.STARTED or bool(kept) or position is not None
    if position is not None:
        here = ("@", position[0], position[1])
    elif last_done is not None:
        here = _location(last_done.site)
    else:
        here = _location(depot)
    if under_way:
        minute = max(now_min, shift_start)
        if last_done is not None and last_done.departure is not None:
            minute = max(minute, clock.utc_to_local_minutes(day, last_done.departure))
    else:
        # Not yet left: it leaves when planned (re-planning does not move the departure).
        minute = clock.utc_to_local_minutes(day, tour.planned_start) if tour.planned_start is not None else shift_start
    km = last_done.km_after if last_done is not None else 0.0
    current_round = last_done.round if last_done is not None else 1
    on_board_pickups = sum(s.pickup_boxes for s in kept if s.status == StopStatus.DONE and s.round == current_round)
    # Courier boxes already picked up (or picked up at a pinned stop) whose delivery is still open ride
    # along for the rest of the tour: counted like pickups, on the safe side.
    pairs = courier_pairs(day)
    if pairs:
        status_of = {s.site.code: s.status for t in tours_of(day, include_cancelled=False) for s in t.stops}
        taken = {s.site.code for s in kept if s.status == StopStatus.DONE} | {s.site.code for s in pinned}
        on_board_pickups += sum(
            p.boxes for p in pairs if p.pickup_stop in taken and status_of.get(p.delivery_stop) == StopStatus.OPEN
        )
    open_deliveries = sum(s.deliver_boxes for s in stops if s.status == StopStatus.OPEN and not s.is_depot)
    load = open_deliveries + on_board_pickups
    visits: list[routes.Visit] = []
    for stop in pinned:
        leg_km, leg_min = _leg(matrix, here, _location(stop.site), vehicle.speed_kmh)
        arrival = minute + leg_min
        opens, _ = _window(stop.site)
        start = max(arrival, opens)
        minute = start + (stop.site.service_min or 0)
        km += leg_km
        load = load - stop.deliver_boxes + stop.pickup_boxes
        on_board_pickups += stop.pickup_boxes
        visits.append(routes.Visit(stop.site.code, arrival, minute, load, km, current_round))
        here = _location(stop.site)
    overrides = {
        "available": True,
        "capacity": max(0, vehicle.capacity_boxes - on_board_pickups),
        "start_min": math.ceil(minute),
        "driven_km": km,
        "max_rounds": max(1, int(_config("DISPATCH_MAX_ROUNDS")) - current_round + 1),
    }
    if here[0] != depot.code:
        overrides.update(start_lat=here[1], start_lon=here[2])
    rvehicle = _routes_vehicle(vehicle, day, **overrides)
    return _TourState(tour, kept, pinned, visits, rvehicle, current_round)


def _pool_stop(stop: TourStop) -> routes.Stop:
    return _routes_stop(stop.site, deliver=stop.deliver_boxes, pickup=stop.pickup_boxes)


def _solve_pool(
    day: date, states: list[_TourState], pool: list[TourStop], warm: dict[str, list[str]], time_limit_s: float
) -> routes.Plan | None:
    if not pool:
        return None
    depot = _routes_depot(depot_site())
    rstops = [_pool_stop(s) for s in pool]
    speed = min(s.vehicle.speed_kmh for s in states)
    codes = {s.id for s in rstops}
    problem = routes.Problem(
        depot=depot,
        stops=rstops,
        vehicles=[s.vehicle for s in states],
        matrix=_matrix(depot, rstops, speed),
        previous_routes={k: v for k, v in warm.items() if v} or None,
        circuity=_circuity(),
        pairs=[p for p in courier_pairs(day) if p.pickup_stop in codes and p.delivery_stop in codes],
    )
    return routes.plan_tours(problem, time_limit_s=time_limit_s)


def _rewrite(day: date, state: _TourState, plan: routes.Plan | None, pool_by_code: dict[str, TourStop]) -> None:
    """Give the tour its new open part: pinned visits, then the solver's visits (rows are reused, so the
    items stay attached to their stop)."""
    tour = state.tour
    depot = depot_site()
    for stop in list(tour.stops):
        if stop.status == StopStatus.OPEN and stop.is_depot:
            tour.stops.remove(stop)
            db.session.delete(stop)
    position = 0
    for stop in sorted(state.kept, key=lambda s: s.position):
        position += 1
        stop.position = position
    for stop, visit in zip(state.pinned, state.pinned_visits, strict=True):
        position += 1
        _apply_visit(day, stop, visit, position)
    rtour = next((t for t in plan.tours if t.vehicle_id == tour.vehicle.code), None) if plan else None
    end_min = state.pinned_visits[-1].departure_min if state.pinned_visits else None
    km = state.pinned_visits[-1].km_after if state.pinned_visits else state.vehicle.driven_km
    if rtour is not None and rtour.visits:
        offset = state.vehicle.driven_km  # the solver counts km from the van's start position
        for visit in rtour.visits:
            position += 1
            visit = dataclasses.replace(visit, km_after=visit.km_after + offset)
            if visit.is_depot:
                stop = _tour_stop_from_visit(day, visit, position, depot)
                stop.round = visit.round + state.round - 1
                tour.stops.append(stop)
                continue
            stop = pool_by_code[visit.stop_id]
            if stop.tour_id != tour.id:
                stop.tour = tour
            _apply_visit(day, stop, visit, position)
            stop.round = visit.round + state.round - 1
        end_min, km = rtour.end_min, rtour.km + offset
    elif state.pinned_visits:
        end_min, km = _return_leg(state, depot)
    if end_min is not None:
        tour.planned_end = clock.local_minutes_to_utc(day, end_min)
    tour.planned_km = round(km, 2)
    tour.range_km = round(usable_range_km(tour.vehicle, day), 2)


def _return_leg(state: _TourState, depot: Site) -> tuple[float, float]:
    last = state.pinned[-1]
    leg_km, leg_min = _leg(None, _location(last.site), _location(depot), state.tour.vehicle.speed_kmh)
    return state.pinned_visits[-1].departure_min + leg_min, state.pinned_visits[-1].km_after + leg_km


def _apply_visit(day: date, stop: TourStop, visit: routes.Visit, position: int) -> None:
    stop.position = position
    stop.eta = clock.local_minutes_to_utc(day, visit.arrival_min)
    stop.departure = clock.local_minutes_to_utc(day, visit.departure_min)
    stop.km_after = round(visit.km_after, 2)
    stop.load_after = int(visit.load_after)


def _now_min(day: date, now: datetime | None) -> float:
    return clock.utc_to_local_minutes(day, now or clock.now_utc())


def _adjustable(tour: Tour) -> None:
    if tour.status in (TourStatus.FINISHED, TourStatus.CANCELLED):
        raise InvalidTransition(f"Die Tour {tour.vehicle.code} ist {TourStatus(tour.status).label.lower()}.")


def _unserved_message(plan: routes.Plan) -> str:
    parts = [f"{u.stop_id}: {reason_label(u.reason)}" for u in plan.unserved]
    return "Nicht alle Stopps lassen sich so bedienen – " + "; ".join(parts) + ". Es wurde nichts geändert."


def _record_adjust(day: date, kind: str, user: User | None, unserved: list[dict], limit: float) -> PlanRun:
    run = PlanRun(
        service_date=day,
        kind=kind,
        created_by_id=user.id if user else None,
        total_km=round(sum(t.planned_km for t in tours_of(day, include_cancelled=False)), 2),
        unserved=unserved,
        routes=None,  # adjustments are no warm start for tomorrow's plan
        status="done",
        time_limit_s=limit,
        finished_at=utcnow(),
    )
    db.session.add(run)
    db.session.flush()
    return run


def replan_tour(
    tour: Tour,
    pinned_order: list[int] | None = None,
    *,
    user: User | None = None,
    now: datetime | None = None,
    time_limit_s: float | None = None,
) -> PlanRun:
    """Fix the order of some open stops (`pinned_order`: tour stop ids, visited next in this order) and
    re-plan the rest of this tour. None keeps the current pins. Refuses (nothing changed) if a stop
    could then not be served."""
    _adjustable(tour)
    day = tour.service_date
    if pinned_order is not None:
        _set_pins(tour, pinned_order)
    limit = float(time_limit_s or _config("DISPATCH_ADJUST_TIME_LIMIT_S"))
    state = _current_state(tour, day, _now_min(day, now), None, None)
    pool = [s for s in tour.stops if s.status == StopStatus.OPEN and not s.is_depot and not s.pinned]
    warm = {tour.vehicle.code: [s.site.code for s in sorted(pool, key=lambda s: s.position)]}
    plan = _solve_pool(day, [state], pool, warm, limit)
    if plan is not None and plan.unserved:
        raise PlanningFailed(_unserved_message(plan))
    _rewrite(day, state, plan, {s.site.code: s for s in pool})
    db.session.flush()
    _check_courier_orders(day)
    return _record_adjust(day, "adjust", user, [], limit)


def _set_pins(tour: Tour, pinned_order: list[int]) -> None:
    open_stops = {s.id: s for s in tour.stops if s.status == StopStatus.OPEN and not s.is_depot}
    unknown = [i for i in pinned_order if i not in open_stops]
    if unknown:
        raise ValidationFailed("Nur offene Stopps dieser Tour können fixiert werden.")
    if len(set(pinned_order)) != len(pinned_order):
        raise ValidationFailed("Jeder Stopp kann nur einmal fixiert werden.")
    base = min((s.position for s in open_stops.values()), default=1)
    for stop in open_stops.values():
        stop.pinned = False
    for offset, stop_id in enumerate(pinned_order):
        stop = open_stops[stop_id]
        stop.pinned = True
        stop.position = base + offset - len(pinned_order) - 1  # before every unpinned open stop, in order


def move_stop(
    stop: TourStop,
    target: Tour,
    *,
    user: User | None = None,
    now: datetime | None = None,
    time_limit_s: float | None = None,
) -> PlanRun:
    """Move an open stop to another tour of the same day; re-plan both (pins kept). The open stops of
    its courier orders on the same tour move along."""
    source = stop.tour
    if stop.status != StopStatus.OPEN or stop.is_depot:
        raise InvalidTransition("Nur offene Stopps können verschoben werden.")
    if target.id == source.id:
        raise ValidationFailed("Der Stopp gehört schon zu dieser Tour.")
    if target.service_date != source.service_date:
        raise ValidationFailed("Stopps können nur zwischen Touren desselben Tages verschoben werden.")
    _adjustable(source)
    _adjustable(target)
    day = source.service_date
    limit = float(time_limit_s or _config("DISPATCH_ADJUST_TIME_LIMIT_S"))
    now_min = _now_min(day, now)
    moving = [stop, *_courier_partners(stop)]
    for s in moving:
        s.pinned = False
    results = []
    for tour, extra, leave_out in ((source, [], moving), (target, moving, [])):
        state = _current_state(tour, day, now_min, None, None)
        pool = [s for s in tour.stops if s.status == StopStatus.OPEN and not s.is_depot and not s.pinned]
        pool = [s for s in pool if s not in leave_out] + extra
        warm = {tour.vehicle.code: [s.site.code for s in sorted(pool, key=lambda s: s.position)]}
        plan = _solve_pool(day, [state], pool, warm, limit)
        if plan is not None and plan.unserved:
            raise PlanningFailed(_unserved_message(plan))
        results.append((state, plan, {s.site.code: s for s in pool}))
    for s in moving:
        if s in source.stops:
            source.stops.remove(s)
        target.stops.append(s)
    for state, plan, pool_by_code in results:
        _rewrite(day, state, plan, pool_by_code)
    db.session.flush()
    _check_courier_orders(day)
    return _record_adjust(day, "adjust", user, [], limit)


def _courier_partners(stop: TourStop) -> list[TourStop]:
    """The other open stops of the same tour that share a courier order with `stop`."""
    code = stop.site.code
    pairs = courier_pairs(stop.tour.service_date)
    partner_codes = {p.delivery_stop for p in pairs if p.pickup_stop == code}
    partner_codes |= {p.pickup_stop for p in pairs if p.delivery_stop == code}
    return [
        s
        for s in stop.tour.stops
        if s is not stop and s.status == StopStatus.OPEN and not s.is_depot and s.site.code in partner_codes
    ]


def replan_breakdown(
    tour: Tour,
    *,
    user: User | None = None,
    now: datetime | None = None,
    position: tuple[float, float] | None = None,
    time_limit_s: float | None = None,
) -> PlanRun:
    """A van broke down: its open stops go to the day's other tours, each re-planned from where its van
    is now (its last done stop, the depot if not yet started, or `position` (lat, lon) if given).
    Stops no van can serve stay on the broken tour as skipped, with the reason; their sorted items
    go back to the shelf. The broken tour is marked cancelled."""
    _adjustable(tour)
    day = tour.service_date
    others = [
        t
        for t in tours_of(day, include_cancelled=False)
        if t.id != tour.id and t.status in (TourStatus.PLANNED, TourStatus.STARTED)
    ]
    limit = float(time_limit_s or _config("DISPATCH_ADJUST_TIME_LIMIT_S"))
    now_min = _now_min(day, now)
    broken_open = [s for s in tour.stops if s.status == StopStatus.OPEN and not s.is_depot]
    others = [t for t in others if t.vehicle.is_available_on(day)]
    states = [_current_state(t, day, now_min, None, position) for t in others]
    pool = [s for t in others for s in t.stops if s.status == StopStatus.OPEN and not s.is_depot and not s.pinned]
    pool += broken_open
    warm = {t.vehicle.code: [s.site.code for s in t.stops if s in pool and s.tour_id == t.id] for t in others}
    if states:
        plan = _solve_pool(day, states, pool, warm, limit)
    else:
        plan = routes.Plan(
            tours=[],
            unserved=[
                routes.Unserved(s.site.code, routes.UnservedReason.NO_VEHICLE, "kein anderes Fahrzeug unterwegs")
                for s in broken_open
            ],
            total_km=0.0,
            solve_time_s=0.0,
        )
    unserved_codes = {u.stop_id: u for u in (plan.unserved if plan else [])}
    pool_by_code = {s.site.code: s for s in pool}
    for state in states:
        _rewrite(day, state, plan, pool_by_code)
    # What no van can serve any more stays where it was, skipped with the reason; its sorted items
    # go back to the shelf (loaded ones stay with their stop until the courier brings them back).
    unserved = []
    for code, u in unserved_codes.items():
        stop = pool_by_code.get(code)
        if stop is None:
            continue
        stop.status = StopStatus.SKIPPED
        prefix = "Fahrzeugausfall, nicht übernommen" if stop in broken_open else "Nach Fahrzeugausfall nicht erreichbar"
        stop.skip_reason = f"{prefix}: {reason_label(u.reason)}"[:200]
        stop.position = 10_000 + len(unserved)
        for item in db.session.scalars(select(MailItem).where(MailItem.tour_stop_id == stop.id)):
            if item.status == ItemStatus.SORTED:
                item.tour_stop_id = None
        unserved.append({"site": u.stop_id, "reason": str(u.reason), "detail": u.detail})
    for other in others:
        for position, stop in enumerate(sorted(other.stops, key=lambda s: s.position), start=1):
            stop.position = position
    for stop in list(tour.stops):
        if stop.status == StopStatus.OPEN and stop.is_depot:
            tour.stops.remove(stop)
            db.session.delete(stop)
    tour.status = TourStatus.CANCELLED
    vehicle = tour.vehicle
    if vehicle.is_available_on(day):
        vehicle.unavailable_from = day
        vehicle.unavailable_until = day
        vehicle.unavailable_note = "Ausfall während der Tour"
    db.session.flush()
    return _record_adjust(day, "breakdown", user, unserved, limit)


# --- what the pages show ---------------------------------------------------------------------------


@dataclass
class StopView:
    stop: TourStop
    items: list[MailItem]

    @property
    def registered(self) -> list[MailItem]:
        return [i for i in self.items if i.is_registered]


def items_by_stop(tours: list[Tour]) -> dict[int, list[MailItem]]:
    stop_ids = [s.id for t in tours for s in t.stops]
    result: dict[int, list[MailItem]] = {}
    if not stop_ids:
        return result
    for item in db.session.scalars(select(MailItem).where(MailItem.tour_stop_id.in_(stop_ids)).order_by(MailItem.id)):
        result.setdefault(item.tour_stop_id, []).append(item)
    return result


def map_data(day: date, tours: list[Tour], stops: list[DayStop]) -> dict:
    """Everything the map (Leaflet or SVG) draws, as plain JSON."""
    depot = db.session.scalar(select(Site).where(Site.is_depot).order_by(Site.id).limit(1))
    palette = ["#0b5cad", "#c0392b", "#1f7a3a", "#8e44ad", "#a15c00"]
    data_tours = []
    for index, tour in enumerate(t for t in tours if t.status != TourStatus.CANCELLED):
        points = [s for s in tour.stops if s.site.has_coordinates and s.status != StopStatus.SKIPPED]
        data_tours.append(
            {
                "id": tour.id,
                "vehicle": tour.vehicle.code,
                "color": palette[index % len(palette)],
                "stops": [
                    {
                        "code": s.site.code,
                        "name": s.site.name,
                        "lat": s.site.lat,
                        "lon": s.site.lon,
                        "position": s.position,
                        "depot": s.is_depot,
                        "done": s.status == StopStatus.DONE,
                    }
                    for s in points
                ],
            }
        )
    return {
        "depot": {"code": depot.code, "name": depot.name, "lat": depot.lat, "lon": depot.lon}
        if depot is not None and depot.has_coordinates
        else None,
        "sites": [
            {"code": s.site.code, "name": s.site.name, "lat": s.site.lat, "lon": s.site.lon}
            for s in stops
            if s.site.has_coordinates
        ],
        "tours": data_tours,
        "tile_url": current_app.config.get("MAP_TILE_URL") or None,
    }


@dataclass
class TourProgress:
    tour: Tour
    done: int
    total: int
    items_out: int
    items_delivered: int
    next_stop: TourStop | None


def overview(day: date) -> list[TourProgress]:
    tours = tours_of(day)
    items = items_by_stop(tours)
    result = []
    for tour in tours:
        real = [s for s in tour.stops if not s.is_depot]
        tour_items = [i for s in real for i in items.get(s.id, [])]
        result.append(
            TourProgress(
                tour=tour,
                done=sum(1 for s in real if s.status == StopStatus.DONE),
                total=len(real),
                items_out=sum(1 for i in tour_items if i.status in (ItemStatus.SORTED, ItemStatus.LOADED)),
                items_delivered=sum(1 for i in tour_items if i.status == ItemStatus.DELIVERED),
                next_stop=next((s for s in real if s.status == StopStatus.OPEN), None),
            )
        )
    return result


def items_still_out(day: date) -> list[MailItem]:
    """Items on the day's tours not yet delivered (sorted for a stop, or loaded in a van)."""
    tours = tours_of(day)
    stop_ids = [s.id for t in tours for s in t.stops]
    if not stop_ids:
        return []
    return list(
        db.session.scalars(
            select(MailItem)
            .where(MailItem.tour_stop_id.in_(stop_ids), MailItem.status.in_([ItemStatus.SORTED, ItemStatus.LOADED]))
            .order_by(MailItem.site_id, MailItem.id)
        )
    )


def get_tour(tour_id: int) -> Tour:
    return get_or_404(Tour, tour_id, "Tour nicht gefunden.")


def get_stop(stop_id: int) -> TourStop:
    return get_or_404(TourStop, stop_id, "Stopp nicht gefunden.")


def get_run(run_id: int) -> PlanRun:
    return get_or_404(PlanRun, run_id, "Planungslauf nicht gefunden.")


def plan_summary(day: date) -> dict:
    """The CLI's JSON: {"date", "tours": [{"vehicle", "km", "stops"}], "unserved": [{"site", "reason"}]}."""
    run = latest_run(day)
    tours = tours_of(day, include_cancelled=False)
    return {
        "date": day.isoformat(),
        "tours": [
            {
                "vehicle": t.vehicle.code,
                "km": round(t.planned_km, 1),
                "stops": [s.site.code for s in t.stops if not s.is_depot and s.status != StopStatus.SKIPPED],
            }
            for t in tours
        ],
        "unserved": [{"site": u["site"], "reason": u["reason"]} for u in (run.unserved or [])] if run else [],
    }

"""The day's stops, vans and drivers: what a plan of one service day starts from.

- The stops of a day: the sites of every active stop template whose weekdays include the day, plus
  the ad-hoc stops of that day (an ad-hoc stop at a template site adds its pick-up boxes).
- Delivered per stop: the SORTED items for the site, as boxes (parcels one box each, other items
  ITEMS_PER_BOX to a box); pick-ups: the ad-hoc stop's boxes, else one box.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select

import routes
from mailroom.errors import PlanningFailed, ValidationFailed
from mailroom.extensions import db
from mailroom.models import (
    AdhocStop,
    ItemKind,
    ItemStatus,
    MailItem,
    Role,
    Site,
    StopTemplate,
    Tour,
    TourStatus,
    TourStop,
    User,
    Vehicle,
)
from mailroom.services import clock, dates, formatting, workdays
from mailroom.services.lookup import get_or_404

PARCEL_KINDS = frozenset({ItemKind.PAKET, ItemKind.PAECKCHEN})

REASON_LABELS = {
    "range": "Reichweite",
    "time_window": "Zeitfenster/Öffnungszeit",
    "capacity": "Kapazität",
    "shift": "Schichtende/Rückkehrzeit",
    "no_vehicle": "kein Fahrzeug",
    "optional": "optional, nicht lohnend",
}


def setting(name: str) -> Any:
    """A dispatch setting; every default lives in mailroom/config.py."""
    return current_app.config[name]


def reason_label(reason: str) -> str:
    """Why the optimiser left a stop out, in German."""
    return REASON_LABELS.get(str(reason), str(reason))


def day_label(day: date) -> str:
    """ "Montag, 02.03.2026"."""
    return formatting.format_day(day, weekday=True)


def shift_hours() -> tuple[str, str]:
    """When the vans may leave and must be back ("HH:MM" local)."""
    return str(setting("DISPATCH_SHIFT_START")), str(setting("DISPATCH_SHIFT_END"))


def parse_return_by(value: str | None) -> str | None:
    """The latest return to the depot from a form or the command line: "HH:MM", or None for the shift end.

    It must leave room for a tour: after the vans leave and no later than the shift end."""
    text = (value or "").strip()
    if not text:
        return None
    parsed = dates.parse_hhmm(text)
    start, end = shift_hours()
    if not dates.hhmm_minutes(start) < dates.hhmm_minutes(parsed) <= dates.hhmm_minutes(end):
        raise ValidationFailed(
            f"Die Rückkehrzeit muss nach dem Tourbeginn ({start} Uhr) "
            f"und spätestens zum Schichtende ({end} Uhr) liegen."
        )
    return dates.format_hhmm(parsed)


# --- stops ---------------------------------------------------------------------------------------


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
    per_box = max(1, int(setting("ITEMS_PER_BOX")))
    parcels = sum(1 for i in items if i.kind in PARCEL_KINDS)
    others = len(items) - parcels
    return parcels + math.ceil(others / per_box)


def templates_for(day: date) -> list[StopTemplate]:
    """The active stop templates of the day's weekday; none on a public holiday or closed day."""
    if workdays.holiday(day):
        return []
    templates = db.session.scalars(select(StopTemplate).where(StopTemplate.active).order_by(StopTemplate.id))
    return [t for t in templates if str(day.weekday()) in {w.strip() for w in (t.weekdays or "").split(",")}]


def _held_by_earlier_tours(day: date):
    """The ids of the tour stops of tours before `day` that have not left yet or are under way (from
    today on): their items stay with them, an item belongs to the earliest tour that has not left."""
    return (
        select(TourStop.id)
        .join(Tour, TourStop.tour_id == Tour.id)
        .where(
            Tour.service_date < day,
            Tour.service_date >= clock.local_today(),
            Tour.status.in_([TourStatus.PLANNED, TourStatus.STARTED]),
        )
    )


def items_on_earlier_tours(day: date, site_ids: list[int] | None = None) -> dict[date, int]:
    """How many sorted items for the sites ride on a tour before `day` (per day): shown on the
    dispatch page so that planning a later day says which items go on which day."""
    query = (
        select(Tour.service_date, func.count(MailItem.id))
        .join(TourStop, MailItem.tour_stop_id == TourStop.id)
        .join(Tour, TourStop.tour_id == Tour.id)
        .where(MailItem.status == ItemStatus.SORTED, MailItem.tour_stop_id.in_(_held_by_earlier_tours(day)))
        .group_by(Tour.service_date)
        .order_by(Tour.service_date)
    )
    if site_ids is not None:
        query = query.where(MailItem.site_id.in_(site_ids))
    return {service_date: count for service_date, count in db.session.execute(query)}


def sorted_items_by_site(
    site_ids: list[int] | None = None, *, for_day: date | None = None
) -> dict[int, list[MailItem]]:
    """The sorted items per site; with `for_day` without those already on an earlier tour that has not left."""
    query = select(MailItem).where(MailItem.status == ItemStatus.SORTED, MailItem.site_id.is_not(None))
    if site_ids is not None:
        query = query.where(MailItem.site_id.in_(site_ids))
    if for_day is not None:
        query = query.where(
            or_(MailItem.tour_stop_id.is_(None), MailItem.tour_stop_id.not_in(_held_by_earlier_tours(for_day)))
        )
    result: dict[int, list[MailItem]] = {}
    for item in db.session.scalars(query.order_by(MailItem.id)):
        assert item.site_id is not None  # filtered above
        result.setdefault(item.site_id, []).append(item)
    return result


def adhoc_stops(day: date) -> list[AdhocStop]:
    return list(db.session.scalars(select(AdhocStop).where(AdhocStop.service_date == day).order_by(AdhocStop.id)))


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
    items = sorted_items_by_site(list(stops), for_day=day)
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


def depot_site() -> Site:
    depot = db.session.scalar(select(Site).where(Site.is_depot, Site.active).order_by(Site.id).limit(1))
    if depot is None:
        raise PlanningFailed("Es ist keine Poststelle (Depot) als Standort angelegt.")
    if not depot.has_coordinates:
        raise PlanningFailed(f"Die Poststelle „{depot.name}“ ({depot.code}) hat keine Koordinaten.")
    return depot


# --- vans, tours and drivers -----------------------------------------------------------------------


def all_vehicles() -> list[Vehicle]:
    return list(db.session.scalars(select(Vehicle).order_by(Vehicle.code)))


def available_vehicles(day: date) -> list[Vehicle]:
    return [v for v in all_vehicles() if v.is_available_on(day)]


def winter_factor(vehicle: Vehicle, day: date) -> float:
    return vehicle.winter_factor if day.month in tuple(setting("DISPATCH_WINTER_MONTHS")) else 1.0


def usable_range_km(vehicle: Vehicle, day: date) -> float:
    """The km the planner may use on `day`: from the van's measured consumption on recent tours of the same
    season, else rated range x winter factor; less the safety reserve (the fleet service decides)."""
    from mailroom.services.fleet.vans import planning_range_km

    return planning_range_km(vehicle, day)


def full_range_km(vehicle: Vehicle, day: date) -> float:
    """The km on a full battery the planner assumes on `day` (before the safety reserve)."""
    reserve = 1.0 - vehicle.safety_reserve
    return usable_range_km(vehicle, day) / reserve if reserve > 0 else 0.0


def couriers() -> list[User]:
    return list(db.session.scalars(select(User).where(User.role == Role.COURIER, User.active).order_by(User.full_name)))


def tours_of(day: date, *, include_cancelled: bool = True) -> list[Tour]:
    query = select(Tour).where(Tour.service_date == day)
    if not include_cancelled:
        query = query.where(Tour.status != TourStatus.CANCELLED)
    tours = list(db.session.scalars(query))
    order = {v.id: v.code for v in all_vehicles()}
    return sorted(tours, key=lambda t: (t.status == TourStatus.CANCELLED, order.get(t.vehicle_id, ""), t.id))


def drivers_for_day(
    day: date, vehicles: list[Vehicle], chosen: Mapping[int, int | None] | None = None
) -> dict[int, int | None]:
    """Who drives which van: the choice on the form (`chosen`, None there means nobody), else the driver
    of the van's tour that day or of its last tour, else the free couriers in turn; nobody drives two.

    The one rule for the day page's defaults, a plan started from the page and a plan from the CLI."""
    people = couriers()
    ids = {u.id for u in people}
    result: dict[int, int | None] = {v.id: chosen[v.id] for v in vehicles if chosen and v.id in chosen}
    taken = {d for d in result.values() if d is not None}
    for vehicle in vehicles:
        if vehicle.id in result:
            continue
        last = db.session.scalar(
            select(Tour.driver_id)
            .where(Tour.vehicle_id == vehicle.id, Tour.driver_id.is_not(None), Tour.service_date <= day)
            .order_by(Tour.service_date.desc(), Tour.id.desc())
            .limit(1)
        )
        if last is not None and last in ids and last not in taken:
            result[vehicle.id] = last
            taken.add(last)
        else:
            result[vehicle.id] = None
    free = [u.id for u in people if u.id not in taken]
    for vehicle in vehicles:
        if result[vehicle.id] is None and vehicle.id not in (chosen or {}) and free:
            result[vehicle.id] = free.pop(0)
    return result


def require_courier(driver_id: int) -> User:
    """The one check that a driver is an active courier (form choice and driver change alike)."""
    driver = db.session.get(User, driver_id)
    if driver is None or driver.role != Role.COURIER or not driver.active:
        raise ValidationFailed("Bitte nur Botinnen und Boten (Rolle Botendienst) als Fahrer wählen.")
    return driver


def check_driver_choice(chosen: Mapping[int, int | None]) -> None:
    """Drivers chosen on the planning form: couriers only, nobody on two vans."""
    picked = [d for d in chosen.values() if d is not None]
    if len(picked) != len(set(picked)):
        raise ValidationFailed("Eine Person kann nicht zwei Fahrzeuge zugleich fahren.")
    for driver_id in picked:
        require_courier(driver_id)


def items_by_stop(tours: list[Tour]) -> dict[int, list[MailItem]]:
    stop_ids = [s.id for t in tours for s in t.stops]
    result: dict[int, list[MailItem]] = {}
    if not stop_ids:
        return result
    for item in db.session.scalars(select(MailItem).where(MailItem.tour_stop_id.in_(stop_ids)).order_by(MailItem.id)):
        assert item.tour_stop_id is not None  # filtered above
        result.setdefault(item.tour_stop_id, []).append(item)
    return result


def get_tour(tour_id: int) -> Tour:
    return get_or_404(Tour, tour_id, "Tour nicht gefunden.")


def get_stop(stop_id: int) -> TourStop:
    return get_or_404(TourStop, stop_id, "Stopp nicht gefunden.")

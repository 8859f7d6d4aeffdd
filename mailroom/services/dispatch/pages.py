"""What the dispatch pages show, read in one place: the day page's read model (`day_page`), the
map's JSON, and the day overview (progress of the tours, items still out)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from mailroom.errors import InvalidTransition
from mailroom.extensions import db
from mailroom.models import (
    AdhocStop,
    ItemStatus,
    MailItem,
    PlanRun,
    Site,
    StopStatus,
    StopTemplate,
    Tour,
    TourStatus,
    TourStop,
    User,
    Vehicle,
)
from mailroom.services import clock, workdays
from mailroom.services.dispatch.day import (
    DayStop,
    adhoc_stops,
    all_vehicles,
    couriers,
    day_label,
    day_stops,
    drivers_for_day,
    items_by_stop,
    items_on_earlier_tours,
    reason_label,
    shift_hours,
    templates_for,
    tours_of,
    usable_range_km,
)
from mailroom.services.dispatch.runs import (
    _check_replaceable,
    default_return_by,
    latest_run,
    missing_master_data,
    running_run,
)


@dataclass
class DayPage:
    """Everything the day page (plan, adjust, map) renders for one service day."""

    day: date
    day_label: str
    vehicles: list[Vehicle]
    available: list[Vehicle]
    couriers: list[User]
    drivers: dict[int, int | None]
    tours: list[Tour]
    open_tours: list[Tour]
    tour_of_vehicle: dict[int, Tour]
    stops: list[DayStop]
    items: dict[int, list[MailItem]]
    run: PlanRun | None
    running: PlanRun | None
    unserved: list[dict]
    templates: list[StopTemplate]
    adhoc: list[AdhocStop]
    map_data: dict
    usable_range: dict[int, float]
    any_started: bool
    return_by: str
    holiday: str | None
    shift_hours: tuple[str, str]
    on_earlier_tours: dict[date, int]
    setup_missing: list[str]
    replan_blocked: str | None = None  # why a new plan of the day would be refused (then no button)

    def as_context(self) -> dict[str, Any]:
        """The page's fields as template variables."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def day_page(day: date) -> DayPage:
    vehicles = all_vehicles()
    available = [v for v in vehicles if v.is_available_on(day)]
    tours = tours_of(day)
    stops = day_stops(day)
    run = latest_run(day)
    return DayPage(
        setup_missing=missing_master_data(),
        day=day,
        day_label=day_label(day),
        vehicles=vehicles,
        available=available,
        couriers=couriers(),
        drivers=drivers_for_day(day, available),
        tours=tours,
        open_tours=[t for t in tours if t.status in (TourStatus.PLANNED, TourStatus.STARTED)],
        tour_of_vehicle={t.vehicle_id: t for t in tours if t.status != TourStatus.CANCELLED},
        stops=stops,
        items=items_by_stop(tours),
        run=run,
        running=running_run(day),
        unserved=unserved_for_display(run),
        templates=templates_for(day),
        adhoc=adhoc_stops(day),
        map_data=map_data(day, tours, stops),
        usable_range={v.id: usable_range_km(v, day) for v in vehicles},
        any_started=any(t.status != TourStatus.PLANNED for t in tours),
        return_by=default_return_by(day),
        holiday=workdays.holiday(day),
        shift_hours=shift_hours(),
        on_earlier_tours=items_on_earlier_tours(day, [s.site.id for s in stops]),
        replan_blocked=_replan_blocked(day),
    )


def _replan_blocked(day: date) -> str | None:
    """The German reason why planning the day again can only fail (tours under way, loaded, logged)."""
    try:
        _check_replaceable(day)
    except InvalidTransition as exc:
        return exc.message
    return None


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
    delay_min: int = 0  # how late the next open stop is against its planned time (0: on time)


DELAY_TOLERANCE_MIN = 5


def delay_minutes(tour: Tour, stop: TourStop | None, now: datetime | None = None) -> int:
    """Minutes the next open stop of a planned or running tour of today is behind its planned time
    (its ETA has passed and it is still open); 0 within a few minutes' tolerance."""
    if stop is None or stop.eta is None or tour.status not in (TourStatus.PLANNED, TourStatus.STARTED):
        return 0
    late = ((now or clock.now_utc()) - stop.eta).total_seconds() / 60.0
    return int(late) if late > DELAY_TOLERANCE_MIN else 0


def overview(day: date) -> list[TourProgress]:
    tours = tours_of(day)
    items = items_by_stop(tours)
    result = []
    now = clock.now_utc()
    for tour in tours:
        real = [s for s in tour.stops if not s.is_depot]
        next_stop = next((s for s in real if s.status == StopStatus.OPEN), None)
        tour_items = [i for s in real for i in items.get(s.id, [])]
        result.append(
            TourProgress(
                tour=tour,
                done=sum(1 for s in real if s.status == StopStatus.DONE),
                total=len(real),
                items_out=sum(1 for i in tour_items if i.status in (ItemStatus.SORTED, ItemStatus.LOADED)),
                items_delivered=sum(1 for i in tour_items if i.status == ItemStatus.DELIVERED),
                next_stop=next_stop,
                delay_min=delay_minutes(tour, next_stop, now),
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

"""Printed documents from the database: the route sheets (Laufzettel) of a day's tours.

ORM objects become `labels.model` dataclasses here (times already local and formatted); the PDF
itself is drawn by `labels.route_sheet`.
"""

from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import select

from mailroom.errors import NotFound, PlanningFailed
from mailroom.extensions import db
from mailroom.models import ItemKind, Site, StopStatus, Tour, TourStatus
from mailroom.services import clock
from mailroom.services.dates import format_hhmm
from mailroom.services.dispatch import boxes_for, items_by_stop, tours_of


def _local_hhmm(moment) -> str:
    return moment.astimezone(clock.LOCAL_TZ).strftime("%H:%M") if moment is not None else ""


def tour_url(tour_id: int) -> str:
    """The courier's page of a tour (opened from the QR code on the sheet)."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    path = f"/courier/tour/{tour_id}"
    if "courier.tour" in current_app.view_functions:
        adapter = current_app.url_map.bind("localhost")
        path = adapter.build("courier.tour", {"tour_id": tour_id})
    return base + path


def _kind_label(kind: str | None) -> str:
    return ItemKind(kind).label if kind else "Sendung"


def route_sheet(tour: Tour, items: dict[int, list] | None = None):
    """One tour as `labels.model.RouteSheet`."""
    from labels.model import RouteSheet, RouteSheetStop, RouteStopItem

    if items is None:
        items = items_by_stop([tour])
    depot = db.session.scalar(select(Site).where(Site.is_depot).order_by(Site.id).limit(1))
    stops = []
    for stop in tour.stops:
        if stop.status == StopStatus.SKIPPED:
            continue
        site = stop.site
        stop_items = items.get(stop.id, [])
        registered = [
            RouteStopItem(
                code=i.carrier_code or i.code,
                kind=_kind_label(i.kind),
                org_unit=i.org_unit.short_name if i.org_unit else "",
            )
            for i in stop_items
            if i.is_registered
        ]
        remarks = "; ".join(p for p in (site.remarks, stop.note) if p)
        stops.append(
            RouteSheetStop(
                position=stop.position,
                site_code=site.code,
                site_name=site.name,
                address=site.address,
                opening_hours=f"{format_hhmm(site.opens)}–{format_hhmm(site.closes)}",
                phone=site.phone,
                eta=_local_hhmm(stop.eta),
                deliver_boxes=stop.deliver_boxes or (boxes_for(stop_items) if stop_items else 0),
                deliver_items=len(stop_items),
                registered_items=registered,
                pickup_boxes=stop.pickup_boxes,
                remarks=remarks,
                lat=site.lat,
                lon=site.lon,
                is_depot=stop.is_depot,
            )
        )
    vehicle = tour.vehicle
    return RouteSheet(
        tour_id=tour.id,
        service_date=tour.service_date,
        vehicle=f"{vehicle.name} ({vehicle.plate})" if vehicle.plate else vehicle.name,
        driver=tour.driver.display_name if tour.driver else "",
        planned_km=round(tour.planned_km, 1),
        range_km=round(tour.range_km, 1),
        start_time=_local_hhmm(tour.planned_start),
        end_time=_local_hhmm(tour.planned_end),
        tour_url=tour_url(tour.id),
        stops=stops,
        depot_name=depot.name if depot else "Zentrale Poststelle",
        depot_lat=depot.lat if depot else None,
        depot_lon=depot.lon if depot else None,
    )


def route_sheets(day: date) -> list:
    tours = [t for t in tours_of(day) if t.status != TourStatus.CANCELLED]
    if not tours:
        raise NotFound(f"Für den {day:%d.%m.%Y} sind keine Touren geplant.", code="no_tours")
    items = items_by_stop(tours)
    return [route_sheet(t, items) for t in tours]


def route_sheets_pdf(day: date) -> bytes:
    """All route sheets of the day in one PDF."""
    sheets = route_sheets(day)
    try:
        from labels.route_sheet import route_sheets_pdf as build
    except ImportError as exc:  # the PDF builder ships with the labels package
        raise PlanningFailed("Der Druck der Laufzettel ist noch nicht verfügbar.", code="unavailable") from exc
    return build(sheets)

"""Requests of the mail room staff: who drives a tour, and the day's Sonderstopps (an extra pick-up, or a
courier order that takes boxes from one site straight to another on the same van)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from mailroom.errors import InvalidTransition, NotFound, ValidationFailed
from mailroom.extensions import db
from mailroom.models import AdhocStop, Site, Tour, TourStatus, User
from mailroom.services.dispatch.day import require_courier
from mailroom.services.dispatch.runs import ensure_not_planning


def assign_driver(tour: Tour, driver_id: int | None) -> None:
    if tour.status in (TourStatus.FINISHED, TourStatus.CANCELLED):
        raise InvalidTransition("Die Tour ist beendet; der Fahrer kann nicht mehr geändert werden.")
    ensure_not_planning(tour.service_date)
    if driver_id is not None:
        driver = require_courier(driver_id)
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
    ensure_not_planning(day)
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

"""Fleet test data: tours with their logbook readings on pinned days (the basics come from tests.builders)."""

from __future__ import annotations

from datetime import date, datetime, time

from mailroom.extensions import db
from mailroom.models import OdometerReading, ReadingKind, Tour, TourStatus, User, Vehicle
from mailroom.services import fleet
from mailroom.services.clock import LOCAL_TZ


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL_TZ)


def driven_tour(
    van: Vehicle,
    day: date,
    start_km: float,
    end_km: float | None,
    *,
    planned_km: float,
    soc: tuple[int, int] = (90, 70),
    driver: User | None = None,
) -> Tour:
    """A tour with its start (09:00) and end (12:00) readings, written through the fleet service."""
    tour = Tour(
        service_date=day,
        vehicle_id=van.id,
        driver_id=driver.id if driver else None,
        status=TourStatus.FINISHED if end_km is not None else TourStatus.STARTED,
        planned_km=planned_km,
    )
    db.session.add(tour)
    db.session.flush()
    fleet.record_reading(van, km=start_km, soc_percent=soc[0], kind=ReadingKind.TOUR_START, at=at(day, 9), tour=tour)
    if end_km is not None:
        fleet.record_reading(van, km=end_km, soc_percent=soc[1], kind=ReadingKind.TOUR_END, at=at(day, 12), tour=tour)
    return tour


def end_reading(tour: Tour) -> OdometerReading:
    return fleet.tour_readings(tour)[1]

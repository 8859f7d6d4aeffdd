"""Figures for the start pages of each role."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from mailroom.extensions import db
from mailroom.models import (
    REGISTERED_KINDS,
    ItemStatus,
    MailItem,
    OdometerReading,
    OrgUnit,
    Site,
    Tour,
    TourStatus,
    User,
    Vehicle,
)
from mailroom.services.clock import day_bounds_utc, local_today, month_bounds_utc


@dataclass
class MailroomStart:
    received_today: int
    registered_today: int
    missing_details: int
    to_sort: int
    sorted_waiting: int
    out_on_tour: int
    delivered_today: int
    tours_today: list[Tour] = field(default_factory=list)


def mailroom_start() -> MailroomStart:
    start, end = day_bounds_utc(local_today())

    def count(*criteria) -> int:
        return db.session.scalar(select(func.count(MailItem.id)).where(*criteria)) or 0

    return MailroomStart(
        received_today=count(MailItem.received_at >= start, MailItem.received_at < end),
        registered_today=count(
            MailItem.received_at >= start,
            MailItem.received_at < end,
            MailItem.kind.in_([k.value for k in REGISTERED_KINDS]),
        ),
        missing_details=count(
            MailItem.status == ItemStatus.RECEIVED, (MailItem.kind.is_(None)) | (MailItem.site_id.is_(None))
        ),
        to_sort=count(MailItem.status == ItemStatus.RECEIVED),
        sorted_waiting=count(MailItem.status == ItemStatus.SORTED),
        out_on_tour=count(MailItem.status == ItemStatus.LOADED),
        delivered_today=count(MailItem.delivered_at >= start, MailItem.delivered_at < end),
        tours_today=list(db.session.scalars(select(Tour).where(Tour.service_date == local_today()).order_by(Tour.id))),
    )


@dataclass
class CourierStart:
    tours: list[Tour]


def courier_start(user: User) -> CourierStart:
    tours = db.session.scalars(
        select(Tour)
        .where(Tour.service_date == local_today(), Tour.driver_id == user.id, Tour.status != TourStatus.CANCELLED)
        .order_by(Tour.id)
    )
    return CourierStart(tours=list(tours))


@dataclass
class VehicleMonth:
    vehicle: Vehicle
    km_month: float
    km_year: float
    last_km: float | None


@dataclass
class FleetStart:
    vehicles: list[VehicleMonth]

    @property
    def km_month_total(self) -> float:
        return sum(v.km_month for v in self.vehicles)


def driven_km(vehicle_id: int, start, end) -> float:
    """Km driven between two instants: last reading before `end` minus last reading before `start`
    (or the first reading in the period when there is none before it)."""

    def last_before(moment):
        return db.session.scalar(
            select(OdometerReading.km)
            .where(OdometerReading.vehicle_id == vehicle_id, OdometerReading.at < moment)
            .order_by(OdometerReading.at.desc(), OdometerReading.id.desc())
            .limit(1)
        )

    end_km = last_before(end)
    if end_km is None:
        return 0.0
    start_km = last_before(start)
    if start_km is None:
        start_km = db.session.scalar(
            select(func.min(OdometerReading.km)).where(
                OdometerReading.vehicle_id == vehicle_id,
                OdometerReading.at >= start,
                OdometerReading.at < end,
            )
        )
    return max(0.0, end_km - (start_km if start_km is not None else end_km))


def fleet_start() -> FleetStart:
    today = local_today()
    m_start, m_end = month_bounds_utc(today)
    y_start = day_bounds_utc(today.replace(month=1, day=1))[0]
    rows = []
    for vehicle in db.session.scalars(select(Vehicle).where(Vehicle.active).order_by(Vehicle.code)):
        last = db.session.scalar(
            select(OdometerReading.km)
            .where(OdometerReading.vehicle_id == vehicle.id)
            .order_by(OdometerReading.at.desc(), OdometerReading.id.desc())
            .limit(1)
        )
        rows.append(
            VehicleMonth(
                vehicle=vehicle,
                km_month=driven_km(vehicle.id, m_start, m_end),
                km_year=driven_km(vehicle.id, y_start, m_end),
                last_km=last,
            )
        )
    return FleetStart(vehicles=rows)


@dataclass
class AdminStart:
    users: int
    sites: int
    org_units: int
    vehicles: int


def admin_start() -> AdminStart:
    def count(model) -> int:
        return db.session.scalar(select(func.count()).select_from(model)) or 0

    return AdminStart(users=count(User), sites=count(Site), org_units=count(OrgUnit), vehicles=count(Vehicle))

"""Figures for the start pages of each role."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select

from mailroom.extensions import db
from mailroom.models import (
    REGISTERED_KINDS,
    ItemStatus,
    MailItem,
    OrgUnit,
    Site,
    Tour,
    TourStatus,
    User,
    Vehicle,
)
from mailroom.services import fleet
from mailroom.services.clock import day_bounds_utc, local_today


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

    not_voided = MailItem.status != ItemStatus.VOIDED  # wrong scans undone at the scan station do not count
    return MailroomStart(
        received_today=count(MailItem.received_at >= start, MailItem.received_at < end, not_voided),
        registered_today=count(
            MailItem.received_at >= start,
            MailItem.received_at < end,
            not_voided,
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


def fleet_start(today: date | None = None) -> FleetStart:
    """km this month and this year per active van: the fleet service's one definition of km driven."""
    today = today or local_today()
    vans = [v for v in fleet.vehicles() if v.active]  # E1, E2, E10: the fleet pages' order
    ids = [v.id for v in vans]
    month = fleet.km_driven(ids, today.replace(day=1), today)
    year = fleet.km_driven(ids, today.replace(month=1, day=1), today)
    rows = []
    for vehicle in vans:
        last = fleet.last_reading(vehicle)
        rows.append(
            VehicleMonth(
                vehicle=vehicle,
                km_month=month.get(vehicle.id, 0.0),
                km_year=year.get(vehicle.id, 0.0),
                last_km=last.km if last else None,
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

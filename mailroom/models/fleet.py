"""Vans, their workshop periods, the vehicle logbook (Fahrtenbuch: odometer readings and trips,
append-only), the charging log and the grid's CO2 factor per year."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mailroom.extensions import db
from mailroom.models.base import StrEnumColumn, UTCDateTime, utcnow


class Vehicle(db.Model):
    __tablename__ = "vehicles"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    plate: Mapped[str] = mapped_column(String(16), default="")
    model: Mapped[str] = mapped_column(String(80), default="")
    battery_kwh: Mapped[float] = mapped_column(Float, default=40.0)
    battery_range_km: Mapped[float] = mapped_column(Float, default=120.0)  # rated range
    winter_factor: Mapped[float] = mapped_column(Float, default=0.8)
    safety_reserve: Mapped[float] = mapped_column(Float, default=0.15)
    capacity_boxes: Mapped[int] = mapped_column(Integer, default=40)
    speed_kmh: Mapped[float] = mapped_column(Float, default=25.0)
    kwh_per_100km: Mapped[float] = mapped_column(Float, default=22.0)  # rated consumption
    annual_km_target: Mapped[int] = mapped_column(Integer, default=12000)
    commissioned_on: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Workshop as edited on the admin van page (one period); the fleet pages keep the history of
    # periods in `workshop_periods`. Both make the van unavailable.
    unavailable_from: Mapped[date | None] = mapped_column(Date)
    unavailable_until: Mapped[date | None] = mapped_column(Date)
    unavailable_note: Mapped[str] = mapped_column(String(200), default="")

    readings: Mapped[list[OdometerReading]] = relationship(back_populates="vehicle", order_by="OdometerReading.id")
    workshop_periods: Mapped[list[WorkshopPeriod]] = relationship(
        back_populates="vehicle", order_by="WorkshopPeriod.starts_on"
    )

    def is_available_on(self, day: date) -> bool:
        if not self.active:
            return False
        if self.commissioned_on is not None and day < self.commissioned_on:
            return False
        if any(period.covers(day) for period in self.workshop_periods):
            return False
        if self.unavailable_from is None:
            return True
        until = self.unavailable_until or self.unavailable_from
        return not (self.unavailable_from <= day <= until)

    def __repr__(self) -> str:
        return f"<Vehicle {self.code}>"


class WorkshopPeriod(db.Model):
    """A van in the workshop from one day to another (inclusive); rows stay, so the history stays."""

    __tablename__ = "workshop_periods"

    id: Mapped[int] = mapped_column(primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    vehicle: Mapped[Vehicle] = relationship(back_populates="workshop_periods")

    def covers(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


class ReadingKind(StrEnum):
    TOUR_START = "tour_start"
    TOUR_END = "tour_end"
    MANUAL = "manual"  # a plain odometer reading
    TRIP = "trip"  # a trip outside a tour: start_km -> km, destination and purpose
    CORRECTION = "correction"


class TripPurpose(StrEnum):
    TOUR = "tour"
    WORKSHOP = "workshop"
    CHARGING = "charging"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            TripPurpose.TOUR: "Botentour",
            TripPurpose.WORKSHOP: "Werkstatt",
            TripPurpose.CHARGING: "Laden",
            TripPurpose.OTHER: "Sonstige Dienstfahrt",
        }[self]


class OdometerReading(db.Model):
    """One line in the logbook (Fahrtenbuch). Append-only: a correction is a new entry that names
    the one it corrects and takes its place.

    Tours write two readings (start and end); a trip outside a tour is one entry with its start
    and end km. `day` is the local calendar day of `at`, stored so that reports group in SQL."""

    __tablename__ = "odometer_readings"
    __append_only__ = True
    __table_args__ = (Index("ix_odometer_readings_vehicle_day", "vehicle_id", "day", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    day: Mapped[date] = mapped_column(Date)
    km: Mapped[float] = mapped_column(Float)
    start_km: Mapped[float | None] = mapped_column(Float)  # trips: odometer at departure
    soc_percent: Mapped[int | None] = mapped_column(Integer)  # state of charge
    kind: Mapped[ReadingKind] = mapped_column(StrEnumColumn(ReadingKind))
    purpose: Mapped[str] = mapped_column(String(16), default="")  # TripPurpose for trips
    destination: Mapped[str] = mapped_column(String(200), default="")
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    tour_id: Mapped[int | None] = mapped_column(ForeignKey("tours.id"), index=True)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("odometer_readings.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(String(200), default="")
    client_action_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    vehicle: Mapped[Vehicle] = relationship(back_populates="readings")


@event.listens_for(OdometerReading, "before_insert")
def _set_local_day(_mapper, _connection, reading: OdometerReading) -> None:
    """The local day of the reading, for rows built directly (demo, tests) without giving it."""
    if reading.day is None and reading.at is not None:
        from mailroom.services.clock import LOCAL_TZ

        reading.day = reading.at.astimezone(LOCAL_TZ).date()


class ChargeLocation(StrEnum):
    DEPOT = "depot"
    ELSEWHERE = "elsewhere"

    @property
    def label(self) -> str:
        return "Wallbox Poststelle" if self is ChargeLocation.DEPOT else "unterwegs / extern"


class ChargingSession(db.Model):
    """One charge (kWh from the grid, cost in cents). Append-only like the logbook."""

    __tablename__ = "charging_sessions"
    __append_only__ = True
    __table_args__ = (Index("ix_charging_sessions_vehicle_day", "vehicle_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"))
    day: Mapped[date] = mapped_column(Date)
    kwh: Mapped[float] = mapped_column(Float)
    location: Mapped[ChargeLocation] = mapped_column(String(16), default=ChargeLocation.DEPOT)
    cost_cents: Mapped[int] = mapped_column(Integer, default=0)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("charging_sessions.id"), index=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class GridFactor(db.Model):
    """CO2 of the German grid mix for one year, with its source (revised yearly by the UBA)."""

    __tablename__ = "grid_factors"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    g_per_kwh: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(200), default="")


class VanDay(db.Model):
    """What reports need of one van on one day, kept by the fleet service in the same transaction as every
    write to the logbook, the tours and the charging log (`mailroom.services.fleet.van_days`); derived data
    that `mailroom fleet rebuild-days` can make again. Figures from the effective logbook (corrections
    replace what they correct) and from the van's started or finished tours of that service day."""

    __tablename__ = "van_days"
    __table_args__ = (Index("ix_van_days_open_tours", "open_tours"),)  # the few days with an open tour

    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    high_km: Mapped[float | None] = mapped_column(Float)  # highest effective odometer value of the day
    low_km: Mapped[float | None] = mapped_column(Float)  # lowest (a trip counts from its start)
    tours: Mapped[int] = mapped_column(Integer, default=0)
    planned_km: Mapped[float] = mapped_column(Float, default=0.0)
    complete_tours: Mapped[int] = mapped_column(Integer, default=0)  # with a start and an end reading
    complete_planned_km: Mapped[float] = mapped_column(Float, default=0.0)
    tour_km: Mapped[float] = mapped_column(Float, default=0.0)  # driven on the complete tours
    soc_used: Mapped[int | None] = mapped_column(Integer)  # state-of-charge points used on the complete tours
    incomplete_tour_id: Mapped[int | None] = mapped_column(Integer)  # the first tour lacking a reading
    open_tours: Mapped[int] = mapped_column(Integer, default=0)  # lacking an effective start or end entry
    charged_kwh: Mapped[float | None] = mapped_column(Float)  # effective charging log entries; None: none
    cost_cents: Mapped[int] = mapped_column(Integer, default=0)

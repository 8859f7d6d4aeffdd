"""Vans and the vehicle logbook (odometer readings, append-only)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mailroom.extensions import db
from mailroom.models.base import UTCDateTime, utcnow


class Vehicle(db.Model):
    __tablename__ = "vehicles"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    plate: Mapped[str] = mapped_column(String(16), default="")
    battery_kwh: Mapped[float] = mapped_column(Float, default=40.0)
    battery_range_km: Mapped[float] = mapped_column(Float, default=120.0)
    winter_factor: Mapped[float] = mapped_column(Float, default=0.8)
    safety_reserve: Mapped[float] = mapped_column(Float, default=0.15)
    capacity_boxes: Mapped[int] = mapped_column(Integer, default=40)
    speed_kmh: Mapped[float] = mapped_column(Float, default=25.0)
    kwh_per_100km: Mapped[float] = mapped_column(Float, default=22.0)
    annual_km_target: Mapped[int] = mapped_column(Integer, default=12000)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Workshop: not available for tours between these dates (inclusive).
    unavailable_from: Mapped[date | None] = mapped_column(Date)
    unavailable_until: Mapped[date | None] = mapped_column(Date)
    unavailable_note: Mapped[str] = mapped_column(String(200), default="")

    readings: Mapped[list[OdometerReading]] = relationship(back_populates="vehicle", order_by="OdometerReading.id")

    def is_available_on(self, day: date) -> bool:
        if not self.active:
            return False
        if self.unavailable_from is None:
            return True
        until = self.unavailable_until or self.unavailable_from
        return not (self.unavailable_from <= day <= until)

    def __repr__(self) -> str:
        return f"<Vehicle {self.code}>"


class ReadingKind(StrEnum):
    TOUR_START = "tour_start"
    TOUR_END = "tour_end"
    MANUAL = "manual"
    CORRECTION = "correction"


class OdometerReading(db.Model):
    """One line in the logbook (Fahrtenbuch). Append-only: a correction is a new reading that
    names the one it corrects."""

    __tablename__ = "odometer_readings"
    __append_only__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    km: Mapped[float] = mapped_column(Float)
    soc_percent: Mapped[int | None] = mapped_column(Integer)  # state of charge
    kind: Mapped[ReadingKind] = mapped_column(String(16))
    tour_id: Mapped[int | None] = mapped_column(ForeignKey("tours.id"), index=True)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("odometer_readings.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(String(200), default="")
    client_action_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    vehicle: Mapped[Vehicle] = relationship(back_populates="readings")

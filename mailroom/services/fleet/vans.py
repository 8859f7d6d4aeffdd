"""Vans as the fleet manager keeps them: workshop periods, commissioning date, and the range the planner
assumes, measured from recent tours of the same season.

For the planner (dispatch calls these):
- `vehicle_available_on(vehicle, day)`: in service that day (active, commissioned, no workshop period).
- `planning_range_km(vehicle, day)`: usable km on one charge that day. Measured: the battery kWh used (state of
  charge at start and end x battery size) per km over the last FLEET_RANGE_TOURS complete tours of the same season
  (winter months DISPATCH_WINTER_MONTHS, or the rest) within two years before the day; with fewer than
  FLEET_RANGE_MIN_TOURS tours or FLEET_RANGE_MIN_KM km among them, rated range x the season's factor. Never more
  than the rated range (a measurement from whole-percent states of charge may flatter); less the safety reserve.
  `dispatch.usable_range_km` and the optimiser's vans use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select

from mailroom.errors import ValidationFailed
from mailroom.extensions import db
from mailroom.models import Role, User, Vehicle, WorkshopPeriod
from mailroom.services.fleet.common import natural_key, setting
from mailroom.services.fleet.figures import recent_consumption
from mailroom.services.lookup import get_or_404

MEASURE_WINDOW_DAYS = 730  # look back at most two years for tours of the same season


def get_vehicle(vehicle_id: int) -> Vehicle:
    return get_or_404(Vehicle, vehicle_id, "Fahrzeug nicht gefunden.")


def vehicle_by_code(code: str) -> Vehicle:
    vehicle = db.session.scalar(select(Vehicle).where(Vehicle.code == code))
    if vehicle is None:
        raise ValidationFailed(f"Fahrzeug {code} gibt es nicht.", code="unknown_vehicle")
    return vehicle


def vehicles() -> list[Vehicle]:
    """Every van, those in service first, by code as people count (E1, E2, E10): the order of every fleet
    page, report, CSV, PDF and the CLI's JSON."""
    return sorted(db.session.scalars(select(Vehicle)), key=lambda v: (not v.active, natural_key(v.code)))


def vehicle_available_on(vehicle: Vehicle, day: date) -> bool:
    """May the van drive tours on `day`? Active, commissioned by then, no workshop period covers it."""
    return vehicle.is_available_on(day)


def status_label(vehicle: Vehicle, day: date) -> str:
    if not vehicle.active:
        return "außer Dienst"
    if vehicle.commissioned_on and day < vehicle.commissioned_on:
        return f"in Dienst ab {vehicle.commissioned_on:%d.%m.%Y}"
    for period in vehicle.workshop_periods:
        if period.covers(day):
            return f"Werkstatt {period.starts_on:%d.%m.} – {period.ends_on:%d.%m.%Y}"
    if not vehicle.is_available_on(day):
        return "Werkstatt"
    return "im Dienst"


def add_workshop_period(
    vehicle: Vehicle, *, starts_on: date | None, ends_on: date | None, note: str, user: User | None
) -> WorkshopPeriod:
    if starts_on is None:
        raise ValidationFailed("Bitte den ersten Werkstatttag angeben.")
    ends_on = ends_on or starts_on
    if ends_on < starts_on:
        raise ValidationFailed(
            f"Das Ende der Werkstattzeit ({ends_on:%d.%m.%Y}) liegt vor ihrem Beginn ({starts_on:%d.%m.%Y}).",
            code="end_before_start",
        )
    if (ends_on - starts_on).days > 366:
        raise ValidationFailed("Eine Werkstattzeit von mehr als einem Jahr: bitte das Fahrzeug außer Dienst stellen.")
    note = (note or "").strip()
    if len(note) > 200:
        raise ValidationFailed("Die Notiz darf höchstens 200 Zeichen lang sein.")
    for other in vehicle.workshop_periods:
        if other.starts_on <= ends_on and starts_on <= other.ends_on:
            raise ValidationFailed(
                f"{vehicle.name} ist vom {other.starts_on:%d.%m.%Y} bis {other.ends_on:%d.%m.%Y} bereits in der "
                "Werkstatt eingetragen.",
                code="workshop_overlap",
            )
    period = WorkshopPeriod(
        vehicle_id=vehicle.id, starts_on=starts_on, ends_on=ends_on, note=note, created_by_id=user.id if user else None
    )
    db.session.add(period)
    db.session.flush()
    db.session.refresh(vehicle, ["workshop_periods"])
    return period


def set_commissioned(vehicle: Vehicle, day: date | None) -> None:
    vehicle.commissioned_on = day
    db.session.flush()


# --- measured consumption and range ----------------------------------------------------------------------


def is_winter(day: date) -> bool:
    return day.month in tuple(current_app.config["DISPATCH_WINTER_MONTHS"])


@dataclass
class RangeFigures:
    rated_km: float  # battery range x the season's factor (what the planner assumed before)
    measured_kwh_per_100km: float | None  # battery side, from recent tours of the same season
    measured_km: float | None  # full battery at the measured consumption
    planning_km: float  # what the planner uses: measured when enough tours, else rated (both less reserve)
    tours_measured: int
    winter: bool
    capped: bool = False  # measured more than the rated range: the planner stays within the rating


def range_figures(vehicle: Vehicle, day: date) -> RangeFigures:
    winter = is_winter(day)
    season_factor = vehicle.winter_factor if winter else 1.0
    rated = vehicle.battery_range_km * season_factor
    winter_months = tuple(current_app.config["DISPATCH_WINTER_MONTHS"])
    months = winter_months if winter else tuple(m for m in range(1, 13) if m not in winter_months)
    count, km, soc_points = recent_consumption(
        vehicle,
        day - timedelta(days=MEASURE_WINDOW_DAYS),
        day - timedelta(days=1),
        months,
        int(setting("FLEET_RANGE_TOURS")),
    )
    kwh = soc_points / 100.0 * vehicle.battery_kwh
    reserve = 1.0 - vehicle.safety_reserve
    enough = count >= setting("FLEET_RANGE_MIN_TOURS") and km >= setting("FLEET_RANGE_MIN_KM")
    if enough and km > 0 and kwh > 0:
        per_100 = kwh / km * 100.0
        measured = vehicle.battery_kwh / per_100 * 100.0
        usable = min(measured, vehicle.battery_range_km)  # never more than the rated (summer) range
        return RangeFigures(
            rated_km=round(rated, 1),
            measured_kwh_per_100km=round(per_100, 1),
            measured_km=round(measured, 1),
            planning_km=round(usable * reserve, 1),
            tours_measured=count,
            winter=winter,
            capped=measured > vehicle.battery_range_km,
        )
    return RangeFigures(
        rated_km=round(rated, 1),
        measured_kwh_per_100km=None,
        measured_km=None,
        planning_km=round(rated * reserve, 1),
        tours_measured=count,
        winter=winter,
    )


def planning_range_km(vehicle: Vehicle, day: date) -> float:
    """The usable range (km, after the safety reserve) the planner assumes for `vehicle` on `day`."""
    return range_figures(vehicle, day).planning_km


def drivers() -> list[User]:
    """Who can be named as the driver of a trip: the active couriers."""
    return list(db.session.scalars(select(User).where(User.active, User.role == Role.COURIER).order_by(User.full_name)))

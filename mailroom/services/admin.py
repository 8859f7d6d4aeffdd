"""Master data kept by administrators: users, sites, org units, vans."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from mailroom.errors import ValidationFailed
from mailroom.extensions import db
from mailroom.models import ApiToken, OrgUnit, Site, User, Vehicle
from mailroom.services.auth import MIN_PASSWORD_LENGTH


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.username)))


def set_user_active(user: User, active: bool, *, acting: User) -> None:
    if user.id == acting.id and not active:
        raise ValidationFailed("Sie können Ihr eigenes Konto nicht deaktivieren.")
    user.active = active


def reset_password(user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"Das Passwort muss mindestens {MIN_PASSWORD_LENGTH} Zeichen lang sein.")
    user.password_hash = generate_password_hash(password)
    user.failed_logins = 0
    user.locked_until = None


def list_sites() -> list[Site]:
    return list(db.session.scalars(select(Site).order_by(Site.is_depot.desc(), Site.code)))


def update_site(
    site: Site, *, lat: float | None, lon: float | None, opens: time, closes: time, phone: str, street: str,
    service_min: int, remarks: str,
) -> None:  # fmt: skip
    if (lat is None) != (lon is None):
        raise ValidationFailed("Bitte Breite und Länge gemeinsam angeben (oder beide leer lassen).")
    if lat is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationFailed("Koordinaten außerhalb des gültigen Bereichs.")
    if closes <= opens:
        raise ValidationFailed("Die Schließzeit muss nach der Öffnungszeit liegen.")
    if not 0 <= service_min <= 120:
        raise ValidationFailed("Die Standzeit muss zwischen 0 und 120 Minuten liegen.")
    site.lat, site.lon, site.opens, site.closes = lat, lon, opens, closes
    site.phone, site.street, site.service_min, site.remarks = (
        phone.strip(),
        street.strip(),
        service_min,
        remarks.strip(),
    )


def list_org_units() -> list[OrgUnit]:
    return list(db.session.scalars(select(OrgUnit).order_by(OrgUnit.short_name)))


def update_org_unit(unit: OrgUnit, *, email: str | None, site_id: int, cost_centre: str) -> None:
    if db.session.get(Site, site_id) is None:
        raise ValidationFailed("Unbekannter Standort.")
    if not cost_centre.strip().isdigit():
        raise ValidationFailed("Die Kostenstelle besteht aus Ziffern.")
    unit.email = (email or "").strip() or None
    unit.site_id = site_id
    unit.cost_centre = cost_centre.strip()


def list_vehicles() -> list[Vehicle]:
    return list(db.session.scalars(select(Vehicle).order_by(Vehicle.code)))


def update_vehicle(
    vehicle: Vehicle, *, battery_range_km: float, winter_factor: float, safety_reserve: float, capacity_boxes: int,
    active: bool, unavailable_from: date | None, unavailable_until: date | None, unavailable_note: str,
) -> None:  # fmt: skip
    if battery_range_km <= 0 or capacity_boxes <= 0:
        raise ValidationFailed("Reichweite und Kapazität müssen größer als 0 sein.")
    if not (0.3 <= winter_factor <= 1.0) or not (0.0 <= safety_reserve < 0.9):
        raise ValidationFailed("Winterfaktor 0,3–1,0 und Sicherheitsreserve 0–0,9 angeben.")
    if unavailable_until and not unavailable_from:
        raise ValidationFailed("Bitte zuerst den Beginn des Werkstattaufenthalts angeben.")
    if unavailable_from and unavailable_until and unavailable_until < unavailable_from:
        raise ValidationFailed("Das Ende des Werkstattaufenthalts liegt vor dem Beginn.")
    vehicle.battery_range_km, vehicle.winter_factor, vehicle.safety_reserve = (
        battery_range_km, winter_factor, safety_reserve)  # fmt: skip
    vehicle.capacity_boxes, vehicle.active = capacity_boxes, active
    vehicle.unavailable_from, vehicle.unavailable_until = unavailable_from, unavailable_until
    vehicle.unavailable_note = unavailable_note.strip()


def list_tokens() -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).order_by(ApiToken.revoked, ApiToken.created_at.desc())))

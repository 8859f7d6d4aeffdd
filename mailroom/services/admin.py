"""Accounts kept by administrators: users (all roles; deactivate, reset password), scanner API keys,
and a van's workshop period on the admin van page. Sites, org units, vans and stop templates are in
`mailroom.services.masterdata`."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from mailroom.errors import ValidationFailed
from mailroom.extensions import db
from mailroom.models import ApiToken, Role, User, Vehicle
from mailroom.services.auth import MIN_PASSWORD_LENGTH


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.active.desc(), User.username)))


def set_user_active(user: User, active: bool, *, acting: User) -> None:
    if user.id == acting.id and not active:
        raise ValidationFailed("Sie können Ihr eigenes Konto nicht deaktivieren.")
    if user.active and not active:
        user.end_sessions()
    user.active = active


def update_user(user: User, *, full_name: str, role: str, acting: User) -> None:
    try:
        new_role = Role(role)
    except ValueError:
        raise ValidationFailed(f"Unbekannte Rolle: {role}") from None
    if user.id == acting.id and new_role != Role.ADMIN:
        raise ValidationFailed("Sie können sich nicht selbst die Administration entziehen.")
    if len(full_name.strip()) > 120:
        raise ValidationFailed("Der Name ist zu lang (höchstens 120 Zeichen).")
    user.full_name, user.role = full_name.strip(), new_role


def reset_password(user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"Das Passwort muss mindestens {MIN_PASSWORD_LENGTH} Zeichen lang sein.")
    user.password_hash = generate_password_hash(password)
    user.failed_logins = 0
    user.locked_until = None
    user.end_sessions()


def update_van_workshop(
    vehicle: Vehicle, *, safety_reserve: float, unavailable_from: date | None, unavailable_until: date | None,
    unavailable_note: str,
) -> None:  # fmt: skip
    if not (0.0 <= safety_reserve < 0.9):
        raise ValidationFailed("Sicherheitsreserve 0–0,9 angeben.")
    if unavailable_until and not unavailable_from:
        raise ValidationFailed("Bitte zuerst den Beginn des Werkstattaufenthalts angeben.")
    if unavailable_from and unavailable_until and unavailable_until < unavailable_from:
        raise ValidationFailed("Das Ende des Werkstattaufenthalts liegt vor dem Beginn.")
    vehicle.safety_reserve = safety_reserve
    vehicle.unavailable_from, vehicle.unavailable_until = unavailable_from, unavailable_until
    vehicle.unavailable_note = unavailable_note.strip()


def list_tokens() -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).order_by(ApiToken.revoked, ApiToken.created_at.desc())))

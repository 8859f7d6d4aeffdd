"""The charging log (kWh from the grid, where, cost in cents; append-only) and the grid's CO2 factor per year."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from mailroom.errors import ValidationFailed
from mailroom.extensions import db
from mailroom.models import ChargeLocation, ChargingSession, GridFactor, User, Vehicle
from mailroom.services.clock import local_today
from mailroom.services.fleet.common import format_km, setting

MAX_COST_CENTS = 100_000  # 1,000 EUR for one charge is a typo


def parse_euro_cents(value: str | None) -> int:
    """ "12,34" / "12.34" / "1.234,50" -> cents, exact (Decimal, never float)."""
    text = (value or "").strip().replace("€", "").replace(" ", "")
    if not text:
        return 0
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValidationFailed("Die Kosten müssen ein Betrag in Euro sein, z. B. 12,40.") from None
    if amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValidationFailed("Die Kosten müssen ein Betrag in Euro mit höchstens zwei Nachkommastellen sein.")
    cents = int(amount * 100)
    if cents > MAX_COST_CENTS:
        raise ValidationFailed("Mehr als 1.000 € für eine Ladung: bitte den Betrag prüfen.")
    return cents


def _check_kwh(vehicle: Vehicle, kwh: object) -> float:
    if kwh is None or kwh == "" or isinstance(kwh, bool):
        raise ValidationFailed("Bitte die geladene Energie in kWh angeben.")
    try:
        value = float(str(kwh).replace(",", "."))
    except ValueError:
        raise ValidationFailed("Die geladene Energie muss eine Zahl (kWh) sein.") from None
    if value != value or value <= 0:
        raise ValidationFailed("Die geladene Energie muss größer als 0 kWh sein.")
    most = vehicle.battery_kwh * (1.0 + setting("FLEET_CHARGING_LOSS"))
    if value > most:
        raise ValidationFailed(
            f"{format_km(value)} kWh passen nicht in die Batterie von {vehicle.name} ({format_km(vehicle.battery_kwh)} "
            f"kWh, mit Ladeverlust höchstens {format_km(most)} kWh). Bitte die Eingabe prüfen.",
            code="kwh_above_battery",
        )
    return round(value, 2)


def record_charge(
    vehicle: Vehicle,
    *,
    day: date | None,
    kwh: object,
    location: str,
    cost_cents: int,
    note: str = "",
    user: User | None = None,
    corrects: ChargingSession | None = None,
    today: date | None = None,
) -> ChargingSession:
    if day is None:
        raise ValidationFailed("Bitte den Tag der Ladung angeben.")
    if day > (today or local_today()):
        raise ValidationFailed("Eine Ladung kann nicht in der Zukunft liegen.")
    value = _check_kwh(vehicle, kwh)
    if location not in {loc.value for loc in ChargeLocation}:
        raise ValidationFailed("Bitte den Ladeort wählen: Wallbox der Poststelle oder unterwegs.")
    note = (note or "").strip()
    if len(note) > 200:
        raise ValidationFailed("Die Notiz darf höchstens 200 Zeichen lang sein.")
    if corrects is not None:
        if not note:
            raise ValidationFailed("Eine Korrektur braucht eine Begründung (Notiz).")
        newer = db.session.scalar(select(ChargingSession).where(ChargingSession.corrects_id == corrects.id))
        if newer is not None:
            raise ValidationFailed(
                f"Ladung Nr. {corrects.id} zählt nicht mehr: sie wurde durch Nr. {newer.id} korrigiert. "
                f"Bitte Nr. {newer.id} korrigieren.",
                code="already_corrected",
            )
    session = ChargingSession(
        vehicle_id=vehicle.id,
        day=day,
        kwh=value,
        location=location,
        cost_cents=int(cost_cents),
        note=note,
        user_id=user.id if user else None,
        corrects_id=corrects.id if corrects else None,
    )
    db.session.add(session)
    db.session.flush()
    return session


def charges(vehicle: Vehicle, first: date, last: date) -> list[ChargingSession]:
    return list(
        db.session.scalars(
            select(ChargingSession)
            .where(ChargingSession.vehicle_id == vehicle.id, ChargingSession.day >= first, ChargingSession.day <= last)
            .order_by(ChargingSession.day.desc(), ChargingSession.id.desc())
        )
    )


def set_grid_factor(year: int | None, g_per_kwh: object, source: str) -> GridFactor:
    if year is None or not 2000 <= year <= 2100:
        raise ValidationFailed("Bitte ein Jahr zwischen 2000 und 2100 angeben.")
    try:
        value = float(str(g_per_kwh).replace(",", "."))
    except ValueError:
        raise ValidationFailed("Der CO₂-Faktor muss eine Zahl (g/kWh) sein.") from None
    if not 0 <= value <= 2000:
        raise ValidationFailed("Der CO₂-Faktor muss zwischen 0 und 2.000 g/kWh liegen.")
    source = (source or "").strip()
    if not source:
        raise ValidationFailed("Bitte die Quelle des CO₂-Faktors angeben (z. B. Umweltbundesamt 2024).")
    if len(source) > 200:
        raise ValidationFailed("Die Quelle darf höchstens 200 Zeichen lang sein.")
    factor = db.session.scalar(select(GridFactor).where(GridFactor.year == year))
    if factor is None:
        factor = GridFactor(year=year, g_per_kwh=value, source=source)
        db.session.add(factor)
    else:  # a setting, not a log: the UBA revises its figures
        factor.g_per_kwh, factor.source = value, source
    db.session.flush()
    return factor


def stored_grid_factors() -> list[GridFactor]:
    return list(db.session.scalars(select(GridFactor).order_by(GridFactor.year.desc())))


def get_charge(vehicle: Vehicle, charge_id: int) -> ChargingSession:
    charge = db.session.get(ChargingSession, charge_id)
    if charge is None or charge.vehicle_id != vehicle.id:
        raise ValidationFailed(f"Ladung Nr. {charge_id} gehört nicht zu {vehicle.name}.")
    return charge

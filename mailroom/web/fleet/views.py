"""Fleet: the vehicle logbook (Fahrtenbuch) per van, figures per day and month, CSV export."""

from __future__ import annotations

import re

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from mailroom.errors import DomainError, ValidationFailed
from mailroom.extensions import db
from mailroom.models import Role
from mailroom.services import fleet
from mailroom.web.access import roles_required

bp = Blueprint("fleet", __name__, url_prefix="/fleet")


def _optional_int(value: str | None, what: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValidationFailed(f"{what} muss eine ganze Zahl sein.") from None


def _km(value: str | None) -> float | None:
    value = (value or "").strip().replace(" ", "")
    if not value:
        return None
    if "," in value:  # German: 12.340,5
        value = value.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"\d{1,3}(\.\d{3})+", value):  # German thousands: 12.340
        value = value.replace(".", "")
    try:
        return float(value)
    except ValueError:
        raise ValidationFailed("Der Kilometerstand muss eine Zahl sein.") from None


def _render(month, *, status: int = 200, form_vehicle: int | None = None, form_error: str | None = None):
    reports = [fleet.van_report(v, month) for v in fleet.vehicles()]
    return (
        render_template(
            "fleet/index.html",
            reports=reports,
            month=month,
            month_label=fleet.month_label(month),
            kind_label=fleet.kind_label,
            co2_factor=fleet.current_co2_factor(),
            form_vehicle=form_vehicle,
            form_error=form_error,
            form=request.form if request.method == "POST" else {},
            previous_month=fleet.shift_month(month, -1),
            next_month=fleet.shift_month(month, 1),
        ),
        status,
    )


@bp.route("/")
@roles_required(Role.FLEET)
def index():
    try:
        month = fleet.parse_month(request.args.get("month"))
    except DomainError as exc:
        flash(exc.message, "error")
        month = fleet.parse_month(None)
    return _render(month)


@bp.route("/vehicles/<int:vehicle_id>/readings", methods=["POST"])
@roles_required(Role.FLEET)
def add_reading(vehicle_id: int):
    vehicle = fleet.get_vehicle(vehicle_id)
    month = fleet.parse_month(None)
    try:
        km = _km(request.form.get("km"))
        soc = _optional_int(request.form.get("soc"), "Der Ladezustand")
        corrects = _optional_int(request.form.get("corrects_id"), "Der korrigierte Eintrag")
        note = request.form.get("note", "")
        if corrects is not None:
            corrected = fleet.get_reading(corrects)
            if corrected.vehicle_id != vehicle.id:
                raise ValidationFailed("Der korrigierte Eintrag gehört zu einem anderen Fahrzeug.")
            reading = fleet.record_correction(corrected, km=km, soc_percent=soc, note=note, user=current_user)
        else:
            reading = fleet.record_reading(vehicle, km=km, soc_percent=soc, note=note, user=current_user)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _render(month, status=exc.status, form_vehicle=vehicle.id, form_error=exc.message)
    what = "Korrektur" if reading.corrects_id else "Kilometerstand"
    flash(f"{what} {fleet.format_km(reading.km)} km für {vehicle.name} eingetragen.", "success")
    return redirect(url_for("fleet.index", _anchor=f"van-{vehicle.id}"))


@bp.route("/logbook.csv")
@roles_required(Role.FLEET)
def logbook_csv():
    vehicle_id = request.args.get("vehicle", type=int)
    vehicle = fleet.get_vehicle(vehicle_id) if vehicle_id else None
    return Response(
        fleet.logbook_csv(vehicle),
        mimetype="text/csv",
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{fleet.csv_filename(vehicle)}"',
            "Cache-Control": "private, no-store",
        },
    )

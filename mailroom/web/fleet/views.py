"""Fleet pages: the vans with their logbook (Fahrtenbuch), trips, corrections, charging log and workshop periods;
reports with charts, CSV and PDF; the tax-audit export; the CO2 factors. Views stay thin: read the request, call
the fleet service, commit, render."""

from __future__ import annotations

import re
from datetime import date, timedelta

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask_login import current_user

from mailroom.errors import DomainError, ValidationFailed
from mailroom.models import ChargeLocation, Role, TripPurpose, User
from mailroom.services import fleet
from mailroom.services.clock import local_today
from mailroom.services.formatting import format_eur
from mailroom.services.lookup import get_or_404
from mailroom.web.access import roles_required
from mailroom.web.actions import commit_or_flash

bp = Blueprint("fleet", __name__, url_prefix="/fleet")

FORM_ERROR_STATUS = 422


@bp.context_processor
def _helpers() -> dict:
    return {
        "fmt": fleet.format_km,
        "euro": lambda cents: format_eur(cents, symbol=False),
        "location_label": lambda value: ChargeLocation(value).label,
    }


def _optional_int(value: str | None, what: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValidationFailed(f"{what} muss eine ganze Zahl sein.") from None


def _km(value: str | None) -> float | str | None:
    """German input: "12.340,5" or "12340.5" or "12.340"; anything else goes to the service as typed."""
    value = (value or "").strip().replace(" ", "")
    if not value:
        return None
    if "," in value:
        value = value.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"\d{1,3}(\.\d{3})+", value):
        value = value.replace(".", "")
    try:
        return float(value)
    except ValueError:
        raise ValidationFailed("Der Kilometerstand muss eine Zahl sein.") from None


def _month(value: str | None) -> date:
    today = local_today()
    if not value:
        return today.replace(day=1)
    match = re.fullmatch(r"(\d{4})-(\d{2})", value.strip())
    if not match or not 2000 <= int(match[1]) <= 2100 or not 1 <= int(match[2]) <= 12:
        raise ValidationFailed("Ungültiger Monat (erwartet JJJJ-MM).")
    return date(int(match[1]), int(match[2]), 1)


def _month_end(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def _shift(first: date, months: int) -> str:
    index = first.year * 12 + first.month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _period_args() -> tuple[date, date, str]:
    """The report's period from the query: ?year=2026, or ?from=...&to=...&grain=...; default this year."""
    grain = request.args.get("grain") or "month"
    if request.args.get("from") or request.args.get("to"):
        first, last = fleet.check_range(
            fleet.optional_day(request.args.get("from")), fleet.optional_day(request.args.get("to"))
        )
        return first, last, grain
    year = _optional_int(request.args.get("year"), "Das Jahr") or local_today().year
    first, last = fleet.year_bounds(year)
    return first, last, grain


# --- overview ----------------------------------------------------------------------------------------


@bp.route("/")
@roles_required(Role.FLEET)
def index():
    today = local_today()
    vans = fleet.vehicles()
    ids = [v.id for v in vans]
    recent = fleet.build_report(today - timedelta(days=30), today, grain="day", vehicles=vans, today=today)
    return render_template(
        "fleet/index.html",
        today=today,
        vans=vans,
        km_month=fleet.km_driven(ids, today.replace(day=1), today),
        km_year=fleet.km_driven(ids, today.replace(month=1, day=1), today),
        last={v.id: fleet.last_reading(v) for v in vans},
        ranges={v.id: fleet.range_figures(v, today) for v in vans},
        status={v.id: fleet.status_label(v, today) for v in vans},
        standouts=[s for van in recent.vans for s in van.standouts],
        incomplete=fleet.incomplete_tours(today),
    )


# --- one van -----------------------------------------------------------------------------------------


def _van_page(vehicle, *, status: int = 200, form_name: str | None = None):
    try:
        month = _month(request.args.get("month"))
    except DomainError:
        month = local_today().replace(day=1)
    last_day = _month_end(month)
    entries = [r for r in fleet.readings(vehicle) if month <= r.day <= last_day]
    corrected = fleet.corrected_ids(fleet.readings(vehicle))
    today = local_today()
    return (
        render_template(
            "fleet/vehicle.html",
            v=vehicle,
            today=today,
            month=month,
            month_label=fleet.month_label(month),
            previous_month=_shift(month, -1),
            next_month=_shift(month, 1),
            lines=fleet.logbook_lines(vehicle, month, last_day),
            entries=list(reversed(entries)),
            corrected=corrected,
            last=fleet.last_reading(vehicle),
            range=fleet.range_figures(vehicle, today),
            status_text=fleet.status_label(vehicle, today),
            charges=fleet.charges(vehicle, month, last_day),
            kind_label=fleet.kind_label,
            purposes=[p for p in TripPurpose if p is not TripPurpose.TOUR],
            locations=list(ChargeLocation),
            drivers=fleet.drivers(),
            form=request.form if request.method == "POST" else {},
            form_name=form_name,
            export_from=date(today.year, 1, 1),
        ),
        status,
    )


@bp.route("/vehicles/<int:vehicle_id>")
@roles_required(Role.FLEET)
def vehicle(vehicle_id: int):
    return _van_page(fleet.get_vehicle(vehicle_id))


def _after(vehicle, ok: bool, form_name: str):
    if not ok:
        return _van_page(vehicle, status=FORM_ERROR_STATUS, form_name=form_name)
    return redirect(url_for("fleet.vehicle", vehicle_id=vehicle.id, month=request.args.get("month")))


@bp.route("/vehicles/<int:vehicle_id>/readings", methods=["POST"])
@roles_required(Role.FLEET)
def add_reading(vehicle_id: int):
    """A plain odometer reading, or a correction of an entry (the form names it)."""
    vehicle = fleet.get_vehicle(vehicle_id)

    def action():
        km = _km(request.form.get("km"))
        soc = _optional_int(request.form.get("soc"), "Der Ladezustand")
        corrects = _optional_int(request.form.get("corrects_id"), "Der korrigierte Eintrag")
        note = request.form.get("note", "")
        if corrects is None:
            return fleet.record_reading(vehicle, km=km, soc_percent=soc, note=note, user=current_user)
        corrected = fleet.get_reading(corrects)
        if corrected.vehicle_id != vehicle.id:
            raise ValidationFailed("Der korrigierte Eintrag gehört zu einem anderen Fahrzeug.")
        return fleet.record_correction(
            corrected,
            km=km,
            soc_percent=soc,
            note=note,
            user=current_user,
            start_km=_km(request.form.get("start_km")),
            destination=request.form.get("destination"),
        )

    def done(reading) -> str:
        what = f"Korrektur zu Nr. {reading.corrects_id}:" if reading.corrects_id else "Kilometerstand"
        return f"{what} {fleet.format_km(reading.km)} km für {vehicle.name} eingetragen."

    ok, _ = commit_or_flash(action, done)
    return _after(vehicle, ok, "reading")


@bp.route("/vehicles/<int:vehicle_id>/trips", methods=["POST"])
@roles_required(Role.FLEET)
def add_trip(vehicle_id: int):
    """A trip outside a tour (workshop, charging, other), entered by hand."""
    vehicle = fleet.get_vehicle(vehicle_id)

    def action():
        day = fleet.parse_day(request.form.get("day"))
        driver_id = _optional_int(request.form.get("driver_id"), "Die Fahrerin / der Fahrer")
        driver = get_or_404(User, driver_id, "Fahrer/in nicht gefunden.") if driver_id else current_user
        return fleet.record_trip(
            vehicle,
            at=fleet.trip_time(day),
            start_km=_km(request.form.get("start_km")),
            end_km=_km(request.form.get("end_km")),
            destination=request.form.get("destination", ""),
            purpose=request.form.get("purpose", ""),
            driver=driver,
            user=current_user,
            note=request.form.get("note", ""),
        )

    ok, _ = commit_or_flash(
        action,
        lambda trip: (
            f"Fahrt nach {trip.destination} ({fleet.format_km(trip.km - trip.start_km)} km) "
            f"für {vehicle.name} eingetragen."
        ),
    )
    return _after(vehicle, ok, "trip")


@bp.route("/vehicles/<int:vehicle_id>/charges", methods=["POST"])
@roles_required(Role.FLEET)
def add_charge(vehicle_id: int):
    vehicle = fleet.get_vehicle(vehicle_id)

    def action():
        corrects_id = _optional_int(request.form.get("corrects_id"), "Die korrigierte Ladung")
        corrects = fleet.get_charge(vehicle, corrects_id) if corrects_id else None
        return fleet.record_charge(
            vehicle,
            day=fleet.optional_day(request.form.get("day")),
            kwh=request.form.get("kwh"),
            location=request.form.get("location", ""),
            cost_cents=fleet.parse_euro_cents(request.form.get("cost")),
            note=request.form.get("note", ""),
            user=current_user,
            corrects=corrects,
        )

    ok, _ = commit_or_flash(action, lambda c: f"Ladung {fleet.format_km(c.kwh)} kWh für {vehicle.name} eingetragen.")
    return _after(vehicle, ok, "charge")


@bp.route("/vehicles/<int:vehicle_id>/workshop", methods=["POST"])
@roles_required(Role.FLEET)
def add_workshop(vehicle_id: int):
    vehicle = fleet.get_vehicle(vehicle_id)

    def action():
        return fleet.add_workshop_period(
            vehicle,
            starts_on=fleet.optional_day(request.form.get("starts_on")),
            ends_on=fleet.optional_day(request.form.get("ends_on")),
            note=request.form.get("note", ""),
            user=current_user,
        )

    ok, _ = commit_or_flash(
        action, lambda p: f"{vehicle.name}: Werkstatt {p.starts_on:%d.%m.%Y} – {p.ends_on:%d.%m.%Y} eingetragen."
    )
    return _after(vehicle, ok, "workshop")


@bp.route("/vehicles/<int:vehicle_id>/commissioning", methods=["POST"])
@roles_required(Role.FLEET)
def set_commissioning(vehicle_id: int):
    vehicle = fleet.get_vehicle(vehicle_id)
    ok, _ = commit_or_flash(
        lambda: fleet.set_commissioned(vehicle, fleet.optional_day(request.form.get("commissioned_on"))),
        f"Inbetriebnahme von {vehicle.name} gespeichert.",
    )
    return _after(vehicle, ok, "commissioning")


# --- downloads ---------------------------------------------------------------------------------------


def _download(data: bytes, filename: str, mimetype: str) -> Response:
    content_type = f"{mimetype}; charset=utf-8" if mimetype == "text/csv" else mimetype
    return Response(
        data,
        mimetype=mimetype,
        headers={
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )


def _export_range() -> tuple[date, date]:
    today = local_today()
    first = fleet.optional_day(request.args.get("from")) or date(today.year, 1, 1)
    last = fleet.optional_day(request.args.get("to")) or today
    return fleet.check_range(first, last)


@bp.route("/vehicles/<int:vehicle_id>/logbook.<fmt>")
@roles_required(Role.FLEET)
def vehicle_logbook(vehicle_id: int, fmt: str):
    """The tax-audit export of one van: every entry of the period, corrections visible."""
    vehicle = fleet.get_vehicle(vehicle_id)
    if fmt not in ("csv", "pdf"):
        raise ValidationFailed("Format csv oder pdf.")
    first, last = _export_range()  # a DomainError is answered by the app's handler (German, 4xx)
    name = fleet.logbook_filename(vehicle, first, last, fmt)
    if fmt == "csv":
        return _download(fleet.logbook_csv([vehicle], first, last), name, "text/csv")
    return _download(fleet.logbook_pdf(vehicle, first, last), name, "application/pdf")


@bp.route("/logbook.csv")
@roles_required(Role.FLEET)
def logbook_csv():
    """The logbook of every van (or one: ?vehicle=ID) for a period (default: this year so far)."""
    vehicle_id = request.args.get("vehicle", type=int)
    vans = [fleet.get_vehicle(vehicle_id)] if vehicle_id else fleet.vehicles()
    first, last = _export_range()
    name = fleet.logbook_filename(vans[0] if vehicle_id else None, first, last, "csv")
    return _download(fleet.logbook_csv(vans, first, last), name, "text/csv")


# --- reports -----------------------------------------------------------------------------------------


def _report():
    first, last, grain = _period_args()
    return fleet.build_report(first, last, grain=grain, vehicles=fleet.vehicles())


@bp.route("/report")
@roles_required(Role.FLEET)
def report():
    result = _report()
    return render_template(
        "fleet/report.html",
        report=result,
        charts=fleet.charts_svg(result),
        notes=fleet.report_notes(result),
        grains=fleet.GRAINS,
        args=request.args.to_dict(),
        year=result.last.year,
    )


@bp.route("/report.<fmt>")
@roles_required(Role.FLEET)
def report_download(fmt: str):
    if fmt not in ("csv", "pdf"):
        raise ValidationFailed("Format csv oder pdf.")
    result = _report()
    if fmt == "csv":
        return _download(fleet.report_csv(result), fleet.report_filename(result, "csv"), "text/csv")
    return _download(fleet.report_pdf_bytes(result), fleet.report_filename(result, "pdf"), "application/pdf")


# --- settings: CO2 factors -----------------------------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
@roles_required(Role.FLEET)
def settings():
    status = 200
    if request.method == "POST":
        ok, _ = commit_or_flash(
            lambda: fleet.set_grid_factor(
                _optional_int(request.form.get("year"), "Das Jahr"),
                request.form.get("g_per_kwh", ""),
                request.form.get("source", ""),
            ),
            lambda f: f"CO₂-Faktor {f.year}: {fleet.format_km(f.g_per_kwh)} g/kWh gespeichert.",
        )
        if ok:
            return redirect(url_for("fleet.settings"))
        status = FORM_ERROR_STATUS
    return (
        render_template(
            "fleet/settings.html",
            factors=fleet.stored_grid_factors(),
            config=current_app.config,
            form=request.form if request.method == "POST" else {},
        ),
        status,
    )

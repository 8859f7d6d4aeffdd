"""Outgoing mail (Postausgang): franking form, franking-machine import, tracked items, posting lists,
pickups from the sites. Reports, tariffs and budgets live in `admin_views`."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from mailroom.errors import DomainError, ValidationFailed
from mailroom.extensions import db
from mailroom.models import Role
from mailroom.models.outgoing import OutgoingParcel, ProductKind, TrackedItem
from mailroom.services.clock import local_today
from mailroom.services.dates import parse_day
from mailroom.services.lookup import get_or_404
from mailroom.services.outgoing import address_labels, budgets, exports, franking, importer, pickups, tracked
from mailroom.services.outgoing.catalogue import EINSCHREIBEN_VARIANTS, Catalogue, format_eur
from mailroom.services.outgoing.units import CostCentres
from mailroom.web.access import roles_required
from mailroom.web.downloads import pdf_response

bp = Blueprint("outgoing", __name__, url_prefix="/outgoing")

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def _day(value: str | None, what: str = "Datum") -> date:
    return parse_day(value, what=what) if value else local_today()


def _day_or_today(value: str | None) -> date:
    """The day asked for in the URL; a day that cannot be read is said in a flash, and today shown."""
    try:
        return _day(value)
    except DomainError as exc:
        flash(exc.message, "error")
        return local_today()


def _matrix() -> tuple[list, list]:
    """Letter products (rows) and the add-on columns of the franking form."""
    catalogue = Catalogue()
    letters = catalogue.of_kind(ProductKind.LETTER)
    add_ons = [catalogue.products[k] for k in EINSCHREIBEN_VARIANTS if k in catalogue.products]
    return letters, add_ons


def _franking_page(day: date, *, status: int = 200, form: dict | None = None, error: str | None = None):
    letters, add_ons = _matrix()
    pieces, cents = franking.day_totals(day)
    return (
        render_template(
            "outgoing/index.html",
            day=day,
            letters=letters,
            add_ons=add_ons,
            cost_centres=CostCentres().choices(),
            lines=franking.day_lines(day, limit=25),
            day_pieces=pieces,
            day_postage=cents,
            pickups=pickups.pickups_on(day),
            overdue=len(tracked.overdue_pzus(local_today())),
            form=form or {},
            form_error=error,
            names={key: product.name for key, product in Catalogue().products.items()},
            eur=format_eur,
        ),
        status,
    )


@bp.route("/")
@roles_required(Role.MAILROOM)
def index():
    day = _day_or_today(request.args.get("day"))
    return _franking_page(day)[0]


def _session_lines(form) -> list[franking.SessionLine]:
    """Every filled count field `n-<product>` or `n-<product>+<add-on>` of the form."""
    lines = []
    for name, value in form.items():
        if not name.startswith("n-") or not value.strip():
            continue
        product, _, add_on = name[2:].partition("+")
        lines.append(franking.SessionLine(product, add_on or None, franking.parse_pieces(value)))
    return lines


@bp.route("/franking", methods=["POST"])
@roles_required(Role.MAILROOM)
def book_franking():
    form = request.form
    try:
        day = _day(form.get("day"))
    except DomainError as exc:
        return _franking_page(local_today(), status=exc.status, form=form, error=exc.message)
    try:
        batch = franking.book_session(day, form.get("cost_centre", ""), _session_lines(form), user_id=current_user.id)
        warnings = budgets.warnings_for(form.get("cost_centre", "").strip(), day)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _franking_page(day, status=exc.status, form=form, error=exc.message)
    flash(
        f"Gebucht: Kostenstelle {form.get('cost_centre', '').strip()}, {batch.pieces} Stück, "
        f"{format_eur(batch.postage_cents)}.",
        "success",
    )
    for warning in warnings:
        flash(warning, "warning")
    return redirect(url_for("outgoing.index", day=day.isoformat()))


@bp.route("/import", methods=["GET", "POST"])
@roles_required(Role.MAILROOM)
def import_log():
    mappings = importer.list_mappings()
    if request.method == "GET":
        return render_template("outgoing/import.html", mappings=mappings, result=None, errors=None, eur=format_eur)
    upload = request.files.get("file")
    wants_json = request.accept_mimetypes.best == "application/json"
    if upload is None or not upload.filename:
        errors = [{"line": 0, "message": "Bitte eine CSV-Datei auswählen."}]
        status = 400
    else:
        data = upload.read(MAX_UPLOAD_BYTES + 1)
        try:
            if len(data) > MAX_UPLOAD_BYTES:
                raise ValidationFailed("Die Datei ist größer als 20 MB.")
            result = importer.import_file(
                data, upload.filename, mapping_name=request.form.get("mapping") or None, user_id=current_user.id
            )
            db.session.commit()
        except importer.ImportFailed as exc:
            db.session.rollback()
            errors, status = exc.errors, exc.status
        except DomainError as exc:
            db.session.rollback()
            errors, status = [{"line": 0, "message": exc.message}], exc.status
        else:
            if wants_json:
                return jsonify(result.as_json())
            return render_template(
                "outgoing/import.html", mappings=mappings, result=result, errors=None, eur=format_eur
            )
    if wants_json:
        return jsonify({"errors": errors}), status
    return (
        render_template("outgoing/import.html", mappings=mappings, result=None, errors=errors, eur=format_eur),
        status,
    )


# --- tracked items -------------------------------------------------------------------------------


def _tracked_page(day: date, *, status: int = 200, form: dict | None = None, error: str | None = None, which=""):
    catalogue = Catalogue()
    return (
        render_template(
            "outgoing/tracked.html",
            day=day,
            items=tracked.tracked_on(day),
            parcels=tracked.parcels_on(day),
            carriers=tracked.carriers_on(day),
            letters=catalogue.of_kind(ProductKind.LETTER),
            variants=[catalogue.products[k] for k in EINSCHREIBEN_VARIANTS if k in catalogue.products],
            parcel_products=catalogue.of_kind(ProductKind.PARCEL),
            parcel_carriers=sorted({p.carrier for p in catalogue.of_kind(ProductKind.PARCEL)}),
            cost_centres=CostCentres().choices(),
            served=tracked.counts_as_served,
            product_name=lambda key: catalogue.products[key].name if key in catalogue.products else (key or ""),
            form=form or {},
            form_error=error,
            which=which,
            erased=tracked.ERASED,
            eur=format_eur,
        ),
        status,
    )


@bp.route("/tracked")
@roles_required(Role.MAILROOM)
def tracked_items():
    day = _day_or_today(request.args.get("day"))
    return _tracked_page(day)[0]


def _weight(value: str | None) -> int:
    text = (value or "").strip().replace(".", "")
    if not text.isdigit():
        raise ValidationFailed("Das Gewicht in Gramm muss eine ganze Zahl sein.", code="invalid_weight")
    return int(text)


@bp.route("/tracked/<kind>", methods=["POST"])
@roles_required(Role.MAILROOM)
def record_tracked(kind: str):
    form = request.form
    day = local_today()
    try:
        day = _day(form.get("day"), "Einlieferungstag")
        common = {"posting_date": day, "cost_centre": form.get("cost_centre", ""), "user_id": current_user.id}
        if kind == "einschreiben":
            item = tracked.record_einschreiben(
                **common,
                code=form.get("code", ""),
                variant=form.get("variant", ""),
                product=form.get("product") or "standardbrief",
                recipient=form.get("recipient", ""),
                file_number=form.get("file_number", ""),
                billed=form.get("franked") != "1",
            )
            message = f"Einschreiben {item.code} erfasst ({format_eur(item.postage_cents)})."
        elif kind == "pzu":
            item = tracked.record_pzu(
                **common,
                recipient=form.get("recipient", ""),
                file_number=form.get("file_number", ""),
                code=form.get("code", ""),
                billed=form.get("franked") != "1",
            )
            message = f"PZU zum Aktenzeichen {item.file_number} erfasst ({format_eur(item.postage_cents)})."
        elif kind == "parcel":
            parcel = tracked.record_parcel(
                **common,
                carrier=form.get("carrier", ""),
                tracking_number=form.get("tracking_number", ""),
                weight_g=_weight(form.get("weight_g")),
                product=form.get("product", ""),
                recipient=form.get("recipient", ""),
                recipient_address=form.get("recipient_address", ""),
            )
            message = f"Paket {parcel.tracking_number} erfasst ({format_eur(parcel.postage_cents)})."
        else:
            return _tracked_page(day, status=404, error="Unbekannte Sendungsart.")
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _tracked_page(day, status=exc.status, form=form, error=exc.message, which=kind)
    flash(message, "success")
    return redirect(url_for("outgoing.tracked_items", day=day.isoformat()))


@bp.route("/tracked/<int:item_id>/served", methods=["POST"])
@roles_required(Role.MAILROOM)
def record_served(item_id: int):
    item = get_or_404(TrackedItem, item_id, "Sendung nicht gefunden.")
    from_overdue = request.form.get("back") == "overdue"
    try:
        served_on = parse_day(request.form.get("served_on"), what="Zustelldatum")
        tracked.record_pzu_service(item, served_on, today=local_today())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        if from_overdue:
            return _overdue_page(status=exc.status, error=exc.message)
        return _tracked_page(item.posting_date, status=exc.status, error=exc.message, which="served")
    flash(f"Zustelldatum {served_on:%d.%m.%Y} für die PZU {item.file_number} erfasst.", "success")
    if from_overdue:
        return redirect(url_for("outgoing.overdue"))
    return redirect(url_for("outgoing.tracked_items", day=item.posting_date.isoformat()))


def _file_part(text: str, fallback: str) -> str:
    return "".join(c for c in text if c.isalnum() or c == "-") or fallback


@bp.route("/tracked/<int:item_id>/label.pdf")
@roles_required(Role.MAILROOM)
def tracked_label(item_id: int):
    """The address label (62 mm roll) of one Einschreiben or PZU."""
    item = get_or_404(TrackedItem, item_id, "Sendung nicht gefunden.")
    pdf = address_labels.tracked_item_label_pdf(item)
    return pdf_response(pdf, f"etikett-{_file_part(item.code or item.file_number, str(item.id))}.pdf")


@bp.route("/parcels/<int:parcel_id>/label.pdf")
@roles_required(Role.MAILROOM)
def parcel_label(parcel_id: int):
    """The address label (62 mm roll) of one parcel."""
    parcel = get_or_404(OutgoingParcel, parcel_id, "Paket nicht gefunden.")
    pdf = address_labels.parcel_label_pdf(parcel)
    return pdf_response(pdf, f"etikett-{_file_part(parcel.tracking_number, str(parcel.id))}.pdf")


def _overdue_page(*, status: int = 200, error: str | None = None):
    today = local_today()
    return (
        render_template(
            "outgoing/overdue.html",
            items=tracked.overdue_pzus(today),
            today=today,
            days=tracked.pzu_overdue_days(),
            form_error=error,
        ),
        status,
    )


@bp.route("/pzu/overdue")
@roles_required(Role.MAILROOM)
def overdue():
    return _overdue_page()


@bp.route("/posting-list.pdf")
@roles_required(Role.MAILROOM)
def posting_list():
    day = _day(request.args.get("day"))
    carrier = (request.args.get("carrier") or "").strip()
    if not carrier:
        raise ValidationFailed("Bitte einen Versender angeben.")
    safe = "".join(c for c in carrier if c.isalnum()) or "Versender"
    return pdf_response(exports.posting_list(carrier, day), f"einlieferungsliste-{safe}-{day.isoformat()}.pdf")

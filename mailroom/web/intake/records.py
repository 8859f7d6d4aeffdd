"""Intake records: content scans of opened letters, the register of registered mail (Posteingangsbuch),
our own item labels. Registered on the intake blueprint."""

from __future__ import annotations

from datetime import timedelta

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.routing import BuildError

from mailroom.errors import ValidationFailed
from mailroom.extensions import db
from mailroom.models import MailItem, Role, ScanDecision
from mailroom.models.mail import ITEM_KIND_LABELS
from mailroom.services import dates, printing_labels, register, scans
from mailroom.services.clock import local_today
from mailroom.services.lookup import get_or_404
from mailroom.web.access import roles_required
from mailroom.web.actions import commit_or_rollback
from mailroom.web.downloads import csv_response, pdf_response
from mailroom.web.intake.views import bp


def _paper_destroy_on():
    return dates.parse_optional_day(request.form.get("paper_destroy_on"), what="Vernichtung des Papiers ab")


DECISION_LABELS = {decision.value: decision.label for decision in ScanDecision}


def _item(item_id: int) -> MailItem:
    return get_or_404(MailItem, item_id, "Diese Sendung gibt es nicht.")


def _item_page_url(item: MailItem) -> str | None:
    """The intake item page, where the other part of intake provides one."""
    for endpoint in ("intake.item", "intake.item_detail", "intake.item_page"):
        try:
            return url_for(endpoint, item_id=item.id)
        except BuildError:
            continue
    return None


# --- content scans ---------------------------------------------------------------------------------


def _render_scans(item: MailItem, *, error: str | None = None, status: int = 200, form=None):
    return (
        render_template(
            "intake/records/scans.html",
            item=item,
            scans=item.scans,
            decisions=list(ScanDecision),
            decision_labels=DECISION_LABELS,
            kind_labels=ITEM_KIND_LABELS,
            error=error,
            form=form or {},
            today=local_today(),
            item_url=_item_page_url(item),
        ),
        status,
    )


@bp.route("/items/<int:item_id>/scans", methods=["GET", "POST"])
@roles_required(Role.MAILROOM)
def item_scans(item_id: int):
    item = _item(item_id)
    if request.method == "GET":
        return _render_scans(item)
    uploads = [
        scans.Upload(data=f.read(), filename=f.filename or "")
        for f in request.files.getlist("files")
        if f and (f.filename or "").strip()
    ]
    outcome = commit_or_rollback(
        lambda: scans.attach_scans(
            item,
            uploads,
            user=current_user,
            decision=request.form.get("decision", ""),
            checked_against_original=request.form.get("checked") == "1",
            paper_destroy_on=_paper_destroy_on(),
        )
    )
    if outcome.error is not None:
        return _render_scans(item, error=outcome.error.message, status=outcome.error.status, form=request.form)
    created = outcome.result or []
    flash(f"{len(created)} Scan(s) an Sendung {item.incoming_number} angehängt.", "success")
    return redirect(url_for("intake.item_scans", item_id=item.id))


@bp.route("/items/<int:item_id>/scans/<int:scan_id>")
@roles_required(Role.MAILROOM)
def scan_file(item_id: int, scan_id: int):
    scan = scans.get_scan(_item(item_id), scan_id)
    data = scans.read_scan(scan)
    response = Response(data, mimetype=scan.media_type)
    response.headers["Content-Disposition"] = f'inline; filename="{scans.download_name(scan)}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    if scan.media_type.startswith("image/"):
        response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    return response


@bp.route("/items/<int:item_id>/scans/<int:scan_id>/decision", methods=["POST"])
@roles_required(Role.MAILROOM)
def scan_decision(item_id: int, scan_id: int):
    item = _item(item_id)
    scan = scans.get_scan(item, scan_id)
    outcome = commit_or_rollback(
        lambda: scans.set_decision(
            scan,
            user=current_user,
            decision=request.form.get("decision", ""),
            checked_against_original=request.form.get("checked") == "1",
            paper_destroy_on=_paper_destroy_on(),
        )
    )
    if outcome.error is not None:
        return _render_scans(item, error=f"Scan {scan_id}: {outcome.error.message}", status=outcome.error.status)
    flash(f"Entscheidung zu Scan {scan_id} gespeichert.", "success")
    return redirect(url_for("intake.item_scans", item_id=item.id))


# --- register of registered mail -------------------------------------------------------------------


@bp.route("/register", endpoint="register")
@roles_required(Role.MAILROOM)
def register_page():
    day = register.parse_day(request.args.get("day"))
    today = local_today()
    return render_template(
        "intake/records/register.html",
        day=day,
        entries=register.register_entries(day),
        previous_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1) if day < today else None,
        today=today,
    )


@bp.route("/register.pdf")
@roles_required(Role.MAILROOM)
def register_pdf():
    day = register.parse_day(request.args.get("day"))
    return pdf_response(register.register_pdf(day), f"{register.file_stem(day)}.pdf")


@bp.route("/register.csv")
@roles_required(Role.MAILROOM)
def register_csv():
    day = register.parse_day(request.args.get("day"))
    return csv_response(register.register_csv(day), f"{register.file_stem(day)}.csv")


# --- item labels -----------------------------------------------------------------------------------


@bp.route("/items/<int:item_id>/label", methods=["POST"])
@roles_required(Role.MAILROOM)
def item_label(item_id: int):
    item = _item(item_id)
    pdf = printing_labels.print_item_label(item, user=current_user)
    db.session.commit()
    return pdf_response(pdf, f"etikett-{item.incoming_number}.pdf")


@bp.route("/labels", methods=["GET", "POST"])
@roles_required(Role.MAILROOM)
def label_sheet():
    if request.method == "POST":
        try:
            ids = [int(value) for value in request.form.getlist("item_id")]
        except ValueError:
            raise ValidationFailed("Ungültige Auswahl. Bitte die Liste neu laden.") from None
        items = printing_labels.items_by_ids(ids)
        pdf = printing_labels.print_label_sheet(items, skip=request.form.get("skip", "0"), user=current_user)
        db.session.commit()
        return pdf_response(pdf, f"etiketten-{local_today().isoformat()}.pdf")
    day = register.parse_day(request.args.get("day"))
    show_all = request.args.get("all") == "1"
    items = printing_labels.label_candidates(day, only_without_carrier_code=not show_all)
    return render_template(
        "intake/records/labels.html",
        day=day,
        items=items,
        printed=printing_labels.printed_item_ids(items),
        show_all=show_all,
        kind_labels=ITEM_KIND_LABELS,
        today=local_today(),
    )

"""Outgoing mail: postage reports (month, year, exports) for the mail room; tariffs, budgets and import
mappings for admins. Registered on the `outgoing` blueprint."""

from __future__ import annotations

import json
from datetime import timedelta

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from mailroom.errors import DomainError, ValidationFailed
from mailroom.extensions import db
from mailroom.models import Role
from mailroom.services.clock import local_today
from mailroom.services.dates import parse_day
from mailroom.services.outgoing import budgets, catalogue, exports, importer, reports
from mailroom.services.outgoing.catalogue import format_eur, parse_eur
from mailroom.services.outgoing.units import CostCentres
from mailroom.web.access import roles_required
from mailroom.web.downloads import csv_response, pdf_response
from mailroom.web.outgoing.views import bp


def _month():
    return reports.parse_month(request.args.get("month"), local_today())


@bp.route("/report")
@roles_required(Role.MAILROOM)
def report():
    try:
        start = _month()
    except DomainError as exc:
        flash(exc.message, "error")
        start = local_today().replace(day=1)
    previous = (start.replace(day=1) - timedelta(days=1)).replace(day=1)
    return render_template(
        "outgoing/report.html",
        report=reports.month_report(start),
        budget_uses=budgets.uses_for_month(start),
        previous=f"{previous:%Y-%m}",
        following=f"{reports.month_end(start):%Y-%m}",
        eur=format_eur,
    )


@bp.route("/report.json")
@roles_required(Role.MAILROOM)
def report_json():
    """The month report as JSON (the same fields as `mailroom outgoing report --json`)."""
    return jsonify(reports.month_report(_month()).as_json())


@bp.route("/report.csv")
@roles_required(Role.MAILROOM)
def report_csv():
    start = _month()
    return csv_response(exports.month_csv(start), f"porto-{start:%Y-%m}.csv")


@bp.route("/report.pdf")
@roles_required(Role.MAILROOM)
def report_pdf():
    start = _month()
    return pdf_response(exports.month_pdf(start), f"porto-{start:%Y-%m}.pdf")


@bp.route("/charge-back.csv")
@roles_required(Role.MAILROOM)
def charge_back_csv():
    start = _month()
    return csv_response(exports.charge_back_csv(start), f"verrechnung-{start:%Y-%m}.csv")


@bp.route("/year")
@roles_required(Role.MAILROOM)
def year():
    try:
        number = reports.parse_year(request.args.get("year"), local_today())
    except DomainError as exc:
        flash(exc.message, "error")
        number = local_today().year
    view = reports.year_view(number, through=local_today())
    return render_template(
        "outgoing/year.html", view=view, chart=reports.year_chart_svg(view), months=reports.MONTHS, eur=format_eur
    )


@bp.route("/year.csv")
@roles_required(Role.MAILROOM)
def year_csv():
    number = reports.parse_year(request.args.get("year"), local_today())
    return csv_response(exports.year_csv(number, through=local_today()), f"postausgang-{number}.csv")


# --- admins: tariffs, budgets, import mappings ----------------------------------------------------


def _tariffs_page(*, status: int = 200, error: str | None = None, form: dict | None = None):
    dates, table = catalogue.price_table()
    return (
        render_template(
            "outgoing/tariffs.html", dates=dates, table=table, eur=format_eur, form_error=error, form=form or {}
        ),
        status,
    )


@bp.route("/tariffs")
@roles_required()
def tariffs():
    return _tariffs_page()[0]


@bp.route("/tariffs", methods=["POST"])
@roles_required()
def add_price_list():
    form = request.form
    try:
        if form.get("action") == "seed":
            added = catalogue.seed_default_tariffs()
            db.session.commit()
            flash(f"{added} Produkte und Preise angelegt.", "success")
            return redirect(url_for("outgoing.tariffs"))
        valid_from = parse_day(form.get("valid_from"), what="Gültig ab")
        prices: dict[str, int | None] = {}
        for name, value in form.items():
            if name.startswith("p-") and value.strip():
                text = value.strip()
                prices[name[2:]] = None if text == "-" else parse_eur(text, f"Preis für {name[2:]}")
        added = catalogue.add_price_list(valid_from, prices, user_id=current_user.id, note=form.get("note", ""))
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _tariffs_page(status=exc.status, error=exc.message, form=form)
    flash(f"Preisliste ab {valid_from:%d.%m.%Y} mit {added} Preisen angelegt.", "success")
    return redirect(url_for("outgoing.tariffs"))


def _budgets_page(year: int, *, status: int = 200, error: str | None = None, form: dict | None = None):
    return (
        render_template(
            "outgoing/budgets.html",
            year=year,
            uses=budgets.all_budgets(year),
            cost_centres=CostCentres().choices(),
            eur=format_eur,
            form_error=error,
            form=form or {},
        ),
        status,
    )


@bp.route("/budgets")
@roles_required()
def budget_list():
    try:
        number = reports.parse_year(request.args.get("year"), local_today())
    except DomainError as exc:
        flash(exc.message, "error")
        number = local_today().year
    return _budgets_page(number)[0]


def _int(value: str | None, what: str) -> int:
    text = (value or "").strip()
    if not text.lstrip("-").isdigit():
        raise ValidationFailed(f"{what} muss eine ganze Zahl sein.")
    return int(text)


@bp.route("/budgets", methods=["POST"])
@roles_required()
def save_budget():
    form = request.form
    year = local_today().year
    try:
        if form.get("delete"):
            budgets.delete_budget(_int(form.get("delete"), "Das Budget"))
            db.session.commit()
            flash("Budget gelöscht.", "success")
            return redirect(url_for("outgoing.budget_list", year=form.get("year") or None))
        year = _int(form.get("year"), "Das Jahr")
        month = _int(form.get("month"), "Der Monat") if (form.get("month") or "").strip() else None
        budget = budgets.set_budget(
            form.get("cost_centre", ""),
            year,
            month,
            parse_eur(form.get("amount", ""), "Das Budget"),
            _int(form.get("warn_percent") or "80", "Die Warnschwelle"),
        )
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _budgets_page(year, status=exc.status, error=exc.message, form=form)
    flash(f"Budget für Kostenstelle {budget.cost_centre} gespeichert.", "success")
    return redirect(url_for("outgoing.budget_list", year=year))


def _mappings_page(*, status: int = 200, error: str | None = None, form: dict | None = None):
    return (
        render_template(
            "outgoing/mappings.html",
            mappings=importer.list_mappings(),
            fields=importer.FIELDS,
            standard=importer.STANDARD,
            date_formats=importer.DATE_FORMATS,
            form_error=error,
            form=form or {},
        ),
        status,
    )


@bp.route("/mappings")
@roles_required()
def mappings():
    return _mappings_page()[0]


@bp.route("/mappings", methods=["POST"])
@roles_required()
def save_mapping():
    form = request.form
    try:
        products_text = (form.get("products") or "").strip()
        try:
            products = json.loads(products_text) if products_text else {}
        except ValueError:
            raise ValidationFailed(
                'Die Produktzuordnung ist kein gültiges JSON (z. B. {"STD": "standardbrief"}).'
            ) from None
        if not isinstance(products, dict):
            raise ValidationFailed("Die Produktzuordnung muss ein JSON-Objekt sein.")
        config = {
            "columns": {f: form.get(f"col-{f}", "") for f in importer.FIELDS},
            "date_format": form.get("date_format"),
            "postage_unit": form.get("postage_unit"),
            "postage_per_piece": form.get("postage_per_piece") == "1",
            "products": products,
        }
        row = importer.save_mapping(form.get("name", ""), config)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _mappings_page(status=exc.status, error=exc.message, form=form)
    flash(f"Spaltenzuordnung „{row.name}“ gespeichert.", "success")
    return redirect(url_for("outgoing.mappings"))

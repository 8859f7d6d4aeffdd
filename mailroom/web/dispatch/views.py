"""Daily dispatch pages: plan the day's tours, adjust them, print the route sheets, follow the day.

Planning runs off the request (the page never freezes): the view records a running `PlanRun`, queues it
for `mailroom worker` (mailroom/worker.py: claim, heartbeat, `dispatch.execute_plan_run(run_id)`) and
redirects; the page polls `run_status`.
"""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from mailroom import worker
from mailroom.errors import ValidationFailed
from mailroom.extensions import db
from mailroom.models import ItemKind, Role, Site, StopStatus, TourStatus
from mailroom.services import clock, dates, dispatch, printing
from mailroom.web.access import roles_required
from mailroom.web.actions import commit_or_flash
from mailroom.web.dispatch.forms import AdhocStopForm, BreakdownForm, EmptyForm
from mailroom.web.downloads import pdf_response

bp = Blueprint("dispatch", __name__, url_prefix="/dispatch")

FORM_EXPIRED = "Das Formular ist abgelaufen. Bitte erneut versuchen."


def _day_arg(value: str | None = None):
    raw = value if value is not None else request.values.get("date")
    return clock.local_today() if not raw else dates.parse_day(raw)


def _to_day(day, anchor: str | None = None):
    url = url_for("dispatch.day", date=day.isoformat())
    return redirect(url + (f"#{anchor}" if anchor else ""))


def _flash_form_errors(form) -> None:
    for errors in form.errors.values():
        for error in errors if isinstance(errors, list) else [errors]:
            flash(str(error), "error")


@bp.route("/")
@roles_required(Role.MAILROOM)
def day():
    page = dispatch.day_page(_day_arg())
    adhoc_form = AdhocStopForm(date=page.day.isoformat())
    site_choices = [(s.id, f"{s.code} – {s.name}") for s in _sites() if not s.is_depot]
    adhoc_form.site_id.choices = [(0, "– Standort wählen –"), *site_choices]
    adhoc_form.deliver_to_site_id.choices = [(0, "– zur Poststelle –"), *site_choices]
    return render_template(
        "dispatch/day.html",
        **page.as_context(),
        adhoc_form=adhoc_form,
        button=EmptyForm(),
        breakdown_form=BreakdownForm(),
        StopStatus=StopStatus,
        TourStatus=TourStatus,
        reason_label=dispatch.reason_label,
        kind_label=_kind_label,
    )


def _kind_label(kind: str | None) -> str:
    return ItemKind(kind).label if kind else ""


def _sites() -> list[Site]:
    return list(db.session.scalars(select(Site).where(Site.active).order_by(Site.code)))


def _drivers_from_form(vehicle_ids) -> dict[int, int | None]:
    """The drivers chosen on the planning form (vans not on the form keep the usual driver)."""
    drivers: dict[int, int | None] = {}
    for vehicle_id in vehicle_ids:
        raw = request.form.get(f"driver_{vehicle_id}")
        if raw is None:
            continue
        if raw and not raw.isdigit():
            raise ValidationFailed("Ungültige Fahrerauswahl.")
        drivers[vehicle_id] = int(raw) if raw else None
    return drivers


@bp.route("/plan", methods=["POST"])
@roles_required(Role.MAILROOM)
def plan():
    day = _day_arg(request.form.get("date", ""))
    if not EmptyForm().validate_on_submit():
        flash(FORM_EXPIRED, "error")
        return _to_day(day)
    ok, run = commit_or_flash(
        lambda: dispatch.start_plan_run(
            day,
            user=current_user,
            return_by=request.form.get("return_by"),
            drivers=_drivers_from_form(v.id for v in dispatch.available_vehicles(day)),
        )
    )
    if not ok or run is None:
        return _to_day(day)
    worker.plan_run(run.id)  # `mailroom worker` claims and executes it (inline in tests: immediate mode)
    return redirect(url_for("dispatch.day", date=day.isoformat(), run=run.id))


@bp.route("/runs/<int:run_id>/status")
@roles_required(Role.MAILROOM)
def run_status(run_id: int):
    run = dispatch.get_run(run_id)
    data = dispatch.run_status(run)
    data["day_url"] = url_for("dispatch.day", date=run.service_date.isoformat())
    return jsonify(data)


@bp.route("/tours/<int:tour_id>/driver", methods=["POST"])
@roles_required(Role.MAILROOM)
def set_driver(tour_id: int):
    tour = dispatch.get_tour(tour_id)
    raw = request.form.get("driver_id", "")
    if EmptyForm().validate_on_submit():
        commit_or_flash(lambda: dispatch.assign_driver(tour, _driver_id(raw)), "Fahrer geändert.")
    return _to_day(tour.service_date, anchor=f"tour-{tour.id}")


def _driver_id(raw: str) -> int | None:
    if raw and not raw.isdigit():
        raise ValidationFailed("Ungültige Fahrerauswahl.")
    return int(raw) if raw else None


@bp.route("/tours/<int:tour_id>/pins", methods=["POST"])
@roles_required(Role.MAILROOM)
def pins(tour_id: int):
    tour = dispatch.get_tour(tour_id)
    if not EmptyForm().validate_on_submit():
        flash(FORM_EXPIRED, "error")
        return _to_day(tour.service_date)
    pinned: list[int] = []

    def replan():
        pinned.extend(_pinned_order(tour))
        return dispatch.replan_tour(tour, pinned, user=current_user)

    def message(_run) -> str:
        count = len(pinned)
        fixed = "1 Stopp fixiert" if count == 1 else f"{count} Stopps fixiert"
        return f"Tour {tour.vehicle.code} neu geplant ({fixed})."

    commit_or_flash(replan, message)
    return _to_day(tour.service_date, anchor=f"tour-{tour.id}")


def _pinned_order(tour) -> list[int]:
    chosen = []
    for raw in request.form.getlist("pin"):
        if not raw.isdigit():
            raise ValidationFailed("Ungültige Auswahl.")
        stop_id = int(raw)
        order_raw = request.form.get(f"order_{stop_id}", "").strip()
        try:
            order = float(order_raw.replace(",", ".")) if order_raw else 1e9
        except ValueError:
            raise ValidationFailed(f"„{order_raw[:20]}“ ist keine Reihenfolge-Nummer.") from None
        current = next((s.position for s in tour.stops if s.id == stop_id), 0)
        chosen.append((order, current, stop_id))
    return [stop_id for _, _, stop_id in sorted(chosen)]


@bp.route("/tours/<int:tour_id>/breakdown", methods=["POST"])
@roles_required(Role.MAILROOM)
def breakdown(tour_id: int):
    tour = dispatch.get_tour(tour_id)
    form = BreakdownForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return _to_day(tour.service_date, anchor=f"tour-{tour.id}")
    if (form.lat.data is None) != (form.lon.data is None):
        flash("Bitte Breite und Länge angeben (oder beide leer lassen).", "error")
        return _to_day(tour.service_date, anchor=f"tour-{tour.id}")
    position = (form.lat.data, form.lon.data) if form.lat.data is not None else None

    code = tour.vehicle.code
    ok, run = commit_or_flash(lambda: dispatch.replan_breakdown(tour, user=current_user, position=position))
    if ok and run is not None:
        notice = dispatch.breakdown_notice(tour) or {}
        takers = ", ".join(
            t["vehicle"] + (f" ({t['driver']})" if t["driver"] else "") for t in notice.get("takers", [])
        )
        fetch = len(notice.get("fetch", []))
        if takers:
            text = f"Ausfall {code}: offene Stopps neu verteilt auf {takers}."
        else:
            text = f"Ausfall {code}: kein anderes Fahrzeug kann die offenen Stopps übernehmen."
        if fetch:
            text += f" {fetch} Sendung{'en' if fetch != 1 else ''} im Fahrzeug {code} bitte abholen (steht am Stopp)."
        lost = len(run.unserved or [])
        if lost:
            stops = "1 Stopp ist" if lost == 1 else f"{lost} Stopps sind"
            text += f" {stops} heute nicht mehr bedienbar (siehe „Nicht bedienbar“)."
        flash(text.strip(), "warning" if lost or not takers else "success")
    return _to_day(tour.service_date)


@bp.route("/stops/<int:stop_id>/move", methods=["POST"])
@roles_required(Role.MAILROOM)
def move(stop_id: int):
    stop = dispatch.get_stop(stop_id)
    day = stop.tour.service_date
    raw = request.form.get("tour_id", "")
    if not EmptyForm().validate_on_submit() or not raw.isdigit():
        flash("Bitte eine Ziel-Tour wählen.", "error")
        return _to_day(day)
    target = dispatch.get_tour(int(raw))
    code = stop.site.code
    commit_or_flash(
        lambda: dispatch.move_stop(stop, target, user=current_user),
        f"Stopp {code} zu {target.vehicle.code} verschoben; beide Touren neu geplant.",
    )
    return _to_day(day, anchor=f"tour-{target.id}")


@bp.route("/adhoc", methods=["POST"])
@roles_required(Role.MAILROOM)
def adhoc_add():
    day = _day_arg(request.form.get("date", ""))
    form = AdhocStopForm()
    form.site_id.choices = [(s.id, s.code) for s in _sites()]
    form.deliver_to_site_id.choices = [(0, ""), *form.site_id.choices]
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return _to_day(day, anchor="adhoc")
    commit_or_flash(
        lambda: dispatch.add_adhoc_stop(
            day,
            form.site_id.data,
            user=current_user,
            pickup_boxes=form.pickup_boxes.data or 0,
            must_visit=form.must_visit.data,
            note=form.note.data or "",
            deliver_to_site_id=form.deliver_to_site_id.data or None,
        ),
        "Sonderstopp angelegt. Bitte neu planen, damit er in eine Tour kommt.",
    )
    return _to_day(day, anchor="adhoc")


@bp.route("/adhoc/<int:stop_id>/delete", methods=["POST"])
@roles_required(Role.MAILROOM)
def adhoc_delete(stop_id: int):
    day = _day_arg(request.form.get("date", ""))
    if EmptyForm().validate_on_submit():
        commit_or_flash(lambda: dispatch.delete_adhoc_stop(stop_id), "Sonderstopp entfernt.")
    return _to_day(day, anchor="adhoc")


@bp.route("/sheets.pdf")
@roles_required(Role.MAILROOM)
def sheets():
    day = _day_arg()
    pdf = printing.route_sheets_pdf(day)
    return pdf_response(pdf, f"laufzettel-{day.isoformat()}.pdf", attachment=True)


@bp.route("/overview")
@roles_required(Role.MAILROOM)
def overview():
    day = _day_arg()
    return render_template(
        "dispatch/overview.html",
        day=day,
        day_label=dispatch.day_label(day),
        progress=dispatch.overview(day),
        items_out=dispatch.items_still_out(day),
        TourStatus=TourStatus,
        StopStatus=StopStatus,
        kind_label=_kind_label,
        now=clock.now_utc(),
    )

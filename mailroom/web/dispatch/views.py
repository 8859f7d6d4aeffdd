"""Daily dispatch pages: plan the day's tours, adjust them, print the route sheets, follow the day.

Planning runs in a background thread with its own app context (the page never freezes): the view
records a running `PlanRun`, starts the thread and redirects; the page polls `run_status`.
"""

from __future__ import annotations

import threading

from flask import Blueprint, Response, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from mailroom.errors import DomainError, ValidationFailed
from mailroom.extensions import db
from mailroom.models import ItemKind, Role, Site, StopStatus, TourStatus
from mailroom.services import clock, dispatch, printing, workdays
from mailroom.web.access import roles_required
from mailroom.web.dispatch.forms import AdhocStopForm, BreakdownForm, EmptyForm

bp = Blueprint("dispatch", __name__, url_prefix="/dispatch")


def _day_arg(value: str | None = None):
    raw = value if value is not None else request.values.get("date")
    return clock.local_today() if not raw else dispatch.parse_day(raw)


def _to_day(day, **anchor):
    url = url_for("dispatch.day", date=day.isoformat())
    return redirect(url + (f"#{anchor['anchor']}" if anchor.get("anchor") else ""))


def _act(message: str, action) -> bool:
    """One transaction per action: commit on success, roll back and show the German reason otherwise."""
    try:
        result = action()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return False
    db.session.commit()
    if message:
        flash(message if not callable(message) else message(result), "success")
    return True


@bp.route("/")
@roles_required(Role.MAILROOM)
def day():
    day = _day_arg()
    vehicles = dispatch.all_vehicles()
    available = [v for v in vehicles if v.is_available_on(day)]
    tours = dispatch.tours_of(day)
    stops = dispatch.day_stops(day)
    run = dispatch.latest_run(day)
    running = dispatch.running_run(day)
    items = dispatch.items_by_stop(tours)
    drivers = {t.vehicle_id: t.driver_id for t in tours if t.driver_id} or dispatch.default_drivers(day, available)
    adhoc_form = AdhocStopForm(date=day.isoformat())
    site_choices = [(s.id, f"{s.code} – {s.name}") for s in _sites() if not s.is_depot]
    adhoc_form.site_id.choices = [(0, "– Standort wählen –"), *site_choices]
    adhoc_form.deliver_to_site_id.choices = [(0, "– zur Poststelle –"), *site_choices]
    open_tours = [t for t in tours if t.status in (TourStatus.PLANNED, TourStatus.STARTED)]
    return render_template(
        "dispatch/day.html",
        day=day,
        day_label=dispatch.day_label(day),
        vehicles=vehicles,
        available=available,
        couriers=dispatch.couriers(),
        drivers=drivers,
        tours=tours,
        open_tours=open_tours,
        stops=stops,
        items=items,
        run=run,
        running=running,
        unserved=dispatch.unserved_for_display(run),
        templates=dispatch.templates_for(day),
        adhoc=dispatch.adhoc_stops(day),
        adhoc_form=adhoc_form,
        button=EmptyForm(),
        breakdown_form=BreakdownForm(),
        map_data=dispatch.map_data(day, tours, stops),
        usable_range={v.id: dispatch.usable_range_km(v, day) for v in vehicles},
        StopStatus=StopStatus,
        TourStatus=TourStatus,
        reason_label=dispatch.reason_label,
        kind_label=_kind_label,
        any_started=any(t.status != TourStatus.PLANNED for t in tours),
        return_by=dispatch.default_return_by(day),
        holiday=workdays.holiday(day),
        tour_of_vehicle={t.vehicle_id: t for t in tours if t.status != TourStatus.CANCELLED},
        shift_hours=dispatch.shift_hours(),
    )


def _kind_label(kind: str | None) -> str:
    return ItemKind(kind).label if kind else ""


def _sites() -> list[Site]:
    from sqlalchemy import select

    return list(db.session.scalars(select(Site).where(Site.active).order_by(Site.code)))


def _drivers_from_form(vehicle_ids) -> dict[int, int | None]:
    drivers: dict[int, int | None] = {}
    for vehicle_id in vehicle_ids:
        if f"driver_{vehicle_id}" not in request.form:
            continue  # not chosen on the form: the day's or the usual driver
        raw = request.form[f"driver_{vehicle_id}"]
        if not raw:
            drivers[vehicle_id] = None
            continue
        if not raw.isdigit():
            raise ValidationFailed("Ungültige Fahrerauswahl.")
        drivers[vehicle_id] = int(raw)
    chosen = [d for d in drivers.values() if d is not None]
    if len(chosen) != len(set(chosen)):
        raise ValidationFailed("Eine Person kann nicht zwei Fahrzeuge zugleich fahren.")
    people = {u.id for u in dispatch.couriers()}
    if any(d not in people for d in chosen):
        raise ValidationFailed("Bitte nur Botinnen und Boten (Rolle Botendienst) als Fahrer wählen.")
    return drivers


@bp.route("/plan", methods=["POST"])
@roles_required(Role.MAILROOM)
def plan():
    day = _day_arg(request.form.get("date", ""))
    if not EmptyForm().validate_on_submit():
        flash("Das Formular ist abgelaufen. Bitte erneut versuchen.", "error")
        return _to_day(day)
    try:
        drivers = _drivers_from_form(v.id for v in dispatch.available_vehicles(day))
        run = dispatch.start_plan_run(day, user=current_user, return_by=request.form.get("return_by"))
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _to_day(day)
    db.session.commit()
    _start_in_background(run.id, drivers)
    return redirect(url_for("dispatch.day", date=day.isoformat(), run=run.id))


def _start_in_background(run_id: int, drivers: dict[int, int | None]) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    thread = threading.Thread(target=_execute_run, args=(app, run_id, drivers), name=f"plan-run-{run_id}", daemon=True)
    thread.start()


def _execute_run(app, run_id: int, drivers: dict[int, int | None]) -> None:
    """Thread body: its own app context and session; one transaction, or the run marked failed."""
    with app.app_context():
        try:
            run = dispatch.get_run(run_id)
            kept = {t.vehicle_id: t.driver_id for t in dispatch.tours_of(run.service_date) if t.driver_id}
            chosen = {**dispatch.default_drivers(run.service_date, dispatch.available_vehicles(run.service_date))}
            chosen.update(kept)
            chosen.update(drivers)
            dispatch.plan_day(run.service_date, user=None, run=run, drivers=chosen)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            dispatch.fail_plan_run(run_id, exc.message)
            db.session.commit()
        except Exception:
            db.session.rollback()
            app.logger.exception("plan run %s failed", run_id)
            dispatch.fail_plan_run(run_id, "Interner Fehler beim Planen. Bitte erneut versuchen.")
            db.session.commit()


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
        if raw and not raw.isdigit():
            flash("Ungültige Fahrerauswahl.", "error")
        else:
            _act("Fahrer geändert.", lambda: dispatch.assign_driver(tour, int(raw) if raw else None))
    return _to_day(tour.service_date, anchor=f"tour-{tour.id}")


@bp.route("/tours/<int:tour_id>/pins", methods=["POST"])
@roles_required(Role.MAILROOM)
def pins(tour_id: int):
    tour = dispatch.get_tour(tour_id)
    if not EmptyForm().validate_on_submit():
        flash("Das Formular ist abgelaufen. Bitte erneut versuchen.", "error")
        return _to_day(tour.service_date)
    try:
        pinned = _pinned_order(tour)
    except ValidationFailed as exc:
        flash(exc.message, "error")
        return _to_day(tour.service_date, anchor=f"tour-{tour.id}")
    _act(
        f"Tour {tour.vehicle.code} neu geplant ({len(pinned)} Stopps fixiert).",
        lambda: dispatch.replan_tour(tour, pinned, user=current_user),
    )
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
        for errors in form.errors.values():
            for error in errors if isinstance(errors, list) else [errors]:
                flash(str(error), "error")
        return _to_day(tour.service_date, anchor=f"tour-{tour.id}")
    position = None
    if (form.lat.data is None) != (form.lon.data is None):
        flash("Bitte Breite und Länge angeben (oder beide leer lassen).", "error")
        return _to_day(tour.service_date, anchor=f"tour-{tour.id}")
    if form.lat.data is not None:
        position = (form.lat.data, form.lon.data)

    def message(run) -> str:
        lost = len(run.unserved or [])
        text = f"Ausfall {tour.vehicle.code}: offene Stopps neu verteilt."
        return text + (f" {lost} Stopp(s) nicht bedienbar (siehe unten)." if lost else "")

    _act(message, lambda: dispatch.replan_breakdown(tour, user=current_user, position=position))
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
    _act(
        f"Stopp {code} zu {target.vehicle.code} verschoben; beide Touren neu geplant.",
        lambda: dispatch.move_stop(stop, target, user=current_user),
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
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return _to_day(day, anchor="adhoc")
    _act(
        "Sonderstopp angelegt. Bitte neu planen, damit er in eine Tour kommt.",
        lambda: dispatch.add_adhoc_stop(
            day,
            form.site_id.data,
            user=current_user,
            pickup_boxes=form.pickup_boxes.data or 0,
            must_visit=form.must_visit.data,
            note=form.note.data or "",
            deliver_to_site_id=form.deliver_to_site_id.data or None,
        ),
    )
    return _to_day(day, anchor="adhoc")


@bp.route("/adhoc/<int:stop_id>/delete", methods=["POST"])
@roles_required(Role.MAILROOM)
def adhoc_delete(stop_id: int):
    day = _day_arg(request.form.get("date", ""))
    if EmptyForm().validate_on_submit():
        _act("Sonderstopp entfernt.", lambda: dispatch.delete_adhoc_stop(stop_id))
    return _to_day(day, anchor="adhoc")


@bp.route("/sheets.pdf")
@roles_required(Role.MAILROOM)
def sheets():
    day = _day_arg()
    pdf = printing.route_sheets_pdf(day)
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="laufzettel-{day.isoformat()}.pdf"'},
    )


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

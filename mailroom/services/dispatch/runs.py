"""Plan runs: planning a day with `routes` and storing its tours.

- A (re-)plan of a day replaces that day's tours only while none of them has started; once a tour is
  under way, the breakdown re-plan (`adjust.replan_breakdown`) moves open stops instead.
- Warm start: the routes of the last finished plan of the same stop template.
- From the web a plan is recorded as running (`start_plan_run`) and executed off the request by
  `execute_plan_run(run_id)`, the one job body (`complete_plan_run` gives it its transaction); the page
  polls `run_status`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

import routes
from mailroom.errors import DomainError, InvalidTransition, PlanningFailed
from mailroom.extensions import db
from mailroom.models import (
    MailEvent,
    MailItem,
    OdometerReading,
    PlanRun,
    PlanRunKind,
    PlanRunStatus,
    StopStatus,
    StopTemplate,
    Tour,
    TourStatus,
    User,
    Vehicle,
)
from mailroom.services import clock, setup, workdays
from mailroom.services.dispatch.day import (
    DayStop,
    available_vehicles,
    check_driver_choice,
    courier_pairs,
    day_label,
    day_stops,
    depot_site,
    drivers_for_day,
    parse_return_by,
    setting,
    shift_hours,
    templates_for,
    tours_of,
    usable_range_km,
)
from mailroom.services.dispatch.problem import build_problem, check_coordinates, tour_stop_from_visit
from mailroom.services.lookup import get_or_404


def previous_routes_for(template_id: int | None, *, before_run_id: int | None = None) -> dict[str, list[str]] | None:
    """The routes of the last finished plan of the same stop template (the warm start)."""
    if template_id is None:
        return None
    query = select(PlanRun).where(
        PlanRun.status == PlanRunStatus.DONE, PlanRun.routes.is_not(None), PlanRun.template_id == template_id
    )
    if before_run_id is not None:
        query = query.where(PlanRun.id != before_run_id)
    last = db.session.scalar(query.order_by(PlanRun.id.desc()).limit(1))
    return dict(last.routes) if last is not None and last.routes else None


def problem_for_day(
    day: date,
    stops: list[DayStop] | None = None,
    vehicles: list[Vehicle] | None = None,
    template_id: int | None = None,
    *,
    exclude_run_id: int | None = None,
    return_by: str | None = None,
) -> routes.Problem:
    """The optimiser's problem for a day, warm-started from the last plan of the same stop template."""
    if stops is None or vehicles is None:
        stops, vehicles, template = check_plannable(day)
        template_id = template.id if template else None
    warm = previous_routes_for(template_id, before_run_id=exclude_run_id)
    return build_problem(day, stops, vehicles, warm, return_by, courier_pairs(day))


def _check_replaceable(day: date) -> list[Tour]:
    tours = tours_of(day)
    busy = [t for t in tours if t.status != TourStatus.PLANNED]
    if busy:
        names = ", ".join(f"{t.vehicle.code} ({TourStatus(t.status).label})" for t in busy)
        raise InvalidTransition(
            f"Die Touren vom {day:%d.%m.%Y} sind schon unterwegs oder beendet ({names}); ein neuer Plan würde sie "
            "ersetzen. Bitte „Fahrzeugausfall: neu planen“ bzw. „Rest neu planen“ an der Tour verwenden.",
            code="tours_started",
        )
    ids = [t.id for t in tours]
    if ids:
        referenced = db.session.scalar(select(func.count(MailEvent.id)).where(MailEvent.tour_id.in_(ids))) or 0
        referenced += (
            db.session.scalar(select(func.count(OdometerReading.id)).where(OdometerReading.tour_id.in_(ids))) or 0
        )
        if referenced:
            raise InvalidTransition(
                f"Zu den Touren vom {day:%d.%m.%Y} gibt es schon Ladevorgänge oder Fahrtenbuch-Einträge; "
                "bitte die Ausfall-Neuplanung verwenden.",
                code="tours_started",
            )
    return tours


def missing_master_data() -> list[str]:
    """The set-up steps without which no tour can be planned (German); org units, couriers, templates may wait."""
    return setup.planning_blockers()


def check_plannable(day: date) -> tuple[list[DayStop], list[Vehicle], StopTemplate | None]:
    """What a plan of `day` would use; raises a German PlanningFailed when it cannot be planned."""
    missing = missing_master_data()
    if missing:
        raise PlanningFailed("Noch nicht eingerichtet: " + " ".join(missing), code="setup_incomplete")
    templates = templates_for(day)
    stops = day_stops(day)
    if not stops:
        closed = workdays.holiday(day)
        if closed:
            raise PlanningFailed(
                f"{day_label(day)} ist {closed}: keine Touren nach Stoppvorlage. "
                "Für eine Sonderfahrt bitte Sonderstopps anlegen.",
                code="holiday",
            )
        if not templates:
            raise PlanningFailed(
                f"Für {day_label(day)} gibt es keine Stoppvorlage und keine Sonderstopps: an diesem Tag fährt "
                "keine Tour. Für eine Sonderfahrt bitte Sonderstopps anlegen.",
                code="no_template",
            )
        raise PlanningFailed(f"Für {day_label(day)} sind keine Stopps vorgesehen.", code="no_stops")
    vehicles = available_vehicles(day)
    if not vehicles:
        raise PlanningFailed(
            f"Am {day:%d.%m.%Y} ist kein Fahrzeug verfügbar (alle in der Werkstatt oder außer Dienst).",
            code="no_vehicle",
        )
    check_coordinates(stops)
    depot_site()
    return stops, vehicles, (templates[0] if templates else None)


PLAN_RUNNING_MESSAGE = (
    "Für den {day:%d.%m.%Y} läuft gerade eine Planung. Bitte warten, bis sie fertig ist, und dann erneut "
    "versuchen (sonst würde der neue Plan diese Änderung überschreiben)."
)


def running_run(day: date) -> PlanRun | None:
    """The day's running plan, if any. Runs whose worker died (no heartbeat, see services/plan_jobs.py)
    are marked failed first (flushed with the caller's transaction), so the day can be planned again."""
    from mailroom.services import plan_jobs

    plan_jobs.fail_stale_runs(day)
    return db.session.scalar(
        select(PlanRun).where(PlanRun.service_date == day, PlanRun.status == PlanRunStatus.RUNNING).limit(1)
    )


def ensure_not_planning(day: date) -> None:
    """Refuse a change to the day's tours (adjustment, driver, Sonderstopp) while a plan of it runs."""
    if running_run(day) is not None:
        raise InvalidTransition(PLAN_RUNNING_MESSAGE.format(day=day), code="plan_running")


def start_plan_run(
    day: date,
    *,
    user: User | None,
    time_limit_s: float | None = None,
    return_by: str | None = None,
    drivers: Mapping[int, int | None] | None = None,
) -> PlanRun:
    """Record a plan as running (the caller commits and has `execute_plan_run(run.id)` executed off the
    request). `drivers`: the vans' drivers chosen on the form ({vehicle id: user id or None}).

    The day is checked here already, so that a plan that cannot work is refused at once."""
    return_by = parse_return_by(return_by)
    check_driver_choice(drivers or {})
    _check_replaceable(day)
    _, _, template = check_plannable(day)
    if running_run(day) is not None:
        raise InvalidTransition("Für diesen Tag läuft bereits eine Planung.", code="plan_running")
    run = PlanRun(
        service_date=day,
        template_id=template.id if template else None,
        kind=PlanRunKind.PLAN,
        created_by_id=user.id if user else None,
        status=PlanRunStatus.RUNNING,
        time_limit_s=float(time_limit_s or setting("PLAN_TIME_LIMIT_S")),
        return_by=return_by,
        drivers={str(vehicle_id): driver for vehicle_id, driver in (drivers or {}).items()},
    )
    db.session.add(run)
    try:
        db.session.flush()
    except IntegrityError:  # the partial unique index: another request started a plan of this day just now
        db.session.rollback()
        raise InvalidTransition("Für diesen Tag läuft bereits eine Planung.", code="plan_running") from None
    return run


def _drivers_of(run: PlanRun | None) -> dict[int, int | None]:
    return {int(vehicle_id): driver for vehicle_id, driver in ((run.drivers if run else None) or {}).items()}


def plan_day(
    day: date,
    *,
    user: User | None = None,
    time_limit_s: float | None = None,
    drivers: Mapping[int, int | None] | None = None,
    run: PlanRun | None = None,
    return_by: str | None = None,
) -> PlanRun:
    """Plan (or re-plan) the tours of `day` and store them; only flushes.

    Solves first, then replaces the day's tours in the same transaction: a refused or failed plan
    leaves the previous tours as they were. `return_by` ("HH:MM") brings every van back earlier than
    the shift end, which spreads the stops over more vans. `drivers` (else the run's choice) wins over
    the usual drivers (`drivers_for_day`)."""
    return_by = parse_return_by(return_by) or (run.return_by if run else None)
    old_tours = _check_replaceable(day)
    stops, vehicles, template = check_plannable(day)
    limit = float(time_limit_s or (run.time_limit_s if run else 0) or setting("PLAN_TIME_LIMIT_S"))
    template_id = template.id if template else None
    problem = problem_for_day(
        day, stops, vehicles, template_id, exclude_run_id=run.id if run else None, return_by=return_by
    )
    plan = routes.plan_tours(problem, time_limit_s=limit)

    chosen = drivers_for_day(day, vehicles, drivers if drivers is not None else _drivers_of(run))
    delete_tours(old_tours)

    if run is None:
        run = PlanRun(service_date=day, created_by_id=user.id if user else None)
        db.session.add(run)
    run.kind = PlanRunKind.REPLAN if old_tours else PlanRunKind.PLAN
    run.template_id = template_id
    run.total_km = round(plan.total_km, 2)
    run.solve_time_s = round(plan.solve_time_s, 3)
    run.time_limit_s = limit
    run.return_by = return_by
    run.routes = {t.vehicle_id: t.stop_ids for t in plan.tours if t.stop_ids}
    run.unserved = [{"site": u.stop_id, "reason": str(u.reason), "detail": u.detail} for u in plan.unserved]
    run.status = PlanRunStatus.DONE
    run.error = None
    run.finished_at = clock.now_utc()
    db.session.flush()

    by_code = {v.code: v for v in vehicles}
    stop_by_code = {s.site.code: s for s in stops}
    depot = depot_site()
    for rtour in plan.tours:
        if not rtour.stop_ids:
            continue
        vehicle = by_code[rtour.vehicle_id]
        tour = Tour(
            service_date=day,
            vehicle_id=vehicle.id,
            driver_id=chosen.get(vehicle.id),
            plan_run_id=run.id,
            status=TourStatus.PLANNED,
            planned_km=round(rtour.km, 2),
            range_km=round(rtour.range_km or usable_range_km(vehicle, day), 2),
            planned_start=clock.local_minutes_to_utc(day, rtour.start_min),
            planned_end=clock.local_minutes_to_utc(day, rtour.end_min),
        )
        db.session.add(tour)
        for position, visit in enumerate(rtour.visits, start=1):
            stop = stop_by_code.get(visit.stop_id)
            tour_stop = tour_stop_from_visit(day, visit, position, stop.site if stop else depot)
            if stop is not None:
                tour_stop.deliver_boxes = stop.deliver_boxes
                tour_stop.pickup_boxes = stop.pickup_boxes
                tour_stop.note = stop.note[:200]
            tour.stops.append(tour_stop)
        db.session.flush()
        for tour_stop in tour.stops:
            day_stop = stop_by_code.get(tour_stop.site.code) if not tour_stop.is_depot else None
            for item in day_stop.items if day_stop else ():
                item.tour_stop_id = tour_stop.id
    db.session.flush()
    return run


def delete_tours(tours: list[Tour]) -> None:
    """Remove tours and their stops; the items on them go back to the shelf (no stop)."""
    stop_ids = [s.id for t in tours for s in t.stops]
    if stop_ids:
        for item in db.session.scalars(select(MailItem).where(MailItem.tour_stop_id.in_(stop_ids))):
            item.tour_stop_id = None
        db.session.flush()
    for tour in tours:
        db.session.delete(tour)
    db.session.flush()


def execute_plan_run(run_id: int, *, drivers: Mapping[int, int | None] | None = None) -> PlanRun:
    """The job body of a recorded plan run: plan its day into the run (with the drivers chosen when it
    was started, or `drivers`). Only flushes; raises a DomainError (German) when the day cannot be
    planned. Needs an app context; the caller owns the transaction (`complete_plan_run`, the worker)."""
    run = get_run(run_id)
    if run.status != PlanRunStatus.RUNNING:
        raise InvalidTransition("Dieser Planungslauf ist schon abgeschlossen.", code="plan_finished")
    return plan_day(run.service_date, run=run, drivers=drivers)


def complete_plan_run(run_id: int) -> PlanRunStatus:
    """`execute_plan_run` in its own transaction: commit the tours and the finished run, or roll back and
    mark the run failed with the German reason (the day keeps its previous tours)."""
    try:
        execute_plan_run(run_id)
        db.session.commit()
        return PlanRunStatus.DONE
    except DomainError as exc:
        db.session.rollback()
        fail_plan_run(run_id, exc.message)
    except Exception:
        db.session.rollback()
        current_app.logger.exception("plan run %s failed", run_id)
        fail_plan_run(run_id, "Interner Fehler beim Planen. Bitte erneut versuchen.")
    db.session.commit()
    return PlanRunStatus.FAILED


def fail_plan_run(run_id: int, message: str) -> None:
    run = db.session.get(PlanRun, run_id)
    if run is not None:
        run.status = PlanRunStatus.FAILED
        run.error = message[:500]
        run.finished_at = clock.now_utc()
        db.session.flush()


def run_status(run: PlanRun) -> dict:
    """What the planning page polls: status, progress 0..1 over the time limit, message."""
    from mailroom.services import plan_jobs

    status = PlanRunStatus(run.status)
    now = clock.now_utc()
    elapsed = ((run.finished_at or now) - run.created_at).total_seconds()
    if status == PlanRunStatus.RUNNING and plan_jobs.is_stale(run, now):
        status = PlanRunStatus.FAILED
        message = plan_jobs.STALE_MESSAGE if run.heartbeat_at is not None else plan_jobs.UNCLAIMED_MESSAGE
    elif status == PlanRunStatus.RUNNING:
        message = f"Optimiere Touren … {min(elapsed, run.time_limit_s):.0f} von {run.time_limit_s:.0f} s"
    elif status == PlanRunStatus.DONE:
        served = sum(len(codes) for codes in (run.routes or {}).values())
        message = f"Fertig: {served} Stopps geplant, {run.total_km:.1f} km".replace(".", ",")
        if run.unserved:
            message += f", {len(run.unserved)} nicht bedienbar"
    else:
        message = run.error or "Die Planung ist fehlgeschlagen."
    progress = 1.0 if status != PlanRunStatus.RUNNING else min(0.99, elapsed / max(run.time_limit_s, 0.1))
    return {
        "id": run.id,
        "date": run.service_date.isoformat(),
        "status": str(status),
        "progress": round(progress, 3),
        "elapsed_s": round(elapsed, 1),
        "time_limit_s": run.time_limit_s,
        "message": message,
    }


def latest_run(day: date) -> PlanRun | None:
    return db.session.scalar(select(PlanRun).where(PlanRun.service_date == day).order_by(PlanRun.id.desc()).limit(1))


def default_return_by(day: date) -> str:
    """What the return-by field shows: the choice of the day's last plan, else the shift end."""
    run = db.session.scalar(
        select(PlanRun)
        .where(PlanRun.service_date == day, PlanRun.status == PlanRunStatus.DONE, PlanRun.return_by.is_not(None))
        .order_by(PlanRun.id.desc())
        .limit(1)
    )
    return run.return_by if run is not None and run.return_by else shift_hours()[1]


def get_run(run_id: int) -> PlanRun:
    return get_or_404(PlanRun, run_id, "Planungslauf nicht gefunden.")


def plan_summary(day: date) -> dict:
    """The CLI's JSON: {"date", "tours": [{"vehicle", "km", "stops"}], "unserved": [{"site", "reason"}]}."""
    run = latest_run(day)
    tours = tours_of(day, include_cancelled=False)
    return {
        "date": day.isoformat(),
        "tours": [
            {
                "vehicle": t.vehicle.code,
                "km": round(t.planned_km, 1),
                "stops": [s.site.code for s in t.stops if not s.is_depot and s.status != StopStatus.SKIPPED],
            }
            for t in tours
        ],
        "unserved": [{"site": u["site"], "reason": u["reason"]} for u in (run.unserved or [])] if run else [],
    }

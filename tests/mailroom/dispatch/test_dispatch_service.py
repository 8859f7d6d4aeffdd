"""The dispatch service: planning the demo day, warm start, adjusting, breakdown, bad input."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from mailroom.errors import InvalidTransition, PlanningFailed, ValidationFailed
from mailroom.extensions import db
from mailroom.models import (
    AdhocStop,
    ItemKind,
    ItemStatus,
    MailItem,
    PlanRun,
    Site,
    StopStatus,
    StopTemplate,
    Tour,
    TourStatus,
    TourStop,
    Vehicle,
)
from mailroom.services import clock, dispatch
from tests.mailroom.dispatch.conftest import MONDAY, PLAN_LIMIT_S, SATURDAY, add_sorted_items


def _template_codes() -> set[str]:
    template = db.session.scalar(select(StopTemplate))
    return {e.site.code for e in template.entries}


def _served(day=MONDAY) -> Counter:
    return Counter(
        s.site.code
        for t in dispatch.tours_of(day, include_cancelled=False)
        for s in t.stops
        if not s.is_depot and s.status != StopStatus.SKIPPED
    )


def _local(day, hh, mm=0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=clock.LOCAL_TZ)


# --- planning ---------------------------------------------------------------------------------------


def test_plan_demo_day_serves_every_site_once(app, demo):
    items = add_sorted_items()
    run = dispatch.plan_day(MONDAY, time_limit_s=PLAN_LIMIT_S)
    db.session.commit()

    assert run.status == "done" and run.unserved == []
    served = _served()
    assert set(served) == _template_codes() and len(served) == 40
    assert all(count == 1 for count in served.values())
    tours = dispatch.tours_of(MONDAY)
    assert {t.vehicle.code for t in tours} <= {"E1", "E2"}
    assert run.routes == {t.vehicle.code: [s.site.code for s in t.stops if not s.is_depot] for t in tours}
    shift_start = _local(MONDAY, 9, 30)
    for tour in tours:
        assert tour.status == TourStatus.PLANNED and tour.driver_id is not None
        assert 0 < tour.planned_km <= tour.range_km
        assert tour.planned_start >= shift_start and tour.planned_end <= _local(MONDAY, 15, 30)
        etas = [s.eta for s in tour.stops]
        assert etas == sorted(etas) and all(e.tzinfo is not None for e in etas)
        kms = [s.km_after for s in tour.stops]
        assert kms == sorted(kms) and kms[-1] <= tour.planned_km
        for stop in tour.stops:
            if stop.is_depot:
                continue
            local_eta = stop.eta.astimezone(clock.LOCAL_TZ).time()
            opens, closes = stop.site.opens, stop.site.closes
            assert opens <= local_eta <= closes, (stop.site.code, local_eta)
            assert stop.pickup_boxes == 1 and stop.load_after <= tour.vehicle.capacity_boxes
    # Every sorted item is assigned to the stop of its site and is still sorted (loaded at tour start).
    by_site = {s.site_id: s for t in tours for s in t.stops if not s.is_depot}
    for item in items:
        db.session.refresh(item)
        assert item.status == ItemStatus.SORTED
        assert item.tour_stop_id == by_site[item.site_id].id
    stop_rh = next(s for s in by_site.values() if s.site.code == "RH")
    assert stop_rh.deliver_boxes == 2  # one parcel + one box of letters


def test_boxes_parcels_count_alone_letters_by_the_box(sqlite_app):
    def items(parcels: int, letters: int) -> list[MailItem]:
        return [MailItem(kind=ItemKind.PAKET) for _ in range(parcels)] + [
            MailItem(kind=ItemKind.BRIEF) for _ in range(letters)
        ]

    assert dispatch.boxes_for([]) == 0
    assert dispatch.boxes_for(items(0, 1)) == 1
    assert dispatch.boxes_for(items(0, 25)) == 1
    assert dispatch.boxes_for(items(3, 26)) == 5
    sqlite_app.config["ITEMS_PER_BOX"] = 10
    assert dispatch.boxes_for(items(1, 21)) == 4


def test_day_stops_template_plus_adhoc(demo_sqlite):
    site = db.session.scalar(select(Site).where(Site.code == "RH"))
    dispatch.add_adhoc_stop(MONDAY, site.id, user=None, pickup_boxes=4, note="Umzugskartons")
    db.session.commit()
    stops = {s.site.code: s for s in dispatch.day_stops(MONDAY)}
    assert len(stops) == 40
    assert stops["RH"].pickup_boxes == 4 and stops["RH"].note == "Umzugskartons"
    assert stops["SH"].pickup_boxes == 1 and stops["SH"].deliver_boxes == 0  # empty delivery is still a stop
    # On a Saturday only the ad-hoc stop is served.
    extra = dispatch.add_adhoc_stop(SATURDAY, site.id, user=None, pickup_boxes=2)
    assert [s.site.code for s in dispatch.day_stops(SATURDAY)] == ["RH"]
    assert dispatch.day_stops(SATURDAY)[0].source == "adhoc"
    with pytest.raises(ValidationFailed):
        dispatch.add_adhoc_stop(MONDAY, site.id, user=None, pickup_boxes=99)
    dispatch.delete_adhoc_stop(extra.id)
    assert dispatch.day_stops(SATURDAY) == []


def test_warm_start_uses_previous_routes_of_the_same_template(planned):
    run = planned
    template = db.session.scalar(select(StopTemplate))
    assert run.template_id == template.id
    problem = dispatch.problem_for_day(MONDAY + timedelta(days=1))
    assert problem.previous_routes == run.routes
    # A plan of another template is no warm start for this one.
    other = StopTemplate(name="Sonderrunde", weekdays="5")
    db.session.add(other)
    db.session.flush()
    db.session.add(PlanRun(service_date=MONDAY, template_id=other.id, routes={"E1": ["RH"]}, status="done"))
    db.session.flush()
    assert dispatch.problem_for_day(MONDAY + timedelta(days=1)).previous_routes == run.routes

    # Re-planning the day replaces its tours (none started) and warm-starts from the first plan.
    second = dispatch.plan_day(MONDAY, time_limit_s=PLAN_LIMIT_S)
    db.session.commit()
    assert second.kind == "replan" and second.id != run.id
    tours = dispatch.tours_of(MONDAY)
    assert {t.plan_run_id for t in tours} == {second.id}
    assert db.session.scalar(select(func.count(Tour.id))) == len(tours)
    assert set(_served()) == _template_codes()
    assigned = db.session.scalar(select(func.count(MailItem.id)).where(MailItem.tour_stop_id.is_not(None)))
    assert assigned == db.session.scalar(select(func.count(MailItem.id)))


# --- bad input ---------------------------------------------------------------------------------------


def test_return_by_spreads_the_stops_over_both_vans(demo_sqlite):
    """By kilometres alone one van serves all 40 sites until early afternoon; "back by 12:00" makes the
    optimiser use both vans, and the choice is kept for the day's next plan."""
    add_sorted_items(per_site=1)
    assert dispatch.default_return_by(MONDAY) == "15:30"
    run = dispatch.plan_day(MONDAY, time_limit_s=PLAN_LIMIT_S, return_by="12:00")
    db.session.commit()

    assert run.return_by == "12:00" and run.unserved == []
    assert len(_served()) == 40 and set(_served().values()) == {1}
    tours = dispatch.tours_of(MONDAY)
    assert {t.vehicle.code for t in tours} == {"E1", "E2"}
    assert all(t.planned_end <= _local(MONDAY, 12) for t in tours)
    assert dispatch.default_return_by(MONDAY) == "12:00"


def test_return_by_too_early_lists_what_cannot_be_served(demo_sqlite):
    run = dispatch.plan_day(MONDAY, time_limit_s=PLAN_LIMIT_S, return_by="10:00")
    db.session.commit()
    assert run.unserved and 0 < len(_served()) < 40
    assert {u["reason"] for u in run.unserved} <= {"shift", "time_window"}
    assert all(t.planned_end <= _local(MONDAY, 10) for t in dispatch.tours_of(MONDAY))


@pytest.mark.parametrize(
    ("value", "message"),
    [("abc", "keine gültige Uhrzeit"), ("25:00", "keine gültige Uhrzeit"), ("09:00", "nach dem Tourbeginn"),
     ("16:00", "spätestens zum Schichtende")],
)  # fmt: skip
def test_return_by_bad_input_stores_nothing(demo_sqlite, value, message):
    with pytest.raises(ValidationFailed) as exc:
        dispatch.start_plan_run(MONDAY, user=None, return_by=value)
    assert message in exc.value.message
    db.session.rollback()
    assert db.session.scalar(select(func.count(PlanRun.id))) == 0


def test_no_vans_available_refuses_with_message(demo_sqlite):
    for van in db.session.scalars(select(Vehicle)):
        van.unavailable_from, van.unavailable_until = MONDAY - timedelta(days=1), MONDAY + timedelta(days=2)
    db.session.commit()
    with pytest.raises(PlanningFailed) as exc:
        dispatch.plan_day(MONDAY, time_limit_s=PLAN_LIMIT_S)
    assert exc.value.code == "no_vehicle" and "kein Fahrzeug verfügbar" in exc.value.message
    db.session.rollback()
    van = db.session.scalar(select(Vehicle).where(Vehicle.code == "E2"))
    van.unavailable_from = van.unavailable_until = None
    van.active = False
    db.session.commit()
    with pytest.raises(PlanningFailed):
        dispatch.plan_day(MONDAY, time_limit_s=PLAN_LIMIT_S)


def test_public_holiday_has_no_template_tours_but_adhoc_stops_plan(demo_sqlite):
    good_friday = MONDAY.replace(month=4, day=3)
    assert dispatch.templates_for(good_friday) == []
    with pytest.raises(PlanningFailed) as exc:
        dispatch.plan_day(good_friday, time_limit_s=PLAN_LIMIT_S)
    assert exc.value.code == "holiday" and "Feiertag (Karfreitag)" in exc.value.message
    db.session.rollback()
    site = db.session.scalar(select(Site).where(Site.code == "RH"))
    dispatch.add_adhoc_stop(good_friday, site.id, user=None, pickup_boxes=2)
    db.session.commit()
    run = dispatch.plan_day(good_friday, time_limit_s=PLAN_LIMIT_S)
    assert run.unserved == [] and set(_served(good_friday)) == {"RH"}


def test_weekend_without_template_refuses(demo_sqlite):
    with pytest.raises(PlanningFailed) as exc:
        dispatch.plan_day(SATURDAY)
    assert exc.value.code == "no_template"
    assert "Samstag, 07.03.2026" in exc.value.message and "keine Stoppvorlage" in exc.value.message


def test_site_without_coordinates_refuses_and_keeps_previous_tours(planned):
    before = {(t.id, s.id, s.position) for t in dispatch.tours_of(MONDAY) for s in t.stops}
    site = db.session.scalar(select(Site).where(Site.code == "GA"))
    site.lat = None
    db.session.commit()
    with pytest.raises(PlanningFailed) as exc:
        dispatch.plan_day(MONDAY, time_limit_s=PLAN_LIMIT_S)
    db.session.rollback()
    assert exc.value.code == "missing_coordinates"
    assert "Gesundheitsamt" in exc.value.message and "(GA)" in exc.value.message
    after = {(t.id, s.id, s.position) for t in dispatch.tours_of(MONDAY) for s in t.stops}
    assert after == before


def test_parse_day():
    assert dispatch.parse_day("2026-03-02") == MONDAY
    assert dispatch.parse_day("02.03.2026") == MONDAY
    for bad in ("", "morgen", "2026-02-30", "2026-13-01"):
        with pytest.raises(ValidationFailed) as exc:
            dispatch.parse_day(bad)
        assert "kein gültiges Datum" in exc.value.message


def test_replan_refused_once_a_tour_started(planned):
    tour = dispatch.tours_of(MONDAY)[0]
    tour.status = TourStatus.STARTED
    db.session.commit()
    with pytest.raises(InvalidTransition) as exc:
        dispatch.plan_day(MONDAY, time_limit_s=PLAN_LIMIT_S)
    assert "Fahrzeugausfall" in exc.value.message
    with pytest.raises(InvalidTransition):
        dispatch.start_plan_run(MONDAY, user=None)


# --- adjusting ---------------------------------------------------------------------------------------


def _tour(code: str) -> Tour:
    return next(t for t in dispatch.tours_of(MONDAY) if t.vehicle.code == code)


def _codes(tour: Tour) -> list[str]:
    return [s.site.code for s in sorted(tour.stops, key=lambda s: s.position) if not s.is_depot]


def _assert_consistent(tour: Tour) -> None:
    stops = sorted(tour.stops, key=lambda s: s.position)
    assert [s.position for s in stops] == list(range(1, len(stops) + 1))
    live = [s for s in stops if s.status != StopStatus.SKIPPED]
    assert [s.eta for s in live] == sorted(s.eta for s in live)
    assert [s.km_after for s in live] == sorted(s.km_after for s in live)


def test_move_stop_to_the_other_van(planned):
    e1, e2 = _tour("E1"), _tour("E2")
    stop = next(s for s in e1.stops if not s.is_depot)
    code, items = (
        stop.site.code,
        [i.id for i in db.session.scalars(select(MailItem).where(MailItem.tour_stop_id == stop.id))],
    )
    dispatch.move_stop(stop, e2, now=_local(MONDAY, 7))
    db.session.commit()
    db.session.expire_all()
    e1, e2 = _tour("E1"), _tour("E2")
    assert code in _codes(e2) and code not in _codes(e1)
    assert set(_served()) == _template_codes() and max(_served().values()) == 1
    moved = next(s for s in e2.stops if s.site.code == code)
    assert [i.id for i in db.session.scalars(select(MailItem).where(MailItem.tour_stop_id == moved.id))] == items
    for tour in (e1, e2):
        _assert_consistent(tour)
    assert db.session.scalar(select(PlanRun).order_by(PlanRun.id.desc())).kind == "adjust"
    with pytest.raises(ValidationFailed):
        dispatch.move_stop(moved, e2)


def test_pin_order_and_replan_the_rest(planned):
    e1 = _tour("E1")
    before = _codes(e1)
    chosen = [s for s in e1.stops if not s.is_depot][-3:]
    pinned = [chosen[2].id, chosen[0].id, chosen[1].id]
    expected = [chosen[2].site.code, chosen[0].site.code, chosen[1].site.code]
    dispatch.replan_tour(e1, pinned)
    db.session.commit()
    db.session.expire_all()
    e1 = _tour("E1")
    after = _codes(e1)
    assert after[:3] == expected
    assert sorted(after) == sorted(before)
    assert [s.pinned for s in sorted(e1.stops, key=lambda s: s.position)][:3] == [True, True, True]
    _assert_consistent(e1)
    with pytest.raises(ValidationFailed):
        dispatch.replan_tour(e1, [_tour("E2").stops[0].id])


def test_breakdown_moves_open_stops_to_the_other_van(planned):
    e1, e2 = _tour("E1"), _tour("E2")
    # E1 is under way and has done its first three stops; E2 breaks down before leaving.
    e1.status, e1.started_at = TourStatus.STARTED, _local(MONDAY, 9, 30)
    done = [s for s in e1.stops if not s.is_depot][:3]
    for stop in done:
        stop.status, stop.done_at = StopStatus.DONE, stop.eta
    db.session.commit()
    broken_codes = set(_codes(e2))
    done_ids = [(s.id, s.site.code) for s in done]

    run = dispatch.replan_breakdown(e2, now=_local(MONDAY, 10, 15))
    db.session.commit()
    db.session.expire_all()
    e1, e2 = _tour("E1"), db.session.get(Tour, e2.id)
    assert e2.status == TourStatus.CANCELLED
    assert not e2.vehicle.is_available_on(MONDAY)
    assert [(s.id, s.site.code) for s in sorted(e1.stops, key=lambda s: s.position)[:3]] == done_ids
    taken = broken_codes & set(_codes(e1))
    skipped = {s.site.code: s for s in e1.stops + e2.stops if s.status == StopStatus.SKIPPED}
    assert taken | set(skipped) >= broken_codes
    assert {u["site"] for u in run.unserved or []} == set(skipped)
    for stop in skipped.values():
        assert stop.skip_reason.startswith(("Fahrzeugausfall", "Nach Fahrzeugausfall"))
    open_e1 = [s for s in e1.stops if s.status == StopStatus.OPEN and not s.is_depot]
    assert all(s.eta >= _local(MONDAY, 10, 15) for s in open_e1)
    _assert_consistent(e1)
    assert run.kind == "breakdown"


def test_breakdown_late_in_the_day_reports_what_cannot_be_served(planned):
    e1, e2 = _tour("E1"), _tour("E2")
    e1.status = e2.status = TourStatus.STARTED
    db.session.commit()
    run = dispatch.replan_breakdown(e2, now=_local(MONDAY, 14, 45))
    db.session.commit()
    assert run.unserved, "at 14:45 with a shift ending 15:30 not all of the day's stops can be served"
    reasons = {u["reason"] for u in run.unserved}
    assert reasons <= {"shift", "time_window", "range", "capacity"}
    labels = {dispatch.reason_label(r) for r in reasons}
    assert labels <= {"Schichtende/Rückkehrzeit", "Zeitfenster/Öffnungszeit", "Reichweite", "Kapazität"}
    skipped = db.session.scalars(select(TourStop).where(TourStop.status == StopStatus.SKIPPED)).all()
    assert {s.site.code for s in skipped} == {u["site"] for u in run.unserved}
    # Sorted items of unserved stops go back to the shelf.
    for stop in skipped:
        assert db.session.scalar(select(func.count(MailItem.id)).where(MailItem.tour_stop_id == stop.id)) == 0


def test_breakdown_without_another_van(planned):
    e1, e2 = _tour("E1"), _tour("E2")
    dispatch.replan_breakdown(e1, now=_local(MONDAY, 10))
    db.session.commit()
    run = dispatch.replan_breakdown(e2, now=_local(MONDAY, 10))
    db.session.commit()
    assert {u["reason"] for u in run.unserved} == {"no_vehicle"}
    assert all(s.status == StopStatus.SKIPPED for s in e2.stops if not s.is_depot)
    lost = {u["site"] for u in run.unserved}
    assert lost and all("kein Fahrzeug" in s.skip_reason for s in e2.stops if s.site.code in lost)


def test_driver_assignment(planned):
    from mailroom.models import Role, User

    e1, e2 = _tour("E1"), _tour("E2")
    bote = db.session.scalar(select(User).where(User.username == "bote"))
    post = db.session.scalar(select(User).where(User.role == Role.MAILROOM))
    dispatch.assign_driver(e1, None)
    dispatch.assign_driver(e2, bote.id)
    db.session.commit()
    assert e2.driver_id == bote.id
    with pytest.raises(ValidationFailed):
        dispatch.assign_driver(e1, bote.id)  # already drives E2
    with pytest.raises(ValidationFailed):
        dispatch.assign_driver(e1, post.id)  # not a courier


def test_adhoc_stop_at_a_new_site_is_planned(demo_sqlite):
    site = Site(code="EXTRA", name="Sonderstandort", lat=53.15, lon=8.22)
    db.session.add(site)
    db.session.flush()
    db.session.add(AdhocStop(service_date=SATURDAY, site_id=site.id, pickup_boxes=2))
    db.session.commit()
    dispatch.plan_day(SATURDAY, time_limit_s=PLAN_LIMIT_S)
    db.session.commit()
    assert _served(SATURDAY) == Counter({"EXTRA": 1})
    stop = next(s for t in dispatch.tours_of(SATURDAY) for s in t.stops if not s.is_depot)
    assert stop.pickup_boxes == 2


# --- courier orders (Hauspost A -> B the same day) ---------------------------------------------------


def _site(code: str) -> Site:
    return db.session.scalar(select(Site).where(Site.code == code))


def _stop_of(code: str) -> TourStop:
    return next(s for t in dispatch.tours_of(MONDAY, include_cancelled=False) for s in t.stops if s.site.code == code)


def test_courier_order_rides_on_one_van_pickup_first(demo_sqlite):
    import pypdfium2

    from mailroom.services import printing

    add_sorted_items(per_site=1)
    dispatch.add_adhoc_stop(MONDAY, _site("GSET").id, user=None, pickup_boxes=3, deliver_to_site_id=_site("RH").id)
    db.session.commit()
    run = dispatch.plan_day(MONDAY, time_limit_s=PLAN_LIMIT_S, return_by="12:00")
    db.session.commit()

    assert run.unserved == [] and len(_served()) == 40
    pickup, drop = _stop_of("GSET"), _stop_of("RH")
    assert pickup.tour_id == drop.tour_id and pickup.position < drop.position
    assert "Kurier: 3 Kisten für RH mitnehmen" in pickup.note and "Kurier: 3 Kisten von GSET abgeben" in drop.note
    assert pickup.pickup_boxes == 1  # the daily pick-up for the depot; the courier boxes ride to RH
    stops = sorted(drop.tour.stops, key=lambda s: s.position)
    before = stops[stops.index(drop) - 1]
    if not before.is_depot:
        assert drop.load_after - before.load_after == drop.pickup_boxes - drop.deliver_boxes - 3
    pdf = printing.route_sheets_pdf(MONDAY)
    doc = pypdfium2.PdfDocument(pdf)
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    assert "Kurier: 3 Kisten für RH mitnehmen" in text and "Kurier: 3 Kisten von GSET abgeben" in text


def test_courier_order_moves_together_and_cannot_be_reversed(demo_sqlite):
    dispatch.add_adhoc_stop(MONDAY, _site("GSET").id, user=None, pickup_boxes=2, deliver_to_site_id=_site("RH").id)
    db.session.commit()
    dispatch.plan_day(MONDAY, time_limit_s=PLAN_LIMIT_S, return_by="12:00")
    db.session.commit()
    source = _stop_of("GSET").tour
    target = next(t for t in dispatch.tours_of(MONDAY) if t.id != source.id)

    dispatch.move_stop(_stop_of("GSET"), target, now=_local(MONDAY, 7))
    db.session.commit()
    db.session.expire_all()
    pickup, drop = _stop_of("GSET"), _stop_of("RH")
    assert pickup.tour_id == drop.tour_id == target.id and pickup.position < drop.position
    assert set(_served()) == _template_codes() and max(_served().values()) == 1

    # Pinning the delivery first would carry boxes not yet picked up: refused, nothing changed.
    tour = drop.tour
    before = {(s.id, s.position) for s in tour.stops}
    with pytest.raises(PlanningFailed) as exc:
        dispatch.replan_tour(tour, [drop.id], now=_local(MONDAY, 7))
    db.session.rollback()
    assert exc.value.code == "courier_order" and "GSET → RH" in exc.value.message
    assert {(s.id, s.position) for s in _stop_of("RH").tour.stops} == before


@pytest.mark.parametrize(
    ("target", "boxes", "message"),
    [("GSET", 2, "verschieden"), ("DEPOT", 2, "Zielstandort"), ("RH", 0, "mindestens eine Kiste")],
)
def test_courier_order_bad_input(demo_sqlite, target, boxes, message):
    depot = db.session.scalar(select(Site).where(Site.is_depot.is_(True)))
    target_id = depot.id if target == "DEPOT" else _site(target).id
    with pytest.raises(ValidationFailed) as exc:
        dispatch.add_adhoc_stop(MONDAY, _site("GSET").id, user=None, pickup_boxes=boxes, deliver_to_site_id=target_id)
    assert message in exc.value.message
    db.session.rollback()
    assert db.session.scalar(select(func.count(AdhocStop.id))) == 0


def test_courier_boxes_on_board_count_against_the_capacity_when_replanning(demo_sqlite):
    dispatch.add_adhoc_stop(MONDAY, _site("GSET").id, user=None, pickup_boxes=3, deliver_to_site_id=_site("RH").id)
    db.session.commit()
    dispatch.plan_day(MONDAY, time_limit_s=PLAN_LIMIT_S)
    db.session.commit()
    pickup = _stop_of("GSET")
    tour = pickup.tour

    def capacity() -> int:
        return dispatch.remaining_capacity(tour, now=_local(MONDAY, 10))

    before = capacity()
    for stop in sorted(tour.stops, key=lambda s: s.position):
        if stop.position <= pickup.position and not stop.is_depot:
            stop.status = StopStatus.DONE
    db.session.flush()
    done_pickups = sum(s.pickup_boxes for s in tour.stops if s.status == StopStatus.DONE)
    assert _stop_of("RH").status == StopStatus.OPEN
    assert capacity() == before - done_pickups - 3

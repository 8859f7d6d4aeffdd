"""Issue 16, dispatch when things go wrong: a breakdown with a free van, planning late in the day,
"Rest neu planen" that says why in one sentence, buttons that can only fail."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
from flask import g
from sqlalchemy import select

from mailroom.errors import InvalidTransition, PlanningFailed
from mailroom.extensions import db
from mailroom.models import EventKind, ItemStatus, MailItem, StopStatus, Tour, TourStatus
from mailroom.services import clock, courier, custody, dispatch, fleet
from mailroom.services.dispatch.runs import delete_tours
from tests.mailroom.courier.builders import signature_data_url
from tests.mailroom.dispatch.conftest import MONDAY, PLAN_LIMIT_S, add_sorted_items


def _local(hh: int, mm: int = 0) -> datetime:
    return datetime.combine(MONDAY, time(hh, mm), tzinfo=clock.LOCAL_TZ)


def _pin_clock(app, moment: datetime) -> None:
    app.config["CLOCK_NOW"] = moment.isoformat()
    app.extensions.pop("mailroom_clock_offset", None)  # computed again from CLOCK_NOW on next use


def _tour(code: str) -> Tour:
    return next(t for t in dispatch.tours_of(MONDAY) if t.vehicle.code == code)


def _items(stop) -> list[MailItem]:
    return list(db.session.scalars(select(MailItem).where(MailItem.tour_stop_id == stop.id)))


def _e1_under_way_e2_free() -> Tour:
    """E2 has no tour today (free); E1 was started by its courier at 08:00 (every item loaded) and has
    done its first two stops."""
    delete_tours([_tour("E2")])
    e1 = _tour("E1")
    e1.driver_id = e1.driver_id or dispatch.couriers()[0].id
    db.session.commit()
    outcome = courier.perform(
        e1.driver,
        e1.id,
        "start",
        {"client_action_id": "start-e1-0001", "km": 99_000, "soc": 95, "at": _local(8).isoformat()},
    )
    assert outcome.result["loaded"]
    for stop in [s for s in sorted(e1.stops, key=lambda s: s.position) if not s.is_depot][:2]:
        stop.status, stop.done_at = StopStatus.DONE, stop.eta
        for item in _items(stop):
            item.status = ItemStatus.DELIVERED
    db.session.commit()
    return e1


def test_breakdown_the_free_van_takes_the_open_stops_from_the_depot(planned_app, planned):
    e1 = _e1_under_way_e2_free()
    open_codes = {s.site.code for s in e1.stops if s.status == StopStatus.OPEN and not s.is_depot}
    in_e1 = {
        i.code for s in e1.stops if s.status == StopStatus.OPEN for i in _items(s) if i.status == ItemStatus.LOADED
    }
    assert open_codes and in_e1

    run = dispatch.replan_breakdown(e1, now=_local(10))
    db.session.commit()
    db.session.expire_all()

    e1, e2 = _tour("E1"), _tour("E2")
    assert e1.status == TourStatus.CANCELLED
    assert e2.status == TourStatus.PLANNED and e2.driver_id not in (None, e1.driver_id)
    served = {s.site.code for s in e2.stops if not s.is_depot and s.status == StopStatus.OPEN}
    assert served | {u["site"] for u in run.unserved or []} == open_codes
    assert len(served) >= len(open_codes) - len(run.unserved or []) and served
    # From the depot, leaving now: no time before 10:00.
    real = sorted((s for s in e2.stops if not s.is_depot), key=lambda s: s.position)
    assert all(s.eta >= _local(10) for s in real)
    assert e2.planned_start >= _local(10)
    # The items still in E1 are named at their stops, as to be fetched from E1.
    named = set()
    for stop in real:
        assert stop.note.startswith("Übernommen nach Ausfall E1")
        named |= {i.code for i in _items(stop) if i.status == ItemStatus.LOADED and i.code in stop.note}
    assert named == {i for i in in_e1 if any(i in s.note for s in real)} and named
    # The courier of E1 sees who took over and what to hand over.
    notice = dispatch.breakdown_notice(e1)
    assert [t["vehicle"] for t in notice["takers"]] == ["E2"]
    assert {f["code"] for f in notice["fetch"]} == named
    assert courier.tour_payload(e1)["breakdown"] == notice
    # Numbers on the phone: 1..n, never 10000 and up.
    assert sorted(s.position for s in e1.stops) == list(range(1, len(e1.stops) + 1))
    _pin_clock(planned_app, _local(10, 5))
    assert e1 in courier.tours_today(e1.driver)  # the cancelled tour stays on the courier's list
    # The courier of E1 gives the van's reading where it stopped: the logbook entry of the tour is complete.
    reading = {"client_action_id": "end-e1-00001", "km": 99_031.5, "soc": 61, "at": _local(10, 6).isoformat()}
    courier.perform(e1.driver, e1.id, "end", reading)
    db.session.commit()
    assert e1.status == TourStatus.CANCELLED and fleet.tour_driven_km(e1) == pytest.approx(31.5)
    with pytest.raises(InvalidTransition, match="bereits abgebrochen"):  # once only
        courier.perform(e1.driver, e1.id, "end", {**reading, "client_action_id": "end-e1-00002"})
    db.session.rollback()
    # E2's courier starts and hands over, at a taken-over stop, the items fetched from E1. On the load
    # list, the fetched items of that stop are not ticked: their move from E1 is then recorded when they
    # are handed over; every other fetched item is moved into E2 at the start.
    stop = next(s for s in real if any(i.code in named for i in _items(s)))
    items = _items(stop)
    later = {i.id for i in items if i.code in named}
    ticked = [i.id for s in real for i in _items(s) if i.id not in later]
    start = {
        "client_action_id": "start-e2-0001",
        "km": 50_000,
        "soc": 90,
        "at": _local(10, 10).isoformat(),
        "loaded": ticked,
    }
    courier.perform(e2.driver, e2.id, "start", start)
    done = {
        "client_action_id": "done-e2-0001",
        "items": [i.id for i in items],
        "receiver_name": "K. Janssen",
        "signature": signature_data_url(),
        "at": _local(10, 40).isoformat(),
    }
    courier.perform(e2.driver, e2.id, "stop_done", done, stop_id=stop.id)
    db.session.commit()
    assert {i.status for i in items} == {ItemStatus.DELIVERED}
    # Every fetched item has its van-to-van hand-over in the custody chain, between E1's loading and
    # E2's delivery (or E2's load list).
    for item in db.session.scalars(select(MailItem).where(MailItem.code.in_(named))):
        steps = [(e.kind, e.tour_id) for e in custody.history(item) if e.tour_id is not None]
        assert steps[:2] == [(EventKind.LOADED, e1.id), (EventKind.TRANSFERRED, e2.id)]
        moved = next(e for e in custody.history(item) if e.kind == EventKind.TRANSFERRED)
        assert moved.note == "Aus Fahrzeug E1 in E2 umgeladen" and moved.user_id == e2.driver_id
        action = "done-e2-0001" if item.id in later else "start-e2-0001"  # moved when handed over, or at start
        assert moved.client_action_id == f"{action}:T{item.id}"
        assert item.status == (ItemStatus.DELIVERED if item.id in later else ItemStatus.LOADED)


def test_breakdown_numbers_stay_small_when_nothing_can_be_taken_over(planned):
    e1, e2 = _tour("E1"), _tour("E2")
    dispatch.replan_breakdown(e1, now=_local(10))
    db.session.commit()
    run = dispatch.replan_breakdown(e2, now=_local(10))
    db.session.commit()
    assert {u["reason"] for u in run.unserved} == {"no_vehicle"}
    for tour in (e1, e2):
        assert sorted(s.position for s in tour.stops) == list(range(1, len(tour.stops) + 1))
    assert dispatch.breakdown_notice(e2)["takers"] == []


def _client(app, username: str):
    g.pop("_login_user", None)
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": app.config["LOGINS"][username]})
    assert response.status_code == 302
    return client


def test_breakdown_page_warns_and_names_the_van_that_takes_over(planned_app, planned):
    e1 = _e1_under_way_e2_free()
    _pin_clock(planned_app, _local(10))
    client = _client(planned_app, "post")
    html = client.post(f"/dispatch/tours/{e1.id}/breakdown", data={}, follow_redirects=True).get_data(as_text=True)
    flashes = re.findall(r'<p class="flash flash-(\w+)">([^<]*)</p>', html)
    assert any("Ausfall E1: offene Stopps neu verteilt auf E2" in text for _, text in flashes), flashes
    assert "kein Fahrzeug" not in " ".join(text for _, text in flashes)
    # E1 is cancelled: a full "Neu planen" of the day can only fail, so it is not offered.
    assert 'id="plan-button"' not in html

    e2 = _tour("E2")
    g.pop("_login_user", None)
    html = client.post(f"/dispatch/tours/{e2.id}/breakdown", data={}, follow_redirects=True).get_data(as_text=True)
    flashes = re.findall(r'<p class="flash flash-(\w+)">([^<]*)</p>', html)
    kinds = [kind for kind, text in flashes if text.startswith("Ausfall E2")]
    assert kinds == ["warning"], flashes  # unserved stops are a warning, never a green success


def test_plan_for_today_starts_now_not_at_the_shift_start(demo_app, demo_sqlite):
    _pin_clock(demo_app, _local(12, 55))
    assert clock.local_today() == MONDAY
    add_sorted_items()
    run = dispatch.plan_day(MONDAY, time_limit_s=PLAN_LIMIT_S)
    db.session.commit()
    tours = dispatch.tours_of(MONDAY)
    assert tours
    for tour in tours:
        assert tour.planned_start >= _local(12, 55)
        assert all(s.eta >= _local(12, 55) for s in tour.stops)
    # What no van can serve any more in the rest of the shift is reported, not planned in the past.
    assert run.status == "done"


def test_overview_marks_a_late_tour(planned_app, planned):
    e1 = _tour("E1")
    e1.status = TourStatus.STARTED
    db.session.commit()
    first = min((s for s in e1.stops if not s.is_depot), key=lambda s: s.position)
    late = int(clock.utc_to_local_minutes(MONDAY, first.eta)) + 20
    _pin_clock(planned_app, _local(late // 60, late % 60))
    progress = {p.tour.vehicle.code: p for p in dispatch.overview(MONDAY)}
    assert 19 <= progress["E1"].delay_min <= 21
    assert progress["E2"].tour.status == TourStatus.PLANNED
    client = _client(planned_app, "post")
    html = client.get(f"/dispatch/overview?date={MONDAY.isoformat()}").get_data(as_text=True)
    assert f"{progress['E1'].delay_min} Min. Verspätung" in html


def test_rest_replan_late_in_the_day_starts_now_or_says_why_in_one_sentence(planned):
    e1 = _tour("E1")
    # Not yet left at 11:00 (it should have at 07:30): the rest is planned from now, not in the past.
    try:
        dispatch.replan_tour(e1, [], now=_local(11))
    except PlanningFailed as exc:
        message = exc.message
    else:
        message = None
        db.session.commit()
        assert all(s.eta >= _local(11) for s in e1.stops if s.status == StopStatus.OPEN)
    e1 = _tour("E1")
    e1.status = TourStatus.STARTED
    db.session.commit()
    with pytest.raises(PlanningFailed) as failed:
        dispatch.replan_tour(e1, [], now=_local(15, 15))
    db.session.rollback()
    for text in filter(None, [message, failed.value.message]):
        assert text.count(". ") == 0 and text.endswith(".")  # one sentence
        codes = {s.site.code for s in e1.stops if not s.is_depot}
        assert not any(re.search(rf"\b{re.escape(code)}\b", text) for code in codes), text
        assert "nichts geändert" in text


def test_pin_message_counts_one_stop_in_the_singular(planned_app, planned):
    e1 = _tour("E1")
    stop = next(s for s in sorted(e1.stops, key=lambda s: s.position) if not s.is_depot)
    client = _client(planned_app, "post")
    data = {"pin": [str(stop.id)], f"order_{stop.id}": "1"}
    html = client.post(f"/dispatch/tours/{e1.id}/pins", data=data, follow_redirects=True).get_data(as_text=True)
    assert "Tour E1 neu geplant (1 Stopp fixiert)." in html


def test_no_plan_button_when_a_new_plan_can_only_fail(planned_app, planned):
    from mailroom.models import EventKind
    from mailroom.services import custody

    client = _client(planned_app, "post")
    assert 'id="plan-button"' in client.get(f"/dispatch/?date={MONDAY.isoformat()}").get_data(as_text=True)
    e1 = _tour("E1")  # not started, but an item was already loaded onto it
    stop = next(s for s in e1.stops if not s.is_depot and _items(s))
    custody.record_event(_items(stop)[0], EventKind.LOADED, user=None, tour=e1)
    db.session.commit()
    with pytest.raises(InvalidTransition) as refused:
        dispatch.start_plan_run(MONDAY, user=None)
    db.session.rollback()
    g.pop("_login_user", None)
    html = client.get(f"/dispatch/?date={MONDAY.isoformat()}").get_data(as_text=True)
    assert 'id="plan-button"' not in html
    assert 'data-testid="replan-blocked"' in html and "Ausfall-Neuplanung" in html
    assert refused.value.code == "tours_started"


def test_plan_for_today_after_the_shift_is_refused_in_one_sentence(demo_app, demo_sqlite):
    _pin_clock(demo_app, _local(17, 0))
    add_sorted_items()
    with pytest.raises(PlanningFailed) as refused:
        dispatch.plan_day(MONDAY, time_limit_s=PLAN_LIMIT_S)
    db.session.rollback()
    assert refused.value.code == "too_late"
    assert refused.value.message.startswith("Es ist schon nach ") and refused.value.message.count(". ") == 0
    assert dispatch.tours_of(MONDAY) == []
    # A later day is planned as usual, from the shift start.
    assert dispatch.plan_day(MONDAY + timedelta(days=1), time_limit_s=PLAN_LIMIT_S).status == "done"

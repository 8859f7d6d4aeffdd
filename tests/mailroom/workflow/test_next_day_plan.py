"""Issue 16: planning the next day never takes the items from today's planned tour."""

from __future__ import annotations

from mailroom.extensions import db
from mailroom.models import ItemKind, MailItem, Tour, TourStop
from mailroom.services import dispatch
from tests.mailroom.workflow.conftest import MONDAY, PLAN_LIMIT_S, TUESDAY, site_codes, sort_items


def _tour_day(item: MailItem):
    db.session.refresh(item)
    if item.tour_stop_id is None:
        return None
    stop = db.session.get(TourStop, item.tour_stop_id)
    return db.session.get(Tour, stop.tour_id).service_date


def test_planning_tuesday_keeps_mondays_items_on_monday(day_world, client, login):
    codes = site_codes(3)
    letters = sort_items(codes)
    pzu = sort_items(codes[:1], ItemKind.PZU)[0]
    dispatch.plan_day(MONDAY, time_limit_s=PLAN_LIMIT_S)
    db.session.commit()
    assert {_tour_day(i) for i in [*letters, pzu]} == {MONDAY}

    dispatch.plan_day(TUESDAY, time_limit_s=PLAN_LIMIT_S)
    db.session.commit()

    assert {_tour_day(i) for i in [*letters, pzu]} == {MONDAY}
    assert sum(s.deliver_items for s in dispatch.day_stops(TUESDAY)) == 0

    # Items sorted after Monday's plan go with Tuesday.
    late = sort_items([codes[1]], ItemKind.GROSSBRIEF)[0]
    dispatch.plan_day(TUESDAY, time_limit_s=PLAN_LIMIT_S)
    db.session.commit()
    assert _tour_day(late) == TUESDAY and {_tour_day(i) for i in letters} == {MONDAY}

    # The dispatch page says which items stay on which day.
    login("post", day_world["post"])
    page = client.get(f"/dispatch/?date={TUESDAY.isoformat()}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "4 Sendungen für diese Standorte fahren schon mit der Tour vom 02.03.2026" in text


def test_replanning_monday_takes_items_back_from_tuesday(day_world):
    """An item sorted after Monday's plan rides on Tuesday; re-planning Monday (not left) takes it back."""
    codes = site_codes(2)
    dispatch.plan_day(MONDAY, time_limit_s=PLAN_LIMIT_S)
    db.session.commit()
    late = sort_items(codes)
    dispatch.plan_day(TUESDAY, time_limit_s=PLAN_LIMIT_S)
    db.session.commit()
    assert {_tour_day(i) for i in late} == {TUESDAY}

    dispatch.plan_day(MONDAY, time_limit_s=PLAN_LIMIT_S)
    db.session.commit()
    assert {_tour_day(i) for i in late} == {MONDAY}

"""Issue 16, the courier's tour: a tour is started on its own day only, and "loaded" is a real hand-over
(only what is ticked or scanned on the load list at the depot)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mailroom.errors import InvalidTransition, ValidationFailed
from mailroom.extensions import db
from mailroom.models import EventKind, ItemKind, ItemStatus, MailEvent, OdometerReading, TourStatus
from mailroom.services import courier
from mailroom.services.clock import local_today
from tests.mailroom.courier.builders import PASSWORD, make_tour, new_action_id, stop_items


def _count(model, *criteria) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*criteria)) or 0


def test_tomorrows_tour_cannot_be_started_today(world):
    bote = world.couriers["bote"]
    tomorrow = local_today() + timedelta(days=1)
    tour = make_tour(world, bote, day=tomorrow)
    assert courier.tour_payload(tour)["start_refusal"] == (
        f"Diese Tour ist für morgen ({tomorrow:%d.%m.%Y}) geplant und kann erst an diesem Tag begonnen werden."
    )
    with pytest.raises(InvalidTransition) as refused:
        courier.perform(bote, tour.id, "start", {"client_action_id": new_action_id(), "km": 12_410, "soc": 90})
    db.session.rollback()
    assert refused.value.code == "tour_other_day" and refused.value.status == 409
    assert tour.status == TourStatus.PLANNED
    assert _count(OdometerReading, OdometerReading.tour_id == tour.id) == 0
    assert _count(MailEvent, MailEvent.tour_id == tour.id) == 0


def test_yesterdays_tour_cannot_be_started_today(world):
    bote = world.couriers["bote"]
    tour = make_tour(world, bote, day=local_today() - timedelta(days=1))
    with pytest.raises(InvalidTransition, match="kann heute nicht mehr begonnen werden"):
        courier.perform(bote, tour.id, "start", {"client_action_id": new_action_id(), "km": 12_410, "soc": 90})
    db.session.rollback()
    assert tour.status == TourStatus.PLANNED


def test_start_of_another_day_over_http_is_a_409_in_german(world, app):
    bote = world.couriers["bote"]
    tour = make_tour(world, bote, day=local_today() + timedelta(days=1))
    client = app.test_client()
    assert client.post("/login", data={"username": "bote", "password": PASSWORD}).status_code == 302
    page = client.get(f"/courier/tour/{tour.id}")
    assert page.status_code == 200 and "start_refusal" in page.get_data(as_text=True)
    answer = client.post(
        f"/courier/tour/{tour.id}/start", json={"client_action_id": new_action_id(), "km": 12_410, "soc": 90}
    )
    assert answer.status_code == 409
    assert answer.get_json()["error"]["code"] == "tour_other_day"
    assert "kann erst an diesem Tag begonnen werden" in answer.get_json()["error"]["message"]


def test_only_items_ticked_on_the_load_list_are_loaded(world):
    bote = world.couriers["bote"]
    tour = make_tour(world, bote, items_per_stop=((ItemKind.BRIEF, ItemKind.BRIEF), (ItemKind.PAKET,)))
    items = [i for s in tour.stops for i in stop_items(s)]
    ticked, left = items[:2], items[2:]
    outcome = courier.perform(
        bote,
        tour.id,
        "start",
        {"client_action_id": new_action_id(), "km": 12_410, "soc": 90, "loaded": [i.id for i in ticked]},
    )
    db.session.commit()
    assert sorted(outcome.result["loaded"]) == sorted(i.code for i in ticked)
    assert sorted(outcome.result["not_loaded"]) == sorted(i.code for i in left)
    for item in ticked:
        assert item.status == ItemStatus.LOADED
        assert _count(MailEvent, MailEvent.item_id == item.id, MailEvent.kind == EventKind.LOADED) == 1
    for item in left:  # still in the mail room: back on the shelf, off the tour, no LOADED event
        assert item.status == ItemStatus.SORTED and item.tour_stop_id is None
        assert _count(MailEvent, MailEvent.item_id == item.id) == 0
    payload = courier.tour_payload(tour)
    assert {i["id"] for s in payload["stops"] for i in s["items"]} == {i.id for i in ticked}


def test_load_list_with_an_item_of_another_tour_is_refused(world):
    bote = world.couriers["bote"]
    tour = make_tour(world, bote)
    with pytest.raises(ValidationFailed) as refused:
        courier.perform(
            bote, tour.id, "start", {"client_action_id": new_action_id(), "km": 12_410, "soc": 90, "loaded": [999_999]}
        )
    db.session.rollback()
    assert refused.value.code == "item_not_on_tour"
    assert tour.status == TourStatus.PLANNED
    assert all(i.status == ItemStatus.SORTED for s in tour.stops for i in stop_items(s))

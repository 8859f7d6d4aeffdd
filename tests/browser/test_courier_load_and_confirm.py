"""Issue 16 on the courier's phone: the load list at the depot decides what is loaded, a stop with items
not ticked asks before it is finished, tomorrow's tour cannot be started today."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from mailroom.extensions import db
from mailroom.models import ItemKind, ItemStatus, MailItem, StopStatus, TourStatus, TourStop, Vehicle
from mailroom.services import fleet
from mailroom.services.clock import local_today
from tests.browser.session import login_demo
from tests.browser.test_courier import _demo_world, _open_stop, _start
from tests.mailroom.courier.builders import make_tour

pytestmark = pytest.mark.browser


@pytest.fixture
def courier_tour(live_server):
    """As in test_courier.py: today's tour of "bote" over three demo sites (a letter and a registered
    letter, a letter, a parcel)."""
    app = live_server.app
    with app.app_context():
        world = _demo_world(app)
        tour = make_tour(
            world,
            world.couriers["bote"],
            items_per_stop=((ItemKind.BRIEF, ItemKind.EINSCHREIBEN_UEBERGABE), (ItemKind.BRIEF,), (ItemKind.PAKET,)),
        )
        return {"id": tour.id, "last_km": fleet.last_reading(world.van).km, "stops": [s.id for s in tour.stops]}


def _items(stop_id: int) -> list[MailItem]:
    return list(db.session.scalars(select(MailItem).where(MailItem.tour_stop_id == stop_id).order_by(MailItem.id)))


def test_load_list_and_a_question_before_leaving_items(live_server, courier_tour, phone_page, tmp_path):
    page = phone_page
    first, _second, third = courier_tour["stops"]
    with live_server.app.app_context():
        letter, registered = _items(first)
        parcel = _items(third)[0]
        letter_code, registered_code, parcel_id, parcel_code = letter.code, registered.code, parcel.id, parcel.code
    login_demo(page, live_server, "bote")
    page.goto(f"{live_server.url}/courier/tour/{courier_tour['id']}")
    load_list = page.get_by_test_id("load-list")
    boxes = load_list.locator("input[type=checkbox]")
    assert boxes.count() == 4
    assert [boxes.nth(k).is_checked() for k in range(4)] == [False] * 4  # nothing is loaded unticked
    assert page.get_by_test_id("load-summary").inner_text().startswith("0 von 4 Sendungen verladen")
    # All but the parcel are in the van.
    page.get_by_test_id("load-all").click()
    page.locator(f"#load-{parcel_id}").uncheck()
    assert page.get_by_test_id("load-summary").inner_text() == (
        "3 von 4 Sendungen verladen: nicht angekreuzte bleiben in der Poststelle."
    )
    page.screenshot(path=str(tmp_path / "load-list.png"), full_page=True)
    _start(page, courier_tour["last_km"] + 1, tick_all=False)
    # Leaving the parcel behind is asked first; "Zurück" starts nothing.
    question = page.get_by_test_id("load-confirm")
    assert question.is_visible()
    assert f"1 Sendung ist nicht angekreuzt und fährt nicht mit ({parcel_code})" in question.inner_text()
    page.get_by_test_id("load-confirm-no").click()
    assert not question.is_visible()
    assert page.evaluate("window.mailroomCourier.queue().length") == 0
    _start(page, courier_tour["last_km"] + 1, tick_all=False)
    page.get_by_test_id("load-confirm-yes").click()
    page.wait_for_function("window.mailroomCourier.idle()")
    with live_server.app.app_context():
        parcel = db.session.get(MailItem, parcel_id)
        assert parcel.status == ItemStatus.SORTED and parcel.tour_stop_id is None  # back on the shelf
        assert {i.status for s in courier_tour["stops"][:2] for i in _items(s)} == {ItemStatus.LOADED}

    # Stop 1: only the letter ticked; the registered letter is left: the phone asks first.
    card = _open_stop(page, first)
    card.locator(f"li[data-code='{letter_code}'] input[type=checkbox]").check()
    card.get_by_test_id("stop-done").click()
    question = card.get_by_test_id("left-confirm")
    assert question.is_visible()
    assert f"1 Sendung ist nicht angekreuzt ({registered_code})" in question.inner_text()
    page.screenshot(path=str(tmp_path / "left-question.png"), full_page=True)
    card.get_by_test_id("left-confirm-no").click()
    assert not question.is_visible()
    assert page.evaluate("window.mailroomCourier.queue().length") == 0
    with live_server.app.app_context():
        assert db.session.get(TourStop, first).status == StopStatus.OPEN
    card.get_by_test_id("stop-done").click()
    card.get_by_test_id("left-confirm-yes").click()
    page.wait_for_function("window.mailroomCourier.idle()")
    with live_server.app.app_context():
        assert db.session.get(TourStop, first).status == StopStatus.DONE
        by_code = {i.code: i.status for i in _items(first)}
        assert by_code == {letter_code: ItemStatus.DELIVERED, registered_code: ItemStatus.LOADED}


def test_scanning_at_the_depot_loads_only_what_was_scanned(live_server, courier_tour, phone_page):
    page = phone_page
    first = courier_tour["stops"][0]
    with live_server.app.app_context():
        letter = _items(first)[0]
        code, letter_id = letter.code, letter.id
    login_demo(page, live_server, "bote")
    page.goto(f"{live_server.url}/courier/tour/{courier_tour['id']}")
    page.fill("#load-scan", code.lower())
    page.press("#load-scan", "Enter")
    assert page.get_by_test_id("load-scan-msg").inner_text() == f"✓ {code} verladen"
    assert page.get_by_test_id("load-summary").inner_text().startswith("1 von 4 Sendungen verladen")
    _start(page, courier_tour["last_km"] + 1, tick_all=False)
    assert "3 Sendungen sind nicht angekreuzt und fahren nicht mit" in page.get_by_test_id("load-confirm").inner_text()
    page.get_by_test_id("load-confirm-yes").click()
    page.wait_for_function("window.mailroomCourier.idle()")
    with live_server.app.app_context():
        loaded = db.session.scalars(select(MailItem).where(MailItem.status == ItemStatus.LOADED)).all()
        assert [i.id for i in loaded] == [letter_id]


def test_tomorrows_tour_cannot_be_started_today(live_server, phone_page):
    app = live_server.app
    with app.app_context():
        world = _demo_world(app)
        world.van = db.session.scalar(select(Vehicle).where(Vehicle.code == "E2"))
        tour = make_tour(world, world.couriers["bote"], day=local_today() + timedelta(days=1))
        tour_id, day = tour.id, tour.service_date
    login_demo(phone_page, live_server, "bote")
    phone_page.goto(f"{live_server.url}/courier/tour/{tour_id}")
    refused = phone_page.get_by_test_id("start-refused")
    refused.wait_for()
    assert refused.inner_text() == (
        f"Diese Tour ist für morgen ({day:%d.%m.%Y}) geplant und kann erst an diesem Tag begonnen werden."
    )
    assert phone_page.locator("#start-km").count() == 0
    with app.app_context():
        assert db.session.get(type(tour), tour_id).status == TourStatus.PLANNED

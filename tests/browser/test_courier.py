"""The courier's route sheet on a phone-sized Chromium: offline queue, signatures, refusals."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import func, select

from mailroom.extensions import db
from mailroom.models import (
    CourierAction,
    EventKind,
    HandoverProof,
    ItemKind,
    MailEvent,
    MailItem,
    OdometerReading,
    OrgUnit,
    Site,
    StopStatus,
    Tour,
    TourStatus,
    User,
    Vehicle,
)
from mailroom.services import fleet
from tests.browser.session import login_demo, post_json
from tests.mailroom.courier.builders import World, make_tour

pytestmark = pytest.mark.browser


def _demo_world(app) -> World:
    depot = db.session.scalar(select(Site).where(Site.is_depot))
    sites = list(db.session.scalars(select(Site).where(Site.is_depot.is_(False)).order_by(Site.id).limit(3)))
    units = [db.session.scalar(select(OrgUnit).where(OrgUnit.site_id == s.id).order_by(OrgUnit.id)) for s in sites]
    van = db.session.scalar(select(Vehicle).where(Vehicle.code == "E1"))
    couriers = {u.username: u for u in db.session.scalars(select(User).where(User.username.in_(["bote", "botin"])))}
    return World(depot=depot, sites=sites, units=units, van=van, couriers=couriers)


@pytest.fixture
def courier_tour(live_server):
    """Today's tour of "bote" over three demo sites: a letter and a registered letter at the first stop,
    a letter at the second, a parcel at the third."""
    app = live_server.app
    with app.app_context():
        world = _demo_world(app)
        tour = make_tour(
            world,
            world.couriers["bote"],
            items_per_stop=((ItemKind.BRIEF, ItemKind.EINSCHREIBEN_UEBERGABE), (ItemKind.BRIEF,), (ItemKind.PAKET,)),
        )
        last = fleet.last_reading(world.van)
        return {"id": tour.id, "last_km": last.km, "stops": [s.id for s in tour.stops]}


def _sign(page, stop_id):
    canvas = page.locator(f"#signature-{stop_id}")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x, y = box["x"], box["y"]
    page.mouse.move(x + 20, y + 100)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(x + 20 + step * 20, y + 100 - (step % 3) * 25)
    page.mouse.up()


def _start(page, km, soc=95, tick_all=True):
    """Tick every item on the load list (nothing counts as loaded unticked), then begin the tour."""
    if tick_all and page.get_by_test_id("load-all").count():
        page.get_by_test_id("load-all").click()
    page.fill("#start-km", str(km))
    page.fill("#start-soc", str(soc))
    page.click("#start-card button[type=submit]")


def _open_stop(page, stop_id):
    card = page.locator(f"#stop-{stop_id}")
    if card.get_attribute("open") is None:
        card.locator("summary").click()
    return card


def _count(model, *criteria) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*criteria)) or 0


def test_offline_mid_tour_queues_three_actions_and_sends_each_once(live_server, courier_tour, phone_page, tmp_path):
    page = phone_page
    login_demo(page, live_server, "bote")
    page.goto(f"{live_server.url}/courier/tour/{courier_tour['id']}")
    _start(page, courier_tour["last_km"] + 3, 97)
    page.wait_for_function("document.getElementById('tour-status').textContent === 'Unterwegs'")
    page.wait_for_function("window.mailroomCourier.idle()")
    first, second, third = courier_tour["stops"]
    page.screenshot(path=str(tmp_path / "started.png"), full_page=True)

    page.context.set_offline(True)
    # stop 1: a letter and a registered letter, with receiver and signature
    card = _open_stop(page, first)
    card.locator("button", has_text="Alle ankreuzen").click()
    page.fill(f"#receiver-{first}", "K. Janssen")
    _sign(page, first)
    page.screenshot(path=str(tmp_path / "signed.png"), full_page=True)
    card.get_by_test_id("stop-done").click()
    # stop 2: the letter typed in by its code
    card = _open_stop(page, second)
    with live_server.app.app_context():
        letter_code = db.session.scalar(
            select(MailItem.code).join(MailItem.events).where(MailEvent.tour_id == courier_tour["id"])
            .where(MailItem.kind == ItemKind.BRIEF, MailItem.tour_stop_id == second)
        )  # fmt: skip
    page.fill(f"#scan-{second}", letter_code.lower())
    page.press(f"#scan-{second}", "Enter")
    assert page.locator(f"#stop-{second} .scan-msg").inner_text() == f"✓ {letter_code}"
    page.locator(f"#pickups-{second}").fill("2")
    card.get_by_test_id("stop-done").click()
    # stop 3: closed
    card = _open_stop(page, third)
    card.get_by_test_id("skip-open").click()
    card.locator(f"#reason-{third}").select_option("Standort geschlossen")
    card.get_by_test_id("skip-confirm").click()

    badge = page.get_by_test_id("queue-badge")
    assert badge.inner_text() == "3 Aktionen warten auf Netz"
    page.screenshot(path=str(tmp_path / "offline.png"), full_page=True)
    queued = page.evaluate("window.mailroomCourier.queue()")
    assert [a["kind"] for a in queued] == ["stop_done", "stop_done", "skip"]
    with live_server.app.app_context():
        assert _count(CourierAction, CourierAction.tour_id == courier_tour["id"]) == 1  # only the start

    page.context.set_offline(False)
    badge.wait_for(state="hidden")
    page.wait_for_function("window.mailroomCourier.idle()")

    with live_server.app.app_context():
        for action in queued:
            stored = db.session.scalar(select(CourierAction).where(CourierAction.client_action_id == action["id"]))
            phone_time = datetime.fromisoformat(action["body"]["at"])
            assert stored.at == phone_time  # the time of the action, not of the sync
            assert stored.recorded_at > phone_time
            events = list(
                db.session.scalars(select(MailEvent).where(MailEvent.client_action_id.like(action["id"] + ":%")))
            )
            expected = {"stop_done": 2, "skip": 1}[action["kind"]] if action["stop"] != second else 1
            assert len(events) == expected
            assert {e.at for e in events} == {phone_time}
        registered = db.session.scalar(
            select(MailEvent).join(HandoverProof).where(MailEvent.client_action_id.like(queued[0]["id"] + ":%"))
        )
        assert registered.proof.receiver_name == "K. Janssen" and registered.proof.signature_sha256
        stops = {s.id: s for s in db.session.get(Tour, courier_tour["id"]).stops}
        assert [stops[i].status for i in (first, second, third)] == [
            StopStatus.DONE,
            StopStatus.DONE,
            StopStatus.SKIPPED,
        ]
        assert stops[second].pickups_count == 2
        counts = (_count(MailEvent), _count(HandoverProof), _count(CourierAction))

    # The phone sends the same queue again (a lost answer): the same results, nothing new stored.
    answers = page.evaluate(
        """async (queued) => {
            const token = document.querySelector('meta[name="csrf-token"]').content;
            const out = [];
            for (const a of queued) {
                const res = await fetch(a.url, {method: 'POST', body: JSON.stringify(a.body),
                    headers: {'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRFToken': token}});
                out.push({status: res.status, replayed: res.headers.get('X-Replayed'), body: await res.json()});
            }
            return out;
        }""",
        queued,
    )
    assert [(a["status"], a["replayed"]) for a in answers] == [(200, "1")] * 3
    assert [a["body"]["client_action_id"] for a in answers] == [a["id"] for a in queued]
    with live_server.app.app_context():
        assert (_count(MailEvent), _count(HandoverProof), _count(CourierAction)) == counts

    # The page shows the server's state after the sync.
    assert page.locator(f"#stop-{third}").get_attribute("data-status") == "skipped"
    page.screenshot(path=str(tmp_path / "synced.png"), full_page=True)


def test_signature_for_registered_mail_cannot_be_skipped(live_server, courier_tour, phone_page):
    page = phone_page
    login_demo(page, live_server, "bote")
    page.goto(f"{live_server.url}/courier/tour/{courier_tour['id']}")
    _start(page, courier_tour["last_km"] + 1)
    page.wait_for_function("window.mailroomCourier.idle()")
    first = courier_tour["stops"][0]
    card = _open_stop(page, first)
    done = card.get_by_test_id("stop-done")
    registered = card.locator("li[data-registered='1'] input[type=checkbox]")
    registered.check()
    assert done.is_disabled()
    assert card.get_by_test_id("handover-hint").inner_text() == (
        "Für Einschreiben/PZU fehlt: Name des Empfängers und Unterschrift."
    )
    page.fill(f"#receiver-{first}", "S. Gerdes")
    assert done.is_disabled()
    assert card.get_by_test_id("handover-hint").inner_text() == "Für Einschreiben/PZU fehlt: Unterschrift."
    _sign(page, first)
    assert done.is_enabled()
    card.locator("button", has_text="Unterschrift löschen").click()
    assert done.is_disabled()

    # The server refuses it too when a phone sends it without a signature.
    with live_server.app.app_context():
        item_id = db.session.scalar(
            select(MailItem.id).where(MailItem.tour_stop_id == first, MailItem.kind == ItemKind.EINSCHREIBEN_UEBERGABE)
        )
        events_before = _count(MailEvent)
    answer = post_json(page, f"/courier/tour/{courier_tour['id']}/stops/{first}/done",
                   {"client_action_id": "aaaaaaaa-1111-4111-8111-000000000001", "items": [item_id],
                    "receiver_name": "S. Gerdes"})  # fmt: skip
    assert answer["status"] == 422
    assert answer["body"]["error"]["code"] == "signature_missing"
    assert "Unterschrift Pflicht" in answer["body"]["error"]["message"]
    with live_server.app.app_context():
        assert _count(MailEvent) == events_before


def test_lower_odometer_other_couriers_tour_and_finished_tour(live_server, courier_tour, phone_page):
    page = phone_page
    tour_url = f"{live_server.url}/courier/tour/{courier_tour['id']}"
    # another courier cannot open it
    login_demo(page, live_server, "botin")
    response = page.goto(tour_url)
    assert response.status == 403
    assert "nicht Ihnen zugeteilt" in page.locator("main").inner_text()
    page.context.clear_cookies()

    login_demo(page, live_server, "bote")
    page.goto(tour_url)
    lower = round(courier_tour["last_km"] - 70, 1)
    _start(page, lower)
    error = page.locator("#start-card .field-error")
    assert error.inner_text() == (
        f"Kilometerstand {fleet.format_km(lower)} km ist kleiner als der letzte Stand "
        f"{fleet.format_km(courier_tour['last_km'])} km."
    )
    # the server refuses it as well, with the same words
    answer = post_json(page, f"/courier/tour/{courier_tour['id']}/start",
                   {"client_action_id": "bbbbbbbb-1111-4111-8111-000000000001", "km": lower, "soc": 90})  # fmt: skip
    assert answer["status"] == 422
    last = fleet.format_km(courier_tour["last_km"])
    assert answer["body"]["error"]["message"].startswith(
        f"Kilometerstand {fleet.format_km(lower)} km ist kleiner als der letzte Stand {last} km"
    )
    with live_server.app.app_context():
        assert db.session.get(Tour, courier_tour["id"]).status == TourStatus.PLANNED

    _start(page, courier_tour["last_km"] + 2)
    page.wait_for_function("window.mailroomCourier.idle()")
    page.fill("#end-km", str(courier_tour["last_km"] + 30))
    page.fill("#end-soc", "60")
    page.click("#end-card button[type=submit]")
    page.get_by_test_id("tour-finished").wait_for()
    page.wait_for_function("window.mailroomCourier.idle()")
    assert "gefahren 28 km" in page.get_by_test_id("tour-finished").inner_text()
    answer = post_json(page, f"/courier/tour/{courier_tour['id']}/stops/{courier_tour['stops'][0]}/skip",
                   {"client_action_id": "cccccccc-1111-4111-8111-000000000001", "reason": "zu spät"})  # fmt: skip
    assert answer["status"] == 409
    assert answer["body"]["error"]["message"] == "Die Tour ist bereits beendet: keine weiteren Aktionen möglich."
    with live_server.app.app_context():
        tour = db.session.get(Tour, courier_tour["id"])
        assert tour.status == TourStatus.FINISHED
        assert fleet.tour_driven_km(tour) == 28
        assert _count(OdometerReading, OdometerReading.tour_id == tour.id) == 2
        # nothing was handed over: every item is back on the shelf
        assert _count(MailEvent, MailEvent.tour_id == tour.id, MailEvent.kind == EventKind.UNLOADED) == 4
    json.dumps(answer)  # the answer is plain JSON


def test_tour_page_opens_again_without_network_once_loaded(live_server, phone_page, courier_tour):
    """The service worker keeps the last copy of the tour page: in a dead spot the courier can reload."""
    login_demo(phone_page, live_server, "bote")
    url = f"{live_server.url}/courier/tour/{courier_tour['id']}"
    phone_page.goto(url)
    phone_page.wait_for_function("navigator.serviceWorker.controller !== null")  # the worker claims the page
    phone_page.goto(url)  # a load through the worker, which keeps the copy
    phone_page.context.set_offline(True)
    try:
        phone_page.reload()
        assert "Tour E-Transporter 1" in phone_page.locator("h1").inner_text()
        assert phone_page.locator("#start-km").is_visible()
    finally:
        phone_page.context.set_offline(False)

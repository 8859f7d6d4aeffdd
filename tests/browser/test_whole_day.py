"""A whole day through the real pages: items scanned in at the scan station and sorted, tours planned on the
dispatch page, route sheets printed (their QR codes decode to the tour URLs), a courier completes the tour on
a phone from that URL with a signature, and the items show as delivered on the tracking page."""

from __future__ import annotations

import io

import pypdfium2
import pytest
from pyzbar.pyzbar import decode
from sqlalchemy import select

from labels.codes import make_s10
from mailroom.extensions import db
from mailroom.models import EventKind, ItemStatus, MailEvent, MailItem, StopStatus, Tour, TourStatus, TourStop
from mailroom.services import fleet
from tests.browser.session import login_demo, post_json

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _qr_urls(pdf: bytes) -> list[str]:
    urls = []
    document = pypdfium2.PdfDocument(io.BytesIO(pdf))
    for index in range(len(document)):
        image = document[index].render(scale=3).to_pil()
        urls += [symbol.data.decode() for symbol in decode(image) if symbol.type == "QRCODE"]
    return urls


def test_whole_day(live_server, page, phone_page, tmp_path):
    server = live_server
    app = server.app

    # 1. The mail room logs three items for the town hall at the scan station.
    login_demo(page, server, "post")
    page.goto(server.url + "/intake/scan")
    registered = make_s10("RR", 47_110_815)
    logged = [
        post_json(page, "/intake/scan", {"code": registered, "kind": "einschreiben_uebergabe", "org_unit": "FD11"}),
        post_json(page, "/intake/scan", {"code": "JJD000390007812345678", "kind": "paket", "org_unit": "FD20"}),
        post_json(page, "/intake/scan", {"manual": True, "kind": "brief", "org_unit": "OB"}),
    ]
    assert [answer["status"] for answer in logged] == [201, 201, 201], logged
    codes = [answer["body"]["item"]["code"] for answer in logged]

    # 2. Sorted into the town hall's box at the sorting page.
    page.goto(server.url + "/intake/sorting")
    for code in codes:
        with page.expect_response(lambda r: r.url.endswith("/intake/sorting/scan")) as answer:
            page.fill("#sort-input", code)
            page.press("#sort-input", "Enter")
        assert answer.value.status == 200
    with app.app_context():
        items = list(db.session.scalars(select(MailItem).where(MailItem.code.in_(codes))))
        assert {i.status for i in items} == {ItemStatus.SORTED}

    # 3. Tours planned on the dispatch page; the route sheets printed.
    page.goto(server.url + "/dispatch/")
    page.get_by_test_id("plan-button").click()
    page.get_by_test_id("sheets-link").wait_for(timeout=60_000)
    page.screenshot(path=str(tmp_path / "dispatch.png"), full_page=True)
    sheets = page.request.get(server.url + page.get_by_test_id("sheets-link").get_attribute("href"))
    assert sheets.status == 200 and sheets.headers["content-type"].startswith("application/pdf")
    qr_urls = _qr_urls(sheets.body())
    with app.app_context():
        stop_id = db.session.scalar(select(MailItem.tour_stop_id).where(MailItem.code == registered))
        stop = db.session.get(TourStop, stop_id)
        tour = stop.tour
        tour_id, driver = tour.id, tour.driver.username
        all_urls = {f"{server.url}/courier/tour/{t.id}" for t in db.session.scalars(select(Tour))}
        last_km = fleet.last_reading(tour.vehicle).km
    assert driver in ("bote", "botin")
    assert set(qr_urls) <= all_urls and f"{server.url}/courier/tour/{tour_id}" in qr_urls

    # 4. The courier opens the tour from the QR code on a phone and completes it.
    phone = phone_page
    login_demo(phone, server, driver)
    phone.goto(f"{server.url}/courier/tour/{tour_id}")
    phone.get_by_test_id("load-all").click()  # the load list: every item is in the van
    phone.fill("#start-km", str(last_km + 0.5))
    phone.fill("#start-soc", "98")
    phone.click("#start-card button[type=submit]")
    phone.wait_for_function(
        "window.mailroomCourier.idle() && document.getElementById('tour-status').textContent === 'Unterwegs'"
    )
    card = phone.locator(f"#stop-{stop_id}")
    if card.get_attribute("open") is None:
        card.locator("summary").click()
    for code in codes:
        phone.fill(f"#scan-{stop_id}", code)
        phone.press(f"#scan-{stop_id}", "Enter")
    phone.fill(f"#receiver-{stop_id}", "K. Janssen")
    canvas = phone.locator(f"#signature-{stop_id}")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    phone.mouse.move(box["x"] + 20, box["y"] + 90)
    phone.mouse.down()
    for step in range(1, 10):
        phone.mouse.move(box["x"] + 20 + step * 25, box["y"] + 90 - (step % 2) * 50)
    phone.mouse.up()
    card.get_by_test_id("stop-done").click()
    phone.wait_for_function("window.mailroomCourier.idle()")
    phone.fill("#end-km", str(last_km + 40))
    phone.fill("#end-soc", "70")
    phone.click("#end-card button[type=submit]")
    phone.get_by_test_id("tour-finished").wait_for()
    phone.wait_for_function("window.mailroomCourier.idle()")
    phone.screenshot(path=str(tmp_path / "courier.png"), full_page=True)
    with app.app_context():
        tour = db.session.get(Tour, tour_id)
        assert tour.status == TourStatus.FINISHED
        assert db.session.get(TourStop, stop_id).status == StopStatus.DONE
        assert fleet.tour_driven_km(tour) == 39.5
        items = list(db.session.scalars(select(MailItem).where(MailItem.code.in_(codes))))
        assert {i.status for i in items} == {ItemStatus.DELIVERED}
        delivered = db.session.scalar(
            select(MailEvent)
            .where(MailEvent.kind == EventKind.DELIVERED)
            .join(MailItem)
            .where(MailItem.code == registered)
        )
        assert delivered.proof.receiver_name == "K. Janssen" and delivered.proof.signature_sha256

    # 5. Tracking shows the item delivered with its chain of custody.
    page.goto(f"{server.url}/intake/track?q={registered}")
    text = page.locator("main").inner_text()
    for step in ("Eingang erfasst", "Sortiert", "Verladen", "Zugestellt"):
        assert step in text
    page.screenshot(path=str(tmp_path / "track.png"), full_page=True)

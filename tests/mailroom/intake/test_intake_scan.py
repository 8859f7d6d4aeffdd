"""Scan station: logging items, the receipt stamp, duplicates, bad codes, details, notification."""

from __future__ import annotations

import threading

from sqlalchemy import select

from labels import codes as carrier_codes
from mailroom.extensions import db
from mailroom.models import EventKind, IncomingCounter, ItemKind, ItemStatus, MailEvent, MailItem
from mailroom.services import intake
from mailroom.services.clock import local_today
from tests.builders import FD20_EMAIL

S10 = carrier_codes.make_s10("RR", 12345678)  # RR123456785DE
S10_BAD = S10[:10] + str((int(S10[10]) + 1) % 10) + "DE"
YEAR = local_today().year


def test_scan_logs_a_new_item_with_its_receipt_stamp(wdb):
    response = wdb.scan(S10)
    assert response.status_code == 201
    data = response.get_json()
    assert data["created"] is True and data["level"] == "ok"
    assert data["format"] == "s10"
    item = db.session.scalar(select(MailItem))
    assert item.code == S10 and item.carrier_code == S10 and item.check_digit_valid is True
    assert item.incoming_number == f"E-{YEAR}-000001"
    assert item.received_at.tzinfo is not None
    assert item.received_by_id == wdb.staff.id
    assert item.status == ItemStatus.RECEIVED and item.needs_details
    events = list(db.session.scalars(select(MailEvent)))
    assert [(e.kind, e.to_status, e.user_id) for e in events] == [("received", "received", wdb.staff.id)]
    assert data["item"]["incoming_number"] == item.incoming_number
    assert data["item"]["url"] == f"/intake/items/{item.id}"
    assert "Server-Timing" in response.headers

    second = wdb.scan(carrier_codes.make_identcode(12345678901))
    assert second.get_json()["item"]["incoming_number"] == f"E-{YEAR}-000002"
    assert second.get_json()["format"] == "dhl_identcode"


def test_ups_and_dhl_jjd_codes_are_recognised_at_the_scan_station(w):
    ups = carrier_codes.make_ups("999AA1", "01", 2345678)  # 1Z999AA10123456784
    for code, fmt in ((ups, "ups"), ("JJD0099999999", "dhl_parcel"), ("JJD014600003159481522", "dhl_parcel")):
        data = w.scan(code.lower()).get_json()
        assert (data["created"], data["format"], data["level"]) == (True, fmt, "ok"), data
        item = db.session.scalar(select(MailItem).where(MailItem.code == code))
        assert item is not None and item.carrier_format == fmt
    wrong = w.scan(ups[:17] + str((int(ups[17]) + 1) % 10)).get_json()
    assert wrong["format"] == "ups" and wrong["level"] == "warn" and "Prüfziffer ungültig" in wrong["message"]


def test_a_code_scanned_again_shows_the_item_instead_of_a_duplicate(wdb):
    first = wdb.scan(S10).get_json()
    # typed by hand, lower case with spaces: still the same code
    again = wdb.scan(" " + S10.lower()[:6] + " " + S10.lower()[6:])
    assert again.status_code == 200
    data = again.get_json()
    assert data["created"] is False and data["level"] == "warn"
    assert "Bereits heute" in data["message"] and first["item"]["incoming_number"] in data["message"]
    assert data["item"]["id"] == first["item"]["id"]
    assert wdb.count_items() == 1 and wdb.count_events() == 1
    # the incoming number finds it too
    by_number = wdb.scan(first["item"]["incoming_number"]).get_json()
    assert by_number["item"]["id"] == first["item"]["id"] and wdb.count_items() == 1


def test_item_logged_by_hand_gets_our_own_code(w):
    response = w.scan(manual=True)
    assert response.status_code == 201
    item = db.session.scalar(select(MailItem))
    assert item.code == carrier_codes.make_internal_code(YEAR, 1)
    assert item.carrier_code is None and item.carrier_format == "internal" and item.received_via == "manual"
    info = carrier_codes.classify(item.code)
    assert info.format == "internal" and info.check_digit_valid
    assert "Etikett" in response.get_json()["message"]
    # scanning the printed label later finds the item
    assert w.scan(item.code.replace("-", "")).get_json()["item"]["id"] == item.id


def test_empty_code_without_manual_flag_is_refused(w):
    response = w.scan("   ")
    assert response.status_code == 422
    assert response.get_json()["error"]["message"] == "Bitte einen Code scannen oder eingeben."
    assert w.count_items() == 0


def test_wrong_check_digit_is_logged_but_flagged(w):
    response = w.scan(S10_BAD)
    assert response.status_code == 201
    data = response.get_json()
    assert data["level"] == "warn" and "Prüfziffer ungültig" in data["message"]
    assert data["item"]["check_digit_valid"] is False
    item = db.session.scalar(select(MailItem))
    assert item.check_digit_valid is False
    page = w.client().get(f"/intake/items/{item.id}").get_data(as_text=True)
    assert "Prüfziffer ungültig" in page


def test_box_code_and_unknown_own_code_are_refused_without_using_a_number(w):
    box = w.scan("FACH-RH")
    assert box.status_code == 422 and "Fach" in box.get_json()["error"]["message"]
    unknown_own = w.scan(carrier_codes.make_internal_code(YEAR, 4711))
    assert unknown_own.status_code == 404
    assert "nicht vergeben" in unknown_own.get_json()["error"]["message"]
    too_long = w.scan("X" * 65)
    assert too_long.status_code == 422
    assert w.count_items() == 0 and w.count_events() == 0
    assert db.session.get(IncomingCounter, YEAR) is None
    # the next real item still gets number 1
    assert w.scan(S10).get_json()["item"]["incoming_number"] == f"E-{YEAR}-000001"


def test_unknown_org_unit_is_refused_and_nothing_is_stored(w):
    response = w.scan(S10, org_unit="FD404")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "unknown_org_unit" and "FD404" in error["message"]
    inactive = w.scan(S10, org_unit="FD99")
    assert inactive.status_code == 422
    assert w.count_items() == 0 and w.count_events() == 0


def test_delivered_item_scanned_again_shows_it_with_a_message(wdb):
    item = wdb.delivered(S10)
    items, events = wdb.count_items(), wdb.count_events()
    response = wdb.scan(S10)
    assert response.status_code == 200
    data = response.get_json()
    assert data["created"] is False and data["level"] == "warn"
    assert "bereits zugestellt" in data["message"]
    assert data["item"]["id"] == item.id and data["item"]["status"] == "delivered"
    assert wdb.count_items() == items and wdb.count_events() == events


def test_scan_with_kind_and_org_unit_in_one_go(w):
    response = w.scan(S10, kind="pzu", org_unit="FD20 – Fachdienst Finanzen", confidential=True)
    item = db.session.get(MailItem, response.get_json()["item"]["id"])
    assert item.kind == "pzu" and item.org_unit.short_name == "FD20" and item.site.code == "RH"
    assert item.confidential is True and item.delivery_date == local_today()
    assert not item.needs_details


def test_incoming_numbers_are_unique_under_concurrent_requests(wdb):
    app = wdb.app
    numbers: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            with app.app_context():
                for _ in range(8):
                    number = intake.next_incoming_number(2031)
                    db.session.commit()
                    with lock:
                        numbers.append(number)
                db.session.remove()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(numbers) == list(range(1, 49))
    db.session.expire_all()
    assert db.session.get(IncomingCounter, 2031).last_number == 48


def test_concurrent_scans_get_distinct_numbers(wdb):
    """Through the web: several clients scanning at once."""
    app = wdb.app
    results: list[str] = []
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            with app.app_context():
                client = app.test_client()
                client.post("/login", data={"username": "post", "password": "richtig-geheim-123"})
                for i in range(4):
                    code = carrier_codes.make_s10("RR", n * 100 + i)
                    response = client.post("/intake/scan", json={"code": code})
                    assert response.status_code == 201, response.get_data(as_text=True)
                    results.append(response.get_json()["item"]["incoming_number"])
                db.session.remove()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results) == [f"E-{YEAR}-{n:06d}" for n in range(1, 17)]


# --- details -------------------------------------------------------------------------------------


def test_details_are_set_from_the_row_as_a_details_event(w):
    item_id = w.scan(S10).get_json()["item"]["id"]
    client = w.client()
    response = client.post(f"/intake/items/{item_id}/details", json={"kind": "brief"})
    assert response.status_code == 200 and response.get_json()["item"]["needs_details"] is True
    response = client.post(f"/intake/items/{item_id}/details", json={"org_unit": "fd32", "sender": "Amtsgericht"})
    data = response.get_json()
    assert data["changed"] is True and data["item"]["needs_details"] is False
    assert data["item"]["site_code"] == "SH"
    events = list(db.session.scalars(select(MailEvent).where(MailEvent.kind == EventKind.DETAILS)))
    assert len(events) == 2
    # personal data (the sender) is named, never stored in the append-only log
    assert events[1].data == {"changed": ["org_unit", "sender"], "org_unit": "FD32"}
    assert "Amtsgericht" not in str(events[1].data)
    # the same values again: no event
    again = client.post(f"/intake/items/{item_id}/details", json={"org_unit": "FD32"}).get_json()
    assert again["changed"] is False


def test_bad_details_change_nothing(w):
    item_id = w.scan(S10).get_json()["item"]["id"]
    client = w.client()
    cases = [
        ({"kind": "brief", "org_unit": "Nirgendwo"}, 422, "Unbekannter Fachdienst"),
        ({"kind": "telegramm"}, 422, "Unbekannte Sendungsart"),
        ({"delivery_date": "2999-01-01"}, 422, "Zukunft"),
        ({"delivery_date": "31.02.2026"}, 422, "kein gültiges Datum"),
        ({"file_number": "x" * 65}, 422, "höchstens 64"),
        ({"colour": "red"}, 422, "Unbekannte Angabe"),
    ]
    for body, status, text in cases:
        response = client.post(f"/intake/items/{item_id}/details", json=body)
        assert response.status_code == status, body
        assert text in response.get_json()["error"]["message"], body
    item = db.session.get(MailItem, item_id)
    db.session.refresh(item)
    # A recognised S10 code is registered from the scan on; bad details leave it as it was.
    assert item.kind == ItemKind.EINSCHREIBEN_UEBERGABE
    assert item.org_unit_id is None and item.file_number is None
    assert w.count_events() == 1


def test_org_unit_cannot_change_after_sorting(w):
    item = w.item(S10)
    from mailroom.services import custody

    custody.sort_item(item, user=w.staff)
    db.session.commit()
    response = w.client().post(f"/intake/items/{item.id}/details", json={"org_unit": "FD32"})
    assert response.status_code == 409
    assert "Sortieren" in response.get_json()["error"]["message"]
    # details that do not move the item are still fine
    ok = w.client().post(f"/intake/items/{item.id}/details", json={"file_number": "20-123/26"})
    assert ok.status_code == 200


def test_registered_item_notifies_its_org_unit(w):
    """A real SMTP server (aiosmtpd) receives the notification; a NOTIFIED event records it, once."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received = []

    class Collect(Message):
        def handle_message(self, message):
            received.append(message)

    from tests.conftest import _free_port

    port = _free_port()
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        w.app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
        item_id = w.scan(S10).get_json()["item"]["id"]
        client = w.client()
        # the S10 code made it registered already: choosing the same kind changes nothing
        same = client.post(f"/intake/items/{item_id}/details", json={"kind": "einschreiben_uebergabe"}).get_json()
        assert same["changed"] is False
        assert received == []  # no org unit yet
        data = client.post(f"/intake/items/{item_id}/details", json={"org_unit": "FD20"}).get_json()
        assert len(received) == 1 and received[0]["To"] == FD20_EMAIL
        kinds = [e.kind for e in db.session.scalars(select(MailEvent).where(MailEvent.item_id == item_id))]
        assert kinds == ["received", "details", "notified"]
        assert data["item"]["delivery_date"] == local_today().isoformat()
        client.post(f"/intake/items/{item_id}/details", json={"kind": "pzu"})
        assert len(received) == 1  # not twice
    finally:
        controller.stop()


def test_scan_station_page_lists_todays_items(w):
    w.scan(S10)
    page = w.client().get("/intake/scan")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="scan-input"' in html and "autofocus" in html
    assert S10 in html  # in the JSON the page script renders
    assert "FD20 – Fachdienst Finanzen" in html and "FD99" not in html  # inactive units are not offered
    assert "js/scan-station.js" in html


def test_worklist_lists_items_missing_details_and_saves_a_row(w):
    complete = w.item(carrier_codes.make_s10("RR", 1))
    open_id = w.scan(S10).get_json()["item"]["id"]
    client = w.client()
    html = client.get("/intake/worklist").get_data(as_text=True)
    assert S10 in html and complete.code not in html
    response = client.post(
        f"/intake/items/{open_id}/details",
        data={"kind": "grossbrief", "org_unit": "FD20 – Fachdienst Finanzen", "confidential": ["0", "1"]}
        | {"next": "worklist"},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/intake/worklist")
    item = db.session.get(MailItem, open_id)
    assert item.kind == "grossbrief" and item.confidential and item.site_id == w.sites["RH"].id
    html = client.get("/intake/worklist").get_data(as_text=True)
    assert S10 not in html and "gespeichert" in html
    # a bad org unit in the work list: a message, nothing saved
    other = w.scan(carrier_codes.make_s10("RR", 2)).get_json()["item"]["id"]
    bad = client.post(f"/intake/items/{other}/details", data={"org_unit": "Mond", "next": "worklist"})
    assert bad.status_code == 302
    assert "Unbekannter Fachdienst" in client.get("/intake/worklist").get_data(as_text=True)
    assert db.session.get(MailItem, other).org_unit_id is None


def test_other_roles_may_not_scan(w):
    from mailroom.models import Role

    w.user("bote", Role.COURIER)
    c = w.client("bote")
    assert c.post("/intake/scan", json={"code": S10}).status_code == 403
    assert w.count_items() == 0


def test_the_same_code_scanned_at_the_same_moment_is_logged_once(wdb):
    app = wdb.app
    barrier = threading.Barrier(4)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with app.app_context():
                client = app.test_client()
                client.post("/login", data={"username": "post", "password": "richtig-geheim-123"})
                barrier.wait()
                statuses.append(client.post("/intake/scan", json={"code": S10}).status_code)
                db.session.remove()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(statuses) == [200, 200, 200, 201]
    assert wdb.count_items() == 1


def test_mail_for_a_do_not_open_unit_is_confidential_when_scanned_or_assigned(w):
    w.units["FD20"].do_not_open = True
    db.session.commit()
    scanned = w.scan(S10, org_unit="FD20").get_json()
    assert db.session.get(MailItem, scanned["item"]["id"]).confidential is True

    later = intake.log_item(carrier_codes.make_s10("RR", 22222222), user=w.staff).item
    assert later.confidential is False
    intake.set_details(later, {"org_unit": "FD20", "confidential": False}, user=w.staff)
    assert later.confidential is True

    other = w.item(carrier_codes.make_s10("RR", 33333333), unit=next(u for u in w.units if u != "FD20"))
    assert other.confidential is False

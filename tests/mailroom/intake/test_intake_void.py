"""Undoing a wrong scan: a custody event (VOIDED), never a deletion; only shortly after and before sorting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from labels import codes as carrier_codes
from mailroom.errors import InvalidTransition
from mailroom.extensions import db
from mailroom.models import EventKind, ItemStatus, MailEvent, MailItem
from mailroom.services import custody, intake
from mailroom.services.clock import now_utc


def _void(w, item_id: int):
    return w.client().post(f"/intake/items/{item_id}/void", json={}, headers={"Accept": "application/json"})


def test_a_wrong_scan_is_voided_by_an_event_and_leaves_the_lists(wdb):
    answer = wdb.scan("FALSCH-GETIPPT-1")
    assert answer.status_code == 201
    item_id = answer.get_json()["item"]["id"]
    assert answer.get_json()["item"]["void_seconds"] > 0
    items_before = wdb.count_items()
    assert item_id in [i.id for i in intake.worklist()]

    voided = _void(wdb, item_id)
    assert voided.status_code == 200, voided.get_json()
    assert voided.get_json()["item"]["status"] == "voided"
    assert voided.get_json()["item"]["void_seconds"] == 0
    db.session.expire_all()
    item = db.session.get(MailItem, item_id)
    assert item.status == ItemStatus.VOIDED
    assert wdb.count_items() == items_before  # nothing deleted
    kinds = list(db.session.scalars(select(MailEvent.kind).where(MailEvent.item_id == item_id).order_by(MailEvent.id)))
    assert kinds == [EventKind.RECEIVED, EventKind.VOIDED]
    event = db.session.scalar(select(MailEvent).where(MailEvent.item_id == item_id, MailEvent.kind == EventKind.VOIDED))
    assert event.user_id == wdb.staff.id and event.from_status == "received" and event.to_status == "voided"
    assert item_id not in [i.id for i in intake.worklist()]
    assert item_id not in [i.id for i in intake.logged_today()]
    assert "Fehlscan storniert" in [row.label for row in intake.history(item)]
    page = wdb.client().get(f"/intake/items/{item_id}")
    assert page.status_code == 200 and "Storniert (Fehlscan)" in page.get_data(as_text=True)
    # sorting a voided item is refused in German
    sorted_answer = wdb.client().post("/intake/sorting/scan", json={"code": "FALSCH-GETIPPT-1"})
    assert sorted_answer.status_code in (409, 422) and "storniert" in sorted_answer.get_json()["error"]["message"]
    # ... and so is the "sorted" step of the scanner API and of the sorting service (not "Empfänger fehlt")
    with pytest.raises(InvalidTransition, match="als Fehlscan storniert"):
        custody.sort_item(item, user=wdb.staff)
    db.session.rollback()

    # twice: refused, no second event; the page shows it logged
    again = _void(wdb, item_id)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_voided"
    # the same wrong code scanned again says so, logs nothing
    rescanned = wdb.scan("FALSCH-GETIPPT-1")
    assert rescanned.status_code == 200 and "storniert" in rescanned.get_json()["message"]
    assert wdb.count_items() == items_before


def test_voiding_is_refused_late_after_sorting_and_for_uploads(w):
    late = intake.log_item("SPAET-1", user=w.staff, via="scan", at=now_utc() - timedelta(minutes=11))
    db.session.commit()
    answer = _void(w, late.item.id)
    assert answer.status_code == 409 and answer.get_json()["error"]["code"] == "void_too_late"
    assert "10 Minuten" in answer.get_json()["error"]["message"]

    w.app.config["INTAKE_VOID_MINUTES"] = 15  # the window is a setting
    assert _void(w, late.item.id).status_code == 200

    code = carrier_codes.make_s10("RR", 33334444)
    sorted_item = w.item(code)
    custody.sort_item(sorted_item, user=w.staff)
    db.session.commit()
    refused = _void(w, sorted_item.id)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "not_voidable"
    db.session.expire_all()
    assert db.session.get(MailItem, sorted_item.id).status == ItemStatus.SORTED

    uploaded = intake.log_item("AUS-UPLOAD-1", user=w.staff, via="upload")
    db.session.commit()
    assert _void(w, uploaded.item.id).status_code == 409
    assert intake.void_seconds_left(uploaded.item) == 0


def test_voiding_needs_the_mail_room_role(w):
    from mailroom.models import Role

    item = intake.log_item("ROLLE-1", user=w.staff, via="scan").item
    db.session.commit()
    w.user("fahrer", Role.COURIER)
    answer = w.client("fahrer").post(f"/intake/items/{item.id}/void", json={}, headers={"Accept": "application/json"})
    assert answer.status_code in (302, 403)
    db.session.expire_all()
    assert db.session.get(MailItem, item.id).status == ItemStatus.RECEIVED


def test_a_voided_scan_leaves_the_days_counts(w):
    from mailroom.services import overview

    before = overview.mailroom_start()
    item = intake.log_item(carrier_codes.make_s10("RR", 44445555), user=w.staff, via="scan").item
    db.session.commit()
    logged = overview.mailroom_start()
    assert logged.received_today == before.received_today + 1
    assert logged.registered_today == before.registered_today + 1
    assert logged.to_sort == before.to_sort + 1
    assert _void(w, item.id).status_code == 200
    db.session.expire_all()
    after = overview.mailroom_start()
    assert (after.received_today, after.registered_today, after.to_sort, after.missing_details) == (
        before.received_today,
        before.registered_today,
        before.to_sort,
        before.missing_details,
    )


def test_a_voided_item_gets_no_label(w):
    from mailroom.services import printing_labels
    from mailroom.services.clock import local_today

    kept = intake.log_item("", user=w.staff, via="manual").item
    wrong = intake.log_item("", user=w.staff, via="manual").item
    db.session.commit()
    assert _void(w, wrong.id).status_code == 200
    ids = [item.id for item in printing_labels.label_candidates(local_today())]
    assert kept.id in ids and wrong.id not in ids

"""Sorting into site boxes, moving whole boxes, Irrläufer, tracking and the item page."""

from __future__ import annotations

from sqlalchemy import select

from labels import codes as carrier_codes
from mailroom.extensions import db
from mailroom.models import EventKind, ItemStatus, MailEvent, MailItem

S10 = carrier_codes.make_s10("RR", 11112222)


def _sort(w, code):
    return w.client().post("/intake/sorting/scan", json={"code": code})


def _events(item_id: int) -> list[str]:
    return list(db.session.scalars(select(MailEvent.kind).where(MailEvent.item_id == item_id).order_by(MailEvent.id)))


def test_scanning_an_item_puts_it_into_its_sites_box(wdb):
    item = wdb.item(S10, unit="FD20")
    response = _sort(wdb, S10)
    assert response.status_code == 200
    data = response.get_json()
    assert data["box_code"] == "FACH-RH" and data["site"]["name"] == "Rathaus" and data["moved"] is True
    db.session.refresh(item)
    assert item.status == ItemStatus.SORTED
    event = db.session.scalar(select(MailEvent).where(MailEvent.kind == EventKind.SORTED))
    assert event.site_id == wdb.sites["RH"].id and event.user_id == wdb.staff.id
    # scanned again: no second event, a hint
    again = _sort(wdb, S10).get_json()
    assert again["moved"] is False and "bereits im Fach FACH-RH" in again["message"]
    assert _events(item.id).count("sorted") == 1


def test_sorting_refuses_items_without_details_or_delivered_or_unknown(w):
    open_item = w.scan(S10).get_json()["item"]
    missing = _sort(w, S10)
    assert missing.status_code == 422 and "fehlt" in missing.get_json()["error"]["message"]
    assert db.session.get(MailItem, open_item["id"]).status == ItemStatus.RECEIVED
    delivered = w.delivered(carrier_codes.make_s10("RR", 5))
    refused = _sort(w, delivered.code)
    assert refused.status_code == 409 and "bereits zugestellt" in refused.get_json()["error"]["message"]
    unknown = _sort(w, "RR000000000DE")
    assert unknown.status_code == 404 and "Keine Sendung" in unknown.get_json()["error"]["message"]


def test_confidential_item_is_sorted_with_a_warning(w):
    w.item(S10, confidential=True)
    data = _sort(w, S10).get_json()
    assert data["level"] == "warn" and "VERTRAULICH" in data["message"]


def test_a_box_code_shows_the_box_and_moves_all_its_items(w):
    items = [w.item(carrier_codes.make_s10("RR", n), unit="FD20") for n in range(1, 4)]
    other = w.item(carrier_codes.make_s10("RR", 9), unit="FD32")
    for item in [*items, other]:
        assert _sort(w, item.code).status_code == 200
    box = _sort(w, "fach-rh").get_json()["box"]
    assert box["box_code"] == "FACH-RH" and box["count"] == 3
    response = w.client().post("/intake/sorting/box", json={"source": "FACH-RH", "action": "move", "target": "FACH-SH"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["count"] == 3 and "FACH-SH" in response.get_json()["message"]
    for item in items:
        db.session.refresh(item)
        assert item.site_id == w.sites["SH"].id and item.status == ItemStatus.SORTED
        assert _events(item.id)[-1] == "sorted"
    assert _sort(w, "FACH-SH").get_json()["box"]["count"] == 4
    # returned all at once
    returned = w.client().post("/intake/sorting/box", json={"source": "FACH-SH", "action": "return", "note": "Umzug"})
    assert returned.get_json()["count"] == 4
    db.session.refresh(other)
    assert other.status == ItemStatus.RETURNED


def test_bad_box_actions_are_refused(w):
    w.item(S10)
    _sort(w, S10)
    client = w.client()
    cases = [
        ({"source": "FACH-XX", "action": "move", "target": "FACH-SH"}, 404, "keinen Standort"),
        ({"source": "FACH-RH", "action": "move", "target": "FACH-RH"}, 422, "dasselbe Fach"),
        ({"source": "FACH-RH", "action": "move", "target": "RH"}, 422, "kein Fach-Code"),
        ({"source": "FACH-SH", "action": "return"}, 422, "leer"),
        ({"source": "FACH-RH", "action": "burn"}, 422, "Unbekannte Aktion"),
    ]
    for body, status, text in cases:
        response = client.post("/intake/sorting/box", json=body)
        assert response.status_code == status, body
        assert text in response.get_json()["error"]["message"], body
    item = db.session.scalar(select(MailItem))
    assert item.site_id == w.sites["RH"].id and item.status == ItemStatus.SORTED


def test_sorting_page_renders(w):
    html = w.client().get("/intake/sorting").get_data(as_text=True)
    assert 'id="sort-input"' in html and "js/sorting.js" in html


def test_irrlaeufer_returned_or_forwarded_with_a_note(w):
    item = w.item(S10, kind="irrlaeufer", unit=None)
    client = w.client()
    missing_note = client.post(f"/intake/items/{item.id}/forward", data={"note": " "})
    assert missing_note.status_code == 422 and "Bitte einen Vermerk" in missing_note.get_data(as_text=True)
    assert client.post(f"/intake/items/{item.id}/forward", data={"note": "Landkreis Ammerland"}).status_code == 302
    db.session.refresh(item)
    assert item.status == ItemStatus.FORWARDED
    again = client.post(f"/intake/items/{item.id}/return", data={"note": ""})
    assert again.status_code == 409 and "bereits weitergeleitet" in again.get_data(as_text=True)
    other = w.item(carrier_codes.make_s10("RR", 7), kind="irrlaeufer", unit=None)
    assert client.post(f"/intake/items/{other.id}/return", data={"note": "falsche Adresse"}).status_code == 302
    db.session.refresh(other)
    assert other.status == ItemStatus.RETURNED
    assert "falsche Adresse" in client.get(f"/intake/items/{other.id}").get_data(as_text=True)


def test_tracking_shows_the_full_history(w):
    from mailroom.models import Role

    item = w.delivered(S10)
    w.user("bote", Role.COURIER)
    client = w.client()
    for query in (S10, S10.lower(), item.incoming_number):
        page = client.get("/intake/track", query_string={"q": query})
        assert page.status_code == 200, query
        html = page.get_data(as_text=True)
        assert item.incoming_number in html
    for label in ("Eingang erfasst", "Angaben ergänzt", "Sortiert", "Verladen", "Zugestellt"):
        assert label in html
    assert "Paula Post" in html and "Rathaus (RH)" in html and "K. Janssen" in html
    assert "Zentrale Poststelle" in html  # where it was received


def test_tracking_own_code_without_hyphen_and_unknown_code(w):
    item_id = w.scan(manual=True).get_json()["item"]["id"]
    code = db.session.get(MailItem, item_id).code
    page = w.client().get("/intake/track", query_string={"q": code.replace("-", "")})
    assert page.status_code == 200 and code in page.get_data(as_text=True)
    missing = w.client().get("/intake/track", query_string={"q": "<b>nix</b>"})
    assert missing.status_code == 404
    html = missing.get_data(as_text=True)
    assert "Keine Sendung zu „&lt;b&gt;nix&lt;/b&gt;“ gefunden" in html and "<b>nix</b>" not in html


def test_item_page_edits_details_and_shows_them(w):
    item_id = w.scan(S10).get_json()["item"]["id"]
    client = w.client()
    form = {
        "kind": "pzu",
        "org_unit": "FD20",
        "sender": "Amtsgericht <Oldenburg>",
        "recipient_name": "Frau Gerdes",
        "file_number": "20-451/26",
        "delivery_date": "2026-01-15",
        "confidential": ["0", "1"],
        "remarks": "Frist beachten",
    }
    response = client.post(f"/intake/items/{item_id}/details", data=form)
    assert response.status_code == 302
    html = client.get(f"/intake/items/{item_id}").get_data(as_text=True)
    assert "PERSÖNLICH / VERTRAULICH" in html
    assert "Amtsgericht &lt;Oldenburg&gt;" in html and "20-451/26" in html and "15.01.2026" in html
    assert "Postzustellungsurkunde (PZU)" in html and "Sendungsart: Postzustellungsurkunde (PZU)" in html
    item = db.session.get(MailItem, item_id)
    assert item.delivery_date.isoformat() == "2026-01-15" and item.recipient_name == "Frau Gerdes"
    # a bad value: the page again with the message and the typed values, 422, nothing changed
    bad = client.post(f"/intake/items/{item_id}/details", data={**form, "org_unit": "FD404", "file_number": "neu"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "Unbekannter Fachdienst „FD404“" in html and 'value="neu"' in html
    db.session.refresh(item)
    assert item.file_number == "20-451/26"


def test_item_page_unknown_id_is_404(w):
    assert w.client().get("/intake/items/424242").status_code == 404


def test_history_does_not_repeat_a_status_the_step_already_names(wdb):
    """Issue 16: "Sortiert → Sortiert" (sorted, and moved to another box); a real change of status stays shown."""
    from mailroom.services import custody, intake

    item = wdb.item(carrier_codes.make_s10("RR", 55556666), unit="FD20")
    custody.sort_item(item, user=wdb.staff)
    custody.sort_item(item, user=wdb.staff, site=wdb.sites["RH"])  # moved (sorted -> sorted)
    custody.record_event(item, EventKind.RETURNED, user=wdb.staff)
    db.session.commit()
    rows = intake.history(item)
    sorted_rows = [row for row in rows if row.label == "Sortiert"]
    assert len(sorted_rows) == 2 and all(row.status_label is None for row in sorted_rows)
    page = wdb.client().get(f"/intake/items/{item.id}").get_data(as_text=True)
    assert "→ Sortiert" not in page and "→ Zurückgesandt" not in page
    assert "Zurückgesandt" in page

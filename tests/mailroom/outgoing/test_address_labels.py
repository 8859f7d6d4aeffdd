"""Address labels of outgoing tracked items and parcels: the download from the tracked list, who may
fetch it, unknown ids, erased recipients; the PDF carries the recorded data and the number as Code 128."""

from __future__ import annotations

from datetime import date

import pypdfium2 as pdfium
from pyzbar.pyzbar import decode
from sqlalchemy import select

from labels.codes import make_s10
from mailroom.extensions import db
from mailroom.models.outgoing import OutgoingParcel, TrackedItem
from mailroom.services.outgoing import tracked
from mailroom.services.outgoing.address_labels import address_lines

DAY = "2026-11-19"


def _client(app, world, username):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": world[username]})
    assert response.status_code == 302
    return client


def _read(pdf: bytes) -> tuple[str, list[tuple[str, str]]]:
    doc = pdfium.PdfDocument(pdf)
    try:
        page = doc[0]
        textpage = page.get_textpage()
        text = textpage.get_text_range()
        textpage.close()
        image = page.render(scale=200 / 72, grayscale=True).to_pil()
    finally:
        doc.close()
    return text, sorted((s.type, s.data.decode()) for s in decode(image))


def _record(post):
    code = make_s10("RR", 4711)
    assert (
        post.post(
            "/outgoing/tracked/einschreiben",
            data={
                "day": DAY,
                "cost_centre": "10100",
                "code": code,
                "variant": "einschreiben_rueckschein",
                "recipient": "Hannelore Kühn, Ofener Straße 5, 26121 Oldenburg",
                "file_number": "32-1/26",
            },
        ).status_code
        == 302
    )
    assert (
        post.post(
            "/outgoing/tracked/parcel",
            data={
                "day": DAY,
                "cost_centre": "10100",
                "carrier": "DHL",
                "tracking_number": "JJD000390007757424371",
                "weight_g": "1200",
                "recipient": "Landkreis Ammerland",
                "recipient_address": "Ammerlandallee 12, 26655 Westerstede",
            },
        ).status_code
        == 302
    )
    item = db.session.scalar(select(TrackedItem).where(TrackedItem.code == code))
    parcel = db.session.scalar(select(OutgoingParcel))
    return item, parcel


def test_label_links_and_pdfs(app, world):
    post = _client(app, world, "post")
    item, parcel = _record(post)

    html = post.get(f"/outgoing/tracked?day={DAY}").get_data(as_text=True)
    assert f'href="/outgoing/tracked/{item.id}/label.pdf"' in html
    assert f'href="/outgoing/parcels/{parcel.id}/label.pdf"' in html

    response = post.get(f"/outgoing/tracked/{item.id}/label.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert f"etikett-{item.code}.pdf" in response.headers["Content-Disposition"]
    text, symbols = _read(response.data)
    assert symbols == [("CODE128", item.code)]
    unit = item.org_unit
    for expected in (
        "Stadt Oldenburg",
        unit.short_name,
        "Kostenstelle 10100",
        "Einschreiben Rückschein",
        "Hannelore Kühn",
        "Ofener Straße 5",
        "26121 Oldenburg",
        "32-1/26",
    ):
        assert expected in text, expected
    if unit.site.street:
        assert unit.site.street in text

    response = post.get(f"/outgoing/parcels/{parcel.id}/label.pdf")
    assert response.status_code == 200
    text, symbols = _read(response.data)
    assert symbols == [("CODE128", "JJD000390007757424371")]
    assert "Landkreis Ammerland" in text and "26655 Westerstede" in text and "DHL" in text


def test_pzu_without_number_gets_a_label_without_barcode(app, world):
    post = _client(app, world, "post")
    assert (
        post.post(
            "/outgoing/tracked/pzu",
            data={"day": DAY, "cost_centre": "10200", "recipient": "Onken", "file_number": "50-7/26"},
        ).status_code
        == 302
    )
    item = db.session.scalar(select(TrackedItem).where(TrackedItem.kind == "pzu"))
    text, symbols = _read(post.get(f"/outgoing/tracked/{item.id}/label.pdf").data)
    assert symbols == []
    assert "Postzustellungsauftrag (PZU)" in text and "50-7/26" in text and "Onken" in text


def test_roles_and_unknown_ids(app, world):
    post = _client(app, world, "post")
    item, parcel = _record(post)
    for username in ("bote", "fuhrpark"):
        other = _client(app, world, username)
        assert other.get(f"/outgoing/tracked/{item.id}/label.pdf").status_code == 403
        assert other.get(f"/outgoing/parcels/{parcel.id}/label.pdf").status_code == 403
    assert app.test_client().get(f"/outgoing/tracked/{item.id}/label.pdf").status_code in (302, 401)
    assert _client(app, world, "admin").get(f"/outgoing/parcels/{parcel.id}/label.pdf").status_code == 200
    assert post.get("/outgoing/tracked/999999/label.pdf").status_code == 404
    assert post.get("/outgoing/parcels/999999/label.pdf").status_code == 404


def test_no_label_once_the_recipient_is_erased(app, world):
    post = _client(app, world, "post")
    item, parcel = _record(post)
    tracked.erase_recipients(date(2026, 11, 20))
    db.session.commit()

    html = post.get(f"/outgoing/tracked?day={DAY}").get_data(as_text=True)
    assert f"/outgoing/tracked/{item.id}/label.pdf" not in html
    assert f"/outgoing/parcels/{parcel.id}/label.pdf" not in html
    for url in (f"/outgoing/tracked/{item.id}/label.pdf", f"/outgoing/parcels/{parcel.id}/label.pdf"):
        response = post.get(url)
        assert response.status_code == 422
        assert "gelöscht" in response.get_data(as_text=True)


def test_address_lines_split_the_recorded_text():
    assert address_lines("A. Meyer, Markt 1; 26122 Oldenburg") == ("A. Meyer", "Markt 1", "26122 Oldenburg")
    assert address_lines("Meyer", "", None, "Zeile\nzwei") == ("Meyer", "Zeile", "zwei")

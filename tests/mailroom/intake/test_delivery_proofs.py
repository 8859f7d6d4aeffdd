"""Deliveries on the incoming item page (issue 16): the receiver's name and signature image are shown, the
image is served to the mail room only, and registered items and PZUs get a proof of delivery PDF with the
item code as Code 128, the hand-over facts, the signature and the custody chain."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image, ImageDraw
from pyzbar.pyzbar import decode

from mailroom.extensions import db
from mailroom.models import EventKind, ItemKind, MailEvent, Role, User
from mailroom.models.mail import ITEM_KIND_LABELS
from mailroom.services import custody, storage
from mailroom.services.clock import LOCAL_TZ, now_utc
from mailroom.services.delivery_proofs import NO_SIGNATURE_MESSAGE
from tests.builders import add_user


def signature() -> bytes:
    image = Image.new("RGBA", (400, 150), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(20, 120), (100, 30), (180, 120), (260, 30), (380, 110)], fill="black", width=8)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def deliver(w, code: str, *, kind: str = "pzu", png: bytes | None = None, receiver: str = "Käthe Jürgensen"):
    """An item taken through sorting and loading to a hand-over by the courier `bote`, at the Stadthaus."""
    courier = db.session.scalar(db.select(User).filter_by(username="bote")) or add_user(
        "bote", Role.COURIER, "Bernd Bote"
    )
    item = w.item(code, kind=kind, unit="FD32")
    custody.sort_item(item, user=w.staff)
    custody.record_event(item, EventKind.LOADED, user=courier)
    sha = storage.store("signatures", png, ".png") if png else None
    at = now_utc().replace(microsecond=0) + timedelta(minutes=7)
    event = custody.deliver_item(item, user=courier, receiver_name=receiver, signature_sha256=sha, at=at)
    db.session.commit()
    return item, event


def test_a_delivered_item_shows_the_receiver_and_the_signature(wdb):
    png = signature()
    item, event = deliver(wdb, "RR123456785DE", png=png)
    html = wdb.client().get(f"/intake/items/{item.id}").get_data(as_text=True)

    assert 'data-testid="deliveries"' in html
    assert "Käthe Jürgensen" in html and "Bernd Bote" in html and "Stadthaus (SH)" in html
    url = f"/intake/items/{item.id}/deliveries/{event.id}/signature.png"
    assert f'src="{url}"' in html
    assert f'href="{url}"' in html  # the history's "(unterschrieben)" opens the image too
    assert f"{event.at.astimezone(LOCAL_TZ):%d.%m.%Y %H:%M:%S}" in html
    assert f'href="/intake/items/{item.id}/delivery-proof.pdf"' in html

    response = wdb.client().get(url)
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data == png
    assert "no-store" in response.headers["Cache-Control"]


def test_an_undelivered_or_unregistered_item_has_no_proof_link(w):
    registered = w.item("RR000000019DE", kind="pzu", unit="FD32")
    plain, _ = deliver(w, "BRIEF-1", kind="brief", receiver="Pförtner")

    html = w.client().get(f"/intake/items/{registered.id}").get_data(as_text=True)
    assert 'data-testid="deliveries"' not in html and "delivery-proof.pdf" not in html
    html = w.client().get(f"/intake/items/{plain.id}").get_data(as_text=True)
    assert "Pförtner" in html and "keine Unterschrift gespeichert" in html and "delivery-proof.pdf" not in html

    refused = w.client().get(f"/intake/items/{plain.id}/delivery-proof.pdf")
    assert refused.status_code == 422 and "nur für Einschreiben und PZU" in refused.get_data(as_text=True)
    early = w.client().get(f"/intake/items/{registered.id}/delivery-proof.pdf")
    assert early.status_code == 409 and "noch nicht zugestellt" in early.get_data(as_text=True)


def test_the_proof_of_delivery_pdf(wdb):
    item, event = deliver(wdb, "RR123456785DE", png=signature())
    response = wdb.client().get(f"/intake/items/{item.id}/delivery-proof.pdf")

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert f"zustellnachweis-{item.incoming_number}.pdf" in response.headers["Content-Disposition"]
    doc = pdfium.PdfDocument(response.data)
    try:
        page = doc[0]
        textpage = page.get_textpage()
        text = " ".join(textpage.get_text_range().split())
        textpage.close()
        image = page.render(scale=200 / 72, grayscale=True).to_pil()
        images = len(list(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE])))
    finally:
        doc.close()

    assert [(s.type, s.data.decode()) for s in decode(image)] == [("CODE128", item.code)]
    received = db.session.scalar(
        db.select(MailEvent).where(MailEvent.item_id == item.id, MailEvent.kind == EventKind.RECEIVED)
    )
    for expected in (
        "Zustellnachweis",
        item.incoming_number,
        item.code,
        ITEM_KIND_LABELS[ItemKind.PZU],
        "FD32 – Bürger- und Ordnungsamt",
        "Käthe Jürgensen",
        f"{event.at.astimezone(LOCAL_TZ):%d.%m.%Y um %H:%M:%S} Uhr",
        "Stadthaus (SH)",
        "Bernd Bote",
        "Verlauf (Übergabekette)",
        f"{received.at.astimezone(LOCAL_TZ):%d.%m.%Y %H:%M:%S}",
        EventKind.SORTED.label,
        EventKind.LOADED.label,
        "Empfangen von Käthe Jürgensen (unterschrieben)",
    ):
        assert expected in text, expected
    assert images == 1
    assert NO_SIGNATURE_MESSAGE not in text


def test_a_purged_signature_file_is_not_served_and_the_proof_says_so(w):
    png = signature()
    item, event = deliver(w, "RR123456785DE", png=png)

    storage.delete("signatures", hashlib.sha256(png).hexdigest(), ".png")

    assert w.client().get(f"/intake/items/{item.id}/deliveries/{event.id}/signature.png").status_code == 404
    doc = pdfium.PdfDocument(w.client().get(f"/intake/items/{item.id}/delivery-proof.pdf").data)
    try:
        textpage = doc[0].get_textpage()
        text = " ".join(textpage.get_text_range().split())
        textpage.close()
        images = len(list(doc[0].get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE])))
    finally:
        doc.close()
    assert NO_SIGNATURE_MESSAGE in text and images == 0


def test_who_may_see_signatures_and_proofs(wdb):
    item, event = deliver(wdb, "RR123456785DE", png=signature())
    other, _ = deliver(wdb, "RR000000019DE", png=None, kind="brief", receiver="Jemand")
    add_user("fuhrpark", Role.FLEET)
    add_user("chefin", Role.ADMIN)
    db.session.commit()
    signature_url = f"/intake/items/{item.id}/deliveries/{event.id}/signature.png"
    proof_url = f"/intake/items/{item.id}/delivery-proof.pdf"

    for username in ("bote", "fuhrpark"):  # not even the courier who delivered it
        assert wdb.client(username).get(signature_url).status_code == 403
        assert wdb.client(username).get(proof_url).status_code == 403
    anonymous = wdb.app.test_client()
    assert anonymous.get(signature_url).status_code in (302, 401)
    assert anonymous.get(proof_url).status_code in (302, 401)
    assert wdb.client("chefin").get(signature_url).status_code == 200
    assert wdb.client("chefin").get(proof_url).status_code == 200

    staff = wdb.client()
    assert staff.get(f"/intake/items/{other.id}/deliveries/{event.id}/signature.png").status_code == 404
    loaded = db.session.scalar(
        db.select(MailEvent).where(MailEvent.item_id == item.id, MailEvent.kind == EventKind.LOADED)
    )
    assert staff.get(f"/intake/items/{item.id}/deliveries/{loaded.id}/signature.png").status_code == 404
    assert staff.get(f"/intake/items/999999/deliveries/{event.id}/signature.png").status_code == 404
    assert staff.get("/intake/items/999999/delivery-proof.pdf").status_code == 404

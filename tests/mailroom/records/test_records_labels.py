"""Our own item labels: single roll label and A4 sheets; the codes read back; LABEL_PRINTED recorded."""

from __future__ import annotations

from collections import Counter

import pypdfium2 as pdfium
from pyzbar.pyzbar import decode
from sqlalchemy import select

from mailroom.extensions import db
from mailroom.models import EventKind, ItemKind, MailEvent


def _decoded(pdf: bytes, dpi: int = 300) -> list[tuple[str, str]]:
    doc = pdfium.PdfDocument(pdf)
    codes = []
    for i in range(len(doc)):
        image = doc[i].render(scale=dpi / 72, grayscale=True).to_pil()
        codes += [(symbol.type, symbol.data.decode()) for symbol in decode(image)]
    return codes


def _label_events(item) -> list[MailEvent]:
    return list(
        db.session.scalars(
            select(MailEvent).where(MailEvent.item_id == item.id, MailEvent.kind == EventKind.LABEL_PRINTED)
        )
    )


def test_single_label_reads_back_and_is_recorded(world):
    item = world.item(ItemKind.EINSCHREIBEN_EINWURF)
    response = world.client().post(f"/intake/items/{item.id}/label")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert f"etikett-{item.incoming_number}.pdf" in response.headers["Content-Disposition"]
    codes = _decoded(response.data)
    assert ("CODE128", item.code) in codes
    assert ("QRCODE", item.code) in codes
    (event,) = _label_events(item)
    assert event.data == {"format": "roll"}
    assert event.user_id == world.staff.id


def test_label_sheet_page_offers_todays_items_without_carrier_code(world):
    own = world.item(ItemKind.BRIEF)
    carrier = world.item(ItemKind.PAKET, carrier_code="JJD000390007441234")
    html = world.client().get("/intake/labels").get_data(as_text=True)
    assert own.incoming_number in html and carrier.incoming_number not in html
    assert 'name="skip"' in html
    everything = world.client().get("/intake/labels?all=1").get_data(as_text=True)
    assert carrier.incoming_number in everything


def test_label_sheet_with_skip_reads_back(world):
    items = [world.item(ItemKind.BRIEF) for _ in range(3)]
    data = {"item_id": [str(item.id) for item in items], "skip": "5"}
    response = world.client().post("/intake/labels", data=data)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/pdf"
    codes = Counter(value for _symbology, value in _decoded(response.data))
    for item in items:
        assert codes[item.code] >= 2  # Code 128 and QR
        (event,) = _label_events(item)
        assert event.data == {"format": "a4", "skip": 5}
    html = world.client().get("/intake/labels").get_data(as_text=True)
    assert html.count("gedruckt</span>") == 3


BAD_SHEET_REQUESTS = [
    ({"skip": "0"}, "mindestens eine Sendung"),
    ({"item_id": ["ITEM"], "skip": "24"}, "0 bis 23"),
    ({"item_id": ["ITEM"], "skip": "-1"}, "0 bis 23"),
    ({"item_id": ["ITEM"], "skip": "drei"}, "0 bis 23"),
    ({"item_id": ["999999"], "skip": "0"}, "gibt es nicht"),
    ({"item_id": ["abc"], "skip": "0"}, "Ungültige Auswahl"),
]


def test_bad_label_sheet_requests(world):
    item = world.item(ItemKind.BRIEF)
    for form, message in BAD_SHEET_REQUESTS:
        data = {key: [str(item.id) if v == "ITEM" else v for v in value] if isinstance(value, list) else value
                for key, value in form.items()}  # fmt: skip
        response = world.client().post("/intake/labels", data=data)
        assert response.status_code == 422, form
        assert message in response.get_data(as_text=True), form
    assert _label_events(item) == []


def test_label_of_unknown_item_is_404(world):
    assert world.client().post("/intake/items/424242/label").status_code == 404

"""The register of registered mail (Posteingangsbuch): which items, the local day, PDF and CSV, bad dates."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import date, datetime, time, timedelta

import pypdfium2 as pdfium
import pytest

from mailroom.models import ItemKind
from mailroom.services import register
from mailroom.services.clock import LOCAL_TZ, local_today

DAY = date(2026, 3, 29)  # the day clocks go forward in Germany: 23 hours long


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL_TZ)


@pytest.fixture
def day_items(world_db):
    w = world_db
    items = {
        "pzu": w.item(
            ItemKind.PZU,
            received_at=_local(DAY, 7, 5),
            carrier_code="RR123456785DE",
            sender="Amtsgericht Oldenburg",
            file_number="3 C 12/26",
            delivery_date=DAY,
        ),
        "uebergabe": w.item(ItemKind.EINSCHREIBEN_UEBERGABE, received_at=_local(DAY, 0, 30), sender="=HYPERLINK(1)"),
        "wert": w.item(ItemKind.WERTSENDUNG, received_at=_local(DAY, 23, 59), sender="Müller, Jürgen; Söhne"),
        "brief": w.item(ItemKind.BRIEF, received_at=_local(DAY, 8)),
        "before": w.item(ItemKind.PZU, received_at=_local(DAY - timedelta(days=1), 23, 59)),
        "after": w.item(ItemKind.PZU, received_at=_local(DAY + timedelta(days=1), 0, 0)),
        "no_kind": w.item(None, received_at=_local(DAY, 9)),
    }
    return w, items


def test_register_lists_the_registered_items_of_the_local_day(day_items):
    _w, items = day_items
    numbers = [item.incoming_number for item in register.register_items(DAY)]
    assert numbers == [items[k].incoming_number for k in ("uebergabe", "pzu", "wert")]
    entries = register.register_entries(DAY)
    assert [e.received_at.strftime("%H:%M") for e in entries] == ["00:30", "07:05", "23:59"]
    pzu = entries[1]
    assert (pzu.kind, pzu.code, pzu.file_number, pzu.delivery_date) == ("PZU", "RR123456785DE", "3 C 12/26", DAY)
    assert pzu.org_unit == "FD20 Fachdienst Finanzen"


def test_register_csv_for_german_excel(day_items):
    w, items = day_items
    response = w.client().get(f"/intake/register.csv?day={DAY.isoformat()}")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "posteingangsbuch-2026-03-29.csv" in response.headers["Content-Disposition"]
    raw = response.data
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM
    text = raw[3:].decode("utf-8")
    assert "\r\n" in text
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][:4] == ["Eingangsnummer", "Datum", "Uhrzeit", "Art"]
    assert len(rows) == 4
    by_number = {row[0]: row for row in rows[1:]}
    pzu = by_number[items["pzu"].incoming_number]
    assert pzu[1:5] == ["29.03.2026", "07:05:00", "Postzustellungsurkunde (PZU)", "RR123456785DE"]
    assert pzu[8:10] == ["3 C 12/26", "29.03.2026"]
    assert by_number[items["wert"].incoming_number][5] == "Müller, Jürgen; Söhne"  # quoted, not split
    assert by_number[items["uebergabe"].incoming_number][5] == "'=HYPERLINK(1)"  # no formula in Excel


def test_register_pdf_download(day_items):
    w, items = day_items
    response = w.client().get(f"/intake/register.pdf?day={DAY.isoformat()}")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    doc = pdfium.PdfDocument(response.data)
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    assert "Sonntag, 29.03.2026" in text
    for key in ("pzu", "uebergabe", "wert"):
        assert items[key].incoming_number in text
    assert items["brief"].incoming_number not in text


def test_register_page_shows_the_day(day_items):
    w, items = day_items
    html = w.client().get("/intake/register?day=29.03.2026").get_data(as_text=True)
    assert "3 Einträge" in html
    assert items["pzu"].incoming_number in html and items["brief"].incoming_number not in html
    assert "register.pdf?day=2026-03-29" in html and "register.csv?day=2026-03-29" in html
    today_page = w.client().get("/intake/register")
    assert today_page.status_code == 200
    assert local_today().strftime("%d.%m.%Y") in today_page.get_data(as_text=True)


def test_register_for_an_invalid_date_is_refused(world):
    client = world.client()
    for value, url in itertools.product(
        ["2026-02-30", "gestern", "31.13.2026", "1899-01-01", "9999-12-31", "2026-1-1x"],
        ["/intake/register", "/intake/register.pdf", "/intake/register.csv"],
    ):
        response = client.get(url, query_string={"day": value})
        assert response.status_code == 422, (url, value)
        text = response.get_data(as_text=True)
        assert "Datum" in text
        assert "<html" in text  # a page with the German message, not a stack trace


def test_register_for_a_future_day_is_refused(world):
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    response = world.client().get("/intake/register.csv", query_string={"day": tomorrow})
    assert response.status_code == 422


def test_purged_sender_is_marked_in_the_register(world):
    from mailroom.models import utcnow

    item = world.item(ItemKind.PZU, received_at=_local(DAY, 9), sender=None, personal_data_purged_at=utcnow())
    (entry,) = register.register_entries(DAY)
    assert entry.incoming_number == item.incoming_number
    assert entry.sender == register.PURGED


def test_pzu_delivery_column_only_for_pzu_and_voided_scans_left_out(day_items):
    """Ordinary registered letters get a delivery date at intake (the day of receipt): the register's
    column "PZU zugestellt am" stays empty for them; a wrong scan undone is not in the register."""
    from mailroom.extensions import db
    from mailroom.models import ItemStatus

    _w, items = day_items
    items["uebergabe"].delivery_date = DAY
    db.session.commit()
    entries = {e.incoming_number: e for e in register.register_entries(DAY)}
    assert entries[items["pzu"].incoming_number].delivery_date == DAY
    assert entries[items["uebergabe"].incoming_number].delivery_date is None
    rows = {
        row[0]: row for row in csv.reader(io.StringIO(register.register_csv(DAY).decode("utf-8-sig")), delimiter=";")
    }
    assert rows[items["uebergabe"].incoming_number][9] == ""
    assert rows[items["pzu"].incoming_number][9] == DAY.strftime("%d.%m.%Y")

    items["wert"].status = ItemStatus.VOIDED
    db.session.commit()
    assert items["wert"].incoming_number not in [i.incoming_number for i in register.register_items(DAY)]

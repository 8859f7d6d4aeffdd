"""The 62 mm roll label: both barcodes read back to the item code, all fields printed, reproducible bytes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from labels.label import item_label_pdf
from labels.model import ItemLabel


def make_label(**changes) -> ItemLabel:
    values = dict(
        code="PS-2026-004711",
        incoming_number="E-2026-004711",
        received_at=datetime(2026, 4, 14, 9, 7, tzinfo=ZoneInfo("Europe/Berlin")),
        org_unit="FD 20 Finanzen und Steuern – Abteilung Vollstreckung",
        site_code="RH",
        kind="Einschreiben Übergabe",
        confidential=False,
    )
    values.update(changes)
    return ItemLabel(**values)


@pytest.mark.parametrize(
    "code",
    ["PS-2026-004711", "RR123456785DE", "20260004711", "ps-2026-a/17 x", "OL2026000000000000000471"],
)
@pytest.mark.parametrize("confidential", [False, True])
def test_code128_and_qr_read_back_to_the_item_code(code, confidential, pdf_pages, symbols):
    pages = pdf_pages(item_label_pdf(make_label(code=code, confidential=confidential)))

    assert len(pages) == 1
    assert pages.size_mm(0) == pytest.approx((62, 100), abs=0.05)
    assert symbols(pages.image(0)) == [("CODE128", code), ("QRCODE", code)]


def test_all_fields_are_printed_with_umlauts(pdf_pages):
    text = pdf_pages(item_label_pdf(make_label(org_unit="Amt für Bürgerdienste", kind="Postzustellungsurkunde"))).text(
        0
    )

    for expected in (
        "PS-2026-004711",
        "E-2026-004711",
        "RH",
        "14.04.2026",
        "09:07",
        "Amt für Bürgerdienste",
        "Postzustellungsurkunde",
        "Empfänger",
    ):
        assert expected in text
    assert "VERTRAULICH" not in text


def test_confidential_items_carry_the_mark(pdf_pages):
    text = pdf_pages(item_label_pdf(make_label(confidential=True))).text(0)

    assert "VERTRAULICH – NICHT ÖFFNEN" in text
    assert "Finanzen und Steuern" in text


def test_long_org_unit_and_empty_fields_do_not_break_the_label(pdf_pages, symbols):
    label = make_label(org_unit="Fachdienst " * 20, site_code="", kind="", code="PS-2026-000001")
    pages = pdf_pages(item_label_pdf(label))

    assert symbols(pages.image(0)) == [("CODE128", "PS-2026-000001"), ("QRCODE", "PS-2026-000001")]
    assert "…" in pages.text(0)


def test_identical_input_gives_identical_bytes():
    first = item_label_pdf(make_label())

    assert item_label_pdf(make_label()) == first
    assert item_label_pdf(make_label(confidential=True)) != first

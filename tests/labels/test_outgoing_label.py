"""The address label of an outgoing tracked item: the tracking number reads back from the Code 128, sender,
product, recipient and file number are printed, long addresses do not run into the barcode."""

from __future__ import annotations

import pytest

from labels.outgoing_label import NO_NUMBER, OutgoingLabel, outgoing_label_pdf


def make_label(**changes) -> OutgoingLabel:
    values = dict(
        sender="Stadt Oldenburg",
        sender_unit="FD 20 Finanzen und Steuern",
        sender_address=("Industriestraße 1", "26121 Oldenburg"),
        cost_centre="10200",
        product="Einschreiben Rückschein",
        carrier="Deutsche Post · Standardbrief",
        recipient=("Jörg Müller-Lüdenscheidt", "Heiligengeiststraße 12", "26121 Oldenburg"),
        tracking_number="RR123456785DE",
        file_number="20.1-4711/26",
    )
    values.update(changes)
    return OutgoingLabel(**values)


@pytest.mark.parametrize(
    "number",
    ["RR123456785DE", "00340434161094015902", "JJD000390007757424371", "1Z999AA10123456784", "PZU7"],
)
def test_code128_reads_back_to_the_tracking_number(number, pdf_pages, symbols):
    pages = pdf_pages(outgoing_label_pdf(make_label(tracking_number=number)))

    assert len(pages) == 1
    assert pages.size_mm(0) == pytest.approx((62, 100), abs=0.05)
    assert symbols(pages.image(0)) == [("CODE128", number)]
    assert number in pages.text(0)


def test_sender_product_recipient_and_file_number_are_printed(pdf_pages):
    text = pdf_pages(outgoing_label_pdf(make_label())).text(0)

    for expected in (
        "Absender",
        "Stadt Oldenburg",
        "FD 20 Finanzen und Steuern",
        "Industriestraße 1",
        "Kostenstelle 10200",
        "Einschreiben Rückschein",
        "Deutsche Post",
        "Empfänger",
        "Jörg Müller-Lüdenscheidt",
        "Heiligengeiststraße 12",
        "26121 Oldenburg",
        "Aktenzeichen",
        "20.1-4711/26",
    ):
        assert expected in text, expected


def test_without_a_number_there_is_no_barcode_but_the_file_number(pdf_pages, symbols):
    pages = pdf_pages(
        outgoing_label_pdf(
            make_label(product="Postzustellungsauftrag (PZU)", tracking_number="", carrier="Deutsche Post")
        )
    )

    assert symbols(pages.image(0)) == []
    text = pages.text(0)
    assert NO_NUMBER in text and "20.1-4711/26" in text and "Postzustellungsauftrag (PZU)" in text


def test_a_long_address_stops_above_the_file_number_and_barcode(pdf_pages, symbols):
    recipient = ("Amtsgericht Oldenburg – Abteilung für Zwangsversteigerungen " * 3, *[f"Zeile {n}" for n in range(9)])
    pages = pdf_pages(outgoing_label_pdf(make_label(recipient=recipient)))

    assert symbols(pages.image(0)) == [("CODE128", "RR123456785DE")]
    # Nothing of the address is printed in the band of the file number and the barcode (lowest 32 mm).
    bottom = pages.text_in(0, 0, 0, 62 * 72 / 25.4, 31 * 72 / 25.4)
    assert "Zeile" not in bottom and "Amtsgericht" not in bottom
    assert "20.1-4711/26" in pages.text(0)
    assert "…" in pages.text(0)
    assert "Zeile 8" not in pages.text(0)


def test_identical_input_gives_identical_bytes():
    first = outgoing_label_pdf(make_label())

    assert outgoing_label_pdf(make_label()) == first
    assert outgoing_label_pdf(make_label(file_number="x")) != first

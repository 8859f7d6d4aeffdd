"""The register of registered mail as PDF: landscape A4, type >= 10 pt, page numbers, the day and the
column heads on every page, user text escaped and umlauts intact, identical input -> identical bytes."""

from __future__ import annotations

import ctypes
import itertools
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from labels.model import RegisterEntry
from labels.reports import register_pdf

DAY = date(2026, 11, 25)
BERLIN = ZoneInfo("Europe/Berlin")
GENERATED = datetime(2026, 11, 25, 16, 5, tzinfo=BERLIN)


def _entries(n: int) -> list[RegisterEntry]:
    return [
        RegisterEntry(
            incoming_number=f"E-2026-{i:06d}",
            received_at=datetime(2026, 11, 25, 7, i % 60, tzinfo=BERLIN),
            kind="PZU" if i % 3 == 0 else "Einschreiben Rückschein",
            code=f"RR{10_000_000 + i}5DE",
            sender="Łukasz Wójcik & <b>Söhne</b> GmbH" if i == 1 else "Amtsgericht Oldenburg",
            org_unit="FD20 Fachdienst Finanzen",
            file_number="12-345/26" if i % 3 == 0 else "",
            delivery_date=date(2026, 11, 24) if i % 3 == 0 else None,
        )
        for i in range(1, n + 1)
    ]


def _pages_text(pdf: bytes) -> list[str]:
    doc = pdfium.PdfDocument(pdf)
    return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]


def test_register_pdf_layout_and_content():
    pdf = register_pdf(DAY, _entries(30), generated_at=GENERATED)
    doc = pdfium.PdfDocument(pdf)
    assert len(doc) >= 2
    for i in range(len(doc)):
        width, height = doc[i].get_size()
        assert (round(width), round(height)) == (842, 595)  # landscape A4
    texts = _pages_text(pdf)
    whole = "\n".join(texts)
    for i, text in enumerate(texts, start=1):
        assert "Mittwoch, 25.11.2026" in text
        assert f"Seite {i} von {len(texts)}" in text
        assert "Eingangs-Nr." in text and "Unterschrift" in text  # heads repeated
    for entry in _entries(30):
        assert entry.incoming_number in whole
    assert "Łukasz Wójcik & <b>Söhne</b> GmbH" in whole.replace("\r\n", " ").replace("\n", " ")
    assert "24.11.2026" in whole and "12-345/26" in whole
    assert "erstellt am 25.11.2026 16:05" in whole


def test_every_character_is_at_least_10_pt():
    pdf = register_pdf(DAY, _entries(25), generated_at=GENERATED)
    doc = pdfium.PdfDocument(pdf)
    sizes = set()
    for i in range(len(doc)):
        textpage = doc[i].get_textpage()
        for index in range(textpage.count_chars()):
            char = pdfium_c.FPDFText_GetUnicode(textpage.raw, index)
            if chr(char).isspace():
                continue
            sizes.add(round(pdfium_c.FPDFText_GetFontSize(textpage.raw, index), 1))
    assert sizes and min(sizes) >= 10


def test_identical_input_gives_identical_bytes():
    first = register_pdf(DAY, _entries(12), generated_at=GENERATED)
    assert first == register_pdf(DAY, _entries(12), generated_at=GENERATED)
    assert first.startswith(b"%PDF-")


def test_empty_day_says_so():
    (text,) = _pages_text(register_pdf(date(2026, 11, 28), [], generated_at=GENERATED))
    assert "Samstag, 28.11.2026" in text
    assert "keine Einschreiben" in text
    assert "Seite 1 von 1" in text


def test_rows_leave_room_to_sign():
    """Each line is tall enough for a signature: about 11 mm or more per entry."""
    doc = pdfium.PdfDocument(register_pdf(DAY, _entries(40), generated_at=GENERATED))
    textpage = doc[0].get_textpage()
    tops = []
    for i in range(1, 41):
        found = textpage.search(f"E-2026-{i:06d}").get_next()
        if found is None:
            break  # on the next page
        index = found[0]
        left, bottom, right, top = (ctypes.c_double() for _ in range(4))
        pdfium_c.FPDFText_GetCharBox(textpage.raw, index, left, right, bottom, top)
        tops.append(top.value)
    assert len(tops) >= 5
    gaps = [a - b for a, b in itertools.pairwise(tops)]
    assert min(gaps) >= 11 / 25.4 * 72 * 0.95


def test_register_pdf_headings_are_not_broken_inside_a_word():
    """Every word of every column heading comes out whole (issue 16: "Sendungsnumm/er")."""
    from labels.reports import COLUMNS

    pdf = register_pdf(DAY, _entries(2), generated_at=GENERATED)
    text = _pages_text(pdf)[0]
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n")]
    for heading, _width in COLUMNS:
        for word in heading.split():
            assert word in lines or any(word in line.split() for line in lines), (word, lines[:30])
    assert "RR100000015DE" in lines or any("RR100000015DE" in line.split() for line in lines)

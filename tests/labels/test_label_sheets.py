"""A4 label sheets (3 x 8): every label's Code 128 and QR read back at its position, skip offsets, more pages."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from labels.model import ItemLabel
from labels.sheets import COLUMNS, LABEL_HEIGHT, LABEL_WIDTH, PER_SHEET, label_sheet_pdf, position_origin

ORG_UNITS = ("FD 20 Finanzen und Steuern – Vollstreckung", "FD 51 Jugend", "Amt für Bürgerdienste, Bürgerbüro Mitte")
KINDS = ("Einschreiben Übergabe", "Brief", "", "Postzustellungsurkunde")


def make_labels(count: int) -> list[ItemLabel]:
    return [
        ItemLabel(
            code=f"PS-2026-{n:06d}",
            incoming_number=f"E-2026-{n:06d}",
            received_at=datetime(2026, 4, 14, 8 + n // 60, n % 60, tzinfo=ZoneInfo("Europe/Berlin")),
            org_unit=ORG_UNITS[n % 3],
            site_code=("RH", "IGSK", "SH", "BBSW")[n % 4],
            kind=KINDS[n % 4],
            confidential=n % 5 == 0,
        )
        for n in range(1, count + 1)
    ]


def cell_image(image, position: int, dpi_scale: float):
    """The part of the page image that is label `position` (0..23)."""
    x, y = position_origin(position)
    page_height = image.height / dpi_scale
    box = (x, page_height - y - LABEL_HEIGHT, x + LABEL_WIDTH, page_height - y)
    return image.crop(tuple(round(v * dpi_scale) for v in box))


def assert_positions(pages, page_index: int, expected: dict[int, str], symbols) -> None:
    """Each filled position reads back to its code (Code 128 and QR), every other position is empty."""
    image = pages.image(page_index)
    scale = image.width / (3 * LABEL_WIDTH)
    for position in range(PER_SHEET):
        found = symbols(cell_image(image, position, scale))
        code = expected.get(position)
        assert found == ([("CODE128", code), ("QRCODE", code)] if code else []), (page_index, position)


def test_a_full_sheet_and_a_second_page(pdf_pages, symbols):
    labels = make_labels(PER_SHEET + 2)
    pages = pdf_pages(label_sheet_pdf(labels))

    assert len(pages) == 2
    assert pages.size_mm(0) == pytest.approx((210, 297), abs=0.1)
    assert_positions(pages, 0, {i: label.code for i, label in enumerate(labels[:PER_SHEET])}, symbols)
    assert_positions(pages, 1, {0: labels[24].code, 1: labels[25].code}, symbols)


@pytest.mark.parametrize(("skip", "count"), [(5, 3), (22, 4), (23, 1)])
def test_skip_leaves_the_first_positions_empty(skip, count, pdf_pages, symbols):
    labels = make_labels(count)
    pages = pdf_pages(label_sheet_pdf(labels, skip=skip))

    positions = [skip + i for i in range(count)]
    assert len(pages) == 1 + positions[-1] // PER_SHEET
    for page_index in range(len(pages)):
        expected = {
            p % PER_SHEET: label.code
            for p, label in zip(positions, labels, strict=True)
            if p // PER_SHEET == page_index
        }
        assert_positions(pages, page_index, expected, symbols)


def test_each_cell_prints_its_label_fields(pdf_pages):
    labels = make_labels(6)
    pages = pdf_pages(label_sheet_pdf(labels, skip=3))

    for offset, label in enumerate(labels):
        x, y = position_origin(3 + offset)
        text = pages.text_in(0, x, y, x + LABEL_WIDTH, y + LABEL_HEIGHT)
        for expected in (
            label.code,
            label.incoming_number,
            label.site_code,
            "14.04.2026",
            f"{label.received_at:%H:%M}",
        ):
            assert expected in text
        assert ("VERTRAULICH – NICHT ÖFFNEN" in text) == label.confidential
        assert label.org_unit.split(",")[0].split(" –")[0] in " ".join(text.split())
    assert "Bürgerbüro" in pages.text(0)
    first_row_bottom = position_origin(0)[1]
    assert (
        pages.text_in(0, 0, first_row_bottom + 1, COLUMNS * LABEL_WIDTH, first_row_bottom + LABEL_HEIGHT).strip() == ""
    )


@pytest.mark.parametrize("skip", [-1, PER_SHEET])
def test_skip_out_of_range_is_refused(skip):
    with pytest.raises(ValueError, match="skip"):
        label_sheet_pdf(make_labels(1), skip=skip)


def test_identical_input_gives_identical_bytes():
    first = label_sheet_pdf(make_labels(30), skip=4)

    assert label_sheet_pdf(make_labels(30), skip=4) == first
    assert label_sheet_pdf(make_labels(30), skip=5) != first

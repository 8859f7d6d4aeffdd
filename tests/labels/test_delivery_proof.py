"""The proof of delivery: the item code reads back from the Code 128, every fact and every custody step is
printed, the signature image is on the page (dark pixels inside its box), long chains run onto more pages."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pypdfium2.raw as pdfium_c
import pytest
from PIL import Image, ImageDraw

from labels.delivery_proof import NO_SIGNATURE, CustodyStep, DeliveryProof, delivery_proof_pdf

BERLIN = ZoneInfo("Europe/Berlin")
POINTS_PER_MM = 72 / 25.4


def signature_png() -> bytes:
    """A courier-app-like signature: black strokes on a transparent canvas."""
    image = Image.new("RGBA", (600, 200), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.line([(30, 150), (120, 40), (200, 160), (300, 50), (420, 150), (560, 60)], fill=(0, 0, 0, 255), width=10)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def make_proof(**changes) -> DeliveryProof:
    start = datetime(2026, 11, 18, 8, 5, 11, tzinfo=BERLIN)
    values = dict(
        code="PS26-0047113",
        incoming_number="E-2026-004711",
        kind="Postzustellungsurkunde",
        org_unit="FD32 – Bürger- und Ordnungsamt",
        receiver_name="Käthe Jürgensen",
        delivered_at=datetime(2026, 11, 18, 10, 42, 7, tzinfo=BERLIN),
        place="Stadthaus (SH), Pferdemarkt 14, 26121 Oldenburg",
        courier="Bernd Bote, Tour 12",
        generated_at=datetime(2026, 11, 20, 9, 0, tzinfo=BERLIN),
        carrier_code="RR123456785DE",
        file_number="32-1/26",
        signature_png=signature_png(),
        chain=[
            CustodyStep(start, "Eingang → Eingegangen", "Paula Post", "Zentrale Poststelle"),
            CustodyStep(start + timedelta(minutes=20), "Sortiert → Sortiert", "Paula Post", "Stadthaus (SH)"),
            CustodyStep(start + timedelta(hours=1), "Verladen → Verladen", "Bernd Bote", "Tour 12"),
            CustodyStep(
                datetime(2026, 11, 18, 10, 42, 7, tzinfo=BERLIN),
                "Zugestellt → Zugestellt",
                "Bernd Bote",
                "Stadthaus (SH), Tour 12",
                "Empfangen von Käthe Jürgensen (unterschrieben)",
            ),
        ],
    )
    values.update(changes)
    return DeliveryProof(**values)


def dark_share(image: Image.Image, box: tuple[float, float, float, float], dpi: int = 200) -> float:
    """Share of dark pixels inside a box given in mm from the page's top left corner."""
    px = dpi / 25.4
    crop = image.crop(tuple(round(v * px) for v in box)).convert("L")
    histogram = crop.histogram()
    return sum(histogram[:100]) / (crop.width * crop.height)


def images(pages) -> int:
    return len(list(pages.doc[0].get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE])))


def test_code128_and_all_facts(pdf_pages, symbols):
    pages = pdf_pages(delivery_proof_pdf(make_proof()))

    assert len(pages) == 1
    assert pages.size_mm(0) == pytest.approx((210, 297), abs=0.5)
    assert symbols(pages.image(0)) == [("CODE128", "PS26-0047113")]
    text = " ".join(pages.text(0).split())  # table cells wrap
    for expected in (
        "Zustellnachweis",
        "E-2026-004711",
        "PS26-0047113",
        "RR123456785DE",
        "Postzustellungsurkunde",
        "FD32 – Bürger- und Ordnungsamt",
        "Käthe Jürgensen",
        "18.11.2026 um 10:42:07 Uhr",
        "Stadthaus (SH), Pferdemarkt 14",
        "Bernd Bote, Tour 12",
        "32-1/26",
        "Unterschrift des Empfängers",
        "Verlauf (Übergabekette)",
        "18.11.2026 08:05:11",
        "Sortiert → Sortiert",
        "Verladen → Verladen",
        "Empfangen von Käthe Jürgensen (unterschrieben)",
        "Seite 1 von 1",
    ):
        assert expected in text, expected
    assert NO_SIGNATURE not in text
    assert min(size for _, size in pages.font_sizes(0)) >= 9


def test_the_signature_image_is_drawn_and_missing_ones_are_said(pdf_pages):
    signed = pdf_pages(delivery_proof_pdf(make_proof()))
    unsigned = pdf_pages(delivery_proof_pdf(make_proof(signature_png=None, signature_note="Unterschrift gelöscht.")))

    # The signature box: find its label, then compare the ink below it with and without an image.
    def box_ink(pages) -> float:
        page = pages.doc[0]
        textpage = page.get_textpage()
        searcher = textpage.search("Unterschrift des Empfängers")
        left, bottom, _, _ = textpage.get_charbox(searcher.get_next()[0])
        searcher.close()
        textpage.close()
        height = page.get_height()
        top_mm = (height - bottom) / POINTS_PER_MM + 4
        left_mm = left / POINTS_PER_MM + 3
        return dark_share(pages.image(0), (left_mm, top_mm, left_mm + 84, top_mm + 29))

    assert box_ink(signed) > 0.02
    assert images(signed) == 1 and images(unsigned) == 0
    assert "Unterschrift gelöscht." in unsigned.text(0)


def test_a_long_chain_runs_onto_more_pages_with_the_heads_repeated(pdf_pages, symbols):
    start = datetime(2026, 11, 2, 8, 0, tzinfo=BERLIN)
    chain = [CustodyStep(start + timedelta(minutes=n), f"Schritt {n}", "Paula Post", "Rathaus (RH)") for n in range(90)]
    pages = pdf_pages(delivery_proof_pdf(make_proof(chain=chain)))

    assert len(pages) >= 2
    last = pages.text(len(pages) - 1)
    assert "Schritt 89" in last and "Wann" in last and f"Seite {len(pages)} von {len(pages)}" in last
    assert symbols(pages.image(0)) == [("CODE128", "PS26-0047113")]


def test_identical_input_gives_identical_bytes():
    first = delivery_proof_pdf(make_proof())

    assert delivery_proof_pdf(make_proof()) == first
    assert delivery_proof_pdf(make_proof(receiver_name="Jemand")) != first

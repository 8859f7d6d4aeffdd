"""The address label of one outgoing tracked item (Einschreiben, PZU, parcel) for the label printer on the
62 mm continuous roll (page 62 x 100 mm, portrait), the same printer and roll as the incoming item label.

The roll rather than a DIN-lang window sheet: one label format for letters *and* parcels (a parcel has
no window), printed one at a time at the desk where the item is recorded, and no A4 sheet is spent per item.

Top to bottom: the sender (the administration, the org unit with its site address, the cost centre), the
product in German, the recipient's address, the file number, and the tracking number as Code 128 across
the full width with the number in plain text under it. Pure: a dataclass in, PDF bytes out."""

from __future__ import annotations

import io
from dataclasses import dataclass

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from labels.drawing import (
    CAPTION_GREY,
    FONT,
    FONT_BOLD,
    FONT_WIDE_BOLD,
    ROLL_LENGTH,
    ROLL_WIDTH,
    draw_caption,
    draw_code128,
    ellipsize,
    fit_size,
    register_fonts,
    wrap,
)

NO_NUMBER = "ohne Sendungsnummer"


@dataclass(frozen=True)
class OutgoingLabel:
    """What the address label of an outgoing tracked item shows; texts already in German."""

    sender: str  # the administration, e.g. "Stadt Oldenburg"
    sender_unit: str  # the org unit, e.g. "FD 20 Finanzen und Steuern"
    sender_address: tuple[str, ...]  # e.g. ("Industriestraße 1", "26121 Oldenburg"); may be empty
    cost_centre: str
    product: str  # e.g. "Einschreiben Rückschein", "Postzustellungsauftrag (PZU)", "DHL Paket bis 5 kg"
    carrier: str  # e.g. "Deutsche Post", "DHL"
    recipient: tuple[str, ...]  # the address lines, name first
    tracking_number: str = ""  # S10 number, PZU number, parcel number; "" when there is none (yet)
    file_number: str = ""  # Aktenzeichen


def draw_outgoing_label(c: Canvas, label: OutgoingLabel) -> None:
    margin = 3 * mm
    left, right = margin, ROLL_WIDTH - margin
    width = right - left
    top = ROLL_LENGTH - margin

    # Sender: small, as the return address is on a letter.
    draw_caption(c, left, top - 2.5 * mm, "Absender")
    y = top - 6 * mm
    c.setFont(FONT_BOLD, 8)
    c.drawString(left, y, ellipsize(label.sender, FONT_BOLD, 8, width))
    y -= 3.4 * mm
    c.setFont(FONT, 8)
    for line in wrap(label.sender_unit or "–", FONT, 8, width, max_lines=2):
        c.drawString(left, y, line)
        y -= 3.4 * mm
    for line in label.sender_address[:2]:
        c.drawString(left, y, ellipsize(line, FONT, 8, width))
        y -= 3.4 * mm
    c.setFont(FONT, 7)
    c.drawString(left, y, ellipsize(f"Kostenstelle {label.cost_centre}", FONT, 7, width))
    top = y - 2 * mm
    c.setLineWidth(0.6)
    c.line(left, top, right, top)

    # Product on a black band, the carrier under it.
    band = 7 * mm
    c.setFillColor(colors.black)
    c.rect(left, top - 1.5 * mm - band, width, band, stroke=0, fill=1)
    c.setFillColor(colors.white)
    size = fit_size(label.product, FONT_BOLD, 11, width - 2 * mm, min_size=6)
    c.setFont(FONT_BOLD, size)
    c.drawCentredString(
        ROLL_WIDTH / 2,
        top - 1.5 * mm - band + (band - size * 0.72) / 2,
        ellipsize(label.product, FONT_BOLD, size, width - 2 * mm),
    )
    c.setFillColor(colors.black)
    top -= 1.5 * mm + band
    if label.carrier:
        c.setFont(FONT, 7)
        c.drawCentredString(ROLL_WIDTH / 2, top - 3 * mm, ellipsize(label.carrier, FONT, 7, width))
        top -= 3.5 * mm

    # Bottom part first (file number, barcode), so the recipient's lines know where to stop.
    text_y = margin + 1 * mm
    number = label.tracking_number
    code_size = fit_size(number or NO_NUMBER, FONT_WIDE_BOLD, 11, width, min_size=6)
    bar_height = 13 * mm
    bar_y = text_y + code_size * 0.9 + 1.5 * mm
    floor = bar_y + bar_height + 1.5 * mm
    if label.file_number:
        file_y = bar_y + bar_height + 2.5 * mm
        floor = file_y + 5.5 * mm
        c.setLineWidth(0.6)
        c.line(left, floor, right, floor)
        draw_caption(c, left, file_y + 2.5 * mm, "Aktenzeichen")
        c.setFont(FONT_BOLD, 9)
        c.drawString(left, file_y - 1 * mm, ellipsize(label.file_number, FONT_BOLD, 9, width))

    # Recipient address, large; as many lines as fit above the bottom part, the last one cut with "…".
    draw_caption(c, left, top - 3.5 * mm, "Empfänger")
    y = top - 8 * mm
    step = 4.3 * mm
    room = max(1, int((y - floor - 1 * mm) // step) + 1)
    lines: list[tuple[str, str]] = []
    for k, part in enumerate(label.recipient or ("–",)):
        font = FONT_BOLD if k == 0 else FONT
        lines += [(line, font) for line in wrap(part, font, 10.5, width, max_lines=2)]
    if len(lines) > room:
        rest = " ".join(line for line, _ in lines[room - 1 :])
        lines = [*lines[: room - 1], (ellipsize(rest, lines[room - 1][1], 10.5, width), lines[room - 1][1])]
    for line, font in lines:
        c.setFont(font, 10.5)
        c.drawString(left, y, line)
        y -= step

    # Tracking number as Code 128 across the full width (quiet zones included), in plain text under it.
    if number:
        c.setFont(FONT_WIDE_BOLD, code_size)
        c.drawCentredString(ROLL_WIDTH / 2, text_y, ellipsize(number, FONT_WIDE_BOLD, code_size, width))
        draw_code128(c, number, left, bar_y, width, bar_height, max_module=0.5 * mm)
    else:
        c.setFillColor(CAPTION_GREY)
        c.setFont(FONT, 9)
        c.drawCentredString(ROLL_WIDTH / 2, text_y + 4 * mm, NO_NUMBER)
        c.setFillColor(colors.black)


def outgoing_label_pdf(label: OutgoingLabel, *, invariant: bool = True) -> bytes:
    """The roll label as PDF (62 x 100 mm). With `invariant` the bytes depend only on the input."""
    register_fonts()
    buffer = io.BytesIO()
    c = Canvas(buffer, pagesize=(ROLL_WIDTH, ROLL_LENGTH), invariant=1 if invariant else 0, pageCompression=1)
    c.setTitle(f"Etikett {label.tracking_number or label.file_number or label.product}")
    c.setAuthor("Zentrale Poststelle")
    c.setCreator("mailroom")
    draw_outgoing_label(c, label)
    c.showPage()
    c.save()
    return buffer.getvalue()

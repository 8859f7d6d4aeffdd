"""One item label for a label printer on a 62 mm continuous roll (page 62 x 100 mm, portrait).

Top to bottom: the confidentiality band (if any), the site code large with the date and time received, the
recipient org unit, QR code next to incoming number and kind, and the Code 128 across the full width with
the item code in plain text under it.
"""

from __future__ import annotations

import io

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from labels.drawing import (
    FONT,
    FONT_BOLD,
    FONT_WIDE_BOLD,
    ROLL_LENGTH,
    ROLL_WIDTH,
    draw_caption,
    draw_code128,
    draw_qr,
    ellipsize,
    fit_size,
    register_fonts,
    wrap,
)
from labels.model import ItemLabel

CONFIDENTIAL = "VERTRAULICH – NICHT ÖFFNEN"


def received_text(label: ItemLabel) -> tuple[str, str]:
    """("14.04.2026", "09:12 Uhr") of the local time received."""
    return f"{label.received_at:%d.%m.%Y}", f"{label.received_at:%H:%M} Uhr"


def draw_confidential_band(c: Canvas, x: float, y: float, width: float, height: float, *, max_size: float) -> None:
    """A black band with the white confidentiality mark, (x, y) its lower left corner."""
    c.saveState()
    c.setFillColor(colors.black)
    c.rect(x, y, width, height, stroke=0, fill=1)
    c.setFillColor(colors.white)
    size = fit_size(CONFIDENTIAL, FONT_BOLD, max_size, width - 2 * mm, min_size=5)
    c.setFont(FONT_BOLD, size)
    c.drawCentredString(x + width / 2, y + (height - size * 0.72) / 2, CONFIDENTIAL)
    c.restoreState()


def draw_roll_label(c: Canvas, label: ItemLabel) -> None:
    margin = 3 * mm
    left, right = margin, ROLL_WIDTH - margin
    width = right - left
    top = ROLL_LENGTH - margin

    if label.confidential:
        draw_confidential_band(c, left, top - 9 * mm, width, 9 * mm, max_size=11)
        top -= 11 * mm

    # Site code (large) and the date/time received.
    draw_caption(c, left, top - 2.5 * mm, "Standort")
    site = label.site_code or "–"
    size = fit_size(site, FONT_WIDE_BOLD, 34, 32 * mm, min_size=14)
    c.setFont(FONT_WIDE_BOLD, size)
    c.drawString(left, top - 3.5 * mm - size * 0.74, site)
    day, time = received_text(label)
    draw_caption(c, right - c.stringWidth("Eingang", FONT, 7), top - 2.5 * mm, "Eingang")
    c.setFont(FONT_BOLD, 11)
    c.drawRightString(right, top - 7.5 * mm, day)
    c.setFont(FONT, 11)
    c.drawRightString(right, top - 12 * mm, time)
    top -= 17 * mm
    c.setLineWidth(0.6)
    c.line(left, top, right, top)

    # Recipient org unit.
    draw_caption(c, left, top - 3 * mm, "Empfänger")
    c.setFont(FONT_BOLD, 11)
    y = top - 7.5 * mm
    for line in wrap(label.org_unit or "–", FONT_BOLD, 11, width, max_lines=2):
        c.drawString(left, y, line)
        y -= 4.4 * mm
    top -= 15.5 * mm
    c.line(left, top, right, top)

    # QR code, next to it incoming number and kind.
    qr_size = (22 if label.confidential else 25) * mm
    qr_top = top - 2 * mm
    draw_qr(c, label.code, left, qr_top - qr_size, qr_size)
    column = left + qr_size + 3 * mm
    column_width = right - column
    draw_caption(c, column, qr_top - 2 * mm, "Eingangs-Nr.")
    number_size = fit_size(label.incoming_number, FONT_BOLD, 10, column_width, min_size=6)
    c.setFont(FONT_BOLD, number_size)
    c.drawString(column, qr_top - 6.5 * mm, label.incoming_number)
    if label.kind:
        draw_caption(c, column, qr_top - 11 * mm, "Art")
        # Small enough that its longest word ("Postzustellungsurkunde") is not broken.
        kind_size = min((fit_size(word, FONT, 9, column_width, min_size=6) for word in label.kind.split()), default=9)
        c.setFont(FONT, kind_size)
        y = qr_top - 15 * mm
        for line in wrap(label.kind, FONT, kind_size, column_width, max_lines=3):
            c.drawString(column, y, line)
            y -= 3.6 * mm

    # Code 128 across the full width (quiet zones included), the code in plain text under it.
    text_y = margin + 1 * mm
    code_size = fit_size(label.code, FONT_WIDE_BOLD, 13, width, min_size=6)
    c.setFont(FONT_WIDE_BOLD, code_size)
    c.drawCentredString(ROLL_WIDTH / 2, text_y, ellipsize(label.code, FONT_WIDE_BOLD, code_size, width))
    draw_code128(c, label.code, left, text_y + code_size * 0.9 + 1.5 * mm, width, 14 * mm, max_module=0.5 * mm)


def item_label_pdf(label: ItemLabel, *, invariant: bool = True) -> bytes:
    """The roll label of one item as PDF (62 x 100 mm). With `invariant` the bytes depend only on the input."""
    register_fonts()
    buffer = io.BytesIO()
    c = Canvas(buffer, pagesize=(ROLL_WIDTH, ROLL_LENGTH), invariant=1 if invariant else 0, pageCompression=1)
    c.setTitle(f"Etikett {label.code}")
    c.setAuthor("Zentrale Poststelle")
    c.setCreator("mailroom")
    draw_roll_label(c, label)
    c.showPage()
    c.save()
    return buffer.getvalue()

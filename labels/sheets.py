"""Item labels on A4 sheets of 3 x 8 labels of 70 x 37.125 mm without page margins (Zweckform 3475 layout).

Positions are counted row by row from the top left. `skip` leaves the first positions of the first sheet
empty (a half-used sheet); labels beyond the 24th continue on further sheets.

One label: the confidentiality band on top (if any); a QR code on the left, next to it the site code large, the
date and time received, the recipient org unit, the kind and the incoming number; across the bottom the
Code 128 (full width, quiet zones included) and the item code in plain text.
"""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from labels.drawing import (
    FONT,
    FONT_BOLD,
    FONT_WIDE_BOLD,
    draw_code128,
    draw_qr,
    ellipsize,
    fit_size,
    register_fonts,
    wrap,
)
from labels.label import draw_confidential_band, received_text
from labels.model import ItemLabel

COLUMNS = 3
ROWS = 8
PER_SHEET = COLUMNS * ROWS
LABEL_WIDTH = 70 * mm
LABEL_HEIGHT = A4[1] / ROWS  # 37.125 mm
PAD_X = 3.5 * mm  # inside each label: keeps the print off the die cuts and the printer's unprintable edge
PAD_Y = 2.5 * mm


def position_origin(position: int) -> tuple[float, float]:
    """Lower left corner of sheet position 0..23 (row by row from the top left)."""
    row, column = divmod(position, COLUMNS)
    return column * LABEL_WIDTH, A4[1] - (row + 1) * LABEL_HEIGHT


def draw_sheet_label(c: Canvas, label: ItemLabel, x: float, y: float) -> None:
    """One label in the 70 x 37.125 mm cell with lower left corner (x, y)."""
    left, right = x + PAD_X, x + LABEL_WIDTH - PAD_X
    width = right - left
    top, bottom = y + LABEL_HEIGHT - PAD_Y, y + PAD_Y

    if label.confidential:
        draw_confidential_band(c, left, top - 4.2 * mm, width, 4.2 * mm, max_size=8)
        top -= 5 * mm

    # Bottom: the item code in plain text, above it the Code 128 across the full width.
    code_size = fit_size(label.code, FONT_WIDE_BOLD, 8.5, width, min_size=5)
    c.setFont(FONT_WIDE_BOLD, code_size)
    c.drawCentredString(x + LABEL_WIDTH / 2, bottom + 0.3 * mm, ellipsize(label.code, FONT_WIDE_BOLD, code_size, width))
    bar_bottom = bottom + code_size * 0.85 + 0.8 * mm
    bar_height = (6.5 if label.confidential else 7.5) * mm  # the band takes room: a lower barcode still scans
    draw_code128(c, label.code, left, bar_bottom, width, bar_height, max_module=0.45 * mm)

    # QR on the left, filling the height left between band and barcode (with a little white around it).
    qr_size = min(top - (bar_bottom + bar_height) - 1.2 * mm, 20 * mm)
    draw_qr(c, label.code, left, top - qr_size, qr_size)

    # Text column right of the QR.
    column = left + qr_size + 2.5 * mm
    column_width = right - column
    day, time = received_text(label)
    site = label.site_code or "–"
    # Top right: date/time received and the incoming number; top left of the column: the site code, large.
    stamp = f"{day} {time.removesuffix(' Uhr')}"
    number = label.incoming_number
    c.setFont(FONT, 7)
    c.drawRightString(right, top - 2.6 * mm, stamp)
    c.setFont(FONT_BOLD, 7)
    c.drawRightString(right, top - 5.6 * mm, number)
    corner = max(c.stringWidth(stamp, FONT, 7), c.stringWidth(number, FONT_BOLD, 7))
    site_size = fit_size(site, FONT_WIDE_BOLD, 17, column_width - corner - 1.5 * mm, min_size=9)
    c.setFont(FONT_WIDE_BOLD, site_size)
    c.drawString(column, top - max(site_size * 0.76, 5.6 * mm), site)
    text_y = top - max(site_size * 0.76, 5.6 * mm) - 3.8 * mm

    # As many lines of the org unit as fit above the barcode (1..3), leaving one line for the kind; if the
    # whole name does not fit at 8 pt, try 7 pt (tighter lines) before cutting it with "…".
    floor = bar_bottom + bar_height + 1.3 * mm + (3 * mm if label.kind else 0)
    org_unit = label.org_unit or "–"
    for size, leading in ((8, 3.3 * mm), (7, 2.8 * mm)):
        lines = max(1, min(3, int((text_y - floor) // leading) + 1))
        org_lines = wrap(org_unit, FONT_BOLD, size, column_width, max_lines=lines)
        if not org_lines[-1].endswith("…") or org_unit.endswith("…"):
            break
    c.setFont(FONT_BOLD, size)
    for line in org_lines:
        c.drawString(column, text_y, line)
        text_y -= leading
    if label.kind:
        c.setFont(FONT, 7.5)
        c.drawString(column, text_y, ellipsize(label.kind, FONT, 7.5, column_width))


def label_sheet_pdf(labels: list[ItemLabel], *, skip: int = 0, invariant: bool = True) -> bytes:
    """A4 label sheets (3 x 8) for `labels` in order, leaving the first `skip` positions (0..23) of the first sheet
    empty. With `invariant` the bytes depend only on the input."""
    if not 0 <= skip < PER_SHEET:
        raise ValueError(f"skip must be 0..{PER_SHEET - 1}, not {skip}")
    register_fonts()
    buffer = io.BytesIO()
    c = Canvas(buffer, pagesize=A4, invariant=1 if invariant else 0, pageCompression=1)
    c.setTitle(f"Etiketten ({len(labels)})")
    c.setAuthor("Zentrale Poststelle")
    c.setCreator("mailroom")
    position = skip
    for label in labels:
        if position == PER_SHEET:
            c.showPage()
            position = 0
        draw_sheet_label(c, label, *position_origin(position))
        position += 1
    c.showPage()
    c.save()
    return buffer.getvalue()

"""Reports as PDF: the register of registered mail (Posteingangsbuch) for one day.

Landscape A4, type 10 pt or larger, the day in the header of every page, "Seite x von y" and the time of
creation in the footer, the column heads repeated on every page and an empty signature field per line for
the receiving unit. Pure: dataclasses in, PDF bytes out.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from labels.drawing import page_count_canvas
from labels.model import RegisterEntry

PAGE = landscape(A4)
MARGIN = 10 * mm
FONT_SIZE = 10
HEADER_FONT_SIZE = 14

TITLE = "Posteingangsbuch – Einschreiben und Postzustellungsurkunden"
WEEKDAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")

# (heading, width): the widths add up to the usable width of landscape A4 with 10 mm margins (277 mm); every
# word of a heading fits its column in bold 10 pt with the cell padding (no "Sendungsnumm/er"), and an S10 code
# fits the code column on one line.
COLUMNS = (
    ("Eingangs-Nr.", 30 * mm),
    ("Zeit", 13 * mm),
    ("Art", 31 * mm),
    ("Sendungsnummer", 40 * mm),
    ("Absender", 36 * mm),
    ("Empfänger (Fachdienst)", 36 * mm),
    ("Aktenzeichen", 30 * mm),
    ("PZU zugestellt am", 24 * mm),
    ("Unterschrift empfangende Stelle", 37 * mm),
)

# DejaVu covers far more than Latin-1 (Polish, Turkish ... names of senders); reportlab's own Vera
# is the fallback that is always there.
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
FONT = "ReportSans"
FONT_BOLD = "ReportSans-Bold"


def _register_fonts() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    regular, bold = DEJAVU / "DejaVuSansCondensed.ttf", DEJAVU / "DejaVuSansCondensed-Bold.ttf"
    if not (regular.is_file() and bold.is_file()):
        import reportlab

        fonts = Path(reportlab.__file__).parent / "fonts"
        regular, bold = fonts / "Vera.ttf", fonts / "VeraBd.ttf"
    pdfmetrics.registerFont(TTFont(FONT, str(regular)))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(bold)))


def german_day(day: date) -> str:
    return f"{WEEKDAYS[day.weekday()]}, {day:%d.%m.%Y}"


def _styles() -> tuple[ParagraphStyle, ParagraphStyle]:
    cell = ParagraphStyle("cell", fontName=FONT, fontSize=FONT_SIZE, leading=FONT_SIZE * 1.2)
    head = ParagraphStyle("head", parent=cell, fontName=FONT_BOLD)
    return cell, head


def _cell(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text or ""), style)


def _row(entry: RegisterEntry, style: ParagraphStyle) -> list:
    return [
        _cell(entry.incoming_number, style),
        _cell(f"{entry.received_at:%H:%M}", style),
        _cell(entry.kind, style),
        _cell(entry.code, style),
        _cell(entry.sender, style),
        _cell(entry.org_unit, style),
        _cell(entry.file_number, style),
        _cell(f"{entry.delivery_date:%d.%m.%Y}" if entry.delivery_date else "", style),
        Spacer(1, 11 * mm),  # room to sign
    ]


def _numbered_canvas(day: date, generated_at: datetime) -> type[rl_canvas.Canvas]:
    """The register's header and footer with "Seite x von y"."""

    def decorate(canvas: rl_canvas.Canvas, page: int, total: int) -> None:
        width, height = PAGE
        canvas.setFont(FONT_BOLD, HEADER_FONT_SIZE)
        canvas.drawString(
            MARGIN, height - MARGIN - 4 * mm, "Posteingangsbuch – Einschreiben und Postzustellungsurkunden"
        )
        canvas.setFont(FONT, 12)
        canvas.drawRightString(width - MARGIN, height - MARGIN - 4 * mm, german_day(day))
        canvas.setFont(FONT, FONT_SIZE)
        canvas.drawString(MARGIN, MARGIN - 2 * mm, f"Zentrale Poststelle · erstellt am {generated_at:%d.%m.%Y %H:%M}")
        canvas.drawRightString(width - MARGIN, MARGIN - 2 * mm, f"Seite {page} von {total}")

    return page_count_canvas(decorate)


def register_pdf(day: date, entries: list[RegisterEntry], *, generated_at: datetime, invariant: bool = True) -> bytes:
    """The register of one day as PDF. `generated_at` is local time, printed in the footer."""
    _register_fonts()
    cell, head = _styles()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + 10 * mm,
        bottomMargin=MARGIN + 4 * mm,
        title=f"Posteingangsbuch {day:%d.%m.%Y}",
        author="Zentrale Poststelle",
        subject="Einschreiben und PZU",
        creator="mailroom",
        invariant=1 if invariant else 0,
    )
    data = [[_cell(title, head) for title, _width in COLUMNS]]
    data += [_row(entry, cell) for entry in entries]
    story: list = []
    table = Table(data, colWidths=[width for _title, width in COLUMNS], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.88, 0.9, 0.93)),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    story.append(table)
    if not entries:
        story.append(Spacer(1, 6 * mm))
        story.append(_cell("An diesem Tag sind keine Einschreiben und keine PZU eingegangen.", cell))
    else:
        story.append(Spacer(1, 4 * mm))
        story.append(_cell(f"Anzahl: {len(entries)}", cell))
    doc.build(story, canvasmaker=_numbered_canvas(day, generated_at))
    return buffer.getvalue()

"""The posting list (Einlieferungsliste) of one carrier and day: every tracked item handed over, with its
number as text and as Code 128 (the carrier's driver scans it), totals and a signature field for the
person who takes the items over.

Portrait A4, type 10 pt or larger, the carrier and day in the header of every page, "Seite x von y" in
the footer, the column heads repeated on every page; the signature block never splits across pages.
Pure: dataclasses in, PDF bytes out."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from labels.drawing import FONT, FONT_BOLD, page_count_canvas, register_fonts

MARGIN = 12 * mm
FONT_SIZE = 10
WEEKDAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")


@dataclass(frozen=True)
class PostingEntry:
    code: str  # S10 number, parcel number, or "PZU <file number>"
    product: str  # German product name, e.g. "Standardbrief + Einschreiben Rückschein"
    recipient: str
    cost_centre: str
    weight_g: int | None
    postage: str  # formatted by the caller, e.g. "5,80 €"


@dataclass(frozen=True)
class PostingList:
    carrier: str
    day: date
    sender: str  # e.g. "Stadt Oldenburg · Zentrale Poststelle"
    entries: list[PostingEntry]
    total_postage: str
    generated_at: datetime  # local time


def german_day(day: date) -> str:
    return f"{WEEKDAYS[day.weekday()]}, {day:%d.%m.%Y}"


def euro(cents: int) -> str:
    """Cents as German euro text for the pure PDF builders: 123456 -> "1.234,56 €"."""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    return f"{sign}{euros:,}".replace(",", ".") + f",{rest:02d} €"


def numbered_canvas(title: str, right: str, footer: str, pagesize) -> type[rl_canvas.Canvas]:
    """A canvas that draws the header and "Seite x von y" once it knows the page count."""

    def decorate(canvas: rl_canvas.Canvas, page: int, total: int) -> None:
        width, height = pagesize
        canvas.setFont(FONT_BOLD, 14)
        canvas.drawString(MARGIN, height - MARGIN - 4 * mm, title)
        canvas.setFont(FONT, 12)
        canvas.drawRightString(width - MARGIN, height - MARGIN - 4 * mm, right)
        canvas.setFont(FONT, FONT_SIZE)
        canvas.drawString(MARGIN, MARGIN - 4 * mm, footer)
        canvas.drawRightString(width - MARGIN, MARGIN - 4 * mm, f"Seite {page} von {total}")

    return page_count_canvas(decorate)


def styles() -> tuple[ParagraphStyle, ParagraphStyle]:
    cell = ParagraphStyle("cell", fontName=FONT, fontSize=FONT_SIZE, leading=FONT_SIZE * 1.25)
    head = ParagraphStyle("head", parent=cell, fontName=FONT_BOLD)
    return cell, head


def para(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text or ""), style)


TABLE_STYLE = [
    ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
    ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.88, 0.9, 0.93)),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("LEFTPADDING", (0, 0), (-1, -1), 3),
    ("RIGHTPADDING", (0, 0), (-1, -1), 3),
]

COLUMNS = (
    ("Nr.", 9 * mm),
    ("Sendungsnummer", 62 * mm),
    ("Produkt", 38 * mm),
    ("Empfänger", 32 * mm),
    ("KSt.", 14 * mm),
    ("Gewicht", 16 * mm),
    ("Porto", 15 * mm),
)


def _code_cell(code: str, style: ParagraphStyle) -> list:
    cell: list = [para(code, style)]
    if code.isascii() and " " not in code:
        cell.append(Code128(code, barHeight=9 * mm, barWidth=0.3 * mm, humanReadable=False, quiet=True))
    return cell


def _signature_block(style: ParagraphStyle, head: ParagraphStyle, count: int, total: str) -> KeepTogether:
    fields = Table(
        [
            [para("Übernommen von (Name, Druckbuchstaben)", style), para("Datum, Uhrzeit", style)],
            [Spacer(1, 12 * mm), Spacer(1, 12 * mm)],
            [para("Unterschrift des Übernehmenden", style), para("Unterschrift Poststelle", style)],
            [Spacer(1, 16 * mm), Spacer(1, 16 * mm)],
        ],
        colWidths=[93 * mm, 93 * mm],
    )
    fields.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.8, colors.black),
                ("LINEBELOW", (0, 1), (-1, 1), 0.5, colors.black),
                ("LINEBEFORE", (1, 0), (1, -1), 0.5, colors.black),
            ]
        )
    )
    return KeepTogether(
        [
            Spacer(1, 5 * mm),
            para(f"Anzahl Sendungen: {count} · Porto gesamt: {total}", head),
            Spacer(1, 2 * mm),
            para("Die oben aufgeführten Sendungen wurden vollständig übergeben.", style),
            Spacer(1, 3 * mm),
            fields,
        ]
    )


def build_pdf(
    story_of: Callable[[ParagraphStyle, ParagraphStyle], list],
    *,
    title: str,
    right: str,
    footer: str,
    pagesize=A4,
    invariant: bool = True,
) -> bytes:
    """Lay out a story with the numbered header and footer; shared by the outgoing-mail PDFs."""
    register_fonts()
    cell, head = styles()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=pagesize,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + 10 * mm,
        bottomMargin=MARGIN + 4 * mm,
        title=f"{title} {right}",
        author="Zentrale Poststelle",
        creator="mailroom",
        invariant=1 if invariant else 0,
    )
    doc.build(story_of(cell, head), canvasmaker=numbered_canvas(title, right, footer, pagesize))
    return buffer.getvalue()


def posting_list_pdf(posting: PostingList, *, invariant: bool = True) -> bytes:
    """The posting list of one carrier and day as PDF."""

    def story(cell: ParagraphStyle, head: ParagraphStyle) -> list:
        data = [[para(title, head) for title, _ in COLUMNS]]
        for number, entry in enumerate(posting.entries, start=1):
            data.append(
                [
                    para(str(number), cell),
                    _code_cell(entry.code, cell),
                    para(entry.product, cell),
                    para(entry.recipient, cell),
                    para(entry.cost_centre, cell),
                    para(f"{entry.weight_g} g" if entry.weight_g else "", cell),
                    para(entry.postage, cell),
                ]
            )
        table = Table(data, colWidths=[w for _, w in COLUMNS], repeatRows=1)
        table.setStyle(TableStyle(TABLE_STYLE))
        parts: list = [para(f"Absender: {posting.sender}", cell), Spacer(1, 3 * mm), table]
        if not posting.entries:
            parts += [Spacer(1, 4 * mm), para("Keine Sendungen für diesen Versender an diesem Tag.", cell)]
        parts.append(_signature_block(cell, head, len(posting.entries), posting.total_postage))
        return parts

    return build_pdf(
        story,
        title=f"Einlieferungsliste {posting.carrier}",
        right=german_day(posting.day),
        footer=f"{posting.sender} · erstellt am {posting.generated_at:%d.%m.%Y %H:%M}",
        invariant=invariant,
    )

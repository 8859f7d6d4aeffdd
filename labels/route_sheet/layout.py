"""The layout of a route sheet: page geometry, columns, colours and paragraph styles (type never below
MIN_FONT_SIZE), shared by the sheet, its map and its stop table."""

from __future__ import annotations

from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph

from labels.drawing import FONT, FONT_BOLD, FONT_WIDE_BOLD

MIN_FONT_SIZE = 12  # nothing on a route sheet is smaller
PAGE = A4
MARGIN_X = 12 * mm
MARGIN_Y = 10 * mm
HEAD_HEIGHT = 10 * mm  # running head of every page
FOOT_HEIGHT = 9 * mm
WIDTH = PAGE[0] - 2 * MARGIN_X  # 186 mm
FRAME_HEIGHT = PAGE[1] - 2 * MARGIN_Y - HEAD_HEIGHT - FOOT_HEIGHT

# Columns of the stop table: number and ETA | site, address, items | load | receipt (name, signature).
COL_NR, COL_SITE, COL_LOAD, COL_SIGN = 17 * mm, 90 * mm, 33 * mm, 46 * mm
SIGN_HEIGHT = 27 * mm

INK = colors.black
GREY_TEXT = colors.Color(0.25, 0.25, 0.25)
RULE = colors.Color(0.55, 0.55, 0.55)
HEAD_FILL = colors.Color(0.86, 0.89, 0.93)
DEPOT_FILL = colors.Color(0.93, 0.93, 0.93)
REMARK_FILL = colors.Color(1.0, 0.95, 0.75)
ROUND_COLOURS = (colors.Color(0.1, 0.3, 0.65), colors.Color(0.75, 0.35, 0.05), colors.Color(0.2, 0.5, 0.2))

DEPOT_ROW_TEXT = "Zwischenstopp Poststelle: nachladen/laden"


def make_styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=12, leading=14.5, textColor=INK)
    return {
        "base": base,
        "bold": ParagraphStyle("bold", parent=base, fontName=FONT_BOLD),
        "site": ParagraphStyle("site", parent=base, fontName=FONT_BOLD, fontSize=14, leading=17),
        "nr": ParagraphStyle("nr", parent=base, fontName=FONT_WIDE_BOLD, fontSize=18, leading=21, alignment=1),
        "eta": ParagraphStyle("eta", parent=base, fontName=FONT_BOLD, alignment=1),
        "head": ParagraphStyle("head", parent=base, fontName=FONT_BOLD),
        "title": ParagraphStyle("title", parent=base, fontName=FONT_WIDE_BOLD, fontSize=20, leading=24),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontName=FONT_BOLD, fontSize=15, leading=19),
        "item": ParagraphStyle("item", parent=base, leftIndent=0),
        "centre": ParagraphStyle("centre", parent=base, alignment=1),
    }


def para(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def shorten(text: str, limit: int = 500) -> str:
    """Free text cut to `limit` characters: a remark must never outgrow a page."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def plural(count: int, one: str, many: str) -> str:
    return f"{count}\u00a0{one if count == 1 else many}"  # no line break between number and noun

"""The stop table of a route sheet: one row per stop (never split across pages unless a stop alone is
taller than a page), a depot visit between two rounds as its own row, the column heads on every page."""

from __future__ import annotations

import math

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer, Table, TableStyle

from labels.drawing import FONT
from labels.model import RouteSheet, RouteSheetStop
from labels.route_sheet.layout import (
    COL_LOAD,
    COL_NR,
    COL_SIGN,
    COL_SITE,
    DEPOT_FILL,
    DEPOT_ROW_TEXT,
    FRAME_HEIGHT,
    GREY_TEXT,
    HEAD_FILL,
    INK,
    REMARK_FILL,
    RULE,
    SIGN_HEIGHT,
    WIDTH,
    para,
    plural,
    shorten,
)


class _SignatureField(Flowable):
    """ "Name:" and "Unterschrift:" with lines to write on."""

    def __init__(self, width: float, height: float = SIGN_HEIGHT - 4 * mm) -> None:
        super().__init__()
        self.width, self.height = width, height

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        c = self.canv
        c.setFillColor(GREY_TEXT)
        c.setFont(FONT, 12)
        c.drawString(0, self.height - 11, "Name:")
        c.drawString(0, self.height / 2 - 9, "Unterschrift:")
        c.setStrokeColor(RULE)
        c.setLineWidth(0.8)
        c.line(0, self.height / 2 + 6, self.width, self.height / 2 + 6)
        c.line(0, 2, self.width, 2)


def _column_heads(styles: dict[str, ParagraphStyle]) -> Table:
    head = styles["head"]
    table = Table(
        [
            [
                Paragraph("Nr.<br/>Zeit", ParagraphStyle("h", parent=head, alignment=1)),
                para("Stelle, Adresse, Hinweise", head),
                para("Ladung", head),
                para("Empfang bestätigt", head),
            ]
        ],
        colWidths=[COL_NR, COL_SITE, COL_LOAD, COL_SIGN],
    )
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), HEAD_FILL),
                ("LINEAFTER", (0, 0), (-2, -1), 0.8, INK),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 4),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return table


def _load_lines(stop: RouteSheetStop, styles: dict[str, ParagraphStyle]) -> list:
    lines = [para("Zustellen", styles["head"])]
    if stop.deliver_boxes or stop.deliver_items:
        lines.append(para(plural(stop.deliver_boxes, "Kiste", "Kisten"), styles["base"]))
        lines.append(para(plural(stop.deliver_items, "Sendung", "Sendungen"), styles["base"]))
    else:
        lines.append(para("nichts", styles["base"]))
    pickup = plural(stop.pickup_boxes, "Kiste", "Kisten") if stop.pickup_boxes else "–"
    lines.append(para("Abholen", styles["head"]))
    lines.append(para(pickup, styles["base"]))
    return lines


def _items_table(stop: RouteSheetStop, items, styles: dict[str, ParagraphStyle], part: str) -> Table:
    """The registered items of a stop: a box to tick, the code, kind and org unit."""
    width = COL_SITE + COL_LOAD + COL_SIGN - 8
    title = f"Einschreiben/PZU mit Nachweis ({len(stop.registered_items)}){part}:"
    rows = [[para(title, styles["head"]), "", ""]]
    rows += [
        [para(f"☐ {item.code}", styles["bold"]), para(item.kind, styles["item"]), para(item.org_unit, styles["item"])]
        for item in items
    ]
    table = Table(rows, colWidths=[42 * mm, 50 * mm, width - 92 * mm])
    table.setStyle(
        TableStyle(
            [
                ("SPAN", (0, 0), (-1, 0)),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 2),
                ("TOPPADDING", (0, 0), (-1, -1), 0.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0.5),
                ("LINEBELOW", (0, 1), (-1, -2), 0.4, RULE),
            ]
        )
    )
    return table


def _stop_block(stop: RouteSheetStop, styles: dict[str, ParagraphStyle], items=None, part: str = "") -> Table:
    """One stop as a table of its own: main row (number/ETA, site, load, receipt) and, when there are registered
    items or remarks, a second row under site and load. It becomes one row of the stop table."""
    items = stop.registered_items if items is None else items
    number = [para(str(stop.position), styles["nr"]), Spacer(1, 1 * mm), para(stop.eta, styles["eta"])]
    site = [para(f"{stop.site_code} · {stop.site_name}" if stop.site_code else stop.site_name, styles["site"])]
    if part:
        site.append(para(part.strip(" ()"), styles["bold"]))
    if stop.address:
        site.append(para(stop.address, styles["base"]))
    contact = [
        text
        for text in (
            f"Geöffnet {stop.opening_hours}" if stop.opening_hours else "",
            f"Tel. {stop.phone}" if stop.phone else "",
        )
        if text
    ]
    if contact:
        site.append(para(" · ".join(contact), styles["base"]))
    rows = [[number, site, _load_lines(stop, styles), _SignatureField(COL_SIGN - 8)]]
    style = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ("LINEAFTER", (0, 0), (0, -1), 0.8, INK),
        ("LINEAFTER", (2, 0), (2, 0), 0.8, INK),
    ]
    extra: list = []
    if stop.remarks:
        remark = Table(
            [[para(f"Hinweis: {shorten(stop.remarks)}", styles["bold"])]],
            colWidths=[COL_SITE + COL_LOAD + COL_SIGN - 8],
        )
        remark.setStyle(
            TableStyle([("BACKGROUND", (0, 0), (-1, -1), REMARK_FILL), ("LEFTPADDING", (0, 0), (-1, -1), 3)])
        )
        extra.append(remark)
    if items:
        if extra:
            extra.append(Spacer(1, 1.5 * mm))
        extra.append(_items_table(stop, items, styles, part))
    style.append(("LINEAFTER", (1, 0), (1, 0), 0.8, INK))
    if extra:
        rows.append(["", extra, "", ""])
        style += [("SPAN", (1, 1), (3, 1)), ("SPAN", (0, 0), (0, 1)), ("LINEBELOW", (1, 0), (-1, 0), 0.4, RULE)]
    block = Table(
        rows, colWidths=[COL_NR, COL_SITE, COL_LOAD, COL_SIGN], minRowHeights=[SIGN_HEIGHT] + [0] * (len(rows) - 1)
    )
    block.setStyle(TableStyle(style))
    return block


def _depot_block(stop: RouteSheetStop, sheet: RouteSheet, styles: dict[str, ParagraphStyle]) -> Table:
    text = [para(DEPOT_ROW_TEXT, styles["site"])]
    name = stop.site_name or sheet.depot_name
    if name:
        text.append(para(name, styles["base"]))
    if stop.remarks:
        text.append(para(f"Hinweis: {shorten(stop.remarks)}", styles["bold"]))
    block = Table(
        [[[para("P", styles["nr"]), para(stop.eta, styles["eta"])], text]], colWidths=[COL_NR, WIDTH - COL_NR]
    )
    block.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), DEPOT_FILL),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEAFTER", (0, 0), (0, -1), 0.8, INK),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return block


def _stop_blocks(stop: RouteSheetStop, styles: dict[str, ParagraphStyle], limit: float) -> list[Table]:
    """The stop as one block; only a stop too tall for a whole page is cut into parts (its registered items
    divided), each part with its own receipt field."""
    block = _stop_block(stop, styles)
    if block.wrap(WIDTH, FRAME_HEIGHT)[1] <= limit or len(stop.registered_items) < 2:
        return [block]
    parts = 2
    while True:
        size = math.ceil(len(stop.registered_items) / parts)
        chunks = [stop.registered_items[i : i + size] for i in range(0, len(stop.registered_items), size)]
        blocks = [
            _stop_block(stop, styles, chunk, f" (Teil {n} von {len(chunks)})") for n, chunk in enumerate(chunks, 1)
        ]
        if all(b.wrap(WIDTH, FRAME_HEIGHT)[1] <= limit for b in blocks) or size == 1:
            return blocks
        parts += 1


def stop_table(sheet: RouteSheet, styles: dict[str, ParagraphStyle]) -> Table:
    heads = _column_heads(styles)
    limit = FRAME_HEIGHT - heads.wrap(WIDTH, FRAME_HEIGHT)[1] - 4
    rows: list[list] = [[heads]]
    kinds: list[str] = []
    for stop in sheet.stops:
        if stop.is_depot:
            rows.append([_depot_block(stop, sheet, styles)])
            kinds.append("depot")
        else:
            for block in _stop_blocks(stop, styles, limit):
                rows.append([block])
                kinds.append("stop")
    table = Table(rows, colWidths=[WIDTH], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.2, INK),
                ("LINEBELOW", (0, 0), (-1, -1), 1.2, INK),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return table

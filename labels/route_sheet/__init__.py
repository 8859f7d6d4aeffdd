"""Route sheets (Tourenpläne): all tours of a day in one PDF, A4 portrait, each tour starting on a new page.

Per tour: a header (date, van, driver, planned km, usable range, start and end time) with a QR code that
opens the tour on the phone, fields for the odometer and the state of charge at start and end, a map drawing
(stops as numbered dots joined in tour order, equirectangular projection, the depot as a square), and the
stop table. Every stop is one row of the table, so no stop is split across pages; the column heads repeat on
every page. A depot visit between two rounds is its own row. Type is never smaller than 12 pt (MIN_FONT_SIZE);
every page carries the tour in its head and "Seite x von y" (counted per tour) at its foot.

The parts: `layout` (geometry, colours, styles), `tour_map` (the map drawing), `stops` (the stop table);
this module puts them together with the tour header and the running head and foot.
"""

from __future__ import annotations

import io

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import CondPageBreak, Flowable, PageBreak, SimpleDocTemplate, Spacer, Table, TableStyle

from labels.drawing import FONT, FONT_BOLD, ellipsize, german_day, german_km, qr_drawing, register_fonts
from labels.model import RouteSheet
from labels.route_sheet.layout import (
    DEPOT_ROW_TEXT,
    FOOT_HEIGHT,
    GREY_TEXT,
    HEAD_FILL,
    HEAD_HEIGHT,
    INK,
    MARGIN_X,
    MARGIN_Y,
    MIN_FONT_SIZE,
    PAGE,
    RULE,
    WIDTH,
    make_styles,
    para,
    plural,
)
from labels.route_sheet.stops import stop_table
from labels.route_sheet.tour_map import route_map

# --- the canvas: running head and foot with per-tour page numbers -----------------------------------------


class _TourStart(Flowable):
    """Invisible marker at the start of a tour: the pages from here on belong to tour `index`."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index
        self.width = self.height = 0

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return 0, 0

    def draw(self) -> None:
        self.canv._tour_index = self.index


def _canvas_maker(sheets: list[RouteSheet]):
    class RouteSheetCanvas(rl_canvas.Canvas):
        """Keeps every page until the end, then draws head and foot knowing each tour's page count."""

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._tour_index = 0
            self._pages: list[dict] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            totals: dict[int, int] = {}
            for state in self._pages:
                totals[state["_tour_index"]] = totals.get(state["_tour_index"], 0) + 1
            seen: dict[int, int] = {}
            for state in self._pages:
                self.__dict__.update(state)
                tour = self._tour_index
                seen[tour] = seen.get(tour, 0) + 1
                if sheets:
                    self._decorate(sheets[tour], seen[tour], totals[tour])
                super().showPage()
            super().save()

        def _decorate(self, sheet: RouteSheet, page: int, total: int) -> None:
            width, height = PAGE
            left, right = MARGIN_X, width - MARGIN_X
            top = height - MARGIN_Y
            self.saveState()
            self.setFillColor(INK)
            self.setStrokeColor(RULE)
            self.setLineWidth(0.8)
            if page > 1:
                driver = sheet.driver or ""
                self.setFont(FONT, 12)
                driver_width = self.stringWidth(driver, FONT, 12)
                head = f"Tour {sheet.service_date:%d.%m.%Y} · {sheet.vehicle}"  # as users know it, not the id
                self.setFont(FONT_BOLD, 12)
                self.drawString(left, top - 12, ellipsize(head, FONT_BOLD, 12, right - left - driver_width - 6 * mm))
                self.setFont(FONT, 12)
                self.drawRightString(right, top - 12, driver)
                self.line(left, top - HEAD_HEIGHT + 5, right, top - HEAD_HEIGHT + 5)
            bottom = MARGIN_Y
            self.line(left, bottom + FOOT_HEIGHT - 6, right, bottom + FOOT_HEIGHT - 6)
            self.setFont(FONT, 12)
            self.drawString(left, bottom + 2, f"Zentrale Poststelle · {sheet.vehicle} · {sheet.service_date:%d.%m.%Y}")
            self.setFont(FONT_BOLD, 12)
            self.drawRightString(right, bottom + 2, f"Seite {page} von {total}")
            self.restoreState()

    return RouteSheetCanvas


# --- tour header ---------------------------------------------------------------------------------------------


def _header(sheet: RouteSheet, styles: dict[str, ParagraphStyle]) -> list:
    stops = [stop for stop in sheet.stops if not stop.is_depot]
    rounds = 1 + sum(1 for stop in sheet.stops if stop.is_depot)
    range_text = german_km(sheet.range_km)
    if sheet.planned_km > sheet.range_km:
        range_text += " – Achtung: geplante Strecke länger als die Reichweite!"
    facts = [
        ("Fahrzeug", sheet.vehicle),
        ("Fahrer/in", sheet.driver or "–"),
        ("Zeit", f"{sheet.start_time} – {sheet.end_time} Uhr"),
        ("Strecke", f"{german_km(sheet.planned_km)} geplant"),
        ("Reichweite", f"{range_text} nutzbar" if sheet.planned_km <= sheet.range_km else range_text),
        ("Stopps", plural(len(stops), "Stopp", "Stopps") + (f" in {rounds} Runden" if rounds > 1 else "")),
    ]
    fact_table = Table(
        [[para(name, styles["base"]), para(value, styles["bold"])] for name, value in facts],
        colWidths=[28 * mm, 112 * mm],
    )
    fact_table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    left = [
        para(f"Tourenplan {german_day(sheet.service_date)}", styles["title"]),
        Spacer(1, 3 * mm),
        fact_table,
    ]
    qr_size = 34 * mm
    right = [qr_drawing(sheet.tour_url, qr_size, level="M", border=2), para("Tour am Handy öffnen", styles["centre"])]
    block = Table([[left, right]], colWidths=[WIDTH - 42 * mm, 42 * mm])
    block.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (1, 0), (1, 0), "CENTER"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return [block, Spacer(1, 3 * mm), _readings_table(styles)]


def _readings_table(styles: dict[str, ParagraphStyle]) -> Table:
    """Empty fields for the odometer and the state of charge, at start and end of the tour."""
    head = styles["head"]
    unit = ParagraphStyle("unit", parent=styles["base"], alignment=2, textColor=GREY_TEXT)
    rows = [
        [para("", head), para("Start", head), para("Ende", head)],
        [para("Kilometerstand", head), para("km", unit), para("km", unit)],
        [para("Ladezustand", head), para("%", unit), para("%", unit)],
    ]
    table = Table(rows, colWidths=[46 * mm, 70 * mm, 70 * mm], rowHeights=[7 * mm, 11 * mm, 11 * mm])
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.8, INK),
                ("BACKGROUND", (0, 0), (-1, 0), HEAD_FILL),
                ("BACKGROUND", (0, 1), (0, -1), HEAD_FILL),
                ("VALIGN", (0, 0), (-1, 0), "MIDDLE"),
                ("VALIGN", (0, 1), (0, -1), "MIDDLE"),
                ("VALIGN", (1, 1), (-1, -1), "BOTTOM"),
            ]
        )
    )
    return table


def _tour_story(index: int, sheet: RouteSheet, styles: dict[str, ParagraphStyle]) -> list:
    story: list = [_TourStart(index), *_header(sheet, styles), Spacer(1, 4 * mm)]
    drawing = route_map(sheet)
    if drawing is not None:
        story += [drawing, Spacer(1, 4 * mm)]
    if not sheet.stops:
        story.append(para("Für diese Tour sind keine Stopps geplant.", styles["bold"]))
        return story
    story += [CondPageBreak(60 * mm), stop_table(sheet, styles)]
    return story


def route_sheets_pdf(sheets: list[RouteSheet], *, invariant: bool = True) -> bytes:
    """All tours of a day in one PDF (A4 portrait), each tour from a new page, pages counted per tour.
    With `invariant` the bytes depend only on the input."""
    register_fonts()
    styles = make_styles()
    buffer = io.BytesIO()
    day = sheets[0].service_date if sheets else None
    doc = SimpleDocTemplate(
        buffer,
        pagesize=PAGE,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_Y + HEAD_HEIGHT,
        bottomMargin=MARGIN_Y + FOOT_HEIGHT,
        title=f"Tourenpläne {day:%d.%m.%Y}" if day else "Tourenpläne",
        author="Zentrale Poststelle",
        creator="mailroom",
        invariant=1 if invariant else 0,
    )
    story: list = []
    for index, sheet in enumerate(sheets):
        if index:
            story.append(PageBreak())
        story += _tour_story(index, sheet, styles)
    if not sheets:
        story.append(para("Für diesen Tag sind keine Touren geplant.", styles["bold"]))
    doc.build(story, canvasmaker=_canvas_maker(sheets))
    return buffer.getvalue()


__all__ = ["DEPOT_ROW_TEXT", "MIN_FONT_SIZE", "route_map", "route_sheets_pdf"]

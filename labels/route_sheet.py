"""Route sheets (Tourenpläne): all tours of a day in one PDF, A4 portrait, each tour starting on a new page.

Per tour: a header (date, van, driver, planned km, usable range, start and end time) with a QR code that
opens the tour on the phone, fields for the odometer and the state of charge at start and end, a map drawing
(stops as numbered dots joined in tour order, equirectangular projection, the depot as a square), and the
stop table. Every stop is one row of the table, so no stop is split across pages; the column heads repeat on
every page. A depot visit between two rounds is its own row. Type is never smaller than 12 pt (MIN_FONT_SIZE);
every page carries the tour in its head and "Seite x von y" (counted per tour) at its foot.
"""

from __future__ import annotations

import io
import itertools
import math
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Circle, Drawing, Line, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from labels.drawing import FONT, FONT_BOLD, FONT_WIDE_BOLD, ellipsize, german_day, german_km, qr_drawing, register_fonts
from labels.model import RouteSheet, RouteSheetStop

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
SCALE_BAR_KM = (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50)


def _styles() -> dict[str, ParagraphStyle]:
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


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _short(text: str, limit: int = 500) -> str:
    """Free text cut to `limit` characters: a remark must never outgrow a page."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _plural(count: int, one: str, many: str) -> str:
    return f"{count}\u00a0{one if count == 1 else many}"  # no line break between number and noun


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
        ("Stopps", _plural(len(stops), "Stopp", "Stopps") + (f" in {rounds} Runden" if rounds > 1 else "")),
    ]
    fact_table = Table(
        [[_p(name, styles["base"]), _p(value, styles["bold"])] for name, value in facts],
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
        _p(f"Tourenplan {german_day(sheet.service_date)}", styles["title"]),
        Spacer(1, 3 * mm),
        fact_table,
    ]
    qr_size = 34 * mm
    right = [qr_drawing(sheet.tour_url, qr_size, level="M", border=2), _p("Tour am Handy öffnen", styles["centre"])]
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
        [_p("", head), _p("Start", head), _p("Ende", head)],
        [_p("Kilometerstand", head), _p("km", unit), _p("km", unit)],
        [_p("Ladezustand", head), _p("%", unit), _p("%", unit)],
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


# --- map drawing ---------------------------------------------------------------------------------------------


def _stop_point(sheet: RouteSheet, stop: RouteSheetStop) -> tuple[float, float] | None:
    if stop.lat is not None and stop.lon is not None:
        return stop.lat, stop.lon
    if stop.is_depot and sheet.depot_lat is not None and sheet.depot_lon is not None:
        return sheet.depot_lat, sheet.depot_lon
    return None


def route_map(sheet: RouteSheet, width: float = WIDTH, max_height: float = 85 * mm) -> Drawing | None:
    """The stops as numbered dots joined in tour order (the depot as a square), equirectangular projection
    around the mean latitude, north up, with a scale bar. Where dots crowd (the town centre) and the map
    leaves room at its side, an enlarged inset of the crowded part is drawn there, its area framed on the
    map. None if no stop has coordinates."""
    depot = (sheet.depot_lat, sheet.depot_lon) if sheet.depot_lat is not None and sheet.depot_lon is not None else None
    located = [(stop, _stop_point(sheet, stop)) for stop in sheet.stops]
    points = [point for _stop, point in located if point is not None] + ([depot] if depot else [])
    if not any(point for stop, point in located if point is not None and not stop.is_depot):
        return None
    lat0 = sum(lat for lat, _lon in points) / len(points)
    kx = math.cos(math.radians(lat0))

    def world(point: tuple[float, float]) -> tuple[float, float]:
        return point[1] * kx, point[0]

    xs = [world(p)[0] for p in points]
    ys = [world(p)[1] for p in points]
    span_x, span_y = max(max(xs) - min(xs), 1e-4), max(max(ys) - min(ys), 1e-4)
    pad = 16
    height = min(max_height, max(55 * mm, (width - 2 * pad) * span_y / span_x + 2 * pad))
    scale = min((width - 2 * pad) / span_x, (height - 2 * pad) / span_y)
    main = _View(min(xs), min(ys), scale, (width - span_x * scale) / 2, (height - span_y * scale) / 2)

    path, markers = _tour_shapes(located, depot, world)
    inset = _inset_view(markers, main, span_x * scale, width, height, pad)
    if inset is not None:
        main = _View(main.x0, main.y0, main.scale, pad, main.off_y)  # the map moves left, the inset takes the right

    drawing = Drawing(width, height)
    drawing.add(Rect(0, 0, width, height, fillColor=colors.Color(0.97, 0.97, 0.97), strokeColor=RULE, strokeWidth=0.8))
    _draw_tour(drawing, path, markers, main)
    if inset is not None:
        view, (wx0, wy0, wx1, wy1), (px, py, pw, ph) = inset
        (ax, ay), (bx, by) = main.project((wx0, wy0)), main.project((wx1, wy1))
        frame = Rect(ax, ay, bx - ax, by - ay, fillColor=None, strokeColor=INK, strokeWidth=1, strokeDashArray=[3, 2])
        drawing.add(frame)
        drawing.add(Rect(px, py, pw, ph, fillColor=colors.white, strokeColor=INK, strokeWidth=1))
        _draw_tour(drawing, path, markers, view, clip=(px, py, px + pw, py + ph))
        drawing.add(String(px + pw / 2, py + ph + 5, "Mitte vergrößert", fontName=FONT, fontSize=12, fillColor=INK,
                           textAnchor="middle"))  # fmt: skip
    rounds = 1 + sum(1 for stop, _point in located if stop.is_depot)
    if rounds > 1:
        for n in range(rounds):
            colour = ROUND_COLOURS[n % len(ROUND_COLOURS)]
            y = height - 17 - n * 16
            drawing.add(Line(8, y + 4, 30, y + 4, strokeColor=colour, strokeWidth=2.5))
            drawing.add(String(35, y, f"Runde {n + 1}", fontName=FONT, fontSize=12, fillColor=INK))
    # Scale bar, bottom left: the longest of 100 m ... 50 km that takes at most a fifth of the width.
    km_per_point = 111.2 / scale  # one degree of latitude is 111.2 km
    bar_km = max([km for km in SCALE_BAR_KM if km / km_per_point <= width / 5] or [SCALE_BAR_KM[0]])
    bar = bar_km / km_per_point
    caption = f"{bar_km:g} km".replace(".", ",") if bar_km >= 1 else f"{bar_km * 1000:.0f} m"
    drawing.add(Rect(6, 6, bar + 60, 20, fillColor=colors.white, strokeColor=None))
    drawing.add(PolyLine([8, 16, 8, 12, 8 + bar, 12, 8 + bar, 16], strokeColor=INK, strokeWidth=1.2))
    drawing.add(String(12 + bar, 10, caption, fontName=FONT, fontSize=12, fillColor=INK))
    north_x = (inset[2][0] - 8) if inset is not None else width - 8
    drawing.add(String(north_x, height - 17, "Norden ↑", fontName=FONT, fontSize=12, fillColor=INK, textAnchor="end"))
    return drawing


MARKER_RADIUS = 10  # points; two markers closer than two radii overlap
INSET_ZOOM = 3.0  # the inset's enlargement of the map


class _View:
    """World coordinates (lon x cos(lat0), lat) to drawing points."""

    def __init__(self, x0: float, y0: float, scale: float, off_x: float, off_y: float) -> None:
        self.x0, self.y0, self.scale, self.off_x, self.off_y = x0, y0, scale, off_x, off_y

    def project(self, w: tuple[float, float]) -> tuple[float, float]:
        return self.off_x + (w[0] - self.x0) * self.scale, self.off_y + (w[1] - self.y0) * self.scale


# A marker: (world point, label or None for the depot, round number).
_Marker = tuple[tuple[float, float], str | None, int]


def _tour_shapes(located, depot, world) -> tuple[list[tuple[int, tuple[float, float]]], list[_Marker]]:
    """The legs in tour order (depot -> stops -> (depot -> stops ...) -> depot) with their round, and the
    markers (stops, then the depot so that it is drawn on top)."""
    path: list[tuple[int, tuple[float, float]]] = []
    markers: list[_Marker] = []
    round_no = 0
    if depot:
        path.append((round_no, world(depot)))
    for stop, point in located:
        if stop.is_depot:
            if point is not None:
                path.append((round_no, world(point)))
            round_no += 1
            continue
        if point is not None:
            path.append((round_no, world(point)))
            markers.append((world(point), str(stop.position), round_no))
    if depot:
        path.append((round_no, world(depot)))
        markers.append((world(depot), None, 0))
    return path, markers


def _draw_tour(drawing: Drawing, path, markers: list[_Marker], view: _View, clip=None) -> None:
    for (_r0, a), (r1, b) in itertools.pairwise(path):
        (ax, ay), (bx, by) = view.project(a), view.project(b)
        if clip is not None:
            segment = _clip_segment(ax, ay, bx, by, clip)
            if segment is None:
                continue
            ax, ay, bx, by = segment
        colour = ROUND_COLOURS[r1 % len(ROUND_COLOURS)]
        drawing.add(Line(ax, ay, bx, by, strokeColor=colour, strokeWidth=1.6))
    for point, label, round_no in markers:
        x, y = view.project(point)
        if clip is not None and not (clip[0] + 9 <= x <= clip[2] - 9 and clip[1] + 9 <= y <= clip[3] - 9):
            continue
        if label is None:
            drawing.add(Rect(x - 9, y - 9, 18, 18, fillColor=INK, strokeColor=INK))
            drawing.add(
                String(x, y - 4.3, "P", fontName=FONT_BOLD, fontSize=12, fillColor=colors.white, textAnchor="middle")
            )
            continue
        radius = 8.5 if len(label) < 2 else MARKER_RADIUS
        colour = ROUND_COLOURS[round_no % len(ROUND_COLOURS)]
        drawing.add(Circle(x, y, radius, fillColor=colors.white, strokeColor=colour, strokeWidth=1.6))
        drawing.add(String(x, y - 4.3, label, fontName=FONT_BOLD, fontSize=12, fillColor=INK, textAnchor="middle"))


def _clip_segment(x0: float, y0: float, x1: float, y1: float, box) -> tuple[float, float, float, float] | None:
    """Liang-Barsky: the part of the segment inside `box` (xmin, ymin, xmax, ymax), or None."""
    dx, dy = x1 - x0, y1 - y0
    t0, t1 = 0.0, 1.0
    for p, q in ((-dx, x0 - box[0]), (dx, box[2] - x0), (-dy, y0 - box[1]), (dy, box[3] - y0)):
        if p == 0:
            if q < 0:
                return None
            continue
        t = q / p
        if p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return None
    return x0 + t0 * dx, y0 + t0 * dy, x0 + t1 * dx, y0 + t1 * dy


def _inset_view(markers: list[_Marker], main: _View, content_width: float, width: float, height: float, pad: float):
    """An enlarged view of where markers crowd, for the free room right of the map: (view, world area,
    panel box), or None when nothing crowds or there is no room."""
    projected = [main.project(point) for point, _label, _r in markers]
    crowded = [
        markers[i][0]
        for i, (x, y) in enumerate(projected)
        if any(j != i and math.hypot(x - u, y - v) < 2 * MARKER_RADIUS for j, (u, v) in enumerate(projected))
    ]
    panel_x = pad + content_width + 2 * pad
    panel_w = width - panel_x - pad
    panel_h = height - 2 * pad - 18  # room for the caption above the panel
    if len(crowded) < 3 or panel_w < 0.3 * width:
        return None
    # The panel shows a window of the map INSET_ZOOM times enlarged, centred where it holds the most
    # crowded markers (ties: the first, so the drawing is the same for the same tour).
    inset_scale = INSET_ZOOM * main.scale
    half_w, half_h = (panel_w / 2 - MARKER_RADIUS) / inset_scale, (panel_h / 2 - MARKER_RADIUS) / inset_scale

    def inside(centre: tuple[float, float]) -> int:
        return sum(1 for x, y in crowded if abs(x - centre[0]) <= half_w and abs(y - centre[1]) <= half_h)

    centre = max(crowded, key=inside)
    if inside(centre) < 3:
        return None
    cx, cy = centre
    view = _View(cx, cy, inset_scale, panel_x + panel_w / 2, pad + panel_h / 2)
    area_w, area_h = panel_w / 2 / inset_scale, panel_h / 2 / inset_scale
    return view, (cx - area_w, cy - area_h, cx + area_w, cy + area_h), (panel_x, pad, panel_w, panel_h)


# --- stop table ----------------------------------------------------------------------------------------------


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
                _p("Stelle, Adresse, Hinweise", head),
                _p("Ladung", head),
                _p("Empfang bestätigt", head),
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
    lines = [_p("Zustellen", styles["head"])]
    if stop.deliver_boxes or stop.deliver_items:
        lines.append(_p(_plural(stop.deliver_boxes, "Kiste", "Kisten"), styles["base"]))
        lines.append(_p(_plural(stop.deliver_items, "Sendung", "Sendungen"), styles["base"]))
    else:
        lines.append(_p("nichts", styles["base"]))
    pickup = _plural(stop.pickup_boxes, "Kiste", "Kisten") if stop.pickup_boxes else "–"
    lines.append(_p("Abholen", styles["head"]))
    lines.append(_p(pickup, styles["base"]))
    return lines


def _items_table(stop: RouteSheetStop, items, styles: dict[str, ParagraphStyle], part: str) -> Table:
    """The registered items of a stop: a box to tick, the code, kind and org unit."""
    width = COL_SITE + COL_LOAD + COL_SIGN - 8
    title = f"Einschreiben/PZU mit Nachweis ({len(stop.registered_items)}){part}:"
    rows = [[_p(title, styles["head"]), "", ""]]
    rows += [
        [_p(f"☐ {item.code}", styles["bold"]), _p(item.kind, styles["item"]), _p(item.org_unit, styles["item"])]
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
    number = [_p(str(stop.position), styles["nr"]), Spacer(1, 1 * mm), _p(stop.eta, styles["eta"])]
    site = [_p(f"{stop.site_code} · {stop.site_name}" if stop.site_code else stop.site_name, styles["site"])]
    if part:
        site.append(_p(part.strip(" ()"), styles["bold"]))
    if stop.address:
        site.append(_p(stop.address, styles["base"]))
    contact = [
        text
        for text in (
            f"Geöffnet {stop.opening_hours}" if stop.opening_hours else "",
            f"Tel. {stop.phone}" if stop.phone else "",
        )
        if text
    ]
    if contact:
        site.append(_p(" · ".join(contact), styles["base"]))
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
            [[_p(f"Hinweis: {_short(stop.remarks)}", styles["bold"])]], colWidths=[COL_SITE + COL_LOAD + COL_SIGN - 8]
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
    text = [_p(DEPOT_ROW_TEXT, styles["site"])]
    name = stop.site_name or sheet.depot_name
    if name:
        text.append(_p(name, styles["base"]))
    if stop.remarks:
        text.append(_p(f"Hinweis: {_short(stop.remarks)}", styles["bold"]))
    block = Table([[[_p("P", styles["nr"]), _p(stop.eta, styles["eta"])], text]], colWidths=[COL_NR, WIDTH - COL_NR])
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


def _stop_table(sheet: RouteSheet, styles: dict[str, ParagraphStyle]) -> Table:
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


def _tour_story(index: int, sheet: RouteSheet, styles: dict[str, ParagraphStyle]) -> list:
    story: list = [_TourStart(index), *_header(sheet, styles), Spacer(1, 4 * mm)]
    drawing = route_map(sheet)
    if drawing is not None:
        story += [drawing, Spacer(1, 4 * mm)]
    if not sheet.stops:
        story.append(_p("Für diese Tour sind keine Stopps geplant.", styles["bold"]))
        return story
    story += [CondPageBreak(60 * mm), _stop_table(sheet, styles)]
    return story


def route_sheets_pdf(sheets: list[RouteSheet], *, invariant: bool = True) -> bytes:
    """All tours of a day in one PDF (A4 portrait), each tour from a new page, pages counted per tour.
    With `invariant` the bytes depend only on the input."""
    register_fonts()
    styles = _styles()
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
        story.append(_p("Für diesen Tag sind keine Touren geplant.", styles["bold"]))
    doc.build(story, canvasmaker=_canvas_maker(sheets))
    return buffer.getvalue()


__all__ = ["DEPOT_ROW_TEXT", "MIN_FONT_SIZE", "route_map", "route_sheets_pdf"]

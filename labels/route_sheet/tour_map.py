"""The tour's map drawing: stops as numbered dots joined in tour order (the depot as a square), an
equirectangular projection around the mean latitude, north up, a scale bar, and an enlarged inset where
dots crowd."""

from __future__ import annotations

import itertools
import math

from reportlab.graphics.shapes import Circle, Drawing, Line, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.units import mm

from labels.drawing import FONT, FONT_BOLD
from labels.model import RouteSheet, RouteSheetStop
from labels.route_sheet.layout import INK, ROUND_COLOURS, RULE, WIDTH

SCALE_BAR_KM = (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50)


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

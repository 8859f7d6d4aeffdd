"""Fleet reports and the tax-audit logbook as PDF, and their charts as SVG for the web page.

The same reportlab Drawing is rendered to SVG (in the page) and placed in the PDF, so the page and the
paper show the same chart. Pure: dataclasses in, bytes out; every text is already formatted by the caller.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from xml.sax.saxutils import escape

from reportlab.graphics import renderSVG
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import CondPageBreak, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from labels.drawing import page_count_canvas
from labels.reports import FONT, FONT_BOLD, _register_fonts

PAGE = landscape(A4)
MARGIN = 10 * mm
FONT_SIZE = 9
CELL_PADDING = 2
PALETTE = (
    colors.HexColor("#1f5fa8"),
    colors.HexColor("#e08a1e"),
    colors.HexColor("#3c9a5f"),
    colors.HexColor("#b23b3b"),
    colors.HexColor("#7a5aa6"),
    colors.HexColor("#5f6b7a"),
)


@dataclass(frozen=True)
class ChartSeries:
    name: str
    values: tuple[float | None, ...]  # None: no value for that category


@dataclass(frozen=True)
class Chart:
    title: str
    unit: str
    categories: tuple[str, ...]
    series: tuple[ChartSeries, ...]
    kind: str = "bar"  # "bar" (grouped bars) or "line"


@dataclass(frozen=True)
class ReportTable:
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths_mm: tuple[float, ...] | None = None  # None: equal widths
    numeric: tuple[int, ...] = ()  # columns aligned right


@dataclass(frozen=True)
class ReportDocument:
    title: str
    subtitle: str
    generated_at: datetime  # local time
    notes: tuple[str, ...] = ()
    charts: tuple[Chart, ...] = ()
    tables: tuple[ReportTable, ...] = field(default_factory=tuple)
    footer: str = "Zentrale Poststelle · Fuhrpark"


# --- charts ------------------------------------------------------------------------------------------


def _nice_top(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** len(str(int(value))) / 10
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def chart_drawing(chart: Chart, width: float = 260 * mm, height: float = 70 * mm) -> Drawing:
    """A titled chart with a legend; bars or lines, one colour per series."""
    drawing = Drawing(width, height)
    drawing.add(String(4, height - 12, chart.title, fontName="Helvetica-Bold", fontSize=10))
    drawing.add(String(width - 4, height - 12, chart.unit, fontName="Helvetica", fontSize=8, textAnchor="end"))
    plot = VerticalBarChart() if chart.kind == "bar" else HorizontalLineChart()
    plot.x, plot.y = 40, 34
    plot.width, plot.height = width - 60, height - 62
    # a line has gaps where a value is missing (None); bars draw nothing there
    data = [tuple(None if v is None else float(v) for v in s.values) or (0.0,) for s in chart.series] or [(0.0,)]
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(data))]
    if chart.kind == "bar":
        data = [tuple(0.0 if v is None else v for v in values) for values in data]
    else:  # a line without any value is left out (its colour stays its own in the legend)
        drawn = [i for i, values in enumerate(data) if any(v is not None for v in values)]
        data = [data[i] for i in drawn] or [tuple(0.0 for _ in chart.categories) or (0.0,)]
        colours = [colours[i] for i in drawn] or [colors.white]
    plot.data = data
    plot.categoryAxis.categoryNames = list(chart.categories) or [""]
    plot.categoryAxis.labels.fontName = "Helvetica"
    plot.categoryAxis.labels.fontSize = 7
    many = len(chart.categories) > 14
    plot.categoryAxis.labels.angle = 45 if many else 0
    plot.categoryAxis.labels.boxAnchor = "ne" if many else "n"
    top = max((v for values in data for v in values if v is not None), default=0.0)
    plot.valueAxis.valueMin = 0
    plot.valueAxis.valueMax = _nice_top(top)
    plot.valueAxis.valueStep = plot.valueAxis.valueMax / 5  # 0.2, 0.4, 0.5, 1 or 2 x a power of ten
    plot.valueAxis.labels.fontName = "Helvetica"
    plot.valueAxis.labels.fontSize = 7
    plot.valueAxis.labelTextFormat = lambda v: f"{v:,.0f}".replace(",", ".")
    for index, colour in enumerate(colours):
        if chart.kind == "bar":
            plot.bars[index].fillColor = colour
            plot.bars[index].strokeColor = None
        else:
            plot.lines[index].strokeColor = colour
            plot.lines[index].strokeWidth = 1.5
            plot.lines[index].symbol = makeMarker("FilledCircle", size=3)  # a single value shows too
    if chart.kind == "bar":
        plot.groupSpacing = 4
        plot.barSpacing = 0.5
    drawing.add(plot)
    legend = Legend()
    legend.x, legend.y = 44, 8
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.fontName, legend.fontSize = "Helvetica", 8
    legend.dx = legend.dy = 7
    legend.deltax = 90
    legend.colorNamePairs = [(PALETTE[i % len(PALETTE)], s.name) for i, s in enumerate(chart.series)]
    drawing.add(legend)
    return drawing


def chart_svg(chart: Chart, width_mm: float = 260, height_mm: float = 70) -> bytes:
    """The chart as an SVG document (texts are escaped by the SVG renderer)."""
    drawing = chart_drawing(chart, width_mm * mm, height_mm * mm)
    return renderSVG.drawToString(drawing).encode("utf-8")


# --- the PDF -----------------------------------------------------------------------------------------


def _numbered_canvas(title: str, footer: str, generated_at: datetime) -> type[rl_canvas.Canvas]:
    def decorate(canvas: rl_canvas.Canvas, page: int, total: int) -> None:
        width, height = PAGE
        canvas.setFont(FONT_BOLD, 12)
        canvas.drawString(MARGIN, height - MARGIN - 3 * mm, title)
        canvas.setFont(FONT, 9)
        canvas.drawString(MARGIN, MARGIN - 3 * mm, f"{footer} · erstellt am {generated_at:%d.%m.%Y %H:%M}")
        canvas.drawRightString(width - MARGIN, MARGIN - 3 * mm, f"Seite {page} von {total}")

    return page_count_canvas(decorate)


def _table(table: ReportTable, cell: ParagraphStyle, head: ParagraphStyle, number: ParagraphStyle) -> Table:
    usable = PAGE[0] - 2 * MARGIN
    if table.widths_mm:
        widths = [w * mm for w in table.widths_mm]
    else:
        widths = [usable / max(1, len(table.header))] * len(table.header)

    def para(text: str, column: int, style: ParagraphStyle) -> Paragraph | str:
        """A cell: plain text when it fits on one line (drawn as is, many times faster than a Paragraph for
        the thousands of cells of a 50-van report), else a Paragraph that wraps."""
        text = text or ""
        font = FONT_BOLD if style is head else FONT
        if "\n" not in text and stringWidth(text, font, FONT_SIZE) <= widths[column] - 2 * CELL_PADDING - 1:
            return text
        chosen = number if column in table.numeric and style is cell else style
        return Paragraph(escape(text).replace("\n", "<br/>"), chosen)

    data = [[para(h, i, head) for i, h in enumerate(table.header)]]
    data += [[para(value, i, cell) for i, value in enumerate(row)] for row in table.rows]
    result = Table(data, colWidths=widths, repeatRows=1)
    commands = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.Color(0.6, 0.6, 0.6)),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.88, 0.9, 0.93)),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("FONT", (0, 0), (-1, -1), FONT, FONT_SIZE, FONT_SIZE * 1.2),
        ("FONT", (0, 0), (-1, 0), FONT_BOLD, FONT_SIZE, FONT_SIZE * 1.2),
    ]
    commands += [("ALIGN", (column, 1), (column, -1), "RIGHT") for column in table.numeric]
    result.setStyle(TableStyle(commands))
    return result


def report_pdf(document: ReportDocument, *, invariant: bool = True) -> bytes:
    """Landscape A4: title, notes, the charts, then the tables (heads repeated on every page)."""
    _register_fonts()
    cell = ParagraphStyle("cell", fontName=FONT, fontSize=FONT_SIZE, leading=FONT_SIZE * 1.2)
    head = ParagraphStyle("head", parent=cell, fontName=FONT_BOLD)
    number = ParagraphStyle("number", parent=cell, alignment=2)
    heading = ParagraphStyle("heading", parent=cell, fontName=FONT_BOLD, fontSize=11, leading=14, spaceBefore=6)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + 8 * mm,
        bottomMargin=MARGIN + 4 * mm,
        title=document.title,
        author="Zentrale Poststelle",
        creator="mailroom",
        invariant=1 if invariant else 0,
    )
    story: list = [Paragraph(escape(document.subtitle), heading)]
    story += [Paragraph(escape(note), cell) for note in document.notes]
    for chart in document.charts:
        story.append(Spacer(1, 3 * mm))
        story.append(KeepTogether([chart_drawing(chart)]))
    for table in document.tables:
        story.append(CondPageBreak(30 * mm))
        story.append(Paragraph(escape(table.title), heading))
        if table.rows:
            story.append(_table(table, cell, head, number))
        else:
            story.append(Paragraph("Keine Einträge in diesem Zeitraum.", cell))
    doc.build(story, canvasmaker=_numbered_canvas(document.title, document.footer, document.generated_at))
    return buffer.getvalue()

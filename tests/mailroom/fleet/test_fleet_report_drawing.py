"""labels.fleet_report on its own (pure): the same chart as SVG and in the PDF, texts escaped, tables paged."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from zoneinfo import ZoneInfo

import pypdfium2

from labels.fleet_report import Chart, ChartSeries, ReportDocument, ReportTable, chart_svg, report_pdf

MONTHS = ("Jan", "Feb", "Mär", "Apr")
GENERATED = datetime(2026, 3, 3, 8, 0, tzinfo=ZoneInfo("Europe/Berlin"))


def _text(pdf: bytes) -> tuple[int, str]:
    document = pypdfium2.PdfDocument(pdf)
    pages = len(document)
    text = " ".join(document[i].get_textpage().get_text_range() for i in range(pages))
    document.close()
    return pages, " ".join(text.split())


def test_svg_is_well_formed_and_escapes_names():
    chart = Chart("km <je> Monat", "km", MONTHS, (ChartSeries("<script>alert(1)</script>", (10, 20, 30, 40)),))
    svg = chart_svg(chart)
    root = ET.fromstring(svg)  # noqa: S314 (our own output)
    assert root.tag.endswith("svg")
    assert b"<script>" not in svg and b"&lt;script&gt;" in svg
    line = Chart(
        "kWh/100 km",
        "kWh",
        MONTHS,
        (ChartSeries("E1", (None, 25.0, None, None)), ChartSeries("E2", (None,) * 4)),
        kind="line",
    )
    assert ET.fromstring(chart_svg(line)) is not None  # noqa: S314  # a series without values is left out, not an error


def test_pdf_holds_the_charts_and_repeats_table_heads():
    chart = Chart("Gefahrene Kilometer je Monat", "km", MONTHS, (ChartSeries("E1", (700, 650, 0, 810)),))
    rows = tuple((f"Zeile {n}", "x") for n in range(120))
    document = ReportDocument(
        title="Fuhrpark-Bericht Test",
        subtitle="je Monat",
        generated_at=GENERATED,
        charts=(chart,),
        tables=(ReportTable("Zahlen", ("Spalte A", "Spalte B"), rows, widths_mm=(100, 177)),),
    )
    pdf = report_pdf(document)
    pages, text = _text(pdf)
    assert pages >= 3
    assert "Gefahrene Kilometer je Monat" in text and "Zeile 119" in text
    assert text.count("Spalte A") >= pages - 1  # the head on every page the table runs over
    assert f"Seite {pages} von {pages}" in text and "erstellt am 03.03.2026 08:00" in text
    assert pdf == report_pdf(document)  # invariant: the same input gives the same bytes

"""The fleet manager opens the year report in Chromium, sees its charts, and downloads it as CSV and PDF
(the PDF rasterised and its text checked)."""

from __future__ import annotations

import pypdfium2
import pytest

from mailroom.services import fleet

pytestmark = pytest.mark.browser


def test_year_report_with_charts_csv_and_pdf(live_server, page, tmp_path):
    app = live_server.app
    with app.app_context():
        report = fleet.build_report(*fleet.year_bounds(2026), vehicles=fleet.vehicles())
        expected_km = {van.vehicle.code: fleet.format_km(van.total.km) for van in report.vans}
        bars = sum(1 for van in report.vans for period in van.periods if period.km > 0)
    assert any(km != "0" for km in expected_km.values())  # the demo's history has driven km

    page.goto(live_server.url + "/login")
    page.fill("#username", "fuhrpark")
    page.fill("#password", app.config["DEMO_LOGINS"]["fuhrpark"])
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    page.get_by_role("link", name="Fuhrpark", exact=True).click()
    page.wait_for_url("**/fleet/")
    page.get_by_test_id("year-report").click()
    page.wait_for_url("**/fleet/report?year=2026")
    assert page.get_by_test_id("report-title").inner_text() == "Fuhrpark-Bericht 01.01.2026 – 31.12.2026"

    charts = page.get_by_test_id("charts").locator("svg")
    assert charts.count() == 3
    for index in range(3):
        box = charts.nth(index).bounding_box()
        assert box and box["width"] > 500 and box["height"] > 100  # drawn at the page's width
    assert "Gefahrene Kilometer je Monat" in charts.nth(0).inner_html()
    # one bar per van and month with km, plus the legend's swatches
    assert charts.nth(0).locator("rect").count() >= bars + len(expected_km)
    for code, km in expected_km.items():
        assert page.get_by_test_id(f"km-{code}").inner_text() == km
    page.screenshot(path=str(tmp_path / "fleet-report.png"), full_page=True)

    with page.expect_download() as csv_download:
        page.get_by_test_id("report-csv").click()
    assert csv_download.value.suggested_filename == "fuhrpark-bericht-2026-01-01-2026-12-31.csv"
    csv_path = tmp_path / "report.csv"
    csv_download.value.save_as(csv_path)
    lines = csv_path.read_bytes().decode("utf-8-sig").splitlines()
    assert lines[0].split(";") == fleet.REPORT_CSV_HEADER
    assert any(line.startswith("E1;März 2026;") for line in lines)

    with page.expect_download() as pdf_download:
        page.get_by_test_id("report-pdf").click()
    assert pdf_download.value.suggested_filename == "fuhrpark-bericht-2026-01-01-2026-12-31.pdf"
    pdf_path = tmp_path / "report.pdf"
    pdf_download.value.save_as(pdf_path)
    document = pypdfium2.PdfDocument(pdf_path.read_bytes())
    image = document[0].render(scale=1.5).to_pil().convert("L")
    image.save(tmp_path / "report-page-1.png")
    dark = sum(image.histogram()[:128])
    assert dark > 0.01 * image.width * image.height  # charts and text drawn, not an empty page
    text = " ".join(document[0].get_textpage().get_text_range().split())
    assert "Fuhrpark-Bericht 01.01.2026 – 31.12.2026" in text
    document.close()
    assert "Gefahrene Kilometer je Monat" in text and "Touren: geplant gegen gefahren" in text

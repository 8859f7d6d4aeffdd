"""Mail room staff plan today's tours in Chromium: Planen, progress, tours on the map and in tables,
route sheets as one PDF."""

from __future__ import annotations

import pytest

from mailroom.services.clock import local_today

pytestmark = pytest.mark.browser


def test_plan_today_and_download_route_sheets(live_server, page, tmp_path):
    logins = live_server.app.config["DEMO_LOGINS"]
    page.goto(live_server.url + "/login")
    page.fill("#username", "post")
    page.fill("#password", logins["post"])
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")

    page.get_by_role("link", name="Disposition").click()
    page.wait_for_url("**/dispatch/")
    assert page.locator("#dispatch-title").inner_text().endswith(local_today().strftime("%d.%m.%Y"))
    if local_today().weekday() >= 5:
        # No stop template on a weekend: a special trip to one site, added on the page.
        page.select_option("#site_id", label="RH – Rathaus")
        page.click("#adhoc-form button[type=submit]")
        assert "Sonderstopp angelegt" in page.locator(".flash-success").inner_text()

    page.get_by_test_id("plan-button").click()
    # The page answers at once and shows the progress while the background plan runs.
    page.wait_for_url("**run=*")
    page.get_by_test_id("tours").wait_for(state="visible", timeout=60_000)
    assert page.get_by_test_id("tour-E1").or_(page.get_by_test_id("tour-E2")).first.is_visible()
    rows = page.locator(".tour-table tbody tr.stop-row:not(.depot-row)")
    expected = 1 if local_today().weekday() >= 5 else 40
    assert rows.count() == expected
    # No tile server configured: the map is the plain SVG drawing of the stops and tour lines.
    assert page.locator("#tour-map").get_attribute("data-mode") == "svg"
    assert page.get_by_test_id("svg-map").locator("polyline").count() >= 1
    assert page.locator(".range-meter").first.is_visible()
    page.screenshot(path=str(tmp_path / "dispatch.png"), full_page=True)

    with page.expect_download() as download_info:
        page.get_by_test_id("sheets-link").click()
    download = download_info.value
    assert download.suggested_filename == f"laufzettel-{local_today().isoformat()}.pdf"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    assert target.read_bytes().startswith(b"%PDF")

"""Mail room staff plan today's tours in Chromium: Planen, progress, tours on the map and in tables,
route sheets as one PDF."""

from __future__ import annotations

import pytest

from mailroom.services.clock import local_today

pytestmark = pytest.mark.browser


def test_plan_today_and_download_route_sheets(live_server, page, tmp_path):
    logins = live_server.app.config["DEMO_LOGINS"]
    with live_server.app.app_context():
        today = local_today()  # the app's (pinned) day
    page.goto(live_server.url + "/login")
    page.fill("#username", "post")
    page.fill("#password", logins["post"])
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")

    page.get_by_role("link", name="Disposition").click()
    page.wait_for_url("**/dispatch/")
    assert page.locator("#dispatch-title").inner_text().endswith(today.strftime("%d.%m.%Y"))
    if today.weekday() >= 5:
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
    expected = 1 if today.weekday() >= 5 else 40
    assert rows.count() == expected
    # No tile server configured: the map is the plain SVG drawing of the stops and tour lines.
    assert page.locator("#tour-map").get_attribute("data-mode") == "svg"
    assert page.get_by_test_id("svg-map").locator("polyline").count() >= 1
    assert page.locator(".range-meter").first.is_visible()
    page.screenshot(path=str(tmp_path / "dispatch.png"), full_page=True)

    with page.expect_download() as download_info:
        page.get_by_test_id("sheets-link").click()
    download = download_info.value
    assert download.suggested_filename == f"laufzettel-{today.isoformat()}.pdf"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    assert target.read_bytes().startswith(b"%PDF")


def test_map_tooltips_show_site_names_as_text(live_server, page):
    """Leaflet map (a tile server configured, served here by the test): a site name with HTML in it is shown
    as text in the marker's tooltip, never run as markup."""
    import io

    from PIL import Image

    from mailroom.extensions import db
    from mailroom.models import Site
    from mailroom.services import dispatch

    app = live_server.app
    app.config["MAP_TILE_URL"] = "https://tiles.example/{z}/{x}/{y}.png"
    tile = io.BytesIO()
    Image.new("RGB", (256, 256), "#e8eef4").save(tile, format="PNG")
    page.route("https://tiles.example/**", lambda route: route.fulfill(body=tile.getvalue(), content_type="image/png"))
    hostile = '<img src=x onerror="window.__injected=1">Rathaus'
    with app.app_context():
        day = local_today()  # the app's (pinned) day
        site = db.session.scalar(db.select(Site).where(Site.code == "RH"))
        site.name = hostile
        db.session.commit()
        dispatch.plan_day(day, time_limit_s=1.0)
        db.session.commit()

    logins = app.config["DEMO_LOGINS"]
    page.goto(live_server.url + "/login")
    page.fill("#username", "post")
    page.fill("#password", logins["post"])
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    page.goto(live_server.url + "/dispatch/")
    page.locator("#tour-map .leaflet-interactive").first.wait_for()
    assert page.locator("#tour-map").get_attribute("data-mode") == "leaflet"
    page.locator("#tour-map").scroll_into_view_if_needed()
    markers = page.locator("#tour-map path.leaflet-interactive")
    shown = []
    for index in range(markers.count()):
        box = markers.nth(index).bounding_box()
        if box is None or box["width"] > 30:  # tour lines; the stops are small circles
            continue
        # The event on the marker itself: in the crowded centre another marker may lie on top of it.
        markers.nth(index).dispatch_event("mouseover")
        tooltip = page.locator(".leaflet-tooltip")
        if tooltip.count() and "Rathaus" in tooltip.last.inner_text():
            shown.append(tooltip.last.inner_text())
            break
    assert shown and hostile in shown[0]  # the markup as plain text
    assert page.locator(".leaflet-tooltip img").count() == 0
    assert page.evaluate("window.__injected === undefined")

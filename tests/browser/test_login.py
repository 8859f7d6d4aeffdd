"""A real browser logs in and reaches the start page of its role."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_login_in_chromium_reaches_the_start_page(live_server, page, tmp_path):
    logins = live_server.app.config["DEMO_LOGINS"]
    page.goto(live_server.url + "/")
    assert page.url.endswith("/login?next=%2F")
    page.fill("#username", "post")
    page.fill("#password", "falsch-falsch-falsch")
    page.click("button[type=submit]")
    assert page.locator(".flash-error").inner_text() == "Benutzername oder Passwort ist falsch."

    page.fill("#username", "post")
    page.fill("#password", logins["post"])
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    assert page.locator("h1").inner_text() == "Poststelle – heute"
    assert int(page.get_by_test_id("received-today").inner_text()) >= 0
    page.screenshot(path=str(tmp_path / "start.png"), full_page=True)


def test_courier_start_page_on_a_phone(live_server, phone_page):
    logins = live_server.app.config["DEMO_LOGINS"]
    phone_page.goto(live_server.url + "/login")
    phone_page.fill("#username", "bote")
    phone_page.fill("#password", logins["bote"])
    phone_page.click("button[type=submit]")
    phone_page.wait_for_url(live_server.url + "/")
    assert phone_page.locator("h1").inner_text() == "Meine Tour heute"
    # the navigation collapses behind a menu button on a phone
    assert phone_page.get_by_role("button", name="Menü").is_visible()
    assert not phone_page.locator(".mainnav").is_visible()


def test_pages_run_under_the_content_security_policy_without_violations(live_server, strict_page):
    """Scan station, dispatch (map) and start page load their scripts and work with script-src 'self'."""
    violations = []
    strict_page.on(
        "console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None
    )
    logins = live_server.app.config["DEMO_LOGINS"]
    strict_page.goto(live_server.url + "/login")
    strict_page.fill("#username", "post")
    strict_page.fill("#password", logins["post"])
    strict_page.click("button[type=submit]")
    strict_page.wait_for_url(live_server.url + "/")
    strict_page.goto(live_server.url + "/intake/scan")
    strict_page.fill("#scan-input", "RR123456785DE")
    strict_page.press("#scan-input", "Enter")
    strict_page.locator("#scan-rows tr", has_text="RR123456785DE").first.wait_for()
    strict_page.goto(live_server.url + "/dispatch/")
    strict_page.wait_for_load_state("networkidle")
    assert violations == []

"""The scan station in a real browser: codes typed like a handheld scanner (code + Enter, fast), each a row
without a reload; a repeated code shows the existing row; kind and org unit set in the row; tracking."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from labels import codes as carrier_codes

pytestmark = pytest.mark.browser


def _login(page, live_server, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_scan_station_logs_codes_without_reload(live_server, page):
    password = live_server.app.config["DEMO_LOGINS"]["post"]
    _login(page, live_server, "post", password)
    page.goto(f"{live_server.url}/intake/scan")
    scan = page.locator("#scan-input")
    expect(scan).to_be_focused()
    rows = page.locator("#scan-rows tr")
    before = rows.count()  # today's demo items

    codes = [carrier_codes.make_s10("RR", 70_000_000 + n) for n in range(10)]
    page.evaluate("window.__marker = 'no reload'")
    for code in codes:  # as fast as a scanner: no waiting between codes
        page.keyboard.type(code, delay=0)
        page.keyboard.press("Enter")
    for code in codes:
        expect(page.locator("#scan-rows tr", has=page.locator(f"code:text-is('{code}')"))).to_have_count(1)
    expect(page.locator("#scan-rows tr.level-pending")).to_have_count(0)
    assert rows.count() == before + 10
    assert page.evaluate("window.__marker") == "no reload"
    expect(scan).to_be_focused()
    expect(page.locator("#scan-feedback")).to_contain_text("Neu erfasst")

    # the same code again: the existing row comes back to the top, no new row
    page.keyboard.type(codes[3])
    page.keyboard.press("Enter")
    expect(page.locator("#scan-feedback")).to_contain_text("Bereits heute")
    first = page.locator("#scan-rows tr").first
    expect(first.locator("code").first).to_have_text(codes[3])
    assert rows.count() == before + 10

    # kind and org unit in the row
    row = page.locator("#scan-rows tr", has=page.locator(f"code:text-is('{codes[0]}')"))
    row.locator("select[name=kind]").select_option("einschreiben_einwurf")  # S10 RR: already "Übergabe"
    expect(row.locator(".hint")).to_contain_text("Gespeichert")
    org = row.locator("input[name=org_unit]")
    org.fill("FD20 – Fachdienst Finanzen")
    org.press("Enter")
    expect(row.locator(".hint")).to_have_text("Gespeichert")
    expect(scan).to_be_focused()
    # an unknown org unit: a message in the row
    bad_row = page.locator("#scan-rows tr", has=page.locator(f"code:text-is('{codes[1]}')"))
    bad_org = bad_row.locator("input[name=org_unit]")
    bad_org.fill("Mondbehörde")
    bad_org.press("Enter")
    expect(bad_row.locator(".hint")).to_contain_text("Unbekannter Fachdienst")

    # tracking finds the item with its history
    page.goto(f"{live_server.url}/intake/track?q={codes[0]}")
    tracked = page.locator("[data-testid=tracked-item]")
    expect(tracked).to_contain_text(codes[0])
    expect(tracked).to_contain_text("FD20")
    history = page.locator("[data-testid=history]")
    expect(history).to_contain_text("Eingang erfasst")
    expect(history).to_contain_text("Angaben ergänzt")
    expect(history).to_contain_text("Paula Post")


def test_item_logged_by_hand_gets_a_label_button(live_server, page):
    _login(page, live_server, "post", live_server.app.config["DEMO_LOGINS"]["post"])
    page.goto(f"{live_server.url}/intake/scan")
    page.click("#manual-button")
    expect(page.locator("#scan-feedback")).to_contain_text("mit eigener Nummer PS")
    first = page.locator("#scan-rows tr").first
    expect(first.locator("code").first).to_contain_text("PS")
    if live_server.app.view_functions.get("intake.item_label"):
        expect(first.locator(".label-form button")).to_have_text("Etikett drucken")
    expect(page.locator("#scan-input")).to_be_focused()

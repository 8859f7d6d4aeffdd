"""Intake at speed (issue 16): the sorting display after a failed scan, the scan station by keyboard,
undoing a wrong scan, finding mail by more than its code."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from labels import codes as carrier_codes

pytestmark = pytest.mark.browser


def _login(page, live_server, username: str = "post") -> None:
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", live_server.app.config["DEMO_LOGINS"][username])
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def _post_json(page, path, body):
    return page.evaluate(
        """async ([path, body]) => {
            const token = document.querySelector('meta[name="csrf-token"]').content;
            const res = await fetch(path, {method: 'POST', body: JSON.stringify(body),
                headers: {'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRFToken': token}});
            return {status: res.status, body: await res.json()};
        }""",
        [path, body],
    )


def _sort(page, code: str) -> None:
    with page.expect_response(lambda r: r.url.endswith("/intake/sorting/scan")):
        page.fill("#sort-input", code)
        page.press("#sort-input", "Enter")


def test_sorting_display_clears_on_error_and_already_sorted_is_not_red(live_server, page):
    _login(page, live_server)
    page.goto(f"{live_server.url}/intake/scan")
    code = carrier_codes.make_s10("RR", 71_000_001)
    answer = _post_json(page, "/intake/scan", {"code": code, "kind": "einschreiben_uebergabe", "org_unit": "FD20"})
    assert answer["status"] == 201, answer

    page.goto(f"{live_server.url}/intake/sorting")
    _sort(page, code)
    box_code = page.locator("#box-code")
    expect(box_code).to_have_text("FACH-RH")

    # a code that is no item: the large display no longer shows the previous box
    _sort(page, "XYZ-UNBEKANNT")
    expect(page.locator("#sort-feedback")).to_have_class("scan-feedback level-error")
    expect(box_code).not_to_contain_text("FACH-")
    expect(page.locator("#box-display")).to_have_class("box-display level-error")
    # the log names the code once, not "code: ... code ..."
    first_line = page.locator("#sort-log li").first
    expect(first_line).to_have_class("level-error")
    assert first_line.inner_text().count("XYZ-UNBEKANNT") == 1, first_line.inner_text()

    # scanned again: the box is shown, neutral (nothing went wrong), not red
    _sort(page, code)
    expect(box_code).to_have_text("FACH-RH")
    feedback = page.locator("#sort-feedback")
    expect(feedback).to_contain_text("liegt bereits im Fach FACH-RH")
    expect(feedback).to_have_class("scan-feedback level-info")
    line = page.locator("#sort-log li").first
    expect(line).to_have_class("level-info")
    red = "rgb(179, 38, 30)"
    assert line.evaluate("e => getComputedStyle(e).color") != red
    assert feedback.evaluate("e => getComputedStyle(e).color") != red

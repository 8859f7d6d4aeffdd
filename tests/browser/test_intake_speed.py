"""Intake at speed (issue 16): the sorting display after a failed scan, the scan station by keyboard,
undoing a wrong scan, finding mail by more than its code."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from labels import codes as carrier_codes
from tests.browser.session import login_demo, post_json

pytestmark = pytest.mark.browser


def _sort(page, code: str) -> None:
    with page.expect_response(lambda r: r.url.endswith("/intake/sorting/scan")):
        page.fill("#sort-input", code)
        page.press("#sort-input", "Enter")


def test_sorting_display_clears_on_error_and_already_sorted_is_not_red(live_server, page):
    login_demo(page, live_server)
    page.goto(f"{live_server.url}/intake/scan")
    code = carrier_codes.make_s10("RR", 71_000_001)
    answer = post_json(page, "/intake/scan", {"code": code, "kind": "einschreiben_uebergabe", "org_unit": "FD20"})
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


def _row(page, code: str):
    return page.locator("#scan-rows tr", has=page.locator(f"code:text-is('{code}')"))


def _kind_of(live_server, code: str):
    from mailroom.extensions import db
    from mailroom.services import intake

    with live_server.app.app_context():
        item = intake.find_item(code)
        kind = item.kind
        db.session.remove()
    return kind


def test_scan_station_by_keyboard_fields_status_column(live_server, page):
    login_demo(page, live_server)
    page.goto(f"{live_server.url}/intake/scan")
    code = carrier_codes.make_s10("CX", 71_000_002)
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    row = _row(page, code)
    expect(row.locator(".status")).to_have_text("Eingegangen")
    # the hint does not repeat the status; the status has its own column
    assert "Eingegangen" not in row.locator(".hint").inner_text()
    headers = page.locator("#scan-table thead th").all_inner_texts()
    assert "Status" in headers and "Hinweis" in headers

    # arrow keys browse the kinds: no save, the focus stays in the field
    select = row.locator("select[name=kind]")
    select.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(select).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(select).to_be_focused()
    chosen = select.input_value()
    assert chosen, "the arrow keys choose a kind"
    assert _kind_of(live_server, code) is None  # nothing saved while browsing
    # Enter commits it: saved once, back to the scan field
    page.keyboard.press("Enter")
    expect(row.locator(".hint")).to_contain_text("Gespeichert")
    expect(page.locator("#scan-input")).to_be_focused()
    assert _kind_of(live_server, code) == chosen
    with live_server.app.app_context():
        from sqlalchemy import func
        from sqlalchemy import select as sql_select

        from mailroom.extensions import db
        from mailroom.models import EventKind, MailEvent
        from mailroom.services import intake

        item = intake.find_item(code)
        details = db.session.scalar(
            sql_select(func.count(MailEvent.id)).where(
                MailEvent.item_id == item.id, MailEvent.kind == EventKind.DETAILS
            )
        )
        db.session.remove()
    assert details == 1

    # leaving the field by Tab commits a choice made with the arrows too
    select.focus()
    page.keyboard.press("ArrowDown")
    second = select.input_value()
    assert second != chosen
    with page.expect_response(lambda r: "/details" in r.url) as saved:
        page.keyboard.press("Tab")
    assert saved.value.status == 200
    assert _kind_of(live_server, code) == second

    # the fields show their whole text
    org = row.locator("input[name=org_unit]")
    longest = max(page.locator("#org-units option").evaluate_all("os => os.map(o => o.value)"), key=len)
    org.fill(longest)
    assert org.evaluate("e => e.scrollWidth <= e.clientWidth"), longest
    widths = select.evaluate(
        """e => {
            const c = document.createElement('canvas').getContext('2d');
            c.font = getComputedStyle(e).font;
            const widest = Math.max(...Array.from(e.options).map(o => c.measureText(o.text).width));
            return [e.clientWidth, widest];
        }"""
    )
    assert widths[0] >= widths[1], widths


def test_a_wrong_scan_is_undone_at_the_scan_station(live_server, page):
    login_demo(page, live_server)
    page.goto(f"{live_server.url}/intake/scan")
    count = page.locator("#scan-count")
    before = int(count.inner_text())
    page.keyboard.type("TIPPFEHLER42")  # typed into the scan field by mistake
    page.keyboard.press("Enter")
    row = _row(page, "TIPPFEHLER42")
    expect(row.locator(".status")).to_have_text("Eingegangen")
    expect(count).to_have_text(str(before + 1))
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Stornieren").click()
    expect(row.locator(".status")).to_have_text("Storniert (Fehlscan)")
    expect(page.locator("#scan-feedback")).to_contain_text("Fehlscan storniert")
    expect(count).to_have_text(str(before))
    expect(row.get_by_role("button", name="Stornieren")).to_have_count(0)
    expect(row.locator("select[name=kind]")).to_be_disabled()
    expect(page.locator("#scan-input")).to_be_focused()

    # kept in the history, gone from the work lists
    page.goto(f"{live_server.url}/intake/track?q=TIPPFEHLER42")
    expect(page.locator("[data-testid=history]")).to_contain_text("Fehlscan storniert")
    page.goto(f"{live_server.url}/intake/worklist")
    expect(page.locator("body")).not_to_contain_text("TIPPFEHLER42")
    page.goto(f"{live_server.url}/intake/scan")
    expect(page.locator("#scan-rows")).not_to_contain_text("TIPPFEHLER42")
    expect(page.locator("#scan-count")).to_have_text(str(before))


def test_finding_mail_by_org_unit_part_of_its_name(live_server, page):
    login_demo(page, live_server)
    page.goto(f"{live_server.url}/intake/scan")
    code = carrier_codes.make_s10("RR", 71_000_003)
    answer = post_json(page, "/intake/scan", {"code": code, "kind": "einschreiben_uebergabe", "org_unit": "FD11"})
    assert answer["status"] == 201, answer
    page.goto(f"{live_server.url}/intake/track")
    page.get_by_text("Weitere Suchfelder").click()
    page.get_by_label("Fachdienst (Teil des Namens)").fill("personal")
    page.get_by_label("Sendungsart").select_option("einschreiben_uebergabe")
    page.get_by_role("button", name="Suchen").click()
    results = page.get_by_test_id("search-results")
    expect(results).to_contain_text(code)
    expect(results).to_contain_text("Fachdienst Personal")
    for unit in results.locator("tbody tr td:nth-child(4)").all_inner_texts():
        assert "Personal" in unit


def test_worklist_shows_the_envelope_and_saves_like_the_scan_station(live_server, page):
    from tests.builders import barcode_image

    login_demo(page, live_server)
    code = carrier_codes.make_s10("CX", 71_000_004)
    page.goto(f"{live_server.url}/intake/upload")
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "umschlag.png", "mimeType": "image/png", "buffer": barcode_image(code)}]
    )
    page.get_by_role("button", name="Hochladen und lesen").click()
    expect(page.locator("body")).to_contain_text(code)

    page.goto(f"{live_server.url}/intake/worklist")
    row = page.locator("#worklist tbody tr", has=page.locator(f"code:text-is('{code}')"))
    thumb = row.locator("img.envelope-thumb")
    expect(thumb).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    expect(row.get_by_role("button", name="Speichern")).to_have_count(0)  # no button per row
    expect(page.get_by_role("button", name="Speichern")).to_have_count(0)

    row.locator("select[name=kind]").select_option("brief")
    expect(row.locator(".hint")).to_have_text("Gespeichert – Angaben fehlen noch")
    org = row.locator("input[name=org_unit]")
    org.fill("FD20 – Fachdienst Finanzen")
    org.press("Enter")
    expect(row.locator(".hint")).to_have_text("Gespeichert – vollständig")
    assert org.evaluate("e => e.scrollWidth <= e.clientWidth")
    page.reload()
    expect(page.locator("#worklist tbody tr", has=page.locator(f"code:text-is('{code}')"))).to_have_count(0)

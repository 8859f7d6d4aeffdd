"""Outgoing mail in a real browser: the franking form typed with the keyboard only (cost centre, Tab to
the counts, Enter books), a refused cost centre, then the month report and the year view with its chart."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailroom.extensions import db
from mailroom.models.outgoing import LetterCount
from tests.browser.session import login_demo

pytestmark = pytest.mark.browser


def _lines(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(LetterCount.id))) or 0


def test_franking_form_by_keyboard_and_reports(live_server, page, tmp_path):
    app = live_server.app
    login_demo(page, live_server, "post")
    page.get_by_role("link", name="Postausgang").first.click()
    page.wait_for_url(live_server.url + "/outgoing/")
    before = _lines(app)

    # the cost centre field has the focus; Tab goes straight to the first count: Standardbrief
    assert page.evaluate("document.activeElement.id") == "cost-centre"
    page.keyboard.type("10100")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "n-standardbrief"
    page.keyboard.type("250")
    page.keyboard.press("Tab")
    page.keyboard.type("3")  # Standardbrief + Einschreiben Einwurf
    page.keyboard.press("Enter")
    page.wait_for_url("**/outgoing/?day=*")
    flash = page.locator(".flash-success").inner_text()
    assert flash == "Gebucht: Kostenstelle 10100, 253 Stück, 247,40 €."  # 250 x 0,95 + 3 x (0,95 + 2,35)
    assert _lines(app) == before + 2
    assert page.locator("[data-testid=day-lines] tr", has_text="Standardbrief + Einschreiben Einwurf").count() >= 1
    page.screenshot(path=str(tmp_path / "franking.png"))

    page.fill("#cost-centre", "4711")
    page.fill("input[name='n-kompaktbrief']", "5")
    page.press("input[name='n-kompaktbrief']", "Enter")
    assert page.get_by_test_id("form-error").inner_text() == "Unbekannte Kostenstelle „4711“."
    assert page.input_value("input[name='n-kompaktbrief']") == "5"  # nothing typed is lost
    assert _lines(app) == before + 2

    page.get_by_role("navigation", name="Postausgang").get_by_role("link", name="Monatsbericht").click()
    page.wait_for_url("**/outgoing/report")
    row = page.locator("[data-testid=cost-centres] tr[data-cost-centre='10100']")
    assert row.count() == 1
    total = int(page.get_by_test_id("total-pieces").inner_text().replace(".", ""))
    assert total >= 253
    assert page.locator("[data-testid=products] tr", has_text="Standardbrief").count() >= 1
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    with page.expect_download() as download:
        page.get_by_test_id("charge-back").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "Kostenstelle;Zeitraum;Stueck;Betrag_EUR"
    assert any(line.startswith("10100;") for line in text.splitlines())

    page.get_by_role("navigation", name="Postausgang").get_by_role("link", name="Jahresübersicht").click()
    page.wait_for_url("**/outgoing/year")
    assert page.locator("svg.outgoing-chart rect").count() == 12
    assert int(page.get_by_test_id("year-letters").inner_text().replace(".", "")) >= 253
    page.screenshot(path=str(tmp_path / "year.png"), full_page=True)


def test_einschreiben_posting_list_and_tariffs(live_server, page, tmp_path):
    from labels.codes import make_s10

    login_demo(page, live_server, "admin")
    page.goto(live_server.url + "/outgoing/tracked?day=2026-02-02")
    code = make_s10("RT", 4_242_424)
    form = page.get_by_test_id("einschreiben-form")
    form.locator("input[name=cost_centre]").fill("10100")
    form.locator("input[name=day]").fill("2026-02-02")
    form.locator("input[name=code]").fill(code.lower())
    form.locator("select[name=variant]").select_option("einschreiben_rueckschein")
    form.locator("input[name=recipient]").fill("Ayşe Demir")
    form.locator("input[name=file_number]").fill("FD30-17/26")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/outgoing/tracked?day=2026-02-02")
    row = page.locator("[data-testid=tracked-items] tr", has_text=code)
    assert "06.02.2026" in row.inner_text()  # Monday + 4 days: counts as served on Friday
    assert "Ayşe Demir" in row.inner_text()
    page.screenshot(path=str(tmp_path / "tracked.png"), full_page=True)

    href = page.get_by_test_id("posting-list-1").get_attribute("href")
    response = page.request.get(live_server.url + href)  # the browser's session cookie goes along
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")

    page.goto(live_server.url + "/outgoing/tariffs")
    assert page.locator("[data-testid=tariffs] tr", has_text="Standardbrief").first.inner_text().count("€") == 2
    page.screenshot(path=str(tmp_path / "tariffs.png"), full_page=True)

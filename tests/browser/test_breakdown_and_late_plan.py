"""Issue 16 in Chromium: a breakdown hands the open stops to the free van (the mail room sees it, both
couriers see what to do), and a plan made late in the day starts now."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from mailroom.extensions import db
from mailroom.models import ItemStatus, MailItem, OrgUnit, Site, StopStatus, Tour, TourStatus
from mailroom.services import clock, courier, dispatch, fleet
from mailroom.services.dispatch.runs import delete_tours
from tests.browser.session import login_demo
from tests.builders import add_item

pytestmark = pytest.mark.browser


def add_sorted_items(per_site: int) -> None:
    """Sorted letters for every site (to its first org unit), beside what the demo holds."""
    for site in db.session.scalars(select(Site).where(Site.is_depot.is_(False), Site.active)):
        unit = db.session.scalar(select(OrgUnit).where(OrgUnit.site_id == site.id).order_by(OrgUnit.id).limit(1))
        for _ in range(per_site if unit else 0):
            add_item(unit)
    db.session.commit()


def _pin(app, moment: str) -> None:
    app.config["CLOCK_NOW"] = moment
    app.extensions.pop("mailroom_clock_offset", None)


@pytest.fixture
def e1_under_way_e2_free(live_server):
    """Today planned on E1 only (E2 free), E1 started by its courier with every item loaded and its first
    two stops done."""
    app = live_server.app
    with app.app_context():
        add_sorted_items(per_site=2)
        today = clock.local_today()
        dispatch.plan_day(today, time_limit_s=1.0)
        e2 = next((t for t in dispatch.tours_of(today) if t.vehicle.code == "E2"), None)
        if e2 is not None:
            delete_tours([e2])
        e1 = next(t for t in dispatch.tours_of(today) if t.vehicle.code == "E1")
        last = fleet.last_reading(e1.vehicle)
        action = {"client_action_id": "e1-start-0001", "km": (last.km if last else 0) + 1, "soc": 90}
        courier.perform(e1.driver, e1.id, "start", action)
        for stop in [s for s in sorted(e1.stops, key=lambda s: s.position) if not s.is_depot][:2]:
            stop.status, stop.done_at = StopStatus.DONE, clock.now_utc()
            for item in db.session.scalars(select(MailItem).where(MailItem.tour_stop_id == stop.id)):
                item.status = ItemStatus.DELIVERED
        db.session.commit()
        return {"id": e1.id, "driver": e1.driver.username, "start_km": action["km"]}


def test_breakdown_the_free_van_takes_the_open_stops(live_server, e1_under_way_e2_free, page, phone_page, tmp_path):
    login_demo(page, live_server, "post")
    page.goto(live_server.url + "/dispatch/")
    card = page.get_by_test_id("tour-E1")
    card.locator("details.breakdown summary").click()
    card.get_by_test_id("breakdown-E1").click()
    page.wait_for_url("**/dispatch/?date=*")
    flash = page.locator(".flash").filter(has_text="Ausfall E1")
    assert "offene Stopps neu verteilt auf E2" in flash.inner_text()
    assert "kein Fahrzeug" not in flash.inner_text()
    assert "flash-success" in flash.get_attribute("class") or "flash-warning" in flash.get_attribute("class")
    e2 = page.get_by_test_id("tour-E2")
    assert e2.locator("tr.stop-row:not(.depot-row)").count() >= 30
    assert "Übernommen nach Ausfall E1" in e2.inner_text()
    assert page.get_by_test_id("plan-button").count() == 0  # a full re-plan could only fail now
    page.screenshot(path=str(tmp_path / "breakdown-dispatch.png"), full_page=True)
    with live_server.app.app_context():
        today = clock.local_today()
        e2_tour = db.session.scalar(select(Tour).where(Tour.service_date == today, Tour.status == TourStatus.PLANNED))
        e2_id, e2_driver = e2_tour.id, e2_tour.driver.username
        fetched = [i.code for s in e2_tour.stops for i in db.session.scalars(
            select(MailItem).where(MailItem.tour_stop_id == s.id, MailItem.status == ItemStatus.LOADED))]  # fmt: skip
    assert e2_driver != e1_under_way_e2_free["driver"] and fetched

    # The courier of the broken van: the tour is still listed and says what to do.
    phone = phone_page
    login_demo(phone, live_server, e1_under_way_e2_free["driver"])
    phone.goto(live_server.url + "/courier/")
    phone.locator(f"a[href='/courier/tour/{e1_under_way_e2_free['id']}']").click()
    notice = phone.get_by_test_id("breakdown-notice")
    notice.wait_for()
    assert "Die offenen Stopps fährt jetzt E2" in notice.inner_text()
    assert fetched[0] in notice.text_content()  # in the folded list of what to hand over
    folded = notice.get_by_test_id("breakdown-fetch").locator("summary")
    assert folded.inner_text().startswith(f"{len(fetched)} Sendung")
    numbers = [int(n) for n in phone.locator(".stop-pos").all_inner_texts()]
    assert numbers and max(numbers) < 100  # never 10000 and up
    phone.screenshot(path=str(tmp_path / "breakdown-e1-phone.png"), full_page=True)
    # ... and gives the van's reading where it stopped (the tour's logbook entry is then complete).
    reading = phone.get_by_test_id("breakdown-reading")
    reading.locator("#end-km").fill(str(e1_under_way_e2_free["start_km"] + 12.5))
    reading.locator("#end-soc").fill("64")
    reading.locator("button[type=submit]").click()
    phone.wait_for_function("window.mailroomCourier.idle()")
    assert "12,5 km gefahren" in phone.get_by_test_id("breakdown-reading-done").inner_text()
    phone.screenshot(path=str(tmp_path / "breakdown-e1-reading.png"), full_page=True)
    with live_server.app.app_context():
        e1 = db.session.get(Tour, e1_under_way_e2_free["id"])
        assert e1.status == TourStatus.CANCELLED and fleet.tour_driven_km(e1) == 12.5

    # The courier of the free van sees the stops with what to fetch from E1, and may start today.
    phone.context.clear_cookies()
    login_demo(phone, live_server, e2_driver)
    phone.goto(f"{live_server.url}/courier/tour/{e2_id}")
    phone.locator("#start-km").wait_for()
    assert "Übernommen nach Ausfall E1" in phone.locator("#courier-app").text_content()  # in the stop notes
    assert phone.get_by_test_id("load-elsewhere").inner_text().startswith(f"{len(fetched)} Sendung")
    phone.screenshot(path=str(tmp_path / "breakdown-e2-phone.png"), full_page=True)


def test_a_plan_made_late_in_the_day_starts_now(live_server, page, tmp_path):
    app = live_server.app
    with app.app_context():
        add_sorted_items(per_site=1)
    _pin(app, "2026-03-03T12:55:00+01:00")
    login_demo(page, live_server, "post")
    page.goto(live_server.url + "/dispatch/")
    page.get_by_test_id("plan-button").click()
    page.wait_for_url("**run=*")
    page.get_by_test_id("tours").wait_for(state="visible", timeout=60_000)
    page.screenshot(path=str(tmp_path / "late-plan.png"), full_page=True)
    shown = page.locator(".tour-facts span:first-child").all_inner_texts()
    shown += page.locator("tr.stop-row:not(.depot-row) td:nth-child(4)").all_inner_texts()
    times = re.findall(r"\b(\d\d):(\d\d)\b", " ".join(shown))
    assert times
    assert all((int(h), int(m)) >= (12, 55) for h, m in times), times
    page.goto(live_server.url + "/dispatch/overview")
    tiles = page.locator("#overview-tiles").inner_text()
    assert "Nächster Stopp" in tiles and "09:" not in tiles and "Verspätung" not in tiles

    # Half an hour on, the van has not left: the overview marks the delay.
    _pin(app, "2026-03-03T13:40:00+01:00")
    page.reload()
    assert "Min. Verspätung" in page.locator("#overview-tiles").inner_text()
    page.screenshot(path=str(tmp_path / "late-overview.png"), full_page=True)
    with app.app_context():
        assert clock.now_utc() - clock.parse_clock_now("2026-03-03T13:40:00+01:00") < timedelta(minutes=5)

"""axe-core on every page a role reaches from its start page: no serious or critical violation.

Per role the test logs in with the demo login and walks the links of the pages it sees (main navigation,
sub-navigation, the links in the page: item detail, edit pages, a tour, a vehicle, the fleet report), one page
per route (ids and query strings folded), and runs axe-core on each. The courier uses a phone viewport."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select

from mailroom.extensions import db
from mailroom.models import ItemKind, OrgUnit, Site, StopStatus, TourStatus, User, Vehicle
from tests.conftest import LIVE_CLOCK_NOW
from tests.mailroom.courier.builders import World, make_tour

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
ROLES = {
    "admin": DESKTOP,
    "post": DESKTOP,
    "bote": PHONE,
    "fuhrpark": DESKTOP,
}
# Not HTML pages (downloads, data, the service worker) or pages that change something when opened.
SKIP = re.compile(r"\.(csv|pdf|png|json|js|svg)$|/data$|/envelope$|/logout$|/scans/\d+$|/signature\.png$")
MAX_PAGES = 60
IMPACTS = {"serious", "critical"}
# The courier's phone pages (few, used on the road with a screen reader too) are held to every impact.
ALL_IMPACTS = {"minor", "moderate", "serious", "critical"}


@pytest.fixture
def todays_tour(live_server):
    """A tour of "bote" today over three demo sites (the demo history has none on the pinned day), so the
    courier reaches a tour page and the day overview shows a tour with its badges."""
    with live_server.app.app_context():
        depot = db.session.scalar(select(Site).where(Site.is_depot))
        sites = list(db.session.scalars(select(Site).where(Site.is_depot.is_(False)).order_by(Site.id).limit(3)))
        units = [db.session.scalar(select(OrgUnit).where(OrgUnit.site_id == s.id).order_by(OrgUnit.id)) for s in sites]
        couriers = {u.username: u for u in db.session.scalars(select(User).where(User.username.in_(["bote", "botin"])))}
        van = db.session.scalar(select(Vehicle).where(Vehicle.code == "E1"))
        world = World(depot=depot, sites=sites, units=units, van=van, couriers=couriers)
        kinds = ((ItemKind.BRIEF, ItemKind.EINSCHREIBEN_UEBERGABE), (ItemKind.BRIEF,), (ItemKind.PAKET,))
        tour = make_tour(world, couriers["bote"], items_per_stop=kinds)
        # Under way: one stop done, one skipped, so their status badges (on the muted rows) are checked too.
        tour.status = TourStatus.STARTED
        first, second = [stop for stop in tour.stops if not stop.is_depot][:2]
        first.status, first.done_at = StopStatus.DONE, datetime.fromisoformat(LIVE_CLOCK_NOW)
        tour.started_at = first.done_at
        second.status, second.skip_reason = StopStatus.SKIPPED, "Standort geschlossen"
        db.session.commit()
        return tour.id


def _shape(path: str) -> str:
    """One page per route: /intake/items/12 and /intake/items/13 are the same page."""
    return re.sub(r"\d+", "N", path)


def _same_origin_paths(page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    paths = []
    for href in hrefs:
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" != base or SKIP.search(parts.path):
            continue
        paths.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return paths


def _login(page, base: str, username: str, password: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


def _serious(results, impacts: set[str] = IMPACTS) -> list[dict]:
    return [v for v in results.response["violations"] if v.get("impact") in impacts]


def _describe(url: str, violation: dict) -> str:
    targets = ["/".join(map(str, node.get("target", []))) for node in violation["nodes"][:5]]
    return f"{url}: {violation['id']} ({violation['impact']}) {violation['help']} -> {targets}"


@pytest.mark.parametrize("username", list(ROLES))
def test_no_serious_or_critical_axe_violation_on_any_page_of_the_role(live_server, todays_tour, browser, username):
    base = live_server.url
    # axe-core is injected as an inline script, which the app's CSP (script-src 'self') refuses.
    context = browser.new_context(
        locale="de-DE", timezone_id="Europe/Berlin", viewport=ROLES[username], bypass_csp=True,
        is_mobile=ROLES[username] is PHONE, has_touch=ROLES[username] is PHONE,
    )  # fmt: skip
    page = context.new_page()
    page.set_default_timeout(15000)
    axe = Axe()
    try:
        _login(page, base, username, live_server.app.config["DEMO_LOGINS"][username])
        queue, seen, visited, problems = ["/"], {_shape("/")}, [], []
        while queue and len(visited) < MAX_PAGES:
            path = queue.pop(0)
            response = page.goto(base + path)
            if (
                response is None
                or response.status != 200
                or "text/html" not in response.headers.get("content-type", "")
            ):
                continue
            page.wait_for_load_state("networkidle")
            visited.append(path)
            # Folded content counts too: axe checks only what is shown.
            page.eval_on_selector_all("details:not([open])", "els => els.forEach(e => { e.open = true; })")
            menu = page.get_by_role("button", name="Menü")
            if menu.is_visible() and menu.get_attribute("aria-expanded") == "false":
                menu.click()
            impacts = ALL_IMPACTS if username == "bote" else IMPACTS
            problems += [_describe(path, v) for v in _serious(axe.run(page), impacts)]
            for link in _same_origin_paths(page, base):
                if _shape(urlsplit(link).path) not in seen:
                    seen.add(_shape(urlsplit(link).path))
                    queue.append(link)
    finally:
        context.close()
    # The walk must reach the pages the role works with, or the check would pass on the start page alone.
    assert len(visited) >= 3, visited
    if username == "bote":
        assert f"/courier/tour/{todays_tour}" in visited, visited
    assert problems == [], "\n".join(problems) + f"\n(pages checked: {visited})"


def test_the_phone_menu_opens_by_keyboard_and_reaches_the_logout(live_server, phone_page):
    """The menu toggle is a real button: Tab reaches it, Enter opens it (aria-expanded follows), Escape
    closes it again, and the logout behind it works by keyboard."""
    base = live_server.url
    _login(phone_page, base, "bote", live_server.app.config["DEMO_LOGINS"]["bote"])
    menu = phone_page.get_by_role("button", name="Menü")
    assert menu.get_attribute("aria-expanded") == "false"
    assert menu.get_attribute("aria-controls") == "mainnav"
    assert not phone_page.locator("#mainnav").is_visible()

    for _ in range(5):  # the brand link comes first
        phone_page.keyboard.press("Tab")
        if phone_page.evaluate("document.activeElement.classList.contains('nav-toggle')"):
            break
    else:
        pytest.fail("Tab never reached the menu button")
    phone_page.keyboard.press("Enter")
    assert menu.get_attribute("aria-expanded") == "true"
    assert phone_page.locator("#mainnav").is_visible()

    phone_page.keyboard.press("Tab")  # into the menu
    phone_page.keyboard.press("Escape")
    assert menu.get_attribute("aria-expanded") == "false"
    assert not phone_page.locator("#mainnav").is_visible()
    assert phone_page.evaluate("document.activeElement.classList.contains('nav-toggle')")

    phone_page.keyboard.press("Space")
    logout = phone_page.get_by_role("button", name="Abmelden")
    for _ in range(10):
        phone_page.keyboard.press("Tab")
        if phone_page.evaluate("document.activeElement.textContent.trim() === 'Abmelden'"):
            break
    else:
        pytest.fail("Tab never reached the logout button")
    assert logout.is_visible()
    phone_page.keyboard.press("Enter")
    phone_page.wait_for_url(re.compile(r"/login"))


def test_start_page_tiles_are_links_or_do_not_look_clickable(live_server, page):
    """A tile that is a link opens its page; a tile that is not has no pointer cursor and no frame."""
    base = live_server.url
    _login(page, base, "post", live_server.app.config["DEMO_LOGINS"]["post"])
    linked = page.locator("a.tile", has_text="zu sortieren")
    assert linked.evaluate("e => getComputedStyle(e).cursor") == "pointer"
    plain = page.locator("div.tile", has_text="im Fach")
    assert plain.evaluate("e => getComputedStyle(e).cursor") == "auto"
    assert plain.evaluate("e => getComputedStyle(e).borderTopWidth") == "0px"
    linked.click()
    page.wait_for_url(base + "/intake/sorting")


def test_the_day_overview_refreshes_until_the_user_switches_it_off(live_server, browser, todays_tour):
    """In place of a meta refresh (which axe flags and no one can stop) a checkbox, ticked, reloads the page
    every 30 seconds; unticked, it does not. The page's clock is Playwright's fake clock."""
    base = live_server.url
    context = browser.new_context(locale="de-DE", timezone_id="Europe/Berlin")
    context.clock.install(time=datetime.fromisoformat(LIVE_CLOCK_NOW))
    page = context.new_page()
    try:
        _login(page, base, "post", live_server.app.config["DEMO_LOGINS"]["post"])
        page.goto(base + "/dispatch/overview")
        loads = []
        page.on("load", lambda _page: loads.append(1))
        switch = page.get_by_label("alle 30 Sekunden aktualisieren")
        assert switch.is_checked()
        with page.expect_event("load"):
            page.clock.run_for(31_000)
        assert len(loads) == 1
        page.get_by_label("alle 30 Sekunden aktualisieren").uncheck()
        page.clock.run_for(120_000)
        assert len(loads) == 1
        page.reload()  # the choice holds in this tab
        assert not page.get_by_label("alle 30 Sekunden aktualisieren").is_checked()
    finally:
        context.close()

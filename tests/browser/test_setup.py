"""First run in Chromium: an admin sets up a small administration from nothing (depot, three sites, one
org unit, one van, one courier, a stop template) on the admin pages, one site's coordinates picked on
the map, and the mail room plans its first tour with "Planen"."""

from __future__ import annotations

import io
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from mailroom import create_app
from mailroom.extensions import db
from mailroom.models import Role
from mailroom.services.auth import create_user
from tests.conftest import TEST_PASSWORD, LiveServer, _free_port, make_test_config

pytestmark = pytest.mark.browser

WEDNESDAY = date(2026, 6, 10)  # a pinned working day, so the test does not depend on today


def _tile_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), (222, 226, 230)).save(out, "PNG")
    return out.getvalue()


class TileServer(BaseHTTPRequestHandler):
    """A map tile server on 127.0.0.1: every tile a plain grey square."""

    tile = _tile_png()

    def log_message(self, *_args) -> None:
        return

    def do_GET(self) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(self.tile)))
            self.end_headers()
            self.wfile.write(self.tile)
        except (BrokenPipeError, ConnectionResetError):
            return


@pytest.fixture
def tiles():
    server = ThreadingHTTPServer(("127.0.0.1", 0), TileServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{{z}}/{{x}}/{{y}}.png"
    server.shutdown()
    server.server_close()


@pytest.fixture
def empty_server(tmp_path, monkeypatch, tiles):
    """A fresh installation (no demo) with only its first admin, CSRF on, map tiles from 127.0.0.1."""
    monkeypatch.setenv("MAILROOM_INSTANCE_PATH", str(tmp_path))
    port = _free_port()
    config = make_test_config(f"sqlite:///{tmp_path / 'fresh.sqlite'}", tmp_path)
    config.update(WTF_CSRF_ENABLED=True, PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", MAP_TILE_URL=tiles)
    app = create_app(config)
    with app.app_context():
        db.create_all()
        create_user("chefin", TEST_PASSWORD, Role.ADMIN, "Clara Chefin")
        db.session.commit()
    server = LiveServer(app, "127.0.0.1", port)
    server.start()
    yield server
    server.stop()
    with app.app_context():
        db.engine.dispose()


def _login(page, url: str, username: str, password: str) -> None:
    page.goto(url + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")


def _new_site(page, url: str, code: str, name: str, kind: str, street: str, lat: str | None, lon: str | None) -> None:
    page.goto(url + "/admin/sites")
    page.get_by_test_id("site-new").click()
    page.fill("#code", code)
    page.fill("#name", name)
    page.select_option("#kind", kind)
    page.fill("#street", street)
    page.fill("#city", "Leer")
    if lat is not None:
        page.fill("#lat", lat)
        page.fill("#lon", lon)
    page.get_by_test_id("site-save").click()
    assert f"Standort {code} gespeichert." in page.locator(".flash-success").first.inner_text()


def test_admin_sets_up_from_nothing_and_the_mail_room_plans(empty_server, strict_page, tmp_path):
    """Under the app's Content Security Policy (the map's tiles come from the configured server)."""
    page = strict_page
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    url = empty_server.url
    _login(page, url, "chefin", TEST_PASSWORD)
    checklist = page.get_by_test_id("setup-checklist")
    assert checklist.locator('li[data-done="no"]').count() == 6
    page.screenshot(path=str(tmp_path / "checklist-empty.png"), full_page=True)

    _new_site(page, url, "POST", "Poststelle im Rathaus", "depot", "Rathausstraße 1", "53,2310", "7,4610")
    _new_site(page, url, "BA", "Bauamt am Hafen", "administration", "Hafenkante 12", "53.2262", "7.4498")
    _new_site(page, url, "GS1", "Grundschule Am Deich", "school", "Deichstraße 3", "53.2471", "7.4553")

    # The third site: its coordinates picked on the map (tiles from the configured server).
    page.goto(url + "/admin/sites/new")
    page.fill("#code", "BB")
    page.fill("#name", "Bürgerbüro West")
    page.fill("#street", "Logaer Weg 40")
    site_map = page.locator("#site-map")
    site_map.wait_for(state="visible")
    page.locator("#site-map .leaflet-tile-loaded").first.wait_for()
    box = site_map.bounding_box()
    site_map.click(position={"x": box["width"] / 2 - 120, "y": box["height"] / 2 + 40})
    lat, lon = float(page.input_value("#lat")), float(page.input_value("#lon"))
    assert 53.22 < lat < 53.231 and 7.44 < lon < 7.461  # west and south of the depot the map is centred on
    assert page.locator("#site-map .leaflet-marker-icon").count() == 1
    page.screenshot(path=str(tmp_path / "site-map.png"), full_page=True)
    page.get_by_test_id("site-save").click()
    assert "Standort BB gespeichert." in page.locator(".flash-success").first.inner_text()

    page.goto(url + "/admin/org-units")
    page.get_by_test_id("unit-new").click()
    page.fill("#short_name", "BAU")
    page.fill("#name", "Bauamt")
    page.fill("#cost_centre", "20200")
    page.select_option("#site_id", label="BA – Bauamt am Hafen")
    page.fill("#email", "bauamt@leer.example")
    page.get_by_test_id("unit-save").click()
    assert "Fachdienst BAU angelegt." in page.locator(".flash-success").inner_text()

    page.goto(url + "/admin/vehicles")
    page.get_by_test_id("van-new").click()
    page.fill("#code", "V1")
    page.fill("#name", "E-Transporter Leer 1")
    page.fill("#plate", "LER-PS 1E")
    page.fill("#capacity_boxes", "30")
    page.get_by_test_id("van-save").click()
    assert "Fahrzeug V1 angelegt." in page.locator(".flash-success").inner_text()

    page.goto(url + "/admin/users")
    for username, role, name in (("bote", "courier", "Bernd Bote"), ("post", "mailroom", "Paula Post")):
        page.fill("#username", username)
        page.fill("#full_name", name)
        page.select_option("#role", role)
        page.fill("#password", "erstes-passwort-1")
        page.click("form:has(#username) button[type=submit]")
        assert f"Benutzer {username} angelegt." in page.locator(".flash-success").inner_text()

    page.goto(url + "/admin/templates")
    page.get_by_test_id("template-new").click()
    page.fill("#name", "Werktagstour Mo–Fr")
    # A new template starts with Mo–Fr and every site as a must-visit stop.
    assert page.locator("#template-form input[name=weekdays]:checked").count() == 5
    assert page.locator("#template-form tr[data-site] input[name^=include-]:checked").count() == 3
    page.get_by_test_id("template-save").click()
    assert "Stoppvorlage „Werktagstour Mo–Fr“ gespeichert (3 Standorte)." in page.locator(".flash-success").inner_text()

    page.goto(url + "/")
    assert page.get_by_test_id("setup-checklist").count() == 0  # nothing missing any more
    page.goto(url + "/admin/")
    assert page.get_by_test_id("setup-checklist").locator('li[data-done="yes"]').count() == 6

    # The mail room plans its first tour.
    page.click("form.logout button")
    _login(page, url, "post", "erstes-passwort-1")
    page.goto(url + f"/dispatch/?date={WEDNESDAY.isoformat()}")
    page.get_by_test_id("plan-button").click()
    page.wait_for_url("**run=*")
    page.get_by_test_id("tours").wait_for(state="visible", timeout=60_000)
    assert page.get_by_test_id("tour-V1").is_visible()
    rows = page.locator(".tour-table tbody tr.stop-row:not(.depot-row)")
    assert rows.count() == 3
    text = page.get_by_test_id("tours").inner_text()
    for code in ("BA", "GS1", "BB"):
        assert code in text
    page.screenshot(path=str(tmp_path / "first-tour.png"), full_page=True)
    assert violations == []

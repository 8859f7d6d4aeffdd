"""The UI shell: German pages, local assets only, security headers, navigation per role."""

from __future__ import annotations

import re
from pathlib import Path

import mailroom
from mailroom.extensions import db

PACKAGE = Path(mailroom.__file__).parent
EXTERNAL_ASSET = re.compile(r"""(?:src|href)\s*=\s*["']\s*(?:https?:)?//""", re.IGNORECASE)


def test_templates_load_no_assets_from_other_hosts():
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in (PACKAGE / "templates").rglob("*.html")
        if EXTERNAL_ASSET.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_static_css_and_js_fetch_nothing_from_other_hosts():
    offenders = []
    for path in (PACKAGE / "static").rglob("*"):
        if path.suffix in (".css", ".js") and "vendor" not in path.parts:
            text = path.read_text(encoding="utf-8")
            if re.search(r"""url\(\s*["']?https?://|import\s+.*https?://|fetch\(\s*["']https?://""", text):
                offenders.append(str(path.relative_to(PACKAGE)))
    assert offenders == []


def test_login_page_is_german_with_security_headers(sqlite_app):
    response = sqlite_app.test_client().get("/login")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="de">' in html
    assert "Anmelden" in html
    assert 'name="viewport"' in html  # usable on a phone
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_navigation_shows_only_what_the_role_may_open(app, make_user, login):
    make_user("bote", "courier")
    client = login("bote")
    html = client.get("/").get_data(as_text=True)
    assert "Verwaltung" not in html
    assert "Scanstation" not in html
    assert "Abmelden" in html


def test_content_security_policy_allows_only_this_server_and_the_tile_server():
    from mailroom.web import content_security_policy

    policy = content_security_policy("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png")
    assert "script-src 'self';" in policy
    assert "img-src 'self' data: blob: https://*.tile.openstreetmap.org;" in policy
    assert "frame-ancestors 'none'" in policy
    assert "https://" not in content_security_policy(None)


def test_tour_status_is_shown_in_german(app):
    render = app.jinja_env.from_string("{{ s | tour_status }}").render
    assert [render(s=s) for s in ("planned", "started", "finished", "cancelled")] == [
        "Geplant", "Unterwegs", "Beendet", "Abgebrochen"
    ]  # fmt: skip


def test_start_pages_show_todays_tour_status_in_german(app, make_user, login):
    from mailroom.models import Role, Tour, TourStatus, Vehicle
    from mailroom.services.clock import local_today

    courier = make_user("bote", Role.COURIER)
    make_user("post", Role.MAILROOM)
    van = Vehicle(code="E1", name="E-Transporter 1")
    db.session.add(van)
    db.session.flush()
    db.session.add(Tour(service_date=local_today(), vehicle_id=van.id, driver_id=courier.id, status=TourStatus.PLANNED))
    db.session.commit()
    for username in ("bote", "post"):
        page = login(username).get("/").get_data(as_text=True)
        assert "Geplant" in page and "planned" not in page
        login(username).post("/logout")

"""The UI shell: German pages, local assets only, security headers, navigation per role."""

from __future__ import annotations

import re
from pathlib import Path

import mailroom

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

"""Every URL of the app, opened by every role and by an anonymous visitor.

Each view declares who may open it (mailroom.web.access); this test proves the declaration is what
the server enforces: anonymous visitors are sent to the login (or get 401 from the API), other roles
get 403, the allowed roles get through. It also pins the policy for each area, so that a view
opened up by mistake fails here."""

from __future__ import annotations

import pytest
from werkzeug.routing import Rule
from werkzeug.routing.converters import NumberConverter

from mailroom.models import Role
from mailroom.web.access import view_roles
from tests.conftest import TEST_PASSWORD

# Which roles may open each area (admins may open everything).
AREA_POLICY = {
    "intake": {Role.MAILROOM},
    "dispatch": {Role.MAILROOM},
    "courier": {Role.COURIER, Role.MAILROOM},
    "fleet": {Role.FLEET},
    "admin": {Role.FLEET},  # vans only (checked per view below); users/sites/org units are admin-only
}
PUBLIC_ENDPOINTS = {"auth.login", "main.health", "api.openapi", "static"}


def _url_for_rule(rule: Rule) -> str:
    """A URL for the rule with sample arguments: 1 for ids, a plausible string otherwise."""
    args = {
        name: 1 if isinstance(converter, NumberConverter) else "2026-11-25" if "date" in name else "X1"
        for name, converter in rule._converters.items()
    }
    return rule.build(args, append_unknown=False)[1]


def _rules(app) -> list[Rule]:
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


@pytest.fixture
def users(sqlite_app, make_user_sqlite):
    for role in Role:
        make_user_sqlite(f"user-{role.value}", role)
    return sqlite_app


@pytest.fixture
def make_user_sqlite(sqlite_app):
    from mailroom.extensions import db
    from mailroom.services.auth import create_user

    def _make(username, role):
        create_user(username, TEST_PASSWORD, role)
        db.session.commit()

    return _make


def test_every_view_declares_who_may_open_it(sqlite_app):
    undeclared = []
    for rule in _rules(sqlite_app):
        view = sqlite_app.view_functions[rule.endpoint]
        roles = view_roles(view)
        if roles is None:
            assert rule.endpoint in PUBLIC_ENDPOINTS, f"{rule.endpoint} is public but should not be"
        elif not roles:
            undeclared.append(rule.endpoint)
    assert undeclared == []


def test_area_policy(sqlite_app):
    for rule in _rules(sqlite_app):
        area = rule.endpoint.split(".")[0]
        roles = view_roles(sqlite_app.view_functions[rule.endpoint])
        if roles is None or area not in AREA_POLICY:
            continue
        assert Role.ADMIN in roles, rule.endpoint
        extra = set(roles) - {Role.ADMIN} - AREA_POLICY[area]
        assert not extra, f"{rule.endpoint} also opens for {extra}"
        if area == "admin" and not rule.endpoint.startswith("admin.vehicle"):
            assert set(roles) == {Role.ADMIN}, rule.endpoint


def _status(client, rule: Rule, url: str) -> int:
    method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
    return client.open(url, method=method).status_code


def test_role_matrix_for_every_url(users):
    app = users
    rules = _rules(app)
    assert len(rules) >= 20
    anonymous = app.test_client()
    clients = {}
    for role in Role:
        c = app.test_client()
        assert c.post("/login", data={"username": f"user-{role.value}", "password": TEST_PASSWORD}).status_code == 302
        clients[role] = c
    failures = []
    for rule in rules:
        url = _url_for_rule(rule)
        roles = view_roles(app.view_functions[rule.endpoint])
        if rule.endpoint == "auth.logout":
            continue  # would end the session of the client under test
        status = _status(anonymous, rule, url)
        if roles is None:
            if status >= 500:
                failures.append((rule.endpoint, "anonymous", status))
            continue
        expected_anon = {401} if url.startswith("/api/") else {302}
        if status not in expected_anon:
            failures.append((rule.endpoint, "anonymous", status))
        for role, client in clients.items():
            status = _status(client, rule, url)
            if url.startswith("/api/"):
                continue  # the API authenticates by token, not by session (tested in the API tests)
            if role in roles:
                if status in (401, 403) or status >= 500:
                    failures.append((rule.endpoint, role.value, status))
            elif status != 403:
                failures.append((rule.endpoint, role.value, status))
    assert failures == []

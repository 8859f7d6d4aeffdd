"""Login, logout, throttling, CSRF and role checks."""

from __future__ import annotations

import re

from mailroom import create_app
from mailroom.extensions import db
from mailroom.models import User
from tests.conftest import TEST_PASSWORD, make_test_config


def test_login_as_each_demo_user_shows_that_roles_start_page(client, demo, login):
    expected = {"admin": "Administration", "post": "Poststelle – heute", "bote": "Meine Tour heute",
                "botin": "Meine Tour heute", "fuhrpark": "Fuhrpark – dieser Monat"}  # fmt: skip
    assert set(demo) == set(expected)
    for username, password in demo.items():
        c = login(username, password)
        page = c.get("/").get_data(as_text=True)
        assert f"<h1>{expected[username]}" in page
        assert c.post("/logout").status_code == 302
        assert c.get("/").status_code == 302  # logged out again


def test_wrong_password_and_unknown_user_get_the_same_german_message(client, make_user):
    make_user("post")
    for username, password in (("post", "falsch-falsch"), ("niemand", TEST_PASSWORD)):
        response = client.post("/login", data={"username": username, "password": password})
        assert response.status_code == 401
        assert "Benutzername oder Passwort ist falsch." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_login_is_throttled_by_account_and_address_without_locking_the_account(app, client, make_user):
    make_user("post")
    make_user("botin")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert client.post("/login", data={"username": "post", "password": "falsch-falsch"}).status_code == 401
    response = client.post("/login", data={"username": "post", "password": TEST_PASSWORD})
    assert response.status_code == 429
    assert "Zu viele Fehlversuche" in response.get_data(as_text=True)
    # Another account from the same address, and the same account from elsewhere, still log in:
    # failing logins cannot lock a known user out.
    assert client.post("/login", data={"username": "botin", "password": TEST_PASSWORD}).status_code == 302
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert elsewhere.post("/login", data={"username": "post", "password": TEST_PASSWORD}).status_code == 302


def test_one_address_is_throttled_over_all_accounts(app, client, make_user):
    app.config["LOGIN_ATTEMPTS_PER_ADDRESS"] = "4 per minute"
    make_user("post")
    for name in ("a", "b", "c", "d"):
        assert client.post("/login", data={"username": name, "password": "falsch-falsch"}).status_code == 401
    assert client.post("/login", data={"username": "post", "password": TEST_PASSWORD}).status_code == 429


def test_sessions_end_on_deactivation_and_password_reset(app, make_user, login):
    admin = make_user("admin", "admin")
    user = make_user("post")
    for change in ("deactivate", "reset"):
        session = login("post", target_client=app.test_client())
        assert session.get("/").status_code == 200
        if change == "deactivate":
            from mailroom.services.admin import set_user_active

            set_user_active(user, False, acting=admin)
            db.session.commit()
            assert session.get("/").status_code == 302  # back to the login page
            set_user_active(user, True, acting=admin)
        else:
            from mailroom.services.admin import reset_password

            reset_password(user, "ein-neues-passwort")
            db.session.commit()
            assert session.get("/").status_code == 302
            assert login("post", "ein-neues-passwort", target_client=app.test_client()).get("/").status_code == 200
        db.session.commit()


def test_a_copied_session_cookie_no_longer_works_after_logout(app, make_user, login):
    make_user("post")
    browser = login("post", target_client=app.test_client())
    copy = app.test_client()
    cookie = browser.get_cookie("session")
    copy.set_cookie("session", cookie.value)
    assert copy.get("/").status_code == 200  # the copy works while the session lives
    other_login = login("post", target_client=app.test_client())  # the same user at another scan station
    assert browser.post("/logout").status_code == 302
    assert copy.get("/").status_code == 302
    assert other_login.get("/").status_code == 200  # logging out ends only that session


def test_logout_clears_the_offline_copy_and_https_sends_hsts(app, client, make_user, login):
    make_user("post")
    login("post")
    response = client.post("/logout")
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
    assert "Strict-Transport-Security" not in client.get("/login").headers
    app.config["HTTPS"] = True
    assert client.get("/login").headers["Strict-Transport-Security"].startswith("max-age=")


def test_password_is_stored_hashed(make_user):
    user = make_user("post")
    assert TEST_PASSWORD not in user.password_hash
    assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))


def test_missing_csrf_token_is_refused_with_a_german_message(tmp_path, monkeypatch):
    monkeypatch.setenv("MAILROOM_INSTANCE_PATH", str(tmp_path))
    config = make_test_config(f"sqlite:///{tmp_path / 'csrf.sqlite'}", tmp_path)
    config["WTF_CSRF_ENABLED"] = True
    app = create_app(config)
    with app.app_context():
        db.create_all()
        from mailroom.services.auth import create_user

        create_user("post", TEST_PASSWORD, "mailroom")
        db.session.commit()
        client = app.test_client()
        response = client.post("/login", data={"username": "post", "password": TEST_PASSWORD})
        assert response.status_code == 400
        assert "CSRF" in response.get_data(as_text=True)
        # with the token from the form it works
        form = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
        response = client.post("/login", data={"username": "post", "password": TEST_PASSWORD, "csrf_token": token[1]})
        assert response.status_code == 302
        db.engine.dispose()


def test_courier_opening_an_admin_page_gets_403(client, make_user, login):
    make_user("bote", "courier")
    login("bote")
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert "Kein Zugriff" in response.get_data(as_text=True)


def test_malformed_and_unknown_ids_are_404_not_500(client, make_user, login):
    make_user("admin", "admin")
    login("admin")
    assert client.get("/admin/sites/abc").status_code == 404
    assert client.get("/admin/sites/999999").status_code == 404
    assert client.get("/admin/users/99999999999999999999/password").status_code == 404


def test_errors_answer_json_when_json_is_asked_for(client):
    response = client.get("/gibt-es-nicht", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
    assert "existiert nicht" in response.json["error"]["message"]


def test_open_redirect_after_login_is_ignored(client, make_user):
    make_user("post")
    response = client.post("/login?next=https://evil.example/", data={"username": "post", "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_deactivated_user_cannot_log_in(client, make_user):
    user = make_user("post")
    user.active = False
    db.session.commit()
    response = client.post("/login", data={"username": "post", "password": TEST_PASSWORD})
    assert response.status_code == 401
    assert db.session.get(User, user.id).active is False
    # the same answer as a wrong password: no oracle for the right one
    assert "Benutzername oder Passwort ist falsch." in response.get_data(as_text=True)
    assert "deaktiviert" not in response.get_data(as_text=True)


def test_pages_of_signed_in_users_are_not_cached(client, make_user, login):
    make_user("post")
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    login("post")
    assert client.get("/").headers["Cache-Control"] == "private, no-store"
    assert "no-store" not in client.get("/static/css/app.css").headers.get("Cache-Control", "")


def test_session_cookie_is_httponly_and_samesite(client, make_user):
    make_user("post")
    response = client.post("/login", data={"username": "post", "password": TEST_PASSWORD})
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie

"""Fixtures: the app on a real SQLite file and on a real PostgreSQL server, clients, users, demo data,
and a live server with a headless Chromium for browser tests."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from flask import g, has_app_context
from flask.testing import FlaskClient

from mailroom import create_app
from mailroom.extensions import db
from mailroom.models import Role

TEST_PASSWORD = "richtig-geheim-123"


# --- PostgreSQL: a throw-away server started as the postgres user (it refuses to run as root) ---


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.fail(f"PostgreSQL server binaries ({name}) missing: run `make test`, which installs them")
    return found[-1]


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a database on a PostgreSQL server started for this test session."""
    external = os.environ.get("MAILROOM_TEST_POSTGRES_URL")
    if external:
        yield external
        return
    base = tempfile.mkdtemp(prefix="mailroom-pg-")
    datadir = os.path.join(base, "data")
    port = _free_port()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    subprocess.run(
        _as_postgres([_pg_bin("initdb"), "-D", datadir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale"]),
        check=True,
        capture_output=True,
    )
    subprocess.run(
        _as_postgres(
            [
                _pg_bin("pg_ctl"), "-D", datadir, "-w", "-l", os.path.join(base, "log"),
                "-o", f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )  # fmt: skip
    try:
        subprocess.run(
            _as_postgres([_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(port),
                          "-U", "postgres", "mailroom_test"]),
            check=True,
            capture_output=True,
        )  # fmt: skip
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/mailroom_test"
    finally:
        stop = [_pg_bin("pg_ctl"), "-D", datadir, "-m", "immediate", "stop"]
        subprocess.run(_as_postgres(stop), check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


# --- the app ----------------------------------------------------------------------------------


class FreshUserClient(FlaskClient):
    """The fixtures keep one app context open (so tests can use db.session), and Flask reuses it for
    every request; Flask-Login caches the user in `g`. Forget it before each request so that each
    client acts as its own session says, as with a real server."""

    def open(self, *args, **kwargs):
        if has_app_context():
            g.pop("_login_user", None)
        return super().open(*args, **kwargs)


def make_test_config(database_url: str, instance_path: Path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "WTF_CSRF_ENABLED": False,
        "SCAN_DIR": str(instance_path / "scans"),
        "LOGIN_MAX_FAILURES": 3,
        "LOGIN_LOCK_SECONDS": 60,
        "PLAN_TIME_LIMIT_S": 2.0,
    }


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def app(request, tmp_path, monkeypatch):
    """The app on a fresh, empty schema: a SQLite file, or the session's PostgreSQL database."""
    monkeypatch.setenv("MAILROOM_INSTANCE_PATH", str(tmp_path))
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_url")
    app = create_app(make_test_config(url, tmp_path))
    app.test_client_class = FreshUserClient
    with app.app_context():
        if request.param == "postgresql":
            db.drop_all()
        db.create_all()
        yield app
        db.session.remove()
        if request.param == "postgresql":
            db.drop_all()
        db.engine.dispose()


@pytest.fixture
def sqlite_app(tmp_path, monkeypatch):
    """The app on SQLite only, for tests whose subject does not depend on the database."""
    monkeypatch.setenv("MAILROOM_INSTANCE_PATH", str(tmp_path))
    app = create_app(make_test_config(f"sqlite:///{tmp_path / 'test.sqlite'}", tmp_path))
    app.test_client_class = FreshUserClient
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# --- builders ---------------------------------------------------------------------------------


@pytest.fixture
def make_user(app):
    from mailroom.services.auth import create_user

    def _make(username: str = "post", role: Role | str = Role.MAILROOM, password: str = TEST_PASSWORD):
        user = create_user(username, password, role, username.title())
        db.session.commit()
        return user

    return _make


@pytest.fixture
def demo(app):
    """Demo master data (sites, org units, vans, stop template, users) without history.
    Returns the logins {username: password}."""
    from mailroom import demo as demo_data

    logins = demo_data.seed(history_days=0)
    db.session.commit()
    return {login.username: login.password for login in logins}


@pytest.fixture
def login(client):
    def _login(username: str, password: str = TEST_PASSWORD, target_client=None):
        c = target_client or client
        response = c.post("/login", data={"username": username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return c

    return _login


# --- live server and browser ------------------------------------------------------------------


class LiveServer:
    """The app served on a real socket in a thread. Werkzeug's threaded server, because its `shutdown()` stops
    the loop before the socket closes (closing waitress under its running select loop raised EBADF)."""

    def __init__(self, app, host: str, port: int) -> None:
        from werkzeug.serving import make_server

        self.app = app
        self.host, self.port = host, port
        self.url = f"http://{host}:{port}"
        self._server = make_server(host, port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), 0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("live server did not start")

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


# The browser tests' day: a working day (Tuesday, no holiday), 07:30 in Oldenburg, whatever the calendar says.
LIVE_CLOCK_NOW = "2026-03-03T07:30:00+01:00"


@pytest.fixture
def live_app(tmp_path, monkeypatch):
    """A file-backed app with demo data (5 days of history) and CSRF on, as a user would have it; its clock
    starts at LIVE_CLOCK_NOW (the tests do not depend on the calendar)."""
    monkeypatch.setenv("MAILROOM_INSTANCE_PATH", str(tmp_path))
    config = make_test_config(f"sqlite:///{tmp_path / 'live.sqlite'}", tmp_path)
    config["WTF_CSRF_ENABLED"] = True
    config["CLOCK_NOW"] = LIVE_CLOCK_NOW
    port = _free_port()
    config["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    app = create_app(config)
    from mailroom import demo as demo_data

    with app.app_context():
        db.create_all()
        logins = demo_data.seed(history_days=5)
        db.session.commit()
    app.config["DEMO_LOGINS"] = {login.username: login.password for login in logins}
    app.config["LIVE_PORT"] = port
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def live_server(live_app):
    server = LiveServer(live_app, "127.0.0.1", live_app.config["LIVE_PORT"])
    server.start()
    yield server
    server.stop()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is missing: run `make test`, which installs it")
    from playwright.sync_api import sync_playwright

    # Playwright gives every launch a fresh, empty profile (the --user-data-dir the pitfalls ask for).
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def strict_page(browser):
    """A page that keeps the app's Content Security Policy in force."""
    context = browser.new_context(locale="de-DE", timezone_id="Europe/Berlin")
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.fixture
def page(browser):
    # Playwright's wait_for_function evaluates in the page, which our CSP (no eval) forbids; the CSP
    # itself is checked without this bypass in tests/browser/test_login.py.
    context = browser.new_context(locale="de-DE", timezone_id="Europe/Berlin", bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.fixture
def phone_page(browser):
    context = browser.new_context(
        locale="de-DE", timezone_id="Europe/Berlin", viewport={"width": 390, "height": 844}, bypass_csp=True,
        is_mobile=True, has_touch=True, device_scale_factor=2,
    )  # fmt: skip
    # The phone's clock starts where the live server's does: the times it stamps on offline actions
    # are then on the server's (pinned) day.
    context.clock.install(time=datetime.fromisoformat(LIVE_CLOCK_NOW))
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()

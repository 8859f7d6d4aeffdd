"""Fixtures for the operations tests: a real instance folder served by real `mailroom serve` and
`mailroom worker` processes (on SQLite or PostgreSQL), an SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import create_engine, text

from mailroom import create_app
from mailroom.extensions import db
from tests.conftest import _free_port

MAILROOM = str(Path(sys.executable).parent / "mailroom")
SECRET = "test-secret-ops"


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"


@dataclass
class SmtpServer:
    port: int
    inbox: Inbox = field(default_factory=Inbox)
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_port() -> int:
    return _free_port()


@pytest.fixture
def smtp_server(smtp_port) -> Iterator[SmtpServer]:
    server = SmtpServer(smtp_port)
    yield server
    server.stop()


def wait_until(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@dataclass
class ProcessInstance:
    """An instance folder with its database, used by server and worker processes and by the test itself."""

    path: Path
    database_url: str
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAILROOM_")}
        env.update(
            MAILROOM_INSTANCE_PATH=str(self.path),
            MAILROOM_DATABASE_URL=self.database_url,
            MAILROOM_SECRET_KEY=SECRET,
            MAILROOM_PLAN_TIME_LIMIT_S="2.0",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        env.update(extra)
        return env

    def make_app(self, **config) -> Flask:
        """The app for the test process itself (the queue is the instance's real one, not immediate)."""
        settings = {
            "SECRET_KEY": SECRET,
            "DATABASE_URL": self.database_url,
            "SCAN_DIR": str(self.path / "scans"),
            "QUEUE_IMMEDIATE": False,
        }
        for key, value in self.extra_env.items():
            if key.startswith("MAILROOM_"):
                settings[key.removeprefix("MAILROOM_")] = _parse(value)
        settings.update(config)
        return create_app(settings)

    def command(self, *args: str, timeout: float = 120, check: bool = True, **env: str):
        result = subprocess.run(
            [MAILROOM, *args], env=self.env(**env), capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(f"mailroom {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
        return result

    def start(self, *args: str, log: str, **env: str) -> subprocess.Popen:
        handle = open(self.path / log, "ab")  # noqa: SIM115  (closed with the process)
        process = subprocess.Popen([MAILROOM, *args], env=self.env(**env), stdout=handle, stderr=subprocess.STDOUT)
        process.log_handle = handle  # type: ignore[attr-defined]
        self.processes.append(process)
        return process

    def start_server(self, port: int, threads: int = 4, workers: int = 1, **env: str) -> subprocess.Popen:
        args = ("serve", "--port", str(port), "--threads", str(threads), "--workers", str(workers))
        process = self.start(*args, log="server.log", **env)
        url = f"http://127.0.0.1:{port}/login"

        def up() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"server exited: {self.log('server.log')[-2000:]}")
            try:
                with urllib.request.urlopen(url, timeout=1):
                    return True
            except OSError:
                return False

        wait_until(up, 30, "the web server")
        return process

    def start_worker(self, **env: str) -> subprocess.Popen:
        process = self.start("worker", log="worker.log", **env)
        wait_until(lambda: "mailroom-Worker" in self.log("worker.log") or process.poll() is not None, 30, "worker")
        if process.poll() is not None:
            raise AssertionError(f"worker exited: {self.log('worker.log')[-2000:]}")
        return process

    def log(self, name: str) -> str:
        path = self.path / name
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.log_handle.close()  # type: ignore[attr-defined]
        self.processes.clear()


def _parse(value: str):
    import json

    try:
        return json.loads(value)
    except ValueError:
        return value


def _reset_postgres(url: str) -> None:
    """Drop every table of the shared test database (what an earlier test left)."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def make_database(request, kind: str, path: Path, name: str = "main") -> str:
    if kind == "sqlite":
        return f"sqlite:///{path / f'{name}.sqlite'}"
    base = request.getfixturevalue("postgres_url")
    if name == "main":
        _reset_postgres(base)
        return base
    # A second database on the same server (the restore target).
    server, _, _ = base.rpartition("/")
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    database = f"mailroom_{name}"
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    engine.dispose()
    return f"{server}/{database}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_kind(request) -> str:
    return request.param


@pytest.fixture
def instance(request, db_kind, tmp_path, monkeypatch) -> Iterator[ProcessInstance]:
    """An empty instance with the schema (db.create_all) on SQLite or PostgreSQL; processes stopped after."""
    path = tmp_path / "instance"
    path.mkdir()
    monkeypatch.setenv("MAILROOM_INSTANCE_PATH", str(path))  # the test process's own app uses it too
    inst = ProcessInstance(path=path, database_url=make_database(request, db_kind, path))
    app = inst.make_app()
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    yield inst
    inst.stop_all()


def seed_demo(inst: ProcessInstance, history_days: int = 0) -> dict[str, str]:
    """Demo master data (and history) in the instance; returns the logins."""
    from mailroom import demo as demo_data

    app = inst.make_app()
    with app.app_context():
        logins = demo_data.seed(history_days=history_days)
        db.session.commit()
        db.engine.dispose()
    return {login.username: login.password for login in logins}


def api_token(inst: ProcessInstance, username: str = "post") -> str:
    from sqlalchemy import select

    from mailroom.models import User
    from mailroom.services.tokens import create_token

    app = inst.make_app()
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        _, plaintext = create_token(user, "Testscanner")
        db.session.commit()
        db.engine.dispose()
    return plaintext

"""The `mailroom` command and the layered configuration, run as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from mailroom import create_app
from mailroom.extensions import db
from mailroom.models import MailItem, OrgUnit, Site, Tour, User, Vehicle

MAILROOM = str(Path(sys.executable).with_name("mailroom"))


def _run(args: list[str], instance: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "MAILROOM_INSTANCE_PATH": str(instance)}
    env.pop("MAILROOM_DATABASE_URL", None)
    return subprocess.run([MAILROOM, *args], env=env, capture_output=True, text=True, timeout=300, **kwargs)


def test_init_demo_creates_database_once_and_keeps_data_on_second_run(tmp_path):
    first = _run(["init", "--demo"], tmp_path)
    assert first.returncode == 0, first.stderr
    assert "Demo-Zugänge" in first.stdout
    for username in ("admin", "post", "bote", "fuhrpark"):
        assert username in first.stdout
    assert (tmp_path / "mailroom.sqlite").exists()
    logins = (tmp_path / "demo-logins.txt").read_text()
    assert oct((tmp_path / "demo-logins.txt").stat().st_mode & 0o777) == "0o600"

    second = _run(["init", "--demo"], tmp_path)
    assert second.returncode == 0, second.stderr
    assert "bereits Daten" in second.stdout
    assert (tmp_path / "demo-logins.txt").read_text() == logins  # same users, same passwords

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'mailroom.sqlite'}", "SECRET_KEY": "x"})
    with app.app_context():
        count = lambda model: db.session.scalar(select(func.count()).select_from(model))  # noqa: E731
        assert count(Site) == 41
        assert count(OrgUnit) >= 60
        assert count(Vehicle) == 2
        assert count(User) == 5
        assert count(MailItem) > 500  # 30 days of history
        assert count(Tour) >= 30
        db.engine.dispose()


def test_create_user_asks_for_the_password(tmp_path):
    assert _run(["init"], tmp_path).returncode == 0
    result = _run(
        ["create-user", "Neu", "--role", "courier"], tmp_path, input="ein-langes-passwort\nein-langes-passwort\n"
    )
    assert result.returncode == 0, result.stderr
    assert "Benutzer neu (courier) angelegt." in result.stdout
    too_short = _run(["create-user", "kurz", "--role", "courier"], tmp_path, input="kurz\nkurz\n")
    assert too_short.returncode != 0
    assert "mindestens 10 Zeichen" in too_short.stderr
    unknown_role = _run(["create-user", "x", "--role", "chef"], tmp_path, input="")
    assert unknown_role.returncode == 2


def test_config_layers_instance_file_then_environment(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text("PLAN_TIME_LIMIT_S = 7.5\nTIMEZONE = 'Europe/Berlin'\nSMTP_PORT = 2525\n")
    monkeypatch.setenv("MAILROOM_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("MAILROOM_SMTP_PORT", "2626")
    monkeypatch.setenv("MAILROOM_DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite'}")
    app = create_app()
    assert app.instance_path == str(tmp_path)
    assert app.config["PLAN_TIME_LIMIT_S"] == 7.5  # from instance/config.py
    assert app.config["SMTP_PORT"] == 2626  # environment wins over the file
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("env.sqlite")
    assert app.config["SECRET_KEY"] and (tmp_path / "secret_key").exists()
    assert create_app().config["SECRET_KEY"] == app.config["SECRET_KEY"]  # stable across starts


def test_relative_instance_path_is_refused(monkeypatch):
    monkeypatch.setenv("MAILROOM_INSTANCE_PATH", "relative/path")
    try:
        create_app()
    except RuntimeError as exc:
        assert "absolute" in str(exc)
    else:
        raise AssertionError("a relative MAILROOM_INSTANCE_PATH must be refused")


def test_postgres_url_is_mapped_to_psycopg3(tmp_path, monkeypatch):
    monkeypatch.setenv("MAILROOM_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("MAILROOM_DATABASE_URL", "postgresql://u:p@127.0.0.1:5/x")
    assert create_app().config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@127.0.0.1:5/x"

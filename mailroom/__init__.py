"""mailroom: the central mail room of a city administration, as a Flask application."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

from mailroom.config import DefaultConfig

INSTANCE_ENV = "MAILROOM_INSTANCE_PATH"


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """App factory. Config layers: defaults, instance/config.py, MAILROOM_* env, test_config."""
    instance_path = os.environ.get(INSTANCE_ENV) or None
    if instance_path and not os.path.isabs(instance_path):
        raise RuntimeError(f"{INSTANCE_ENV} must be an absolute path, got {instance_path!r}")
    if instance_path is None:
        # The project's own instance/ folder (beside the package), also for an editable install.
        instance_path = str(Path(__file__).resolve().parent.parent / "instance")
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    app.config.from_object(DefaultConfig)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("MAILROOM")
    else:
        app.config.from_mapping(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    _configure_database(app)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app)

    from flask import session as flask_session

    from mailroom import cli, extensions, web
    from mailroom.services import audit  # noqa: F401  (its flush listener writes the audit log)
    from mailroom.services import auth as auth_service
    from mailroom.web.auth.views import LOGIN_SESSION_KEY

    extensions.db.init_app(app)
    _configure_side_engine(app)
    extensions.migrate.init_app(app, extensions.db, directory=str(Path(__file__).parent / "migrations"))
    extensions.csrf.init_app(app)
    extensions.login_manager.init_app(app)
    extensions.limiter.init_app(app)
    _configure_https(app)

    @extensions.login_manager.user_loader
    def load_user(session_id: str):
        # "id:version" (User.get_id) and the login's row: a deactivated user, an older version or a logout end it.
        user_id, _, version = session_id.partition(":")
        if not user_id.isdigit() or not version.isdigit():
            return None
        return auth_service.session_user(int(user_id), int(version), flask_session.get(LOGIN_SESSION_KEY))

    web.init_app(app)
    cli.init_app(app)
    from mailroom import worker

    worker.init_app(app)
    return app


def _configure_https(app: Flask) -> None:
    """Behind a reverse proxy: trust its forwarded headers; over HTTPS: Secure cookies (HSTS in web)."""
    hops = int(app.config.get("PROXY_FIX_HOPS") or 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    if app.config.get("HTTPS"):
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True


def _configure_database(app: Flask) -> None:
    from sqlalchemy.engine import make_url

    url = app.config.get("DATABASE_URL") or app.config.get("SQLALCHEMY_DATABASE_URI")
    if not url:
        url = "sqlite:///" + os.path.join(app.instance_path, "mailroom.sqlite")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    pool = {"pool_size": int(app.config["DATABASE_POOL_SIZE"]), "max_overflow": 10}
    if url.startswith("sqlite"):
        if make_url(url).database in (None, "", ":memory:"):
            pool = {}  # an in-memory database has one static connection, no pool
        # SQLite needs no pool pings; waits for the write lock instead of failing at once.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 15}, **pool}
        _install_sqlite_pragmas()
    else:
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**pool, **app.config["SQLALCHEMY_ENGINE_OPTIONS"]}


def _configure_side_engine(app: Flask) -> None:
    """The engine of `services.sql.autocommit`: single statements (an Idempotency-Key claim, an incoming
    number) in autocommit, whose commit does not wait for the disk. That is safe because each one only
    counts together with the request's own commit, which comes later and waits: flushing the log up to it
    (PostgreSQL's WAL, SQLite's WAL file) makes everything written before it durable too. A crash before that
    commit loses at most a claim (the retry claims again) or a number (a gap), never an acknowledged item.
    One waiting flush per scan-in instead of three."""
    from sqlalchemy import create_engine, event

    from mailroom.extensions import db
    from mailroom.services.sql import SIDE_ENGINE

    with app.app_context():
        main = db.engine
    if main.dialect.name == "sqlite" and main.url.database in (None, "", ":memory:"):
        return  # an in-memory database exists once, on the main engine's connection
    options = {k: v for k, v in app.config["SQLALCHEMY_ENGINE_OPTIONS"].items() if k != "connect_args"}
    connect_args = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("connect_args", {}))
    if main.dialect.name == "postgresql":
        connect_args["options"] = (connect_args.get("options", "") + " -c synchronous_commit=off").strip()
    side = create_engine(main.url, isolation_level="AUTOCOMMIT", connect_args=connect_args, **options)
    if main.dialect.name == "sqlite":

        @event.listens_for(side, "connect")
        def _no_wait_for_disk(dbapi_connection, _record) -> None:
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    event.listen(main, "engine_disposed", lambda _engine: side.dispose())
    app.extensions[SIDE_ENGINE] = side


def _install_sqlite_pragmas() -> None:
    """WAL (readers never wait for the writer; the web server and the worker share the file) and a busy
    timeout on every SQLite connection. synchronous stays FULL: an acknowledged scan-in survives power loss."""
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def on_connect(dbapi_connection, _record) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=15000")
            cursor.close()

    if not getattr(_install_sqlite_pragmas, "done", False):
        event.listen(Engine, "connect", on_connect)
        _install_sqlite_pragmas.done = True  # type: ignore[attr-defined]


def _instance_secret(app: Flask) -> str:
    """A random secret kept in the instance folder (never in git), made on first start."""
    import secrets

    from mailroom.services.storage import write_atomically

    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        write_atomically(path, secrets.token_hex(32), mode=0o600)
    return path.read_text().strip()

"""Builders for the dispatch tests: demo master data (on SQLite and PostgreSQL), sorted items for the sites."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from mailroom.extensions import db
from mailroom.models import ItemKind, ItemStatus, MailItem, PlanRun, Site
from tests.conftest import make_test_config

MONDAY = date(2026, 3, 2)  # a working day in winter (the vans' winter factor applies)
SATURDAY = date(2026, 3, 7)
PLAN_LIMIT_S = 1.0


def add_sorted_items(per_site: int = 3) -> list[MailItem]:
    """Sorted items for every site: a parcel, letters, and every third site a registered letter."""
    items = []
    sites = list(db.session.scalars(select(Site).where(Site.is_depot.is_(False)).order_by(Site.id)))
    for index, site in enumerate(sites):
        for k in range(per_site):
            number = len(items) + 1
            kind = ItemKind.PAKET if k == 0 else ItemKind.BRIEF
            carrier = None
            if k == 1 and index % 3 == 0:
                kind, carrier = ItemKind.EINSCHREIBEN_UEBERGABE, f"RR{10_000_000 + number}0DE"
            item = MailItem(
                code=carrier or f"T-{number:05d}",
                carrier_code=carrier,
                incoming_number=f"E-2026-{number:06d}",
                kind=kind,
                status=ItemStatus.SORTED,
                site_id=site.id,
            )
            db.session.add(item)
            items.append(item)
    db.session.commit()
    return items


def _build_snapshot(url: str, directory: Path, *, plan: bool) -> dict[str, str]:
    """Seed (and plan) a database once; tests get a copy of it (seeding hashes passwords, planning runs
    the solver: both take seconds that every test would otherwise pay again)."""
    from mailroom import create_app
    from mailroom import demo as demo_data
    from mailroom.services import dispatch

    app = create_app(make_test_config(url, directory))
    with app.app_context():
        db.create_all()
        logins = {login.username: login.password for login in demo_data.seed(history_days=0)}
        db.session.commit()
        if plan:
            add_sorted_items()
            dispatch.plan_day(MONDAY, time_limit_s=PLAN_LIMIT_S)
            db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return logins


@pytest.fixture(scope="session")
def _snapshots(tmp_path_factory):
    built: dict[str, tuple[Path, dict[str, str]]] = {}

    def get(name: str) -> tuple[Path, dict[str, str]]:
        if name not in built:
            directory = tmp_path_factory.mktemp(f"dispatch-{name}")
            logins = _build_snapshot(f"sqlite:///{directory / 'test.sqlite'}", directory, plan=name == "planned")
            built[name] = (directory / "test.sqlite", logins)
        return built[name]

    return get


def _pg_admin(postgres_url: str):
    """An engine on the server's maintenance database, outside transactions (CREATE/DROP DATABASE)."""
    return create_engine(make_url(postgres_url).set(database="postgres"), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def _pg_templates(postgres_url, tmp_path_factory):
    """The same snapshots on PostgreSQL: a template database each, seeded (and planned) once; every test
    gets its own database copied from it (CREATE DATABASE ... TEMPLATE, a file copy on the server)."""
    admin = _pg_admin(postgres_url)
    built: dict[str, tuple[str, dict[str, str]]] = {}

    def get(name: str) -> tuple[str, dict[str, str]]:
        if name not in built:
            template = f"dispatch_{name}_template"
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {template}"))
                conn.execute(text(f"CREATE DATABASE {template}"))
            url = make_url(postgres_url).set(database=template).render_as_string(hide_password=False)
            logins = _build_snapshot(url, tmp_path_factory.mktemp(f"pg-{name}"), plan=name == "planned")
            built[name] = (template, logins)
        return built[name]

    yield get
    with admin.connect() as conn:
        for template, _logins in built.values():
            conn.execute(text(f"DROP DATABASE IF EXISTS {template}"))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def _database(request, tmp_path):
    """For a snapshot name, a database of the test's own with that data: a copy of the SQLite file, or
    a PostgreSQL database made from the template; returns (url, logins)."""
    made: list[str] = []

    def get(name: str) -> tuple[str, dict[str, str]]:
        if request.param == "sqlite":
            snapshot, logins = request.getfixturevalue("_snapshots")(name)
            target = tmp_path / "test.sqlite"
            shutil.copyfile(snapshot, target)
            return f"sqlite:///{target}", logins
        postgres_url = request.getfixturevalue("postgres_url")
        template, logins = request.getfixturevalue("_pg_templates")(name)
        copy = f"dispatch_test_{len(made)}_{abs(hash(request.node.nodeid)) % 10**8}"
        with _pg_admin(postgres_url).connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {copy}"))
            conn.execute(text(f"CREATE DATABASE {copy} TEMPLATE {template}"))
        made.append(copy)
        return make_url(postgres_url).set(database=copy).render_as_string(hide_password=False), logins

    yield get
    if made:
        admin = _pg_admin(request.getfixturevalue("postgres_url"))
        with admin.connect() as conn:
            for copy in made:
                conn.execute(text(f"DROP DATABASE IF EXISTS {copy} WITH (FORCE)"))
        admin.dispose()


def _app_on(url: str, tmp_path: Path, monkeypatch):
    from mailroom import create_app

    monkeypatch.setenv("MAILROOM_INSTANCE_PATH", str(tmp_path))
    app = create_app(make_test_config(url, tmp_path))
    app.config["DISPATCH_ADJUST_TIME_LIMIT_S"] = 0.5
    return app


@pytest.fixture
def demo_app(_database, tmp_path, monkeypatch):
    """The app with the demo master data (no items, no tours), on SQLite and on PostgreSQL;
    app.config["LOGINS"]."""
    url, logins = _database("demo")
    app = _app_on(url, tmp_path, monkeypatch)
    app.config["LOGINS"] = logins
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def planned_app(_database, tmp_path, monkeypatch):
    """Like demo_app, with sorted items for every site and MONDAY planned."""
    url, logins = _database("planned")
    app = _app_on(url, tmp_path, monkeypatch)
    app.config["LOGINS"] = logins
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def demo_sqlite(demo_app):
    """Demo master data (40 sites, 2 vans, template, users); returns {username: password}. (The name is
    older than the PostgreSQL run: it runs on both databases, as demo_app does.)"""
    return demo_app.config["LOGINS"]


@pytest.fixture
def planned(planned_app):
    """MONDAY planned (with sorted items for every site); returns the plan run."""
    return db.session.scalar(select(PlanRun).order_by(PlanRun.id.desc()))

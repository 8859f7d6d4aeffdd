"""Builders for the dispatch tests: demo master data on SQLite, sorted items for the sites."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

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


def _build_snapshot(directory: Path, *, plan: bool) -> dict[str, str]:
    """Seed (and plan) a SQLite database once; tests get a copy of the file (seeding hashes passwords,
    planning runs the solver: both take seconds that every test would otherwise pay again)."""
    from mailroom import create_app
    from mailroom import demo as demo_data
    from mailroom.services import dispatch

    app = create_app(make_test_config(f"sqlite:///{directory / 'test.sqlite'}", directory))
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
            logins = _build_snapshot(directory, plan=name == "planned")
            built[name] = (directory / "test.sqlite", logins)
        return built[name]

    return get


def _app_from_snapshot(snapshot: Path, tmp_path: Path, monkeypatch):
    from mailroom import create_app

    monkeypatch.setenv("MAILROOM_INSTANCE_PATH", str(tmp_path))
    target = tmp_path / "test.sqlite"
    shutil.copyfile(snapshot, target)
    app = create_app(make_test_config(f"sqlite:///{target}", tmp_path))
    app.config["DISPATCH_ADJUST_TIME_LIMIT_S"] = 0.5
    return app


@pytest.fixture
def demo_app(_snapshots, tmp_path, monkeypatch):
    """The app on SQLite with the demo master data (no items, no tours); app.config["LOGINS"]."""
    snapshot, logins = _snapshots("demo")
    app = _app_from_snapshot(snapshot, tmp_path, monkeypatch)
    app.config["LOGINS"] = logins
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def planned_app(_snapshots, tmp_path, monkeypatch):
    """Like demo_app, with sorted items for every site and MONDAY planned."""
    snapshot, logins = _snapshots("planned")
    app = _app_from_snapshot(snapshot, tmp_path, monkeypatch)
    app.config["LOGINS"] = logins
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def demo_sqlite(demo_app):
    """Demo master data (40 sites, 2 vans, template, users) on SQLite; returns {username: password}."""
    return demo_app.config["LOGINS"]


@pytest.fixture
def planned(planned_app):
    """MONDAY planned (with sorted items for every site); returns the plan run."""
    return db.session.scalar(select(PlanRun).order_by(PlanRun.id.desc()))

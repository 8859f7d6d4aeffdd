"""Builders for the records tests: a site, an org unit, users, items with their RECEIVED event,
and upload files made in the test (no binary fixtures in git)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask, g
from flask.testing import FlaskClient

from mailroom.extensions import db
from mailroom.models import EventKind, ItemKind, MailItem, OrgUnit, Role, Site
from mailroom.services.clock import now_utc
from mailroom.services.custody import record_event
from tests.builders import add_user, town
from tests.conftest import TEST_PASSWORD

_numbers = itertools.count(1)


class OwnUserClient(FlaskClient):
    """A test client whose requests never see another client's user.

    The app fixtures keep one app context open for the whole test, and Flask reuses it for every request,
    so Flask-Login's per-context cache of the current user (`g._login_user`) would leak from one client's
    request into the next client's."""

    def open(self, *args, **kwargs):
        g.pop("_login_user", None)
        return super().open(*args, **kwargs)


@dataclass
class World:
    app: Flask
    site: Site
    unit: OrgUnit
    staff: object
    clients: dict = field(default_factory=dict)

    def client(self, username: str = "post"):
        if username not in self.clients:
            c = OwnUserClient(self.app, self.app.response_class, use_cookies=True)
            response = c.post("/login", data={"username": username, "password": TEST_PASSWORD})
            assert response.status_code == 302, response.get_data(as_text=True)[:300]
            self.clients[username] = c
        return self.clients[username]

    def anonymous(self):
        return OwnUserClient(self.app, self.app.response_class, use_cookies=True)

    def user(self, username: str, role: Role):
        user = add_user(username, role)
        db.session.commit()
        return user

    def item(
        self,
        kind: ItemKind | None = ItemKind.BRIEF,
        *,
        received_at: datetime | None = None,
        confidential: bool = False,
        carrier_code: str | None = None,
        commit: bool = True,
        **fields,
    ) -> MailItem:
        n = next(_numbers)
        received_at = received_at or now_utc()
        item = MailItem(
            code=carrier_code or f"PS-TEST-{n:07d}",
            carrier_code=carrier_code,
            incoming_number=f"E-{received_at.year}-T{n:05d}",
            kind=kind,
            received_at=received_at,
            received_by_id=self.staff.id,
            org_unit_id=self.unit.id,
            site_id=self.site.id,
            confidential=confidential,
            **fields,
        )
        db.session.add(item)
        db.session.flush()
        record_event(item, EventKind.RECEIVED, user=self.staff, at=received_at, site=self.site)
        if commit:
            db.session.commit()
        return item


def build_world(app: Flask) -> World:
    """The records tests' world: the standard town (tests.builders), seen from the Rathaus and FD20."""
    the_town = town()
    return World(app=app, site=the_town.sites["RH"], unit=the_town.units["FD20"], staff=the_town.staff)


@pytest.fixture
def world(sqlite_app) -> World:
    """On SQLite: for tests whose subject does not depend on the database."""
    return build_world(sqlite_app)


@pytest.fixture
def world_db(app) -> World:
    """On SQLite and PostgreSQL: for tests of transactions and queries."""
    return build_world(app)


def scan_dir(app: Flask) -> Path:
    return Path(app.config["SCAN_DIR"])


def stored_files(app: Flask, kind: str = "content") -> list[Path]:
    root = scan_dir(app) / kind
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []

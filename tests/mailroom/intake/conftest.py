"""Builders for the intake tests: a few sites and org units, a mail room user with a logged-in client,
items at each step of custody."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from flask import Flask
from sqlalchemy import func, select

from mailroom.extensions import db
from mailroom.models import EventKind, MailEvent, MailItem, OrgUnit, Role, Site, User
from mailroom.services import custody, intake
from tests.builders import add_user, town
from tests.conftest import TEST_PASSWORD


@dataclass
class Intake:
    app: Flask
    staff: User
    sites: dict[str, Site]
    units: dict[str, OrgUnit]
    clients: dict = field(default_factory=dict)

    def client(self, username: str = "post"):
        if username not in self.clients:
            c = self.app.test_client()
            response = c.post("/login", data={"username": username, "password": TEST_PASSWORD})
            assert response.status_code == 302, response.get_data(as_text=True)[:300]
            self.clients[username] = c
        return self.clients[username]

    def user(self, username: str, role: Role) -> User:
        user = add_user(username, role)
        db.session.commit()
        return user

    def scan(self, code: str = "", **body):
        body.setdefault("code", code)
        return self.client().post("/intake/scan", json=body, headers={"Accept": "application/json"})

    def item(self, code: str, *, kind: str | None = "brief", unit: str | None = "FD20", **details) -> MailItem:
        """A logged item (through the service), with details, committed."""
        result = intake.log_item(code, user=self.staff)
        changes = {**details}
        if kind:
            changes["kind"] = kind
        if unit:
            changes["org_unit"] = unit
        if changes:
            intake.set_details(result.item, changes, user=self.staff)
        db.session.commit()
        return result.item

    def delivered(self, code: str) -> MailItem:
        item = self.item(code)
        custody.sort_item(item, user=self.staff)
        custody.record_event(item, EventKind.LOADED, user=self.staff)
        custody.deliver_item(item, user=self.staff, receiver_name="K. Janssen", signature_sha256=None)
        db.session.commit()
        return item

    @staticmethod
    def count_items() -> int:
        return db.session.scalar(select(func.count(MailItem.id))) or 0

    @staticmethod
    def count_events() -> int:
        return db.session.scalar(select(func.count(MailEvent.id))) or 0


def _seed(app: Flask) -> Intake:
    """The standard town of tests.builders."""
    the_town = town()
    return Intake(app=app, staff=the_town.staff, sites=the_town.sites, units=the_town.units)


@pytest.fixture
def w(sqlite_app) -> Intake:
    """Intake master data on SQLite (for tests whose subject does not depend on the database)."""
    return _seed(sqlite_app)


@pytest.fixture
def wdb(app) -> Intake:
    """Intake master data on SQLite and on PostgreSQL."""
    return _seed(app)

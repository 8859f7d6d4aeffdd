from __future__ import annotations

import pytest

from tests.mailroom.courier.builders import make_world


@pytest.fixture
def world(app):
    """A small world (depot, schools, a van, two couriers) on SQLite and on PostgreSQL. A test that also
    needs the app takes `app` (the same one), never `sqlite_app`: a second app context would send the
    world's objects to the other database (Flask-SQLAlchemy binds by the current app)."""
    return make_world()

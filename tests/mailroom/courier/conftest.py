from __future__ import annotations

import pytest

from tests.mailroom.courier.builders import make_world


@pytest.fixture
def world(sqlite_app):
    return make_world()


@pytest.fixture
def world_any_db(app):
    """The same small world on SQLite and on PostgreSQL."""
    return make_world()

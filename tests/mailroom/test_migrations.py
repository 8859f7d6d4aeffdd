"""The Alembic migrations build the whole schema on an empty database, and the models do not drift from them."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from mailroom import create_app
from mailroom.extensions import db
from tests.conftest import make_test_config


def _fresh_postgres_database(base_url: str, name: str) -> str:
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_db_app(request, tmp_path, monkeypatch):
    monkeypatch.setenv("MAILROOM_INSTANCE_PATH", str(tmp_path))
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrations.sqlite'}"
    else:
        url = _fresh_postgres_database(request.getfixturevalue("postgres_url"), "mailroom_migrations")
    app = create_app(make_test_config(url, tmp_path))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_upgrade_on_empty_database_matches_models(empty_db_app):
    assert inspect(db.engine).get_table_names() == []
    upgrade()
    tables = set(inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_downgrade_to_base_and_up_again(empty_db_app):
    upgrade()
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert "mail_items" in inspect(db.engine).get_table_names()

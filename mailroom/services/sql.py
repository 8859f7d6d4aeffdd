"""Two SQL helpers of the hot path (a scan-in runs both several times): `INSERT ... ON CONFLICT DO NOTHING`
for the two databases, and a connection whose every statement commits on its own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import current_app
from sqlalchemy import Connection, Table

from mailroom.extensions import db


def insert_unless_exists(table: Table, values: dict[str, Any], *, unique: list[str]):
    """An insert of `values` that writes nothing when a row with the same `unique` columns exists.
    Add `.returning(...)` to learn whether it wrote (psycopg reports no rowcount for DO NOTHING).
    (SQLite and PostgreSQL spell it alike, but SQLAlchemy builds it with each dialect's own `insert`.)"""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise RuntimeError(f"unsupported database {dialect}")
    return insert(table).values(**values).on_conflict_do_nothing(index_elements=[table.c[name] for name in unique])


SIDE_ENGINE = "mailroom.side_engine"  # in app.extensions (made in create_app)


@contextmanager
def autocommit() -> Iterator[Connection]:
    """A pooled connection of its own, outside the request's transaction, on which each statement is its
    own transaction, and whose commits do not wait for the disk (see `create_app`'s side engine: for
    statements that only count together with a later commit of the request). For single atomic statements
    (claim a key, take a number, stamp a token): on PostgreSQL one round trip each instead of three
    (BEGIN, statement, COMMIT), and a row lock is held only while the statement runs."""
    side = current_app.extensions.get(SIDE_ENGINE)
    connection = side.connect() if side is not None else db.engine.connect()
    with connection.execution_options(isolation_level="AUTOCOMMIT") as connection:
        yield connection

"""`INSERT ... ON CONFLICT DO NOTHING` for the two databases (SQLite and PostgreSQL spell it alike, but
SQLAlchemy builds it with each dialect's own `insert`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table

from mailroom.extensions import db


def insert_unless_exists(table: Table, values: dict[str, Any], *, unique: list[str]):
    """An insert of `values` that writes nothing when a row with the same `unique` columns exists.
    Add `.returning(...)` to learn whether it wrote (psycopg reports no rowcount for DO NOTHING)."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise RuntimeError(f"unsupported database {dialect}")
    return insert(table).values(**values).on_conflict_do_nothing(index_elements=[table.c[name] for name in unique])

"""The receipt stamp: the next running incoming number of the year (see the package docstring)."""

from __future__ import annotations

from sqlalchemy import bindparam, update

from mailroom.extensions import db
from mailroom.models import (
    IncomingCounter,
)
from mailroom.services.sql import autocommit, dialect_name, insert_unless_exists, prepared

# --- receipt stamp -------------------------------------------------------------------------------


def _counter_insert(year: int):
    return insert_unless_exists(IncomingCounter.__table__, {"year": year, "last_number": 0}, unique=["year"])


@prepared
def _bump():
    table = IncomingCounter.__table__
    return (
        update(table)
        .where(table.c.year == bindparam("counter_year"))
        .values(last_number=table.c.last_number + 1)
        .returning(table.c.last_number)
    )


def next_incoming_number(year: int) -> int:
    """The next running number of `year` (1, 2, ...), safe under concurrent requests."""
    bump, year_parameter = _bump(), {"counter_year": year}
    if dialect_name() == "postgresql":
        # One statement committed on its own on a second connection: the counter row is locked only while
        # the number is taken, not while the rest of the scan-in (and its commit) runs. A request that fails
        # afterwards leaves its number unused (a gap), never a number given twice.
        with autocommit() as connection:
            number = connection.execute(bump, year_parameter).scalar_one_or_none()
            if number is None:
                connection.execute(_counter_insert(year))
                number = connection.execute(bump, year_parameter).scalar_one()
        return number
    # SQLite has one writer at a time anyway: a second connection would wait for this transaction's own lock.
    number = db.session.execute(bump, year_parameter).scalar_one_or_none()
    if number is None:
        db.session.execute(_counter_insert(year))
        number = db.session.execute(bump, year_parameter).scalar_one()
    return number


def format_incoming_number(year: int, number: int) -> str:
    return f"E-{year}-{number:06d}"

"""A request whose transaction only read ends it with COMMIT, not ROLLBACK.

Flask-SQLAlchemy rolls back what a request leaves open, and so it should for anything that wrote: work a
view did not commit is not kept. For a transaction that only read (the token or session check of a retried
scan-in, every page view) COMMIT and ROLLBACK are the same for the data, but psycopg forgets its prepared
statements on every ROLLBACK (and sends DEALLOCATE ALL): the statements every request runs would be parsed
and planned anew each time. So a request that succeeded and whose connection ran nothing but SELECTs since
its transaction began commits; anything else is left to the rollback at teardown.
"""

from __future__ import annotations

from flask import Flask, Response
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, SessionTransaction

from mailroom.extensions import db

_WROTE = "mailroom_wrote"  # in Connection.info: a statement other than SELECT ran in this transaction
_CONNECTION = "mailroom_connection"  # in Session.info: the connection of the session's transaction


def _mark_writes(connection: Connection, _cursor, statement: str, *_args) -> None:
    if statement.lstrip()[:6].upper() != "SELECT":  # WITH, PRAGMA, SAVEPOINT, ...: counted as writes
        connection.info[_WROTE] = True


def _transaction_began(connection: Connection) -> None:
    connection.info.pop(_WROTE, None)


def _session_bound(session: Session, _transaction: SessionTransaction, connection: Connection) -> None:
    session.info[_CONNECTION] = connection


def _session_ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_CONNECTION, None)


def commit_if_read_only(response: Response) -> Response:
    """after_request (registered first, so it runs after every other one): see the module docstring."""
    if response.status_code >= 400:
        return response
    session = db.session()
    connection = session.info.get(_CONNECTION)
    if connection is None or not session.in_transaction() or connection.info.get(_WROTE):
        return response
    if session.new or session.dirty or session.deleted:
        return response
    session.commit()
    return response


def init_app(app: Flask) -> None:
    if not event.contains(Engine, "before_cursor_execute", _mark_writes):  # once per process, for every app
        event.listen(Engine, "before_cursor_execute", _mark_writes)
        event.listen(Engine, "begin", _transaction_began)
        event.listen(Session, "after_begin", _session_bound)
        event.listen(Session, "after_transaction_end", _session_ended)
    app.after_request(commit_if_read_only)

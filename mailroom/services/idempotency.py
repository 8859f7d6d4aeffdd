"""`Idempotency-Key`: a retried request with the same key gets the first answer and changes nothing.

A key belongs to one user. The first request claims it (a row with an empty answer, committed on its own
connection before the work starts); its answer is stored in the row when the request ends. For the JSON
API the answer is written in the very transaction that commits the work, so work and answer are stored
together or not at all. A second request with the key either finds the answer, or waits while the first
one still runs (the unique index on user and key lets exactly one claim succeed, also when both arrive at
once). A key reused for another request (other method, path or body) is refused.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, literal_column, select, true, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import OperationalError

from mailroom.errors import DomainError, ValidationFailed
from mailroom.extensions import db
from mailroom.models import IdempotencyKey
from mailroom.services.clock import now_utc
from mailroom.services.sql import autocommit, insert_unless_exists, prepared

HEADER = "Idempotency-Key"
KEY_MAX = 255
# Longest wait for the first request with the same key to finish before answering 409.
WAIT_SECONDS = 15.0
POLL_SECONDS = 0.05
# A claim still without an answer after this long belongs to a request that died (server killed before
# its commit, so none of its work is stored): the key may be used again.
ABANDONED_AFTER = timedelta(minutes=2)
# Stored answers are kept this long (a device retries within minutes or hours, not weeks).
KEEP_FOR = timedelta(days=2)
# Answers larger than this are not kept (the API's answers are a few KB).
MAX_STORED_BODY = 2 * 1024 * 1024


class KeyReused(DomainError):
    code = "idempotency_key_reused"
    status = 422


class StillRunning(DomainError):
    code = "idempotency_in_progress"
    status = 409


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    mimetype: str | None
    body: bytes
    location: str | None


@dataclass
class Claim:
    id: int
    key: str
    finished: bool = False


def check_key(value: str) -> str:
    """The key as sent; refused if empty, too long or not printable ASCII (it is echoed in logs)."""
    key = value.strip()
    if not key or len(key) > KEY_MAX or not all(32 < ord(char) < 127 for char in key):
        raise ValidationFailed(
            f"Ungültiger Idempotency-Key: 1 bis {KEY_MAX} sichtbare ASCII-Zeichen ohne Leerzeichen.",
            code="invalid_idempotency_key",
        )
    return key


def request_hash(method: str, path: str, content_type: str | None, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.upper(), path, content_type or ""):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    digest.update(body)
    return digest.hexdigest()


def _stored(row) -> StoredResponse:
    return StoredResponse(
        status_code=row.status_code, mimetype=row.mimetype, body=row.response_body or b"", location=row.location
    )


@prepared
def _claim_insert():
    table = IdempotencyKey.__table__
    return insert_unless_exists(table, unique=["user_id", "key"]).returning(table.c.id)


@prepared
def _claim_lookup():
    table = IdempotencyKey.__table__
    return select(table).where(table.c.user_id == bindparam("user_id"), table.c.key == bindparam("key"))


CLAIM_COLUMNS = ("key", "user_id", "method", "path", "request_hash", "created_at")


@prepared
def _claim_or_lookup():
    """PostgreSQL: the claim and, for a key that exists, its row, in one statement (a retry's round trip
    less). The statement's snapshot does not see the row its own insert wrote, so a claim gives
    (id, no row); a key that exists gives (no id, its row), or (no id, no row) when its row was committed
    after the snapshot was taken (then the loop asks again)."""
    table = IdempotencyKey.__table__
    claimed = (
        postgresql.insert(table)
        .values({name: bindparam(f"new_{name}") for name in CLAIM_COLUMNS})
        .on_conflict_do_nothing(index_elements=[table.c.user_id, table.c.key])
        .returning(table.c.id)
        .cte("claimed")
    )
    one_row = select(literal_column("1").label("one")).subquery("one_row")
    existing = and_(table.c.user_id == bindparam("new_user_id"), table.c.key == bindparam("new_key"))
    return select(claimed.c.id.label("claim_id"), table).select_from(
        one_row.outerjoin(claimed, true()).outerjoin(table, existing)
    )


def _claim_once(connection, values: dict) -> tuple[int | None, Any]:
    """(claim id, None) when this request claimed the key, else (None, the key's row or None)."""
    if connection.dialect.name == "postgresql":
        found = connection.execute(_claim_or_lookup(), {f"new_{name}": values[name] for name in CLAIM_COLUMNS}).one()
        return found.claim_id, (found if found.id is not None else None)
    claim_id = connection.execute(_claim_insert(), values).scalar_one_or_none()
    if claim_id is not None:
        return claim_id, None
    return None, connection.execute(_claim_lookup(), {"user_id": values["user_id"], "key": values["key"]}).first()


@prepared
def _record_answer():
    table = IdempotencyKey.__table__  # a Core update: no ORM objects of keys to keep in step, no autoflush
    return update(table).where(table.c.id == bindparam("claim_id"))  # SET: the columns of the parameters


def claim(
    *, user_id: int, key: str, method: str, path: str, fingerprint: str, wait_seconds: float = WAIT_SECONDS
) -> Claim | StoredResponse:
    """Claim `key` for this request, or return the answer stored for it. Raises KeyReused for another
    request under the same key and StillRunning when the first request does not finish in time.
    Runs on its own connection: the caller's session must not hold a write lock (commit before)."""
    table = IdempotencyKey.__table__
    deadline = time.monotonic() + wait_seconds
    while True:
        now = now_utc()
        values = {
            "key": key, "user_id": user_id, "method": method, "path": path, "request_hash": fingerprint,
            "created_at": now,
        }  # fmt: skip
        try:
            with autocommit() as connection:
                # The key's row is written (one atomic statement), or, the key exists (a retry), read.
                claim_id, row = _claim_once(connection, values)
        except OperationalError:  # SQLite busy beyond its timeout: try again until the deadline
            if time.monotonic() > deadline:
                raise StillRunning("Die Anfrage wird noch bearbeitet. Bitte gleich erneut senden.") from None
            time.sleep(POLL_SECONDS)
            continue
        if claim_id is not None:
            return Claim(id=claim_id, key=key)
        if row is None:  # released meanwhile (the first request failed): claim again
            continue
        if (row.method, row.path, row.request_hash) != (method, path, fingerprint):
            raise KeyReused(
                "Dieser Idempotency-Key wurde schon für eine andere Anfrage verwendet. "
                "Bitte für jede neue Anfrage einen neuen Schlüssel senden."
            )
        if row.status_code is not None:
            return _stored(row)
        if now - row.created_at > ABANDONED_AFTER:
            with autocommit() as connection:  # take over a dead request's claim (one taker wins)
                taken = connection.execute(
                    update(table)
                    .where(table.c.id == row.id, table.c.created_at == row.created_at, table.c.status_code.is_(None))
                    .values(created_at=now)
                ).rowcount
            if taken:
                return Claim(id=row.id, key=key)
            continue
        if time.monotonic() > deadline:
            raise StillRunning("Die Anfrage wird noch bearbeitet. Bitte gleich erneut senden.")
        time.sleep(POLL_SECONDS)


def record(claim_: Claim, *, status_code: int, mimetype: str | None, body: bytes, location: str | None) -> None:
    """Store the answer in the current transaction of db.session (the caller commits)."""
    if len(body) > MAX_STORED_BODY:
        body = b""
    db.session.execute(
        _record_answer(),
        {"claim_id": claim_.id, "status_code": status_code, "mimetype": mimetype, "response_body": body,
         "location": location},
    )  # fmt: skip
    claim_.finished = True


def release(claim_: Claim) -> None:
    """Give the key free again: the request failed without storing anything, a retry may run it."""
    with autocommit() as connection:
        connection.execute(
            delete(IdempotencyKey).where(IdempotencyKey.id == claim_.id, IdempotencyKey.status_code.is_(None))
        )
    claim_.finished = True


def purge_expired(keep_for: timedelta = KEEP_FOR) -> int:
    """Delete stored answers older than `keep_for`; the caller commits. Returns the number deleted."""
    result = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < now_utc() - keep_for))
    return result.rowcount or 0

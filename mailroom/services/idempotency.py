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

from sqlalchemy import delete, select, update
from sqlalchemy.exc import OperationalError

from mailroom.errors import DomainError, ValidationFailed
from mailroom.extensions import db
from mailroom.models import IdempotencyKey
from mailroom.services.clock import now_utc
from mailroom.services.sql import autocommit, insert_unless_exists

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


def claim(*, user_id: int, key: str, method: str, path: str, fingerprint: str) -> Claim | StoredResponse:
    """Claim `key` for this request, or return the answer stored for it. Raises KeyReused for another
    request under the same key and StillRunning when the first request does not finish in time.
    Runs on its own connection: the caller's session must not hold a write lock (commit before)."""
    table = IdempotencyKey.__table__
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        now = now_utc()
        values = {
            "key": key, "user_id": user_id, "method": method, "path": path, "request_hash": fingerprint,
            "created_at": now,
        }  # fmt: skip
        try:
            with autocommit() as connection:
                # The key's row is written (one atomic statement), or, the key exists (a retry), read.
                claim_id = connection.execute(
                    insert_unless_exists(table, values, unique=["user_id", "key"]).returning(table.c.id)
                ).scalar_one_or_none()
                row = None
                if claim_id is None:
                    row = connection.execute(
                        select(table).where(table.c.user_id == user_id, table.c.key == key)
                    ).first()
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
    table = IdempotencyKey.__table__  # a Core update: no ORM objects of keys to keep in step, no autoflush
    db.session.execute(
        update(table)
        .where(table.c.id == claim_.id)
        .values(status_code=status_code, mimetype=mimetype, response_body=body, location=location)
    )
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

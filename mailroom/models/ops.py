"""Operations: stored answers of idempotent requests and the append-only audit log of admin changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mailroom.extensions import db
from mailroom.models.base import UTCDateTime, utcnow


class IdempotencyKey(db.Model):
    """One `Idempotency-Key` of one user: the request it was first used for and the answer given then.

    The row is claimed (response still empty) before the work starts and filled in the transaction that
    commits the work, so a retry either finds the stored answer or waits for the first request to end.
    The unique index on (user, key) is what makes two requests arriving at once run the work only once."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("uq_idempotency_keys_user_key", "user_id", "key", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    status_code: Mapped[int | None] = mapped_column(Integer)
    mimetype: Mapped[str | None] = mapped_column(String(100))
    location: Mapped[str | None] = mapped_column(String(1000))
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)


class AuditEntry(db.Model):
    """Who changed which user, tariff, site or retention setting, when and how. Append-only: the app
    never changes or deletes a row (the guard in mailroom.models refuses it)."""

    __tablename__ = "audit_log"
    __append_only__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(64), default="")  # kept readable if the user row goes
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)

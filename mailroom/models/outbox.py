"""The e-mail outbox: a notification is a row written in the same transaction as the change that causes
it; the worker sends it after the commit, with retries, and the row keeps a visible status."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mailroom.extensions import db
from mailroom.models.base import StrEnumColumn, UTCDateTime, utcnow


class OutboxStatus(StrEnum):
    PENDING = "pending"  # waiting to be sent (first try or a retry after a failure)
    SENT = "sent"
    FAILED = "failed"  # gave up after OUTBOX_MAX_ATTEMPTS; `mailroom check` reports it

    @property
    def label(self) -> str:
        return OUTBOX_STATUS_LABELS[self]


OUTBOX_STATUS_LABELS = {
    OutboxStatus.PENDING: "wartet",
    OutboxStatus.SENT: "gesendet",
    OutboxStatus.FAILED: "fehlgeschlagen",
}


class OutboxMessage(db.Model):
    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    # One message per cause (e.g. "registered-item:42"): a second notification of the same item is refused
    # by the database, not by a check that two requests could both pass.
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("mail_items.id"), index=True)
    org_unit_short: Mapped[str | None] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[OutboxStatus] = mapped_column(StrEnumColumn(OutboxStatus), default=OutboxStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A worker sending the row holds this lease; a worker that died lets it run out and another one retries.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

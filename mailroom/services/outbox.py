"""The e-mail outbox: notifications are rows written in the same transaction as the item, sent by the
worker after the commit.

- `queue_item_notification(item)` writes the message (recipient, subject, body) as an `OutboxMessage` row
  beside the change that causes it and asks for a send once the transaction has committed. If the
  transaction rolls back, the row goes with it: no mail ever announces an item that does not exist.
- `send_due()` (the worker's `send_outbox` job and its minute sweep) claims due rows one at a time with a
  lease, sends each over SMTP outside any database transaction, then records the outcome: SENT plus a
  NOTIFIED event in the item's custody log, or a retry later (1, 2, 4 ... minutes, at most an hour) and
  FAILED after OUTBOX_MAX_ATTEMPTS. Delivery is at least once: a worker killed between the SMTP answer and
  its commit sends that one message again.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from flask import current_app
from sqlalchemy import func, or_, select, update

from mailroom.extensions import db
from mailroom.models import EventKind, MailItem, OutboxMessage, OutboxStatus
from mailroom.services import custody, notify
from mailroom.services.clock import now_utc
from mailroom.services.sql import insert_unless_exists

DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_LEASE_S = 120.0
MAX_RETRY_DELAY_S = 3600.0
SEND_BATCH = 50  # rows per job run; the next run (or the minute sweep) takes the rest


def _insert(values: dict):
    table = OutboxMessage.__table__
    # RETURNING tells whether a row was written: psycopg reports no rowcount for ON CONFLICT DO NOTHING.
    return insert_unless_exists(table, values, unique=["dedupe_key"]).returning(table.c.id)


def item_dedupe_key(item: MailItem) -> str:
    return f"registered-item:{item.id}"


def queue_item_notification(item: MailItem) -> bool:
    """Write the notification for a registered item or PZU into the outbox (flushes; the caller commits).

    Returns True when a row was written; False when nothing is to be sent (no SMTP configured, not
    registered, no org unit or no e-mail address) or the item already has its notification (the unique
    dedupe key decides, also for two requests at once)."""
    config = current_app.config
    if not config.get("SMTP_HOST") or not item.is_registered or item.org_unit is None:
        return False
    recipient = (item.org_unit.email or "").strip()
    if not recipient:
        return False
    db.session.flush()
    if notify.already_notified(item):  # notified before the outbox existed
        return False
    message = notify.build_message(item, sender=config["MAIL_FROM"], recipient=recipient)
    now = now_utc()
    result = db.session.execute(
        _insert(
            {
                "dedupe_key": item_dedupe_key(item),
                "item_id": item.id,
                "org_unit_short": item.org_unit.short_name,
                "recipient": recipient,
                "subject": str(message["Subject"]),
                "body": message.get_content(),
                "status": OutboxStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    )
    if result.scalar_one_or_none() is None:
        return False
    from mailroom import worker

    worker.enqueue_after_commit(db.session(), "send_outbox")
    return True


def build_email(row: OutboxMessage, *, at: datetime | None = None) -> EmailMessage:
    sender = current_app.config["MAIL_FROM"]
    message = EmailMessage()
    message["Subject"] = row.subject
    message["From"] = sender
    message["To"] = row.recipient
    message["Date"] = format_datetime(at or now_utc())
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(row.body, charset="utf-8")
    return message


def retry_delay(attempts: int) -> timedelta:
    """Wait after the n-th failed attempt: 1, 2, 4, 8 ... minutes, at most an hour."""
    return timedelta(seconds=min(60.0 * 2 ** max(attempts - 1, 0), MAX_RETRY_DELAY_S))


def _due(now: datetime):
    return (
        OutboxMessage.status == OutboxStatus.PENDING,
        OutboxMessage.next_attempt_at <= now,
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
    )


def _claim_next(now: datetime, lease: timedelta) -> int | None:
    """Take the lease on the oldest due row (a conditional UPDATE: two workers never claim the same row)."""
    for row_id in db.session.scalars(select(OutboxMessage.id).where(*_due(now)).order_by(OutboxMessage.id).limit(5)):
        claimed = db.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == row_id, *_due(now)).values(claimed_until=now + lease)
        )
        db.session.commit()
        if claimed.rowcount == 1:
            return row_id
    db.session.rollback()
    return None


def send_due(limit: int = SEND_BATCH) -> int:
    """Send up to `limit` due rows; returns how many were sent. Commits its own transactions."""
    config = current_app.config
    if not config.get("SMTP_HOST"):
        return 0
    max_attempts = int(config.get("OUTBOX_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))
    lease = timedelta(seconds=float(config.get("OUTBOX_LEASE_S", DEFAULT_LEASE_S)))
    sent = 0
    for _ in range(limit):
        row_id = _claim_next(now_utc(), lease)
        if row_id is None:
            break
        row = db.session.get(OutboxMessage, row_id)
        error: str | None = None
        try:
            notify.send_message(build_email(row))
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        _record_outcome(row, error, max_attempts)
        db.session.commit()
        if error is None:
            sent += 1
    return sent


def _record_outcome(row: OutboxMessage, error: str | None, max_attempts: int) -> None:
    now = now_utc()
    row.attempts += 1
    row.claimed_until = None
    if error is None:
        row.status = OutboxStatus.SENT
        row.sent_at = now
        row.last_error = None
        item = db.session.get(MailItem, row.item_id) if row.item_id else None
        if item is not None:
            custody.record_event(item, EventKind.NOTIFIED, user=None, note=f"E-Mail an {row.org_unit_short}")
        current_app.logger.info("outbox %s sent to %s", row.id, row.org_unit_short)
        return
    row.last_error = error
    if row.attempts >= max_attempts:
        row.status = OutboxStatus.FAILED
        current_app.logger.error("outbox %s failed for good after %d attempts: %s", row.id, row.attempts, error)
    else:
        row.next_attempt_at = now + retry_delay(row.attempts)
        current_app.logger.warning("outbox %s attempt %d failed: %s", row.id, row.attempts, error)


def retry(row_id: int) -> OutboxMessage:
    """Staff asks for another try of a failed or waiting row now (flushes; the caller commits)."""
    from mailroom.errors import InvalidTransition
    from mailroom.services.lookup import get_or_404

    row = get_or_404(OutboxMessage, row_id, "Diese Nachricht gibt es nicht.")
    if row.status == OutboxStatus.SENT:
        raise InvalidTransition("Diese Nachricht wurde bereits gesendet.")
    row.status = OutboxStatus.PENDING
    row.next_attempt_at = now_utc()
    row.claimed_until = None
    if row.attempts >= int(current_app.config.get("OUTBOX_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)):
        row.attempts = 0
    db.session.flush()
    from mailroom import worker

    worker.enqueue_after_commit(db.session(), "send_outbox")
    return row


# --- the status page and `mailroom check` --------------------------------------------------------


@dataclass(frozen=True)
class OutboxCounts:
    pending: int
    sent: int
    failed: int


def counts() -> OutboxCounts:
    found = dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    return OutboxCounts(
        pending=found.get(OutboxStatus.PENDING, 0),
        sent=found.get(OutboxStatus.SENT, 0),
        failed=found.get(OutboxStatus.FAILED, 0),
    )


def recent(limit: int = 200, status: str | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status:
        query = query.where(OutboxMessage.status == status)
    return list(db.session.scalars(query))


def unsent(older_than: timedelta = timedelta(0)) -> list[OutboxMessage]:
    """Rows not sent (waiting or failed) created more than `older_than` ago, oldest first."""
    cutoff = now_utc() - older_than
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status != OutboxStatus.SENT, OutboxMessage.created_at <= cutoff)
            .order_by(OutboxMessage.id)
        )
    )

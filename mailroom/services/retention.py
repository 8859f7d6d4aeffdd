"""Retention of personal data (DSGVO): each data category is kept for its period (config RETENTION_DAYS,
in days), then deleted, and every deletion is logged in PurgeLog (category, object, when; never the
personal data itself).

Categories:
- content_scans: scans of opened letters (file deleted, row kept with `purged_at`), counted from the upload;
- recipient_data: sender and recipient name of items (`personal_data_purged_at` set), from receipt;
- signatures: hand-over proofs (receiver's name; the row and its signature file), from the hand-over;
- login_data: the time of a user's last login, from that login.

MailEvent rows (the chain of custody) are append-only and never touched.

Use: `plan = plan_purge()` (reads only) -> `files = apply_purge(plan)` (changes and flushes, one transaction)
-> the caller commits -> `delete_files(files)` (files go only after the commit succeeded; failures returned).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, or_, select

from mailroom.errors import ValidationFailed
from mailroom.extensions import db
from mailroom.models import ContentScan, HandoverProof, LoginSession, MailItem, PurgeLog, User
from mailroom.services import storage
from mailroom.services.clock import local_zone, now_utc
from mailroom.services.intake import MEDIA_SUFFIXES, UPLOAD_STORAGE_KIND
from mailroom.services.outgoing.tracked import erase_recipients

CATEGORIES = ("content_scans", "recipient_data", "signatures", "login_data")
CATEGORY_LABELS = {
    "content_scans": "Inhaltsscans",
    "recipient_data": "Absender-/Empfängerdaten",
    "signatures": "Zustellnachweise (Name, Unterschrift)",
    "login_data": "Anmeldedaten",
}
PERSONAL_ITEM_FIELDS = ("sender", "recipient_name")


@dataclass(frozen=True)
class StoredFile:
    kind: str
    sha256: str
    suffixes: tuple[str, ...] = ("",)

    def describe(self) -> str:
        return f"{self.kind}/{self.sha256[:2]}/{self.sha256}"


@dataclass(frozen=True)
class Candidate:
    """One object due for deletion: what it is, never what it contains."""

    category: str
    object_type: str
    object_id: int
    detail: str = ""


@dataclass
class PurgePlan:
    now: datetime
    cutoffs: dict[str, datetime]
    candidates: list[Candidate] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counter = Counter(c.category for c in self.candidates)
        return {category: counter.get(category, 0) for category in CATEGORIES}

    def __len__(self) -> int:
        return len(self.candidates)


@dataclass(frozen=True)
class FileFailure:
    file: StoredFile
    error: str


def retention_days() -> dict[str, int]:
    configured = current_app.config.get("RETENTION_DAYS") or {}
    days: dict[str, int] = {}
    for category in CATEGORIES:
        value = configured.get(category)
        if value is None:
            raise ValidationFailed(f"Aufbewahrungsfrist für „{category}“ fehlt in RETENTION_DAYS.")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationFailed(
                f"Aufbewahrungsfrist für „{category}“ muss eine ganze Zahl von Tagen (mindestens 1) sein."
            )
        days[category] = value
    return days


def plan_purge(now: datetime | None = None) -> PurgePlan:
    """What is due now. Reads only."""
    now = now or now_utc()
    cutoffs = {category: now - timedelta(days=days) for category, days in retention_days().items()}
    plan = PurgePlan(now=now, cutoffs=cutoffs)

    for scan_id, item_id in db.session.execute(
        select(ContentScan.id, ContentScan.item_id)
        .where(ContentScan.purged_at.is_(None), ContentScan.created_at < cutoffs["content_scans"])
        .order_by(ContentScan.id)
    ):
        plan.candidates.append(Candidate("content_scans", "content_scan", scan_id, f"Scan zu Sendung #{item_id}"))

    # Envelope scans (uploaded at intake) show names and addresses: kept as long as content scans.
    for item_id, number in db.session.execute(
        select(MailItem.id, MailItem.incoming_number)
        .where(MailItem.envelope_sha256.is_not(None), MailItem.received_at < cutoffs["content_scans"])
        .order_by(MailItem.id)
    ):
        plan.candidates.append(Candidate("content_scans", "envelope_scan", item_id, f"Umschlag-Scan zu {number}"))

    for item_id, number in db.session.execute(
        select(MailItem.id, MailItem.incoming_number)
        .where(
            MailItem.personal_data_purged_at.is_(None),
            MailItem.received_at < cutoffs["recipient_data"],
            or_(*(getattr(MailItem, name).is_not(None) for name in PERSONAL_ITEM_FIELDS)),
        )
        .order_by(MailItem.id)
    ):
        plan.candidates.append(Candidate("recipient_data", "mail_item", item_id, f"Sendung {number}"))

    for proof_id, event_id in db.session.execute(
        select(HandoverProof.id, HandoverProof.event_id)
        .where(HandoverProof.created_at < cutoffs["signatures"])
        .order_by(HandoverProof.id)
    ):
        plan.candidates.append(Candidate("signatures", "handover_proof", proof_id, f"Nachweis zu Ereignis #{event_id}"))

    for user_id in db.session.scalars(
        select(User.id).where(User.last_login_at.is_not(None), User.last_login_at < cutoffs["login_data"])
    ):
        plan.candidates.append(Candidate("login_data", "user", user_id, "Zeitpunkt der letzten Anmeldung"))
    return plan


def apply_purge(plan: PurgePlan) -> list[StoredFile]:
    """Delete what the plan lists and log each deletion; flushes, the caller commits.
    Returns the files to delete once the commit succeeded (`delete_files`)."""
    now = plan.now
    by_category: dict[str, list[int]] = {category: [] for category in CATEGORIES}
    for candidate in plan.candidates:
        by_category[candidate.category].append(candidate.object_id)
    files: list[StoredFile] = []

    envelope_ids = [c.object_id for c in plan.candidates if c.object_type == "envelope_scan"]
    scan_ids = [c.object_id for c in plan.candidates if c.object_type == "content_scan"]
    envelopes = {}
    for item in _load(MailItem, envelope_ids):
        envelopes[item.envelope_sha256] = item.envelope_media_type
        item.envelope_sha256 = item.envelope_media_type = None
    db.session.flush()
    for sha256, media_type in sorted(envelopes.items()):
        if db.session.scalar(select(MailItem.id).where(MailItem.envelope_sha256 == sha256).limit(1)) is None:
            files.append(StoredFile(UPLOAD_STORAGE_KIND, sha256, (MEDIA_SUFFIXES.get(media_type, ""),)))

    scans = _load(ContentScan, scan_ids)
    purged_hashes = set()
    for scan in scans:
        scan.purged_at = now
        purged_hashes.add(scan.sha256)
    db.session.flush()
    for sha256 in sorted(purged_hashes):
        still_used = db.session.scalar(
            select(ContentScan.id).where(ContentScan.sha256 == sha256, ContentScan.purged_at.is_(None)).limit(1)
        )
        if still_used is None:
            files.append(StoredFile("content", sha256))

    for item in _load(MailItem, by_category["recipient_data"]):
        for name in PERSONAL_ITEM_FIELDS:
            setattr(item, name, None)
        item.personal_data_purged_at = now
    # Outgoing mail keeps its postage and numbers for the reports; its recipients go by the same period.
    erased = erase_recipients(plan.cutoffs["recipient_data"].astimezone(local_zone()).date())
    if erased:
        db.session.add(
            PurgeLog(at=now, category="recipient_data", object_type="outgoing_recipients", object_id=0,
                     detail=f"{erased} Empfänger im Postausgang gelöscht")
        )  # fmt: skip

    proofs = _load(HandoverProof, by_category["signatures"])
    signature_hashes = {proof.signature_sha256 for proof in proofs if proof.signature_sha256}
    for proof in proofs:
        db.session.delete(proof)
    db.session.flush()
    for sha256 in sorted(signature_hashes):
        still_used = db.session.scalar(
            select(HandoverProof.id).where(HandoverProof.signature_sha256 == sha256).limit(1)
        )
        if still_used is None:
            files.append(StoredFile("signatures", sha256, storage.SIGNATURE_SUFFIXES))

    for user in _load(User, by_category["login_data"]):
        user.last_login_at = None
    # Login sessions (who signed in when) go by the login-data period; they ended long before (12 h at most).
    ended = db.session.execute(delete(LoginSession).where(LoginSession.created_at < plan.cutoffs["login_data"]))
    if ended.rowcount:
        db.session.add(
            PurgeLog(at=now, category="login_data", object_type="login_sessions", object_id=0,
                     detail=f"{ended.rowcount} Anmeldesitzungen gelöscht")
        )  # fmt: skip

    for candidate in plan.candidates:
        db.session.add(
            PurgeLog(
                at=now,
                category=candidate.category,
                object_type=candidate.object_type,
                object_id=candidate.object_id,
                detail=candidate.detail[:255],
            )
        )
    db.session.flush()
    return files


def _load(model, ids: list[int]) -> list:
    if not ids:
        return []
    return list(db.session.scalars(select(model).where(model.id.in_(ids)).order_by(model.id)))


def delete_files(files: list[StoredFile]) -> list[FileFailure]:
    """Delete the files of purged rows (after the commit). A file already gone counts as deleted."""
    failures: list[FileFailure] = []
    for stored in files:
        try:
            for suffix in stored.suffixes:
                storage.delete(stored.kind, stored.sha256, suffix)
        except OSError as exc:
            current_app.logger.error("purge: could not delete %s: %s", stored.describe(), exc)
            failures.append(FileFailure(stored, f"{type(exc).__name__}: {exc.strerror or exc}"))
    return failures

"""Content scans of opened letters: the rules of ersetzendes Scannen (BSI TR-03138 "TR-RESISCAN").

A scan belongs to one item and is stored under instance/scans/content/ by its hash. Each scan records the
decision "replaces the paper" or "copy only"; a replacing scan needs the check against the original and the
date on which the paper original may be destroyed. Confidential items ("persönlich/vertraulich") are never
opened, so they never get a content scan.

Order of work (no file without its row, no row without its file): validate everything, add and flush the
row (the unique constraint speaks here), then store the file tied to the transaction
(`storage.store_in_transaction`): if the caller's commit fails or it rolls back, the new file is removed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import func, select

from mailroom.errors import DuplicateItem, NotFound, ValidationFailed
from mailroom.extensions import db
from mailroom.models import ContentScan, EventKind, MailItem, ScanDecision, User
from mailroom.services import storage
from mailroom.services import uploads as upload_checks
from mailroom.services.clock import local_today
from mailroom.services.custody import record_event

STORAGE_KIND = "content"
MEDIA_SUFFIXES = {"image/jpeg": ".jpg", "image/png": ".png", "image/tiff": ".tif", "application/pdf": ".pdf"}


@dataclass(frozen=True)
class Upload:
    """One uploaded file as the view read it."""

    data: bytes
    filename: str


class ConfidentialItem(ValidationFailed):
    code = "confidential"
    status = 409


def check_may_scan(item: MailItem) -> None:
    if item.confidential:
        raise ConfidentialItem(
            f"Sendung {item.incoming_number} ist als „persönlich/vertraulich“ gekennzeichnet: "
            "sie wird nicht geöffnet und nicht gescannt. Es wurde nichts gespeichert."
        )


def check_decision(
    decision: ScanDecision | str, checked_against_original: bool, paper_destroy_on: date | None
) -> ScanDecision:
    """The TR-RESISCAN rules for one scan; returns the decision as enum."""
    try:
        decision = ScanDecision(decision)
    except ValueError:
        raise ValidationFailed("Bitte wählen Sie „Ersetzt Papier“ oder „Nur Kopie“.") from None
    if decision == ScanDecision.REPLACE:
        if not checked_against_original:
            raise ValidationFailed(
                "Ersetzendes Scannen: Der Scan muss mit dem Original abgeglichen sein, bevor er das Papier ersetzt."
            )
        if paper_destroy_on is None:
            raise ValidationFailed(
                "Ersetzendes Scannen: Bitte das Datum angeben, ab dem das Papieroriginal vernichtet werden darf."
            )
        if paper_destroy_on < local_today():
            raise ValidationFailed("Das Vernichtungsdatum des Papieroriginals darf nicht in der Vergangenheit liegen.")
    elif paper_destroy_on is not None:
        raise ValidationFailed(
            "Bei „Nur Kopie“ bleibt das Papier das Original: ein Vernichtungsdatum ist nicht vorgesehen."
        )
    return decision


def _validate(upload: Upload, budget: upload_checks.RequestBudget) -> str:
    """File name, size, type by content, polyglot, pixel count (per frame, per file and per request),
    truncation: the media type, or UploadRejected."""
    return upload_checks.inspect_stored_upload(upload.data, upload.filename, budget)


def _in_use(sha256: str) -> bool:
    """Does a committed, unpurged scan row name this file? (Checked on its own connection.)"""
    with db.engine.connect() as conn:
        count = conn.scalar(
            select(func.count(ContentScan.id)).where(ContentScan.sha256 == sha256, ContentScan.purged_at.is_(None))
        )
    return bool(count)


def attach_scans(
    item: MailItem,
    uploads: list[Upload],
    *,
    user: User | None,
    decision: ScanDecision | str,
    checked_against_original: bool,
    paper_destroy_on: date | None,
) -> list[ContentScan]:
    """Attach one or more scans to an item: all of them or none. The caller commits."""
    check_may_scan(item)
    if not uploads:
        raise ValidationFailed("Bitte mindestens eine Datei auswählen.")
    decision = check_decision(decision, checked_against_original, paper_destroy_on)
    budget = upload_checks.RequestBudget.from_config()
    validated = [(upload, _validate(upload, budget)) for upload in uploads]

    existing = {scan.sha256 for scan in item.scans}
    scans: list[ContentScan] = []
    for upload, media_type in validated:
        sha256 = hashlib.sha256(upload.data).hexdigest()
        if sha256 in existing:
            raise DuplicateItem(
                f"Die Datei „{_short_name(upload.filename)}“ ist der Sendung {item.incoming_number} bereits angehängt."
            )
        existing.add(sha256)
        scan = ContentScan(
            item=item,
            sha256=sha256,
            media_type=media_type,
            size_bytes=len(upload.data),
            original_name=_short_name(upload.filename),
            decision=decision,
            checked_against_original=checked_against_original,
            paper_destroy_on=paper_destroy_on if decision == ScanDecision.REPLACE else None,
            created_by_id=user.id if user else None,
        )
        db.session.add(scan)
        scans.append(scan)
    db.session.flush()
    for scan, (upload, _media_type) in zip(scans, validated, strict=True):
        storage.store_in_transaction(STORAGE_KIND, upload.data, in_use=_in_use)
        record_event(
            item,
            EventKind.SCAN_ATTACHED,
            user=user,
            data={"scan_id": scan.id, "sha256": scan.sha256, "decision": str(decision)},
        )
    return scans


def set_decision(
    scan: ContentScan,
    *,
    user: User | None,
    decision: ScanDecision | str,
    checked_against_original: bool,
    paper_destroy_on: date | None,
) -> ContentScan:
    """Record the decision later (e.g. after the check against the original). The caller commits."""
    if scan.purged_at is not None:
        raise ValidationFailed("Dieser Scan wurde nach Ablauf der Aufbewahrungsfrist bereits gelöscht.")
    decision = check_decision(decision, checked_against_original, paper_destroy_on)
    scan.decision = decision
    scan.checked_against_original = checked_against_original
    scan.paper_destroy_on = paper_destroy_on if decision == ScanDecision.REPLACE else None
    record_event(
        scan.item,
        EventKind.DETAILS,
        user=user,
        note=f"Scan {scan.id}: {decision.label}",
        data={"scan_id": scan.id, "decision": str(decision), "checked": checked_against_original},
    )
    db.session.flush()
    return scan


def get_scan(item: MailItem, scan_id: int) -> ContentScan:
    scan = db.session.get(ContentScan, scan_id)
    if scan is None or scan.item_id != item.id:
        raise NotFound("Dieser Scan existiert nicht.")
    return scan


def read_scan(scan: ContentScan) -> bytes:
    """The stored file of a scan; NotFound once it was purged."""
    if scan.purged_at is not None:
        raise NotFound("Dieser Scan wurde nach Ablauf der Aufbewahrungsfrist gelöscht.")
    try:
        return storage.read(STORAGE_KIND, scan.sha256)
    except FileNotFoundError:
        current_app.logger.error("content scan %s: file %s missing", scan.id, scan.sha256)
        raise NotFound("Die Datei dieses Scans fehlt im Speicher.") from None


def download_name(scan: ContentScan) -> str:
    """A safe file name for Content-Disposition (no user input in it)."""
    return f"scan-{scan.item.incoming_number}-{scan.id}{MEDIA_SUFFIXES.get(scan.media_type, '')}"


def _short_name(filename: str) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:255]

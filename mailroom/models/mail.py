"""Incoming mail: items, the append-only custody log, hand-over proofs, content scans."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mailroom.extensions import db
from mailroom.models.base import StrEnumColumn, UTCDateTime, utcnow
from mailroom.models.org import OrgUnit, Site


class ItemKind(StrEnum):
    BRIEF = "brief"
    GROSSBRIEF = "grossbrief"
    EINSCHREIBEN_EINWURF = "einschreiben_einwurf"
    EINSCHREIBEN_UEBERGABE = "einschreiben_uebergabe"
    EINSCHREIBEN_RUECKSCHEIN = "einschreiben_rueckschein"
    EINSCHREIBEN_EIGENHAENDIG = "einschreiben_eigenhaendig"
    PZU = "pzu"
    PAKET = "paket"
    PAECKCHEN = "paeckchen"
    HAUSPOST = "hauspost"
    WERTSENDUNG = "wertsendung"
    IRRLAEUFER = "irrlaeufer"

    @property
    def label(self) -> str:
        return ITEM_KIND_LABELS[self]

    @property
    def is_registered(self) -> bool:
        """Tracked exactly: every hand-over needs a receiver and a signature."""
        return self in REGISTERED_KINDS


ITEM_KIND_LABELS = {
    ItemKind.BRIEF: "Brief",
    ItemKind.GROSSBRIEF: "Großbrief",
    ItemKind.EINSCHREIBEN_EINWURF: "Einschreiben Einwurf",
    ItemKind.EINSCHREIBEN_UEBERGABE: "Einschreiben Übergabe",
    ItemKind.EINSCHREIBEN_RUECKSCHEIN: "Einschreiben Rückschein",
    ItemKind.EINSCHREIBEN_EIGENHAENDIG: "Einschreiben Eigenhändig",
    ItemKind.PZU: "Postzustellungsurkunde (PZU)",
    ItemKind.PAKET: "Paket",
    ItemKind.PAECKCHEN: "Päckchen",
    ItemKind.HAUSPOST: "Hauspost",
    ItemKind.WERTSENDUNG: "Wertsendung",
    ItemKind.IRRLAEUFER: "Irrläufer",
}

REGISTERED_KINDS = frozenset(
    {
        ItemKind.EINSCHREIBEN_EINWURF,
        ItemKind.EINSCHREIBEN_UEBERGABE,
        ItemKind.EINSCHREIBEN_RUECKSCHEIN,
        ItemKind.EINSCHREIBEN_EIGENHAENDIG,
        ItemKind.PZU,
        ItemKind.WERTSENDUNG,
    }
)


class ItemStatus(StrEnum):
    RECEIVED = "received"
    SORTED = "sorted"
    LOADED = "loaded"
    DELIVERED = "delivered"
    RETURNED = "returned"
    FORWARDED = "forwarded"
    VOIDED = "voided"  # a wrong scan undone at the scan station (never deleted: its events stay)

    @property
    def label(self) -> str:
        return ITEM_STATUS_LABELS[self]


ITEM_STATUS_LABELS = {
    ItemStatus.RECEIVED: "Eingegangen",
    ItemStatus.SORTED: "Sortiert",
    ItemStatus.LOADED: "Verladen",
    ItemStatus.DELIVERED: "Zugestellt",
    ItemStatus.RETURNED: "Zurückgesandt",
    ItemStatus.FORWARDED: "Weitergeleitet",
    ItemStatus.VOIDED: "Storniert (Fehlscan)",
}


class EventKind(StrEnum):
    RECEIVED = "received"
    DETAILS = "details"  # kind, recipient or file number set or changed
    SORTED = "sorted"
    LOADED = "loaded"
    UNLOADED = "unloaded"  # taken back from a tour (stop skipped), back to sorted
    DELIVERED = "delivered"
    RETURNED = "returned"
    FORWARDED = "forwarded"
    SCAN_ATTACHED = "scan_attached"
    NOTIFIED = "notified"
    LABEL_PRINTED = "label_printed"
    VOIDED = "voided"  # a wrong scan undone shortly after it was logged
    TRANSFERRED = "transferred"  # moved from one van to another (a breakdown); the item stays loaded

    @property
    def label(self) -> str:
        return EVENT_KIND_LABELS[self]


EVENT_KIND_LABELS = {
    EventKind.RECEIVED: "Eingang erfasst",
    EventKind.DETAILS: "Angaben ergänzt",
    EventKind.SORTED: "Sortiert",
    EventKind.LOADED: "Verladen",
    EventKind.UNLOADED: "Zurück ins Fach",
    EventKind.DELIVERED: "Zugestellt",
    EventKind.RETURNED: "Zurückgesandt",
    EventKind.FORWARDED: "Weitergeleitet",
    EventKind.SCAN_ATTACHED: "Scan angehängt",
    EventKind.NOTIFIED: "Benachrichtigt",
    EventKind.LABEL_PRINTED: "Etikett gedruckt",
    EventKind.VOIDED: "Fehlscan storniert",
    EventKind.TRANSFERRED: "Umgeladen",
}


class IncomingCounter(db.Model):
    """Running incoming number per year (E-2026-004711)."""

    __tablename__ = "incoming_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class MailItem(db.Model):
    __tablename__ = "mail_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Our own item code (printed on our labels); for items with a carrier barcode it is that code.
    code: Mapped[str] = mapped_column(String(64), unique=True)
    carrier_code: Mapped[str | None] = mapped_column(String(64), index=True)
    carrier_format: Mapped[str | None] = mapped_column(String(32))  # s10, dhl_identcode, ...
    check_digit_valid: Mapped[bool | None] = mapped_column(Boolean)
    incoming_number: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[ItemKind | None] = mapped_column(StrEnumColumn(ItemKind, 32))
    status: Mapped[ItemStatus] = mapped_column(StrEnumColumn(ItemStatus), default=ItemStatus.RECEIVED, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    # Destination site; follows the org unit, but Hauspost may go to a site directly.
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    origin_site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))  # Hauspost: picked up here
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    # Personal data (purged after the retention period)
    sender: Mapped[str | None] = mapped_column(String(200))
    recipient_name: Mapped[str | None] = mapped_column(String(200))
    file_number: Mapped[str | None] = mapped_column(String(64))  # Aktenzeichen
    delivery_date: Mapped[date | None] = mapped_column(Date)  # PZU: date of service (starts deadlines)
    remarks: Mapped[str | None] = mapped_column(Text)
    tour_stop_id: Mapped[int | None] = mapped_column(ForeignKey("tour_stops.id"), index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    personal_data_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # How the item was logged: scan (scan station), manual (no barcode), upload (envelope scan), api.
    received_via: Mapped[str | None] = mapped_column(String(16))
    # Uploaded scan of the envelope or label the item was logged from (storage kind "uploads").
    envelope_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    envelope_media_type: Mapped[str | None] = mapped_column(String(64))

    org_unit: Mapped[OrgUnit | None] = relationship()
    site: Mapped[Site | None] = relationship(foreign_keys=[site_id])
    origin_site: Mapped[Site | None] = relationship(foreign_keys=[origin_site_id])
    events: Mapped[list[MailEvent]] = relationship(
        back_populates="item", order_by="MailEvent.id", cascade="save-update"
    )
    scans: Mapped[list[ContentScan]] = relationship(back_populates="item", order_by="ContentScan.id")

    @property
    def needs_details(self) -> bool:
        return self.kind is None or self.site_id is None

    @property
    def is_registered(self) -> bool:
        return self.kind is not None and ItemKind(self.kind).is_registered

    def __repr__(self) -> str:
        return f"<MailItem {self.code} {self.status}>"


class MailEvent(db.Model):
    """One step in an item's chain of custody. Append-only: never updated, never deleted."""

    __tablename__ = "mail_events"
    __append_only__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("mail_items.id"), index=True)
    kind: Mapped[EventKind] = mapped_column(StrEnumColumn(EventKind))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)  # when it happened (phone time)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)  # when the server got it
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    tour_id: Mapped[int | None] = mapped_column(ForeignKey("tours.id"))
    note: Mapped[str | None] = mapped_column(String(500))
    data: Mapped[dict | None] = mapped_column(JSON)
    # Set by the courier's phone: the same queued action sent twice is stored once.
    client_action_id: Mapped[str | None] = mapped_column(String(64), unique=True)

    item: Mapped[MailItem] = relationship(back_populates="events")
    proof: Mapped[HandoverProof | None] = relationship(back_populates="event", uselist=False)


class HandoverProof(db.Model):
    """Receiver and signature of a hand-over: personal data, kept apart so it can be purged
    without touching the append-only event it belongs to."""

    __tablename__ = "handover_proofs"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("mail_events.id"), unique=True)
    receiver_name: Mapped[str] = mapped_column(String(200))
    signature_sha256: Mapped[str | None] = mapped_column(String(64))  # file in instance/signatures
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    event: Mapped[MailEvent] = relationship(back_populates="proof")


class ScanDecision(StrEnum):
    REPLACE = "replace"  # ersetzendes Scannen: the scan replaces the paper
    COPY = "copy"  # the paper stays the original

    @property
    def label(self) -> str:
        return {"replace": "Ersetzt Papier", "copy": "Nur Kopie"}[self.value]


class ContentScan(db.Model):
    """A scan of an opened letter; the file lives under instance/scans/ named by its hash."""

    __tablename__ = "content_scans"
    __table_args__ = (UniqueConstraint("item_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("mail_items.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    media_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    original_name: Mapped[str] = mapped_column(String(255), default="")
    decision: Mapped[ScanDecision] = mapped_column(StrEnumColumn(ScanDecision), default=ScanDecision.COPY)
    checked_against_original: Mapped[bool] = mapped_column(Boolean, default=False)
    paper_destroy_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    item: Mapped[MailItem] = relationship(back_populates="scans")


class PurgeLog(db.Model):
    """What the retention purge deleted (GDPR): category, object, when. Never personal data itself."""

    __tablename__ = "purge_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    category: Mapped[str] = mapped_column(String(32))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(String(255), default="")

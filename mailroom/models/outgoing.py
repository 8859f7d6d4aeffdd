"""Outgoing mail (Postausgang): carrier products and dated tariffs, franking sessions and imports with
their lines per cost centre, tracked single items (Einschreiben, PZU, parcels), budgets, import mappings.

Money is integer cents everywhere. A line stores the postage it was charged, so reports of past months
never change when a tariff changes."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mailroom.extensions import db
from mailroom.models.base import StrEnumColumn, UTCDateTime, utcnow
from mailroom.models.org import OrgUnit


class CountSource(StrEnum):
    MANUAL = "manual"
    FRANKING_LOG = "franking_log"  # imported from the franking machine's log


class ProductKind(StrEnum):
    LETTER = "letter"
    ADDON = "addon"  # priced per piece on top of a letter (Einschreiben variants, Eigenhändig, Prio)
    PARCEL = "parcel"
    SERVICE = "service"  # a letter product with its own fee, e.g. the PZU (Postzustellungsauftrag)


class CarrierProduct(db.Model):
    """What a carrier sells: a key used in imports (``standardbrief``), a German name, a weight limit."""

    __tablename__ = "carrier_products"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    carrier: Mapped[str] = mapped_column(String(32), default="Deutsche Post")
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[ProductKind] = mapped_column(StrEnumColumn(ProductKind), default=ProductKind.LETTER)
    max_weight_g: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)  # order on forms and in reports


class Tariff(db.Model):
    """Price of a carrier product from a date on (e.g. Standardbrief from 2025-01-01: 95 cents).

    A new price list adds rows with a later `valid_from`; old rows are never changed. `price_cents` None
    means the product is no longer offered from that day on (e.g. Eigenhändig from 2025)."""

    __tablename__ = "tariffs"
    __table_args__ = (UniqueConstraint("carrier", "product", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier: Mapped[str] = mapped_column(String(32), default="Deutsche Post")
    product: Mapped[str] = mapped_column(String(64), index=True)  # CarrierProduct.key
    max_weight_g: Mapped[int | None] = mapped_column(Integer)
    price_cents: Mapped[int | None] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date, index=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class FrankingBatch(db.Model):
    """One franking session entered by hand, or one imported franking-machine file."""

    __tablename__ = "franking_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[CountSource] = mapped_column(String(16), default=CountSource.MANUAL)
    file_name: Mapped[str | None] = mapped_column(String(255))
    file_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)  # a file is imported once
    mapping: Mapped[str | None] = mapped_column(String(64))
    lines: Mapped[int] = mapped_column(Integer, default=0)
    pieces: Mapped[int] = mapped_column(Integer, default=0)
    postage_cents: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class LetterCount(db.Model):
    """Letters sent for one cost centre on one day in one product (from the franking machine or by hand)."""

    __tablename__ = "letter_counts"
    __table_args__ = (Index("ix_letter_counts_day_cost_centre", "service_date", "cost_centre"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("franking_batches.id"), index=True)
    service_date: Mapped[date] = mapped_column(Date, index=True)
    service_time: Mapped[time | None] = mapped_column(Time)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    cost_centre: Mapped[str] = mapped_column(String(16), index=True)  # as charged that day
    product: Mapped[str] = mapped_column(String(64))
    add_on: Mapped[str | None] = mapped_column(String(64))
    weight_g: Mapped[int | None] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    postage_cents: Mapped[int] = mapped_column(Integer)  # what was charged (file) or count x tariff (form)
    tariff_cents: Mapped[int | None] = mapped_column(Integer)  # count x tariff of that day, for deviations
    source: Mapped[CountSource] = mapped_column(String(16), default=CountSource.MANUAL)
    import_ref: Mapped[str | None] = mapped_column(String(128))  # franking log file + line, for idempotent imports
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    org_unit: Mapped[OrgUnit] = relationship()


class TrackedKind(StrEnum):
    EINSCHREIBEN = "einschreiben"
    PZU = "pzu"

    @property
    def label(self) -> str:
        return {"einschreiben": "Einschreiben", "pzu": "PZU"}[self.value]


class TrackedItem(db.Model):
    """An outgoing Einschreiben (S10 number) or PZU, recorded one by one for the file (Akte)."""

    __tablename__ = "outgoing_tracked_items"
    __table_args__ = (Index("ix_outgoing_tracked_day_cost_centre", "posting_date", "cost_centre"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[TrackedKind] = mapped_column(StrEnumColumn(TrackedKind), index=True)
    posting_date: Mapped[date] = mapped_column(Date, index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    cost_centre: Mapped[str] = mapped_column(String(16), index=True)
    carrier: Mapped[str] = mapped_column(String(32), default="Deutsche Post")
    product: Mapped[str] = mapped_column(String(64))  # the letter product (or "pzu")
    add_on: Mapped[str | None] = mapped_column(String(64))  # Einschreiben variant
    code: Mapped[str | None] = mapped_column(String(32), index=True)  # S10 number (PZU: optional)
    recipient: Mapped[str] = mapped_column(String(200))  # personal data: retention applies
    file_number: Mapped[str] = mapped_column(String(64), default="")  # Aktenzeichen
    postage_cents: Mapped[int] = mapped_column(Integer, default=0)
    # False when the piece also went through the franking machine (its postage is in that session).
    billed: Mapped[bool] = mapped_column(Boolean, default=True)
    served_on: Mapped[date | None] = mapped_column(Date)  # PZU: date of service from the certificate
    certificate_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    org_unit: Mapped[OrgUnit] = relationship()


class OutgoingParcel(db.Model):
    __tablename__ = "outgoing_parcels"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_date: Mapped[date] = mapped_column(Date, index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    cost_centre: Mapped[str] = mapped_column(String(16), index=True)
    carrier: Mapped[str] = mapped_column(String(32))
    product: Mapped[str] = mapped_column(String(64), default="")  # weight band, e.g. paket_5kg
    tracking_number: Mapped[str] = mapped_column(String(64), index=True)
    weight_g: Mapped[int] = mapped_column(Integer)
    postage_cents: Mapped[int] = mapped_column(Integer)
    recipient: Mapped[str | None] = mapped_column(String(200))  # personal data: retention applies
    recipient_address: Mapped[str] = mapped_column(String(300), default="")  # personal data too
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    org_unit: Mapped[OrgUnit] = relationship()


class Budget(db.Model):
    """A postage budget of one cost centre for a year (`month` None) or one month, with a warning threshold."""

    __tablename__ = "postage_budgets"
    __table_args__ = (UniqueConstraint("cost_centre", "year", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cost_centre: Mapped[str] = mapped_column(String(16), index=True)
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int | None] = mapped_column(Integer)
    amount_cents: Mapped[int] = mapped_column(Integer)
    warn_percent: Mapped[int] = mapped_column(Integer, default=80)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ImportMapping(db.Model):
    """A column mapping for franking-machine logs whose layout is not our documented format."""

    __tablename__ = "franking_import_mappings"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    config: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

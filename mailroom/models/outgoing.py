"""Outgoing mail (Postausgang): dated tariffs, letter counts per cost centre, parcels.

Shaped now so that the postage and cost-centre reports can grow on it; the services come later."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mailroom.extensions import db
from mailroom.models.base import UTCDateTime, utcnow
from mailroom.models.org import OrgUnit


class CountSource(StrEnum):
    MANUAL = "manual"
    FRANKING_LOG = "franking_log"  # imported from the franking machine's log


class Tariff(db.Model):
    """Price of a carrier product from a date on (e.g. Standardbrief <= 20 g from 2025-01-01)."""

    __tablename__ = "tariffs"
    __table_args__ = (UniqueConstraint("carrier", "product", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier: Mapped[str] = mapped_column(String(32), default="Deutsche Post")
    product: Mapped[str] = mapped_column(String(64))  # standardbrief, kompaktbrief, grossbrief, maxibrief, ...
    max_weight_g: Mapped[int | None] = mapped_column(Integer)
    price_cents: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date, index=True)


class LetterCount(db.Model):
    """Letters sent for one cost centre on one day in one product (from the franking machine or by hand)."""

    __tablename__ = "letter_counts"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_date: Mapped[date] = mapped_column(Date, index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    cost_centre: Mapped[str] = mapped_column(String(16), index=True)  # as charged that day
    product: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer)
    postage_cents: Mapped[int] = mapped_column(Integer)  # count x tariff valid that day
    source: Mapped[CountSource] = mapped_column(String(16), default=CountSource.MANUAL)
    import_ref: Mapped[str | None] = mapped_column(String(128))  # franking log file + line, for idempotent imports
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
    tracking_number: Mapped[str] = mapped_column(String(64), index=True)
    weight_g: Mapped[int] = mapped_column(Integer)
    postage_cents: Mapped[int] = mapped_column(Integer)
    recipient: Mapped[str | None] = mapped_column(String(200))  # personal data: retention applies
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    org_unit: Mapped[OrgUnit] = relationship()

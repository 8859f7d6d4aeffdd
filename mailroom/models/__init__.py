"""All models, imported here so that Alembic and the app see every table."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from mailroom.models.auth import ROLE_LABELS, ApiToken, LoginSession, Role, User
from mailroom.models.base import StrEnumColumn, UTCDateTime, utcnow
from mailroom.models.courier import CourierAction
from mailroom.models.dispatch import (
    AdhocStop,
    PlanRun,
    PlanRunKind,
    PlanRunStatus,
    StopStatus,
    StopTemplate,
    StopTemplateEntry,
    Tour,
    TourStatus,
    TourStop,
)
from mailroom.models.fleet import (
    ChargeLocation,
    ChargingSession,
    GridFactor,
    OdometerReading,
    ReadingKind,
    TripPurpose,
    VanDay,
    Vehicle,
    WorkshopPeriod,
)
from mailroom.models.mail import (
    REGISTERED_KINDS,
    ContentScan,
    EventKind,
    HandoverProof,
    IncomingCounter,
    ItemKind,
    ItemStatus,
    MailEvent,
    MailItem,
    PurgeLog,
    ScanDecision,
)
from mailroom.models.ops import AuditEntry, IdempotencyKey
from mailroom.models.org import OrgUnit, Site
from mailroom.models.outbox import OutboxMessage, OutboxStatus
from mailroom.models.outgoing import CountSource, LetterCount, OutgoingParcel, Tariff


class AppendOnlyViolation(RuntimeError):
    """Raised when code tries to change or delete a row of an append-only log."""


def _columns_changed(obj) -> bool:
    """True if a stored column of `obj` changed; a relationship set from the other side (a proof
    attached to an event) does not change the event's row."""
    state = sa_inspect(obj)
    return any(state.attrs[column.key].history.has_changes() for column in state.mapper.column_attrs)


@event.listens_for(Session, "before_flush")
def _guard_append_only(session: Session, flush_context, instances) -> None:
    for obj in session.deleted:
        if getattr(type(obj), "__append_only__", False):
            raise AppendOnlyViolation(f"{type(obj).__name__} rows are append-only: never deleted")
    for obj in session.dirty:
        if getattr(type(obj), "__append_only__", False) and _columns_changed(obj):
            raise AppendOnlyViolation(f"{type(obj).__name__} rows are append-only: corrections are new entries")


__all__ = [
    "REGISTERED_KINDS",
    "ROLE_LABELS",
    "AdhocStop",
    "ApiToken",
    "AppendOnlyViolation",
    "AuditEntry",
    "ChargeLocation",
    "ChargingSession",
    "ContentScan",
    "CountSource",
    "CourierAction",
    "EventKind",
    "GridFactor",
    "HandoverProof",
    "IdempotencyKey",
    "IncomingCounter",
    "ItemKind",
    "ItemStatus",
    "LetterCount",
    "LoginSession",
    "MailEvent",
    "MailItem",
    "OdometerReading",
    "OrgUnit",
    "OutboxMessage",
    "OutboxStatus",
    "OutgoingParcel",
    "PlanRun",
    "PlanRunKind",
    "PlanRunStatus",
    "PurgeLog",
    "ReadingKind",
    "Role",
    "ScanDecision",
    "Site",
    "StopStatus",
    "StopTemplate",
    "StopTemplateEntry",
    "StrEnumColumn",
    "Tariff",
    "Tour",
    "TourStatus",
    "TourStop",
    "TripPurpose",
    "UTCDateTime",
    "User",
    "VanDay",
    "Vehicle",
    "WorkshopPeriod",
    "utcnow",
]

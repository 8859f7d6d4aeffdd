"""All models, imported here so that Alembic and the app see every table."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from mailroom.models.auth import ROLE_LABELS, ApiToken, Role, User
from mailroom.models.base import UTCDateTime, utcnow
from mailroom.models.dispatch import (
    AdhocStop,
    PlanRun,
    StopStatus,
    StopTemplate,
    StopTemplateEntry,
    Tour,
    TourStatus,
    TourStop,
)
from mailroom.models.fleet import OdometerReading, ReadingKind, Vehicle
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
from mailroom.models.org import OrgUnit, Site
from mailroom.models.outgoing import CountSource, LetterCount, OutgoingParcel, Tariff


class AppendOnlyViolation(RuntimeError):
    """Raised when code tries to change or delete a row of an append-only log."""


@event.listens_for(Session, "before_flush")
def _guard_append_only(session: Session, flush_context, instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if getattr(type(obj), "__append_only__", False) and (
            obj in session.deleted or session.is_modified(obj, include_collections=False)
        ):
            raise AppendOnlyViolation(f"{type(obj).__name__} rows are append-only")


__all__ = [
    "REGISTERED_KINDS",
    "ROLE_LABELS",
    "AdhocStop",
    "ApiToken",
    "AppendOnlyViolation",
    "ContentScan",
    "CountSource",
    "EventKind",
    "HandoverProof",
    "IncomingCounter",
    "ItemKind",
    "ItemStatus",
    "LetterCount",
    "MailEvent",
    "MailItem",
    "OdometerReading",
    "OrgUnit",
    "OutgoingParcel",
    "PlanRun",
    "PurgeLog",
    "ReadingKind",
    "Role",
    "ScanDecision",
    "Site",
    "StopStatus",
    "StopTemplate",
    "StopTemplateEntry",
    "Tariff",
    "Tour",
    "TourStatus",
    "TourStop",
    "UTCDateTime",
    "User",
    "Vehicle",
    "utcnow",
]

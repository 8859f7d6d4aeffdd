"""An item's details (kind, org unit, sender, ...) and the work list of items missing some."""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from mailroom.errors import InvalidTransition, ValidationFailed
from mailroom.extensions import db
from mailroom.models import (
    EventKind,
    ItemStatus,
    MailEvent,
    MailItem,
    User,
)
from mailroom.services import custody, dates
from mailroom.services.clock import local_today
from mailroom.services.intake.common import DETAIL_FIELDS, FIELD_LABELS, PERSONAL_FIELDS, TEXT_LIMITS, local_time
from mailroom.services.intake.log import notify_if_registered
from mailroom.services.intake.lookups import parse_kind, resolve_org_unit

# --- details ---------------------------------------------------------------------------------------


def _text(name: str, value) -> str | None:
    text = " ".join(str(value).split()) if name != "remarks" else str(value).strip()
    if not text:
        return None
    limit = TEXT_LIMITS[name]
    if len(text) > limit:
        raise ValidationFailed(f"{FIELD_LABELS[name]}: höchstens {limit} Zeichen.", code="too_long")
    return text


def _date(value) -> date | None:
    day = dates.parse_optional_day(value if isinstance(value, date) else str(value or ""), what="Zustelldatum")
    if day is None:
        return None
    if day > local_today():
        raise ValidationFailed("Das Zustelldatum darf nicht in der Zukunft liegen.")
    return day


def _bool(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "on", "yes", "ja"}


def set_details(item: MailItem, changes: dict, *, user: User | None) -> MailEvent | None:
    """Set or change details; only the keys given in `changes` are touched (see DETAIL_FIELDS).

    Everything is validated before anything changes; one DETAILS event records which fields changed
    (values only for non-personal fields). Returns the event, or None when nothing changed."""
    unknown = set(changes) - set(DETAIL_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unbekannte Angabe: {', '.join(sorted(unknown))}.")
    status = ItemStatus(item.status)
    new: dict = {}
    if "kind" in changes:
        new["kind"] = parse_kind(changes["kind"])
    if "org_unit" in changes:
        new["org_unit"] = resolve_org_unit(changes["org_unit"])
    for name in ("sender", "recipient_name", "file_number", "remarks"):
        if name in changes and changes[name] is not None:
            new[name] = _text(name, changes[name])
    if "delivery_date" in changes:
        new["delivery_date"] = _date(changes["delivery_date"])
    if "confidential" in changes:
        new["confidential"] = _bool(changes["confidential"])
    unit_after = new.get("org_unit", item.org_unit)
    if unit_after is not None and unit_after.do_not_open:
        # Mail for a unit that receives it unopened stays confidential, whatever the form says.
        new["confidential"] = True

    changed: dict = {}
    for name, value in new.items():
        if name == "org_unit":
            differs = item.org_unit_id != (value.id if value else None)
        elif name == "confidential":
            differs = bool(item.confidential) != value
        else:
            differs = (getattr(item, name) or None) != (value or None)
        if differs:
            changed[name] = value
    if not changed:
        return None
    if status in custody.FINAL_STATUSES and ("kind" in changed or "org_unit" in changed):
        raise InvalidTransition(
            f"Sendung {item.code} ist abgeschlossen ({status.label}): Sendungsart und Fachdienst "
            "sind nicht mehr änderbar."
        )
    if "org_unit" in changed and status != ItemStatus.RECEIVED:
        raise InvalidTransition(
            f"Sendung {item.code} ist bereits {status.label.lower()}: der Fachdienst ist nur vor dem Sortieren "
            "änderbar. Bitte auf der Sortierseite in das richtige Fach umsortieren."
        )
    data: dict = {"changed": sorted(changed)}
    for name, value in changed.items():
        if name == "org_unit":
            item.org_unit = value
            item.org_unit_id = value.id if value else None
            item.site_id = value.site_id if value else None
            data["org_unit"] = value.short_name if value else None
        else:
            setattr(item, name, value)
            if name not in PERSONAL_FIELDS:
                data[name] = value.isoformat() if isinstance(value, date) else (str(value) if value else value)
    if "kind" in changed and item.is_registered and item.delivery_date is None and "delivery_date" not in changes:
        item.delivery_date = local_time(item.received_at).date()
        data["delivery_date"] = item.delivery_date.isoformat()
    event = custody.record_event(item, EventKind.DETAILS, user=user, data=data)
    if "kind" in changed or "org_unit" in changed:
        notify_if_registered(item, user=user)
    return event


# --- work list ----------------------------------------------------------------------------------------


def worklist(limit: int = 300) -> list[MailItem]:
    """Items received but still missing their kind or recipient, oldest first."""
    return list(
        db.session.scalars(
            select(MailItem)
            .where(MailItem.status == ItemStatus.RECEIVED, or_(MailItem.kind.is_(None), MailItem.site_id.is_(None)))
            .options(selectinload(MailItem.org_unit))
            .order_by(MailItem.received_at, MailItem.id)
            .limit(limit)
        )
    )


def logged_today(limit: int = 50) -> list[MailItem]:
    """The latest items logged today (for the scan station after a reload), newest first; wrong scans undone
    (voided) are left out."""
    from mailroom.services.clock import day_bounds_utc

    start, end = day_bounds_utc(local_today())
    return list(
        db.session.scalars(
            select(MailItem)
            .where(MailItem.received_at >= start, MailItem.received_at < end, MailItem.status != ItemStatus.VOIDED)
            .options(selectinload(MailItem.org_unit))
            .order_by(MailItem.received_at.desc(), MailItem.id.desc())
            .limit(limit)
        )
    )

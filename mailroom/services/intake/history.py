"""An item's history (the custody chain) and the JSON the pages and the API show."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.util import identity_key

from mailroom.extensions import db
from mailroom.models import (
    EventKind,
    HandoverProof,
    ItemKind,
    ItemStatus,
    MailEvent,
    MailItem,
    Site,
    Tour,
    User,
)
from mailroom.models.mail import ITEM_KIND_LABELS, ITEM_STATUS_LABELS
from mailroom.services.intake.common import FIELD_LABELS, PERSONAL_FIELDS, local_time
from mailroom.services.intake.lookups import org_unit_label

# --- history and JSON ----------------------------------------------------------------------------------


@dataclass
class HistoryRow:
    event: MailEvent
    at: datetime
    label: str
    status_label: str | None
    who: str
    where: str
    receiver: str | None
    signed: bool
    note: str | None
    details: list[str] = field(default_factory=list)


def _users(user_ids: set[int]) -> dict[int, User]:
    """The users by id: those this session holds already (the request's own user) without a query."""
    users: dict[int, User] = {}
    for user_id in user_ids:
        known = db.session.identity_map.get(identity_key(User, user_id))
        if isinstance(known, User) and {"username", "full_name"} <= known.__dict__.keys():  # loaded, not expired
            users[user_id] = known
    missing = user_ids - users.keys()
    if missing:
        users.update({u.id: u for u in db.session.scalars(select(User).where(User.id.in_(missing)))})
    return users


def history(item: MailItem, *, new_item: bool = False) -> list[HistoryRow]:
    """The item's custody log with names (who, where, receiver), oldest first; one query for the events
    and their proofs, one each for the users, sites and tours they name (none for users already loaded).
    `new_item`: the item was created in this transaction, so all its events are in memory (`item.events`,
    filled as they were recorded, with a proof only if one was made with them): no query for them."""
    if new_item:
        events = sorted(item.events, key=lambda event: (event.at, event.id))
    else:
        events = list(
            db.session.scalars(
                select(MailEvent)
                .where(MailEvent.item_id == item.id)
                .options(joinedload(MailEvent.proof))
                .order_by(MailEvent.at, MailEvent.id)
            )
        )
    user_ids = {e.user_id for e in events if e.user_id}
    site_ids = {e.site_id for e in events if e.site_id}
    users = _users(user_ids)
    sites = {s.id: s for s in db.session.scalars(select(Site).where(Site.id.in_(site_ids)))} if site_ids else {}
    tour_ids = {e.tour_id for e in events if e.tour_id}
    tours = (
        {
            t.id: t
            for t in db.session.scalars(select(Tour).where(Tour.id.in_(tour_ids)).options(selectinload(Tour.vehicle)))
        }
        if tour_ids
        else {}
    )
    rows = []
    for event in events:
        kind = EventKind(event.kind)
        site = sites.get(event.site_id) if event.site_id is not None else None
        if site is not None:
            where = f"{site.name} ({site.code})"
        elif kind == EventKind.RECEIVED:
            where = "Zentrale Poststelle"
        else:
            where = ""
        if event.tour_id:
            tour = tours.get(event.tour_id)
            tour_name = tour.display_name if tour is not None else "Tour"
            where = f"{where}, {tour_name}" if where else tour_name
        user = users.get(event.user_id) if event.user_id is not None else None
        # A new item's events: a proof made with its event is in memory, else there is none (no lazy load).
        proof: HandoverProof | None = vars(event).get("proof") if new_item else event.proof
        status_label = None
        if event.to_status and event.from_status != event.to_status:
            status_label = ITEM_STATUS_LABELS.get(ItemStatus(event.to_status))
        if status_label == kind.label:  # "Sortiert → Sortiert", "Zugestellt → Zugestellt": said once
            status_label = None
        rows.append(
            HistoryRow(
                event=event,
                at=event.at,
                label=kind.label,
                status_label=status_label,
                who=user.display_name if user else "",
                where=where,
                receiver=proof.receiver_name if proof else None,
                signed=bool(proof and proof.signature_sha256),
                note=event.note,
                details=_detail_lines(event),
            )
        )
    return rows


def _detail_lines(event: MailEvent) -> list[str]:
    data = event.data or {}
    if EventKind(event.kind) != EventKind.DETAILS:
        return []
    lines = []
    for name in data.get("changed", []):
        label = FIELD_LABELS.get(name, name)
        if name in PERSONAL_FIELDS or name not in data:
            lines.append(label)
        elif name == "kind":
            lines.append(f"{label}: {ITEM_KIND_LABELS[ItemKind(data[name])] if data[name] else '–'}")
        elif name == "confidential":
            lines.append(f"{label}: {'ja' if data[name] else 'nein'}")
        elif name == "delivery_date" and data[name]:
            lines.append(f"{label}: {date.fromisoformat(data[name]):%d.%m.%Y}")
        else:
            lines.append(f"{label}: {data[name] or '–'}")
    return lines


def item_to_json(item: MailItem) -> dict:
    unit = item.org_unit
    return {
        "id": item.id,
        "code": item.code,
        "carrier_code": item.carrier_code,
        "carrier_format": item.carrier_format,
        "check_digit_valid": item.check_digit_valid,
        "incoming_number": item.incoming_number,
        "received_at": item.received_at.isoformat() if item.received_at else None,
        "received_local": local_time(item.received_at).strftime("%d.%m.%Y %H:%M:%S") if item.received_at else None,
        "kind": item.kind,
        "kind_label": ITEM_KIND_LABELS[ItemKind(item.kind)] if item.kind else None,
        "status": item.status,
        "status_label": ITEM_STATUS_LABELS[ItemStatus(item.status)],
        "org_unit": org_unit_label(unit) if unit else None,
        "org_unit_short": unit.short_name if unit else None,
        "site_code": unit.site.code if unit and unit.site else None,
        "confidential": bool(item.confidential),
        "registered": item.is_registered,
        "needs_details": item.needs_details,
        "file_number": item.file_number,
        "delivery_date": item.delivery_date.isoformat() if item.delivery_date else None,
    }


def event_to_json(row: HistoryRow) -> dict:
    event = row.event
    return {
        "id": event.id,
        "kind": event.kind,
        "label": row.label,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "at": event.at.isoformat(),
        "recorded_at": event.recorded_at.isoformat() if event.recorded_at else None,
        "user": row.who or None,
        "where": row.where or None,
        "tour_id": event.tour_id,
        "note": event.note,
        "receiver_name": row.receiver,
        "signed": row.signed,
        "details": row.details,
    }

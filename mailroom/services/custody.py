"""The chain of custody: every status change of an item is one append-only MailEvent.

Allowed steps: received -> sorted -> loaded -> delivered; sorted -> delivered (collected at the mail
room's counter); loaded -> sorted (unloaded, stop skipped);
received/sorted -> returned or forwarded (Irrläufer). Delivered, returned and forwarded are final.
Registered items and PZUs need a receiver's name and a signature at delivery.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from mailroom.errors import InvalidTransition, ValidationFailed
from mailroom.extensions import db
from mailroom.models import (
    EventKind,
    HandoverProof,
    ItemStatus,
    MailEvent,
    MailItem,
    Site,
    Tour,
    User,
    utcnow,
)

# (from status, event kind) -> to status
TRANSITIONS: dict[tuple[ItemStatus, EventKind], ItemStatus] = {
    (ItemStatus.RECEIVED, EventKind.SORTED): ItemStatus.SORTED,
    (ItemStatus.SORTED, EventKind.SORTED): ItemStatus.SORTED,  # moved to another box
    (ItemStatus.SORTED, EventKind.LOADED): ItemStatus.LOADED,
    (ItemStatus.LOADED, EventKind.UNLOADED): ItemStatus.SORTED,
    (ItemStatus.LOADED, EventKind.DELIVERED): ItemStatus.DELIVERED,
    # Units in the mail room's own building collect their mail at the counter (no tour).
    (ItemStatus.SORTED, EventKind.DELIVERED): ItemStatus.DELIVERED,
    (ItemStatus.RECEIVED, EventKind.RETURNED): ItemStatus.RETURNED,
    (ItemStatus.SORTED, EventKind.RETURNED): ItemStatus.RETURNED,
    (ItemStatus.RECEIVED, EventKind.FORWARDED): ItemStatus.FORWARDED,
    (ItemStatus.SORTED, EventKind.FORWARDED): ItemStatus.FORWARDED,
    # A wrong scan undone at the scan station shortly after (mailroom.services.intake.void_scan).
    (ItemStatus.RECEIVED, EventKind.VOIDED): ItemStatus.VOIDED,
}

FINAL_STATUSES = frozenset({ItemStatus.DELIVERED, ItemStatus.RETURNED, ItemStatus.FORWARDED, ItemStatus.VOIDED})

_REFUSALS = {
    ItemStatus.DELIVERED: "Die Sendung {code} wurde bereits zugestellt.",
    ItemStatus.RETURNED: "Die Sendung {code} wurde bereits zurückgesandt.",
    ItemStatus.FORWARDED: "Die Sendung {code} wurde bereits weitergeleitet.",
    ItemStatus.VOIDED: "Die Sendung {code} wurde als Fehlscan storniert.",
}


def find_event_by_client_action(client_action_id: str | None) -> MailEvent | None:
    if not client_action_id:
        return None
    return db.session.scalar(select(MailEvent).where(MailEvent.client_action_id == client_action_id))


def record_event(
    item: MailItem,
    kind: EventKind,
    *,
    user: User | None,
    at: datetime | None = None,
    site: Site | None = None,
    tour: Tour | None = None,
    note: str | None = None,
    data: dict | None = None,
    client_action_id: str | None = None,
) -> MailEvent:
    """Append an event; for status-changing kinds, check and apply the transition.

    The same `client_action_id` sent again (a phone retrying a queued action) returns the event
    stored the first time instead of a second one."""
    existing = find_event_by_client_action(client_action_id)
    if existing is not None:
        return existing
    if item.status is None:  # a new item, not flushed yet: the column default is not applied
        item.status = ItemStatus.RECEIVED
    from_status: ItemStatus | None = ItemStatus(item.status)
    to_status = ItemStatus(item.status)
    if kind in STATUS_EVENTS:
        to_status = _check_transition(item, to_status, kind)
    elif kind == EventKind.RECEIVED:
        from_status = None
    event = MailEvent(
        item=item,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        at=at or utcnow(),
        user_id=user.id if user else None,
        site_id=site.id if site else None,
        tour_id=tour.id if tour else None,
        note=note,
        data=data,
        client_action_id=client_action_id,
    )
    db.session.add(event)
    item.status = to_status
    db.session.flush()
    return event


STATUS_EVENTS = frozenset(
    {
        EventKind.SORTED,
        EventKind.LOADED,
        EventKind.UNLOADED,
        EventKind.DELIVERED,
        EventKind.RETURNED,
        EventKind.FORWARDED,
        EventKind.VOIDED,
    }
)


def _check_transition(item: MailItem, from_status: ItemStatus, kind: EventKind) -> ItemStatus:
    to_status = TRANSITIONS.get((from_status, kind))
    if to_status is not None:
        return to_status
    if from_status in _REFUSALS:
        raise InvalidTransition(_REFUSALS[from_status].format(code=item.code))
    raise InvalidTransition(
        f"Sendung {item.code}: „{EventKind(kind).label}“ ist im Status „{from_status.label}“ nicht möglich."
    )


def sort_item(item: MailItem, *, user: User | None, site: Site | None = None, at: datetime | None = None) -> MailEvent:
    """Put an item into the box of its destination site (or of `site`)."""
    if item.status is not None:
        _check_transition(item, ItemStatus(item.status), EventKind.SORTED)  # a voided item: say so first
    target = site or item.site
    if target is None:
        raise ValidationFailed(f"Sendung {item.code}: Empfänger (Fachdienst/Standort) fehlt, bitte zuerst ergänzen.")
    if item.kind is None:
        raise ValidationFailed(f"Sendung {item.code}: Sendungsart fehlt, bitte zuerst ergänzen.")
    item.site_id = target.id
    return record_event(item, EventKind.SORTED, user=user, site=target, at=at)


def deliver_item(
    item: MailItem,
    *,
    user: User | None,
    receiver_name: str | None,
    signature_sha256: str | None,
    at: datetime | None = None,
    site: Site | None = None,
    tour: Tour | None = None,
    client_action_id: str | None = None,
    note: str | None = None,
) -> MailEvent:
    """Hand an item over at its site. Registered items and PZUs require receiver and signature.
    The signature image is stored beforehand (services.storage) and referenced by its hash."""
    existing = find_event_by_client_action(client_action_id)
    if existing is not None:
        return existing
    receiver_name = (receiver_name or "").strip()
    if item.is_registered and not receiver_name:
        raise ValidationFailed(f"Sendung {item.code}: Für Einschreiben/PZU ist der Name des Empfängers Pflicht.")
    if item.is_registered and not signature_sha256:
        raise ValidationFailed(f"Sendung {item.code}: Für Einschreiben/PZU ist eine Unterschrift Pflicht.")
    event = record_event(
        item,
        EventKind.DELIVERED,
        user=user,
        at=at,
        site=site or item.site,
        tour=tour,
        note=note,
        client_action_id=client_action_id,
    )
    item.delivered_at = event.at  # tour_stop_id stays: it tells which stop delivered the item
    if receiver_name or signature_sha256:
        db.session.add(HandoverProof(event=event, receiver_name=receiver_name, signature_sha256=signature_sha256))
    db.session.flush()
    return event


def van_tour_id(item: MailItem) -> int | None:
    """The tour whose van holds a loaded item: the tour of its last loading or van-to-van transfer."""
    return db.session.scalar(
        select(MailEvent.tour_id)
        .where(MailEvent.item_id == item.id, MailEvent.kind.in_((EventKind.LOADED, EventKind.TRANSFERRED)))
        .order_by(MailEvent.at.desc(), MailEvent.id.desc())
        .limit(1)
    )


def history(item: MailItem) -> list[MailEvent]:
    return list(db.session.scalars(select(MailEvent).where(MailEvent.item_id == item.id).order_by(MailEvent.id)))


def repeated_step(item: MailItem, kind: EventKind, *, site: Site | None = None) -> MailEvent | None:
    """The event that already brought `item` where `kind` (into `site`'s box for SORTED) would bring it,
    or None. A device that sends a step twice (a retry, a double scan) gets that event back instead of
    a second one in the custody log; moving a sorted item into another box is a new step."""
    if kind not in STATUS_EVENTS or item.id is None:
        return None
    last = db.session.scalar(
        select(MailEvent)
        .where(MailEvent.item_id == item.id, MailEvent.kind.in_([k.value for k in STATUS_EVENTS]))
        .order_by(MailEvent.id.desc())
        .limit(1)
    )
    if last is None or EventKind(last.kind) != kind or ItemStatus(item.status) != ItemStatus(last.to_status):
        return None
    if kind == EventKind.SORTED:
        target = site or item.site
        if target is None or last.site_id != target.id:
            return None
    return last

"""Sorting items into the sites' boxes, moving and returning whole boxes, Irrläufer."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from labels import codes as carrier_codes
from mailroom.errors import InvalidTransition, NotFound, ValidationFailed
from mailroom.extensions import db
from mailroom.models import (
    EventKind,
    ItemStatus,
    MailEvent,
    MailItem,
    Site,
    User,
)
from mailroom.services import custody
from mailroom.services.intake.common import INFO, NOTE_MAX, OK, WARN
from mailroom.services.intake.history import item_to_json
from mailroom.services.intake.lookups import get_item_by_code, resolve_site

# --- sorting ----------------------------------------------------------------------------------------------


@dataclass
class SortResult:
    item: MailItem
    site: Site
    box_code: str
    level: str
    message: str
    moved: bool

    def to_json(self) -> dict:
        return {
            "level": self.level,
            "message": self.message,
            "box_code": self.box_code,
            "site": {"code": self.site.code, "name": self.site.name},
            "moved": self.moved,
            "item": item_to_json(self.item),
        }


def sort_scanned(value: str | None, *, user: User | None) -> SortResult:
    """Put the scanned item into the box of its destination site."""
    item = get_item_by_code(value)
    status = ItemStatus(item.status)
    if status == ItemStatus.SORTED and item.site is not None:
        box = carrier_codes.make_box_code(item.site.code)
        return SortResult(
            item, item.site, box, INFO, f"{item.incoming_number} liegt bereits im Fach {box}.", moved=False
        )
    if status == ItemStatus.VOIDED:
        raise InvalidTransition(
            f"{item.incoming_number} ({item.code}) wurde als Fehlscan storniert: in kein Fach legen.", code="voided"
        )
    custody.sort_item(item, user=user)
    site = item.site
    assert site is not None  # sort_item refuses an item without a destination
    box = carrier_codes.make_box_code(site.code)
    message = f"{item.incoming_number} → Fach {box} ({site.name})"
    level = OK
    if item.confidential:
        message += " – VERTRAULICH: verschlossen weitergeben"
        level = WARN
    return SortResult(item, site, box, level, message, moved=True)


def resolve_box(value: str | None) -> Site:
    site_code = carrier_codes.parse_box_code(value or "")
    if site_code is None:
        raise ValidationFailed(f"„{(value or '').strip()[:40]}“ ist kein Fach-Code (FACH-…).", code="not_a_box")
    site = db.session.scalar(select(Site).where(Site.code == site_code))
    if site is None:
        raise NotFound(f"Zum Fach {value} gibt es keinen Standort {site_code}.", code="unknown_box")
    return site


def box_items(site: Site) -> list[MailItem]:
    """The sorted items in a site's box."""
    return list(
        db.session.scalars(
            select(MailItem)
            .where(MailItem.status == ItemStatus.SORTED, MailItem.site_id == site.id)
            .options(selectinload(MailItem.org_unit))
            .order_by(MailItem.id)
        )
    )


def move_box(source: Site, target: Site, *, user: User | None) -> list[MailItem]:
    """Move every item in `source`'s box into `target`'s box (one SORTED event each)."""
    if source.id == target.id:
        raise ValidationFailed("Quell- und Zielfach sind dasselbe Fach.")
    if not target.active:
        raise ValidationFailed(f"Der Standort {target.code} ist nicht aktiv.")
    items = box_items(source)
    if not items:
        raise ValidationFailed(f"Das Fach {carrier_codes.make_box_code(source.code)} ist leer.", code="empty_box")
    for item in items:
        custody.sort_item(item, user=user, site=target)
    return items


def return_box(source: Site, *, user: User | None, note: str | None) -> list[MailItem]:
    """Send every item in `source`'s box back to its sender (one RETURNED event each)."""
    items = box_items(source)
    if not items:
        raise ValidationFailed(f"Das Fach {carrier_codes.make_box_code(source.code)} ist leer.", code="empty_box")
    note = _note(note, required=False)
    for item in items:
        custody.record_event(item, EventKind.RETURNED, user=user, site=source, note=note)
    return items


# --- Irrläufer ---------------------------------------------------------------------------------------------


def _note(note: str | None, *, required: bool, what: str = "Vermerk") -> str | None:
    text = " ".join((note or "").split())
    if required and not text:
        raise ValidationFailed(f"Bitte einen {what} angeben.", code="note_required")
    if len(text) > NOTE_MAX:
        raise ValidationFailed(f"Der {what} ist zu lang (höchstens {NOTE_MAX} Zeichen).")
    return text or None


def return_item(item: MailItem, *, user: User | None, note: str | None = None) -> MailEvent:
    """An Irrläufer (or refused item) goes back to its sender."""
    return custody.record_event(item, EventKind.RETURNED, user=user, note=_note(note, required=False))


def forward_item(item: MailItem, *, user: User | None, note: str | None) -> MailEvent:
    """An Irrläufer is passed on to the right addressee outside the administration: the note says to whom."""
    return custody.record_event(
        item, EventKind.FORWARDED, user=user, note=_note(note, required=True, what="Vermerk (an wen?)")
    )


API_EVENT_KINDS = {"sorted": EventKind.SORTED, "returned": EventKind.RETURNED, "forwarded": EventKind.FORWARDED}


def apply_event(item: MailItem, kind: str, *, user: User | None, note: str | None = None, site: str | None = None):
    """A custody step requested by a scanner device (API): sorted (optionally into `site`'s box),
    returned, forwarded."""
    event_kind = API_EVENT_KINDS.get((kind or "").strip().lower())
    if event_kind is None:
        raise ValidationFailed(
            f"Unbekannter Schritt „{str(kind)[:20]}“ (erlaubt: {', '.join(API_EVENT_KINDS)}).", code="unknown_event"
        )
    if event_kind == EventKind.SORTED:
        target = resolve_site(site) if site else None
        return custody.sort_item(item, user=user, site=target)
    if event_kind == EventKind.RETURNED:
        return return_item(item, user=user, note=note)
    return forward_item(item, user=user, note=note)

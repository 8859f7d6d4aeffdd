"""Finding items, org units, sites and item kinds from what people type or scan."""

from __future__ import annotations

from sqlalchemy import BindParameter, bindparam, or_, select
from sqlalchemy.orm import selectinload

from labels import codes as carrier_codes
from mailroom.errors import NotFound, ValidationFailed
from mailroom.extensions import db
from mailroom.models import (
    ItemKind,
    MailItem,
    OrgUnit,
    Site,
)
from mailroom.models.mail import ITEM_KIND_LABELS
from mailroom.services.intake.common import CODE_MAX
from mailroom.services.lookup import get_or_404, ilike_text
from mailroom.services.sql import prepared

# --- lookups ---------------------------------------------------------------------------------------


def normalise_code(value: str | None) -> str:
    """A scanned, typed or searched code in the form it is stored in."""
    text = carrier_codes.normalise(value or "")
    if not text:
        return ""
    info = carrier_codes.classify(text)
    return info.value or text


@prepared
def _item_by_code():
    code: BindParameter[str] = bindparam("code")
    return (
        select(MailItem)
        .where(or_(MailItem.code == code, MailItem.carrier_code == code, MailItem.incoming_number == code))
        .limit(1)
    )


def find_item(value: str | None) -> MailItem | None:
    """The item with this code, carrier code or incoming number (one indexed query)."""
    code = normalise_code(value)
    if not code or len(code) > CODE_MAX:
        return None
    return db.session.scalar(_item_by_code(), {"code": code})


def get_item(item_id: int) -> MailItem:
    return get_or_404(MailItem, item_id, "Diese Sendung gibt es nicht.")


def get_item_by_code(value: str | None) -> MailItem:
    item = find_item(value)
    if item is None:
        shown = (value or "").strip()[:CODE_MAX]
        raise NotFound(f"Keine Sendung mit dem Code „{shown}“ gefunden.", code="unknown_code")
    return item


def org_units() -> list[OrgUnit]:
    """Active org units for choosing a recipient, by short name."""
    return list(
        db.session.scalars(
            select(OrgUnit)
            .where(OrgUnit.active.is_(True))
            .options(selectinload(OrgUnit.site))
            .order_by(OrgUnit.short_name)
        )
    )


def org_unit_label(unit: OrgUnit) -> str:
    """How an org unit is shown and typed in a search field: ``FD20 – Fachdienst Finanzen``."""
    return f"{unit.short_name} – {unit.name}"


def resolve_org_unit(value: str | int | None) -> OrgUnit | None:
    """The org unit meant by an id, a short name, a name or ``short – name``; None for empty input."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    unit: OrgUnit | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        unit = db.session.get(OrgUnit, value)
        shown = str(value)
    else:
        text = " ".join(str(value).split())
        shown = text[:80]
        short = text.split(" – ", 1)[0].split(" - ", 1)[0].strip()
        unit = db.session.scalar(select(OrgUnit).where(OrgUnit.short_name == short))
        if unit is None:
            unit = db.session.scalar(select(OrgUnit).where(ilike_text(OrgUnit.short_name, short)))
        if unit is None:
            unit = db.session.scalar(select(OrgUnit).where(ilike_text(OrgUnit.name, text)))
    if unit is None or not unit.active:
        raise ValidationFailed(
            f"Unbekannter Fachdienst „{shown}“. Bitte einen Fachdienst aus der Liste wählen.", code="unknown_org_unit"
        )
    return unit


def parse_kind(value: str | ItemKind | None) -> ItemKind | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    try:
        return ItemKind(text.lower())
    except ValueError:
        pass
    for kind, label in ITEM_KIND_LABELS.items():
        if label.lower() == text.lower():
            return kind
    raise ValidationFailed(f"Unbekannte Sendungsart „{text[:40]}“.", code="unknown_kind")


def resolve_site(code: str | None) -> Site:
    text = (code or "").strip().upper()
    site = db.session.scalar(select(Site).where(Site.code == text)) if text else None
    if site is None or not site.active:
        raise NotFound(f"Unbekannter Standort „{text[:20]}“.", code="unknown_site")
    return site

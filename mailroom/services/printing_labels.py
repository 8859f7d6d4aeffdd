"""Our own item labels (Code 128 + QR of the item code) for items without a usable carrier barcode:
ORM items to `labels.model.ItemLabel`, the PDFs, and a LABEL_PRINTED event per printed item."""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from mailroom.errors import ValidationFailed
from mailroom.extensions import db
from mailroom.models import EventKind, ItemKind, ItemStatus, MailItem, User
from mailroom.services.clock import LOCAL_TZ, day_bounds_utc
from mailroom.services.custody import record_event

SHEET_POSITIONS = 24  # A4, 3 x 8
MAX_SHEET_LABELS = 24 * 20  # one print job: at most 20 sheets


def item_label(item: MailItem):
    from labels.model import ItemLabel

    if item.org_unit is not None:
        org_unit = f"{item.org_unit.short_name} {item.org_unit.name}"
    else:
        org_unit = "Empfänger noch offen"
    site = item.site or (item.org_unit.site if item.org_unit else None)
    return ItemLabel(
        code=item.code,
        incoming_number=item.incoming_number,
        received_at=item.received_at.astimezone(LOCAL_TZ),
        org_unit=org_unit,
        site_code=site.code if site else "",
        kind=ItemKind(item.kind).label if item.kind else "",
        confidential=bool(item.confidential),
    )


def print_item_label(item: MailItem, *, user: User | None) -> bytes:
    """The 62 mm roll label of one item; records LABEL_PRINTED. The caller commits."""
    from labels.label import item_label_pdf

    pdf = item_label_pdf(item_label(item))
    record_event(item, EventKind.LABEL_PRINTED, user=user, data={"format": "roll"})
    return pdf


def parse_skip(value: str | int | None) -> int:
    try:
        skip = int(value or 0)
    except (TypeError, ValueError):
        raise ValidationFailed("„Positionen überspringen“ muss eine Zahl von 0 bis 23 sein.") from None
    if not 0 <= skip < SHEET_POSITIONS:
        raise ValidationFailed("„Positionen überspringen“ muss eine Zahl von 0 bis 23 sein.")
    return skip


def print_label_sheet(items: list[MailItem], *, skip: int, user: User | None) -> bytes:
    """A4 sheets (3 x 8) for the items in the given order; records LABEL_PRINTED each. The caller commits."""
    from labels.sheets import label_sheet_pdf

    if not items:
        raise ValidationFailed("Bitte mindestens eine Sendung für die Etiketten auswählen.")
    if len(items) > MAX_SHEET_LABELS:
        raise ValidationFailed(f"Höchstens {MAX_SHEET_LABELS} Etiketten auf einmal drucken.")
    skip = parse_skip(skip)
    pdf = label_sheet_pdf([item_label(item) for item in items], skip=skip)
    for item in items:
        record_event(item, EventKind.LABEL_PRINTED, user=user, data={"format": "a4", "skip": skip})
    return pdf


def items_by_ids(ids: list[int]) -> list[MailItem]:
    """The items in the order of `ids`; unknown ids are refused."""
    unique = list(dict.fromkeys(ids))
    found = {
        item.id: item
        for item in db.session.scalars(
            select(MailItem).where(MailItem.id.in_(unique)).options(selectinload(MailItem.org_unit))
        )
    }
    missing = [i for i in unique if i not in found]
    if missing:
        raise ValidationFailed("Einige ausgewählte Sendungen gibt es nicht (mehr). Bitte die Liste neu laden.")
    return [found[i] for i in unique]


def label_candidates(day: date, *, only_without_carrier_code: bool = True) -> list[MailItem]:
    """Items received on a local day, by default those without a carrier code (they need our label); wrong scans
    undone (voided) are left out."""
    start, end = day_bounds_utc(day)
    query = (
        select(MailItem)
        .where(MailItem.received_at >= start, MailItem.received_at < end, MailItem.status != ItemStatus.VOIDED)
        .options(selectinload(MailItem.org_unit), selectinload(MailItem.site))
        .order_by(MailItem.received_at, MailItem.id)
    )
    if only_without_carrier_code:
        query = query.where(or_(MailItem.carrier_code.is_(None), MailItem.carrier_code == ""))
    return list(db.session.scalars(query))


def printed_item_ids(items: list[MailItem]) -> set[int]:
    """Which of the items already had a label printed (to show it in the selection)."""
    from mailroom.models import MailEvent

    if not items:
        return set()
    return set(
        db.session.scalars(
            select(MailEvent.item_id).where(
                MailEvent.item_id.in_([item.id for item in items]), MailEvent.kind == EventKind.LABEL_PRINTED
            )
        )
    )

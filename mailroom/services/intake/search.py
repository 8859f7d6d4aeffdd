"""Finding mail by more than its code: org unit, sender, recipient, kind and a range of days of receipt."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from mailroom.errors import ValidationFailed
from mailroom.extensions import db
from mailroom.models import ItemKind, MailItem, OrgUnit
from mailroom.services import dates
from mailroom.services.clock import day_bounds_utc
from mailroom.services.intake.lookups import parse_kind
from mailroom.services.lookup import ilike_text

SEARCH_TEXT_MAX = 100
SEARCH_LIMIT = 200


@dataclass
class SearchCriteria:
    """What the user typed; empty fields do not restrict. Texts match case-insensitively anywhere."""

    text: str = ""  # part of a code, carrier code or incoming number
    org_unit: str = ""  # part of the short name or the name ("Personal" finds "Fachdienst Personal")
    sender: str = ""
    recipient: str = ""
    kind: ItemKind | None = None
    date_from: date | None = None
    date_to: date | None = None

    @property
    def empty(self) -> bool:
        return not (
            self.text or self.org_unit or self.sender or self.recipient or self.kind or self.date_from or self.date_to
        )


def _clean(value: object) -> str:
    return " ".join(str(value or "").split())[:SEARCH_TEXT_MAX]


def parse_criteria(values: dict) -> SearchCriteria:
    """Criteria from a search form (plain strings); ValidationFailed in German for a bad day or kind."""
    criteria = SearchCriteria(
        text=_clean(values.get("q")),
        org_unit=_clean(values.get("org_unit")),
        sender=_clean(values.get("sender")),
        recipient=_clean(values.get("recipient")),
        kind=parse_kind(values.get("kind") or None),
        date_from=dates.parse_optional_day(values.get("date_from") or None, what="Eingang von"),
        date_to=dates.parse_optional_day(values.get("date_to") or None, what="Eingang bis"),
    )
    if criteria.date_from and criteria.date_to and criteria.date_from > criteria.date_to:
        raise ValidationFailed("„Eingang von“ liegt nach „Eingang bis“.", code="bad_date_range")
    return criteria


def search_items(criteria: SearchCriteria, *, limit: int = SEARCH_LIMIT) -> list[MailItem]:
    """Items matching every given criterion, newest first (at most `limit`)."""
    query = select(MailItem).options(selectinload(MailItem.org_unit))
    if criteria.text:
        query = query.where(
            or_(
                ilike_text(MailItem.code, criteria.text.replace(" ", ""), contains=True),
                ilike_text(MailItem.carrier_code, criteria.text.replace(" ", ""), contains=True),
                ilike_text(MailItem.incoming_number, criteria.text, contains=True),
            )
        )
    if criteria.org_unit:
        matches = [
            ilike_text(OrgUnit.short_name, criteria.org_unit, contains=True),
            ilike_text(OrgUnit.name, criteria.org_unit, contains=True),
        ]
        short, _, name = criteria.org_unit.partition(" – ")  # chosen from the list: "FD11 – Fachdienst Personal"
        if name:
            matches.append(
                ilike_text(OrgUnit.short_name, short.strip()) & ilike_text(OrgUnit.name, name, contains=True)
            )
        units = select(OrgUnit.id).where(or_(*matches))
        query = query.where(MailItem.org_unit_id.in_(units))
    if criteria.sender:
        query = query.where(ilike_text(MailItem.sender, criteria.sender, contains=True))
    if criteria.recipient:
        query = query.where(ilike_text(MailItem.recipient_name, criteria.recipient, contains=True))
    if criteria.kind:
        query = query.where(MailItem.kind == criteria.kind)
    if criteria.date_from:
        query = query.where(MailItem.received_at >= day_bounds_utc(criteria.date_from)[0])
    if criteria.date_to:
        query = query.where(MailItem.received_at < day_bounds_utc(criteria.date_to)[1])
    return list(db.session.scalars(query.order_by(MailItem.received_at.desc(), MailItem.id.desc()).limit(limit)))

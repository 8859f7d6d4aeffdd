"""The register of registered mail (Posteingangsbuch): every Einschreiben, PZU and Wertsendung of a day
with the exact time of receipt, as PDF (with a signature column) and as CSV for German Excel."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from mailroom.errors import ValidationFailed
from mailroom.extensions import db
from mailroom.models import REGISTERED_KINDS, ItemKind, ItemStatus, MailItem
from mailroom.services import dates
from mailroom.services.clock import LOCAL_TZ, day_bounds_utc, local_today, now_utc
from mailroom.services.csvio import to_csv_bytes

# Shorter than the UI labels, so that the kind fits the register's column.
SHORT_KIND = {ItemKind.PZU: "PZU"}
PURGED = "(nach Frist gelöscht)"
CSV_HEADER = (
    "Eingangsnummer",
    "Datum",
    "Uhrzeit",
    "Art",
    "Sendungsnummer",
    "Absender",
    "Empfänger (Fachdienst)",
    "Standort",
    "Aktenzeichen",
    "PZU zugestellt am",
    "Vertraulich",
)
EARLIEST_DAY = date(2000, 1, 1)


def parse_day(value: str | None) -> date:
    """A day from a form or URL (YYYY-MM-DD, or DD.MM.YYYY as Germans type it); empty means today."""
    value = (value or "").strip()
    if not value:
        return local_today()
    day = dates.parse_day(value)
    if day < EARLIEST_DAY or day > local_today():
        raise ValidationFailed(f"Für den {day:%d.%m.%Y} gibt es kein Posteingangsbuch (Datum außerhalb des Bereichs).")
    return day


def register_items(day: date) -> list[MailItem]:
    """The registered items received on a local calendar day, in order of receipt."""
    start, end = day_bounds_utc(day)
    return list(
        db.session.scalars(
            select(MailItem)
            .where(
                MailItem.received_at >= start,
                MailItem.received_at < end,
                MailItem.kind.in_([str(kind) for kind in REGISTERED_KINDS]),
                MailItem.status != ItemStatus.VOIDED,  # a wrong scan undone at the scan station
            )
            .options(selectinload(MailItem.org_unit), selectinload(MailItem.site))
            .order_by(MailItem.received_at, MailItem.incoming_number)
        )
    )


def _kind_label(item: MailItem) -> str:
    kind = ItemKind(item.kind)
    return SHORT_KIND.get(kind, kind.label)


def _org_unit(item: MailItem) -> str:
    if item.org_unit is not None:
        return f"{item.org_unit.short_name} {item.org_unit.name}"
    if item.site is not None:
        return f"Standort {item.site.code}"
    return ""


def _sender(item: MailItem) -> str:
    if item.personal_data_purged_at is not None:
        return PURGED
    return item.sender or ""


def _pzu_delivered(item: MailItem) -> date | None:
    """The column "PZU zugestellt am": the day the postman delivered a PZU (written on it); empty for other
    registered mail (their delivery date is only the day of receipt)."""
    return item.delivery_date if item.kind == ItemKind.PZU else None


def register_entries(day: date):
    """The day's register as `labels.model.RegisterEntry` lines (times in local time)."""
    from labels.model import RegisterEntry

    return [
        RegisterEntry(
            incoming_number=item.incoming_number,
            received_at=item.received_at.astimezone(LOCAL_TZ),
            kind=_kind_label(item),
            code=item.carrier_code or item.code,
            sender=_sender(item),
            org_unit=_org_unit(item),
            file_number=item.file_number or "",
            delivery_date=_pzu_delivered(item),
        )
        for item in register_items(day)
    ]


def register_pdf(day: date) -> bytes:
    from labels.reports import register_pdf as build

    return build(day, register_entries(day), generated_at=now_utc().astimezone(LOCAL_TZ))


def register_csv(day: date) -> bytes:
    """The day's register for German Excel (see `csvio.to_csv_bytes`)."""
    rows = []
    for item in register_items(day):
        local = item.received_at.astimezone(LOCAL_TZ)
        rows.append(
            [
                item.incoming_number,
                f"{local:%d.%m.%Y}",
                f"{local:%H:%M:%S}",
                ItemKind(item.kind).label,
                item.carrier_code or item.code,
                _sender(item),
                _org_unit(item),
                item.site.code if item.site else "",
                item.file_number or "",
                f"{_pzu_delivered(item):%d.%m.%Y}" if _pzu_delivered(item) else "",
                "ja" if item.confidential else "nein",
            ]
        )
    return to_csv_bytes(CSV_HEADER, rows)


def file_stem(day: date) -> str:
    return f"posteingangsbuch-{day.isoformat()}"

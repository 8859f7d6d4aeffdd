"""Logging an item: at the scan station, by hand or from an uploaded scan; the receipt stamp."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from labels import codes as carrier_codes
from mailroom.errors import InvalidTransition, NotFound, ValidationFailed
from mailroom.extensions import db
from mailroom.models import (
    EventKind,
    ItemKind,
    ItemStatus,
    MailItem,
    OrgUnit,
    User,
)
from mailroom.services import custody
from mailroom.services.clock import local_today, now_utc
from mailroom.services.intake.common import CODE_MAX, OK, WARN, local_time
from mailroom.services.intake.history import item_to_json
from mailroom.services.intake.lookups import find_item, normalise_code, parse_kind, resolve_org_unit
from mailroom.services.intake.numbers import format_incoming_number, next_incoming_number

# --- logging items ---------------------------------------------------------------------------------


@dataclass
class ScanResult:
    """What logging one code did: a new item or an existing one, with a message for the user."""

    item: MailItem
    created: bool
    level: str  # ok | warn | error (decides colour and tone at the scan station)
    message: str
    info: carrier_codes.CodeInfo | None = None
    notified: bool = False

    def to_json(self) -> dict:
        return {
            "created": self.created,
            "level": self.level,
            "message": self.message,
            "format": self.info.format if self.info else None,
            "format_label": self.info.label if self.info else None,
            "notified": self.notified,
            "item": item_to_json(self.item),
        }


def _existing_message(item: MailItem) -> tuple[str, str]:
    status = ItemStatus(item.status)
    if status in custody.FINAL_STATUSES:
        done = {
            ItemStatus.DELIVERED: "wurde bereits zugestellt",
            ItemStatus.RETURNED: "wurde bereits zurückgesandt",
            ItemStatus.FORWARDED: "wurde bereits weitergeleitet",
            ItemStatus.VOIDED: "wurde als Fehlscan storniert",
        }[status]
        return WARN, f"Sendung {item.code} {done} ({item.incoming_number}). Es wurde nichts neu erfasst."
    received = local_time(item.received_at)
    when = f"heute um {received:%H:%M}" if received.date() == local_today() else f"am {received:%d.%m.%Y}"
    return WARN, (f"Bereits {when} erfasst: {item.incoming_number} ({status.label}). Keine zweite Sendung angelegt.")


# A recognised S10 code with a registered service indicator (R…: Einschreiben) makes the item registered;
# without a registered kind asked for, the usual variant (handed over against a signature).
DEFAULT_REGISTERED_KIND = ItemKind.EINSCHREIBEN_UEBERGABE


def is_registered_code(info: carrier_codes.CodeInfo | None) -> bool:
    return info is not None and info.format == "s10" and info.value.startswith("R")


def kind_for_code(kind: ItemKind | None, info: carrier_codes.CodeInfo | None) -> ItemKind | None:
    """The kind an item is logged with: a registered code is never downgraded by the kind chosen for the
    next scans (e.g. "Brief"); the registered variant asked for wins."""
    if is_registered_code(info) and (kind is None or not kind.is_registered):
        return DEFAULT_REGISTERED_KIND
    return kind


def _check_code_text(value: str) -> str:
    code = normalise_code(value)
    if len(code) > CODE_MAX:
        raise ValidationFailed(f"Der Code ist zu lang (höchstens {CODE_MAX} Zeichen).", code="code_too_long")
    if not code.isprintable():
        raise ValidationFailed("Der Code enthält ungültige Zeichen.", code="invalid_code")
    return code


def log_item(
    value: str | None,
    *,
    user: User | None,
    via: str = "scan",
    kind: ItemKind | str | None = None,
    org_unit: OrgUnit | str | int | None = None,
    confidential: bool = False,
    at: datetime | None = None,
) -> ScanResult:
    """Log one arriving item by its code (or, with an empty code, by hand with our own code).

    A known code (ours, a carrier's, or the incoming number) returns that item and changes nothing.
    A new code creates the item with its receipt stamp and a RECEIVED event. A carrier code with a wrong
    check digit is logged but flagged (level "warn")."""
    text = (value or "").strip()
    kind = parse_kind(kind)
    unit = org_unit if isinstance(org_unit, OrgUnit) else resolve_org_unit(org_unit)
    info: carrier_codes.CodeInfo | None = None
    if text:
        code = _check_code_text(text)
        info = carrier_codes.classify(code)
        if info.format == "box":
            raise ValidationFailed(
                f"„{code}“ ist der Code eines Fachs, keiner Sendung. Fächer werden auf der Seite „Sortieren“ gescannt.",
                code="box_code",
            )
        existing = find_item(code)
        if existing is not None:
            level, message = _existing_message(existing)
            return ScanResult(existing, created=False, level=level, message=message, info=info)
        if info.format == "internal":
            raise NotFound(
                f"Die eigene Sendungsnummer {code} ist hier nicht vergeben. Bitte den Aufkleber prüfen "
                "oder die Sendung ohne Barcode erfassen.",
                code="unknown_internal_code",
            )
    kind = kind_for_code(kind, info)
    received = at or now_utc()
    year = local_time(received).year
    number = next_incoming_number(year)
    item = MailItem(
        incoming_number=format_incoming_number(year, number),
        status=ItemStatus.RECEIVED,
        received_at=received,
        received_by_id=user.id if user else None,
        received_via=via if text else "manual",
        # A unit whose mail goes on unopened (staff council, equal-opportunities officer) makes it confidential.
        confidential=bool(confidential) or bool(unit is not None and unit.do_not_open),
        kind=kind,
    )
    if info is None:
        item.code = carrier_codes.make_internal_code(year, number)
        item.carrier_format = "internal"
        item.check_digit_valid = True
    else:
        item.code = info.value
        item.carrier_code = info.value
        item.carrier_format = info.format
        item.check_digit_valid = info.check_digit_valid
    if unit is not None:
        item.org_unit_id = unit.id
        item.org_unit = unit
        item.site_id = unit.site_id
    if kind is not None and kind.is_registered:
        item.delivery_date = local_time(received).date()
    db.session.add(item)
    custody.record_event(item, EventKind.RECEIVED, user=user, at=received, data={"via": item.received_via})
    level, message = OK, f"Neu erfasst: {item.incoming_number}"
    if info is None:
        message += f" mit eigener Nummer {item.code} (bitte Etikett drucken)."
    elif info.check_digit_valid is False:
        level = WARN
        message = (
            f"Prüfziffer ungültig: {info.label} {info.value} bitte prüfen. "
            f"Trotzdem erfasst als {item.incoming_number} und markiert."
        )
    else:
        message += f" ({info.label})."
    result = ScanResult(item, created=True, level=level, message=message, info=info)
    result.notified = notify_if_registered(item, user=user)
    return result


def notify_if_registered(item: MailItem, *, user: User | None) -> bool:
    """Queue the e-mail to the org unit about a registered item or PZU: an outbox row in this transaction,
    sent by the worker after the commit (it records NOTIFIED then). True when a message was queued."""
    if not item.is_registered or item.org_unit_id is None:
        return False
    from mailroom.services.outbox import queue_item_notification

    return queue_item_notification(item)


DEFAULT_VOID_MINUTES = 10
VOID_NOTE = "Fehlscan storniert"


def void_seconds_left(item: MailItem, *, window_minutes: int = DEFAULT_VOID_MINUTES) -> int:
    """How many seconds a wrong scan of `item` can still be undone (0: not any more, or not at all)."""
    if ItemStatus(item.status) != ItemStatus.RECEIVED or item.received_via not in ("scan", "manual"):
        return 0
    left = timedelta(minutes=window_minutes) - (now_utc() - item.received_at)
    return max(0, int(left.total_seconds()))


def void_scan(item: MailItem, *, user: User | None, window_minutes: int = DEFAULT_VOID_MINUTES) -> None:
    """Undo a wrong scan (a mistyped or misread code) shortly after it was logged: a VOIDED custody event
    takes the item out of the work lists and counts; nothing is deleted. Only items still "received"
    (not sorted, not on a tour) and logged at the scan station within `window_minutes`."""
    status = ItemStatus(item.status)
    if status == ItemStatus.VOIDED:
        raise InvalidTransition(f"{item.incoming_number} ist bereits storniert.", code="already_voided")
    if status != ItemStatus.RECEIVED:
        raise InvalidTransition(
            f"{item.incoming_number} ist bereits {status.label.lower()}: nur eine gerade erfasste Sendung "
            "kann storniert werden.",
            code="not_voidable",
        )
    if item.received_via not in ("scan", "manual"):
        raise InvalidTransition(
            f"{item.incoming_number} wurde nicht an der Scanstation erfasst und kann hier nicht storniert werden.",
            code="not_voidable",
        )
    if now_utc() - item.received_at > timedelta(minutes=window_minutes):
        raise InvalidTransition(
            f"{item.incoming_number} wurde vor mehr als {window_minutes} Minuten erfasst: Stornieren ist nicht "
            "mehr möglich. Bitte die Sendung zurücksenden oder die Angaben korrigieren.",
            code="void_too_late",
        )
    custody.record_event(item, EventKind.VOIDED, user=user, note=VOID_NOTE, data={"code": item.code})

"""Incoming mail: logging items (scan station, by hand, from uploaded envelope scans), the receipt stamp,
details, sorting into site boxes, Irrläufer, tracking.

Every status change goes through `mailroom.services.custody`. Functions only flush; the caller commits
once per action. Messages are German (shown to the user as they are).

The receipt stamp: every item gets the next running incoming number of its year (``E-2026-004711``,
`IncomingCounter`) and the exact time. The number is taken with one ``UPDATE ... RETURNING``, which locks
the counter row on PostgreSQL (a concurrent request waits for the commit) and takes the write lock on SQLite,
so two requests never get the same number; the row of a new year is created with ``INSERT ... ON CONFLICT
DO NOTHING`` first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import selectinload

from mailroom.errors import DomainError, InvalidTransition, NotFound, UploadRejected, ValidationFailed
from mailroom.extensions import db
from mailroom.models import (
    EventKind,
    HandoverProof,
    IncomingCounter,
    ItemKind,
    ItemStatus,
    MailEvent,
    MailItem,
    OrgUnit,
    Site,
    User,
)
from mailroom.models.mail import ITEM_KIND_LABELS, ITEM_STATUS_LABELS
from mailroom.services import carrier_codes, custody, storage
from mailroom.services.clock import LOCAL_TZ, local_today, now_utc
from mailroom.services.lookup import get_or_404

CODE_MAX = 64
NOTE_MAX = 500
TEXT_LIMITS = {"sender": 200, "recipient_name": 200, "file_number": 64, "remarks": 2000}
DETAIL_FIELDS = (
    "kind",
    "org_unit",
    "sender",
    "recipient_name",
    "file_number",
    "delivery_date",
    "confidential",
    "remarks",
)
# Personal data: its values never go into the (append-only, never purged) event log, only the field names.
PERSONAL_FIELDS = frozenset({"sender", "recipient_name", "remarks"})
FIELD_LABELS = {
    "kind": "Sendungsart",
    "org_unit": "Fachdienst",
    "sender": "Absender",
    "recipient_name": "Empfänger/in",
    "file_number": "Aktenzeichen",
    "delivery_date": "Zustelldatum",
    "confidential": "vertraulich",
    "remarks": "Bemerkung",
}
UPLOAD_STORAGE_KIND = "uploads"
MEDIA_SUFFIXES = {"image/jpeg": ".jpg", "image/png": ".png", "image/tiff": ".tif", "application/pdf": ".pdf"}
DEFAULT_UPLOAD_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_UPLOAD_MAX_FILES = 50

OK, WARN, ERROR = "ok", "warn", "error"


class UploadTooLarge(UploadRejected):
    status = 413


# --- receipt stamp -------------------------------------------------------------------------------


def _counter_insert(year: int):
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise RuntimeError(f"unsupported database {dialect}")
    table = IncomingCounter.__table__
    return insert(table).values(year=year, last_number=0).on_conflict_do_nothing(index_elements=[table.c.year])


def next_incoming_number(year: int) -> int:
    """The next running number of `year` (1, 2, ...), safe under concurrent requests."""
    table = IncomingCounter.__table__
    bump = (
        update(table)
        .where(table.c.year == year)
        .values(last_number=table.c.last_number + 1)
        .returning(table.c.last_number)
    )
    number = db.session.execute(bump).scalar_one_or_none()
    if number is None:
        db.session.execute(_counter_insert(year))
        number = db.session.execute(bump).scalar_one()
    return number


def format_incoming_number(year: int, number: int) -> str:
    return f"E-{year}-{number:06d}"


# --- lookups ---------------------------------------------------------------------------------------


def normalise_code(value: str | None) -> str:
    """A scanned, typed or searched code in the form it is stored in."""
    text = carrier_codes.normalise(value or "")
    if not text:
        return ""
    info = carrier_codes.classify(text)
    return info.value or text


def find_item(value: str | None) -> MailItem | None:
    """The item with this code, carrier code or incoming number (one indexed query)."""
    code = normalise_code(value)
    if not code or len(code) > CODE_MAX:
        return None
    return db.session.scalar(
        select(MailItem)
        .where(or_(MailItem.code == code, MailItem.carrier_code == code, MailItem.incoming_number == code))
        .limit(1)
    )


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
            unit = db.session.scalar(select(OrgUnit).where(OrgUnit.short_name.ilike(short)))
        if unit is None:
            unit = db.session.scalar(select(OrgUnit).where(OrgUnit.name.ilike(text)))
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


def _local(moment: datetime) -> datetime:
    return moment.astimezone(LOCAL_TZ)


def _existing_message(item: MailItem) -> tuple[str, str]:
    status = ItemStatus(item.status)
    if status in custody.FINAL_STATUSES:
        done = {
            ItemStatus.DELIVERED: "wurde bereits zugestellt",
            ItemStatus.RETURNED: "wurde bereits zurückgesandt",
            ItemStatus.FORWARDED: "wurde bereits weitergeleitet",
        }[status]
        return WARN, f"Sendung {item.code} {done} ({item.incoming_number}). Es wurde nichts neu erfasst."
    received = _local(item.received_at)
    when = f"heute um {received:%H:%M}" if received.date() == local_today() else f"am {received:%d.%m.%Y}"
    return WARN, (f"Bereits {when} erfasst: {item.incoming_number} ({status.label}). Keine zweite Sendung angelegt.")


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
    received = at or now_utc()
    year = _local(received).year
    number = next_incoming_number(year)
    item = MailItem(
        incoming_number=format_incoming_number(year, number),
        status=ItemStatus.RECEIVED,
        received_at=received,
        received_by_id=user.id if user else None,
        received_via=via if text else "manual",
        confidential=bool(confidential),
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
        item.delivery_date = _local(received).date()
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
    """Tell the org unit about a registered item or PZU (after the flush); record NOTIFIED when sent."""
    if not item.is_registered or item.org_unit_id is None:
        return False
    from mailroom.services.notify import notify_registered_item

    db.session.flush()
    if not notify_registered_item(item):
        return False
    unit = item.org_unit
    custody.record_event(
        item, EventKind.NOTIFIED, user=user, note=f"E-Mail an {unit.short_name}" if unit is not None else None
    )
    return True


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
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        raise ValidationFailed("Zustelldatum: bitte ein Datum ohne Uhrzeit angeben.")
    if isinstance(value, date):
        day = value
    else:
        text = str(value).strip()
        try:
            day = date.fromisoformat(text) if "-" in text else datetime.strptime(text, "%d.%m.%Y").date()  # noqa: DTZ007
        except ValueError:
            raise ValidationFailed(f"Zustelldatum: „{text[:20]}“ ist kein gültiges Datum.") from None
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
        item.delivery_date = _local(item.received_at).date()
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
    """The latest items logged today (for the scan station after a reload), newest first."""
    from mailroom.services.clock import day_bounds_utc

    start, end = day_bounds_utc(local_today())
    return list(
        db.session.scalars(
            select(MailItem)
            .where(MailItem.received_at >= start, MailItem.received_at < end)
            .options(selectinload(MailItem.org_unit))
            .order_by(MailItem.received_at.desc(), MailItem.id.desc())
            .limit(limit)
        )
    )


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
            item, item.site, box, WARN, f"{item.incoming_number} liegt bereits im Fach {box}.", moved=False
        )
    custody.sort_item(item, user=user)
    site = item.site
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


def history(item: MailItem) -> list[HistoryRow]:
    """The item's custody log with names (who, where, receiver), oldest first; three queries."""
    events = list(
        db.session.scalars(
            select(MailEvent)
            .where(MailEvent.item_id == item.id)
            .options(selectinload(MailEvent.proof))
            .order_by(MailEvent.at, MailEvent.id)
        )
    )
    user_ids = {e.user_id for e in events if e.user_id}
    site_ids = {e.site_id for e in events if e.site_id}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    sites = {s.id: s for s in db.session.scalars(select(Site).where(Site.id.in_(site_ids)))} if site_ids else {}
    rows = []
    for event in events:
        kind = EventKind(event.kind)
        site = sites.get(event.site_id)
        if site is not None:
            where = f"{site.name} ({site.code})"
        elif kind == EventKind.RECEIVED:
            where = "Zentrale Poststelle"
        else:
            where = ""
        if event.tour_id:
            where = f"{where}, Tour {event.tour_id}" if where else f"Tour {event.tour_id}"
        user = users.get(event.user_id)
        proof: HandoverProof | None = event.proof
        status_label = None
        if event.to_status and event.from_status != event.to_status:
            status_label = ITEM_STATUS_LABELS.get(ItemStatus(event.to_status))
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
        "received_local": _local(item.received_at).strftime("%d.%m.%Y %H:%M:%S") if item.received_at else None,
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


# --- uploads of envelope and label scans --------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str


@dataclass
class CodeOutcome:
    value: str
    symbology: str
    info: carrier_codes.CodeInfo
    result: ScanResult | None = None
    error: str | None = None

    def to_json(self) -> dict:
        return {
            "value": self.value,
            "symbology": self.symbology,
            "format": self.info.format,
            "format_label": self.info.label,
            "check_digit_valid": self.info.check_digit_valid,
            "message": self.result.message if self.result else self.error,
            "created": self.result.created if self.result else False,
            "error": self.error,
            "item": item_to_json(self.result.item) if self.result else None,
        }


@dataclass
class FileOutcome:
    filename: str
    media_type: str | None = None
    error: str | None = None
    error_code: str | None = None
    error_status: int = 422
    codes: list[CodeOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict:
        return {
            "file": self.filename,
            "media_type": self.media_type,
            "error": {"code": self.error_code, "message": self.error} if self.error else None,
            "codes": [c.to_json() for c in self.codes],
        }


def _envelope_in_use(sha256: str) -> bool:
    with db.engine.connect() as connection:
        found = connection.execute(select(MailItem.id).where(MailItem.envelope_sha256 == sha256).limit(1)).first()
    return found is not None


def _decode(upload: Upload, *, max_bytes: int, max_pixels: int) -> tuple[str, list]:
    from mailroom.services import barcodes

    try:
        media_type = barcodes.inspect_upload(upload.data, upload.filename, max_bytes=max_bytes, max_pixels=max_pixels)
        codes = barcodes.decode_image_bytes(upload.data, max_pixels=max_pixels)
    except UploadRejected as exc:
        if exc.code == "too_large":
            raise UploadTooLarge(exc.message, code=exc.code) from exc
        raise
    return media_type, codes


def process_upload(
    upload: Upload,
    *,
    user: User | None,
    max_bytes: int = DEFAULT_UPLOAD_MAX_BYTES,
    max_pixels: int = 60_000_000,
    via: str = "upload",
) -> FileOutcome:
    """Decode every barcode on one uploaded scan; match each code to an item or log a new one, and keep
    the scan with the items it logged. Raises UploadRejected (nothing stored) for a bad file or a file
    without any barcode."""
    name = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1][:255] or "Datei"
    media_type, codes = _decode(upload, max_bytes=max_bytes, max_pixels=max_pixels)
    outcome = FileOutcome(filename=name, media_type=media_type)
    values: list[tuple[str, str]] = []
    seen: set[str] = set()
    for code in codes:
        value = normalise_code(code.value)
        if value and value not in seen:
            seen.add(value)
            values.append((value, code.symbology))
    if not values:
        raise UploadRejected(
            f"„{name}“: kein Barcode gefunden. Bitte die Sendung an der Scanstation von Hand erfassen.",
            code="no_barcode",
        )
    items_with_scan: list[MailItem] = []
    for value, symbology in values:
        info = carrier_codes.classify(value)
        code_outcome = CodeOutcome(value=info.value or value, symbology=symbology, info=info)
        outcome.codes.append(code_outcome)
        if info.format == "box":
            code_outcome.error = "Fach-Code: wird beim Hochladen übergangen."
            continue
        try:  # log_item checks everything before it writes: a refused code leaves nothing behind
            result = log_item(value, user=user, via=via)
        except DomainError as exc:
            code_outcome.error = exc.message
            continue
        code_outcome.result = result
        if result.item.envelope_sha256 is None:
            items_with_scan.append(result.item)
    if items_with_scan:
        sha256 = storage.store_in_transaction(
            UPLOAD_STORAGE_KIND, upload.data, MEDIA_SUFFIXES[media_type], in_use=_envelope_in_use
        )
        for item in items_with_scan:
            item.envelope_sha256 = sha256
            item.envelope_media_type = media_type
        db.session.flush()
    return outcome


def process_uploads(
    uploads: Iterable[Upload],
    *,
    user: User | None,
    max_bytes: int = DEFAULT_UPLOAD_MAX_BYTES,
    max_pixels: int = 60_000_000,
    max_files: int = DEFAULT_UPLOAD_MAX_FILES,
) -> list[FileOutcome]:
    """Several files at once: a bad file is reported and leaves nothing behind; the good ones are logged."""
    uploads = list(uploads)
    if not uploads:
        raise ValidationFailed("Bitte mindestens eine Datei auswählen.", code="no_file")
    if len(uploads) > max_files:
        raise ValidationFailed(f"Höchstens {max_files} Dateien auf einmal.", code="too_many_files")
    outcomes = []
    for upload in uploads:
        try:  # a file is refused before anything of it is written
            outcomes.append(process_upload(upload, user=user, max_bytes=max_bytes, max_pixels=max_pixels))
        except UploadRejected as exc:
            name = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1][:255] or "Datei"
            outcomes.append(FileOutcome(filename=name, error=exc.message, error_code=exc.code, error_status=exc.status))
    return outcomes


def envelope_file(item: MailItem) -> tuple[bytes, str]:
    if not item.envelope_sha256 or not item.envelope_media_type:
        raise NotFound("Zu dieser Sendung gibt es keinen Umschlag-Scan.")
    suffix = MEDIA_SUFFIXES.get(item.envelope_media_type, "")
    try:
        return storage.read(UPLOAD_STORAGE_KIND, item.envelope_sha256, suffix), item.envelope_media_type
    except FileNotFoundError:
        raise NotFound("Der Umschlag-Scan ist nicht mehr vorhanden.") from None

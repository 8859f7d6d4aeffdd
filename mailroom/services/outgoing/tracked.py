"""Tracked single items sent by the administration: Einschreiben (S10), PZU, parcels.

An Einschreiben by Übergabe or Rückschein counts as served on the 4th day after posting (§ 4 VwZG as
amended from 2025; OUTGOING_SERVED_AFTER_DAYS); an Einwurf-Einschreiben is no formal service. A PZU's date
of service comes back on the Zustellungsurkunde and starts legal deadlines: it is recorded once, never
before the posting day; PZUs whose certificate is overdue are listed (OUTGOING_PZU_OVERDUE_DAYS)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import desc, select, update

from labels.codes import classify
from mailroom.errors import DuplicateItem, InvalidTransition, ValidationFailed
from mailroom.extensions import db
from mailroom.models.outgoing import OutgoingParcel, ProductKind, TrackedItem, TrackedKind
from mailroom.services.clock import now_utc
from mailroom.services.outgoing.catalogue import DHL, DP, EINSCHREIBEN_VARIANTS, Catalogue
from mailroom.services.outgoing.units import CostCentres

PZU_PRODUCT = "pzu"
DHL_FORMATS = ("dhl_parcel", "dhl_identcode", "dhl_leitcode")


def served_after_days() -> int:
    return int(current_app.config.get("OUTGOING_SERVED_AFTER_DAYS", 4))


def pzu_overdue_days() -> int:
    return int(current_app.config.get("OUTGOING_PZU_OVERDUE_DAYS", 14))


def counts_as_served(item: TrackedItem) -> date | None:
    """The day a formal Einschreiben counts as served (posting day + the setting); None for others."""
    if item.kind != TrackedKind.EINSCHREIBEN or not EINSCHREIBEN_VARIANTS.get(item.add_on or "", False):
        return None
    return item.posting_date + timedelta(days=served_after_days())


def _text(value: str | None, what: str, *, required: bool, limit: int) -> str:
    text = " ".join((value or "").split())
    if required and not text:
        raise ValidationFailed(f"{what} fehlt.", code="missing")
    if len(text) > limit:
        raise ValidationFailed(f"{what} darf höchstens {limit} Zeichen lang sein.", code="too_long")
    return text


def validate_s10(value: str) -> str:
    info = classify(value or "")
    if info.format != "s10":
        raise ValidationFailed(
            f"„{value}“ ist keine Einschreiben-Nummer (S10: 2 Buchstaben, 9 Ziffern, Länderkennung, "
            "z. B. RR123456785DE).",
            code="invalid_s10",
        )
    if not info.check_digit_valid:
        raise ValidationFailed(f"Die Prüfziffer der Einschreiben-Nummer {info.value} stimmt nicht.", code="invalid_s10")
    return info.value


def validate_tracking(carrier: str, value: str) -> str:
    """A parcel's tracking number; checked where the carrier's format is known (DHL)."""
    info = classify(value or "")
    text = info.value
    if not text:
        raise ValidationFailed("Die Sendungsnummer fehlt.", code="missing")
    if carrier == DHL:
        if info.format not in DHL_FORMATS:
            raise ValidationFailed(
                f"„{value}“ ist keine DHL-Sendungsnummer (12 oder 14 Ziffern, 20 Ziffern mit 00340434 oder JJD…).",
                code="invalid_tracking",
            )
        if info.check_digit_valid is False:
            raise ValidationFailed(
                f"Die Prüfziffer der DHL-Sendungsnummer {text} stimmt nicht.", code="invalid_tracking"
            )
    elif not (4 <= len(text) <= 40 and text.isalnum()):
        raise ValidationFailed("Die Sendungsnummer: 4–40 Buchstaben oder Ziffern.", code="invalid_tracking")
    return text


def record_einschreiben(
    *,
    posting_date: date,
    cost_centre: str,
    code: str,
    variant: str,
    recipient: str,
    file_number: str = "",
    product: str = "standardbrief",
    billed: bool = True,
    user_id: int | None = None,
) -> TrackedItem:
    unit = CostCentres().get(cost_centre)
    number = validate_s10(code)
    if variant not in EINSCHREIBEN_VARIANTS:
        raise ValidationFailed(f"Unbekannte Einschreiben-Art „{variant}“.", code="unknown_product")
    catalogue = Catalogue()
    letter = catalogue.product(product, kinds=(ProductKind.LETTER,))
    postage = catalogue.price_on(letter.key, posting_date) + catalogue.price_on(variant, posting_date)
    if db.session.scalar(select(TrackedItem.id).where(TrackedItem.code == number)) is not None:
        raise DuplicateItem(f"Das Einschreiben {number} ist bereits erfasst.")
    item = TrackedItem(
        kind=TrackedKind.EINSCHREIBEN,
        posting_date=posting_date,
        org_unit_id=unit.org_unit_id,
        cost_centre=unit.cost_centre,
        carrier=DP,
        product=letter.key,
        add_on=variant,
        code=number,
        recipient=_text(recipient, "Der Empfänger", required=True, limit=200),
        file_number=_text(file_number, "Das Aktenzeichen", required=False, limit=64),
        postage_cents=postage,
        billed=billed,
        created_by_id=user_id,
    )
    db.session.add(item)
    db.session.flush()
    return item


def record_pzu(
    *,
    posting_date: date,
    cost_centre: str,
    recipient: str,
    file_number: str,
    code: str = "",
    billed: bool = True,
    user_id: int | None = None,
) -> TrackedItem:
    unit = CostCentres().get(cost_centre)
    postage = Catalogue().price_on(PZU_PRODUCT, posting_date)
    item = TrackedItem(
        kind=TrackedKind.PZU,
        posting_date=posting_date,
        org_unit_id=unit.org_unit_id,
        cost_centre=unit.cost_centre,
        carrier=DP,
        product=PZU_PRODUCT,
        code=_text(code, "Die Nummer", required=False, limit=32).upper() or None,
        recipient=_text(recipient, "Der Empfänger", required=True, limit=200),
        file_number=_text(file_number, "Das Aktenzeichen", required=True, limit=64),
        postage_cents=postage,
        billed=billed,
        created_by_id=user_id,
    )
    db.session.add(item)
    db.session.flush()
    return item


def record_pzu_service(item: TrackedItem, served_on: date, *, today: date) -> TrackedItem:
    """Record the date of service from the returned Zustellungsurkunde (once; it starts deadlines)."""
    if item.kind != TrackedKind.PZU:
        raise InvalidTransition("Ein Zustelldatum wird nur für eine PZU erfasst.")
    if item.served_on is not None:
        raise InvalidTransition(
            f"Das Zustelldatum dieser PZU ist bereits erfasst ({item.served_on:%d.%m.%Y}) und wird nicht geändert."
        )
    if served_on < item.posting_date:
        raise ValidationFailed(
            f"Das Zustelldatum {served_on:%d.%m.%Y} liegt vor dem Einlieferungstag {item.posting_date:%d.%m.%Y}.",
            code="served_before_posting",
        )
    if served_on > today:
        raise ValidationFailed(f"Das Zustelldatum {served_on:%d.%m.%Y} liegt in der Zukunft.", code="served_in_future")
    item.served_on = served_on
    item.certificate_recorded_at = now_utc()
    db.session.flush()
    return item


def overdue_pzus(today: date) -> list[TrackedItem]:
    """PZUs without a date of service whose certificate should be back (posted more than the setting ago)."""
    limit = today - timedelta(days=pzu_overdue_days())
    return list(
        db.session.scalars(
            select(TrackedItem)
            .where(
                TrackedItem.kind == TrackedKind.PZU, TrackedItem.served_on.is_(None), TrackedItem.posting_date <= limit
            )
            .order_by(TrackedItem.posting_date, TrackedItem.id)
        )
    )


def record_parcel(
    *,
    posting_date: date,
    cost_centre: str,
    carrier: str,
    tracking_number: str,
    weight_g: int,
    recipient: str,
    recipient_address: str,
    product: str = "",
    user_id: int | None = None,
) -> OutgoingParcel:
    unit = CostCentres().get(cost_centre)
    catalogue = Catalogue()
    carriers = {p.carrier for p in catalogue.of_kind(ProductKind.PARCEL)}
    if carrier not in carriers:
        raise ValidationFailed(f"Für den Versender „{carrier}“ gibt es keine Paketprodukte.", code="unknown_carrier")
    if weight_g <= 0:
        raise ValidationFailed("Das Gewicht muss mindestens 1 g sein.", code="invalid_weight")
    if product:
        band = catalogue.product(product, kinds=(ProductKind.PARCEL,))
        if band.carrier != carrier:
            raise ValidationFailed(f"„{band.name}“ ist kein Produkt von {carrier}.", code="unknown_product")
    else:
        found = catalogue.product_for_weight(carrier, weight_g)
        if found is None:
            raise ValidationFailed(f"{weight_g} g ist schwerer als jedes Paket von {carrier}.", code="too_heavy")
        band = found
    catalogue.check_weight(band.key, weight_g)
    number = validate_tracking(carrier, tracking_number)
    if db.session.scalar(select(OutgoingParcel.id).where(OutgoingParcel.tracking_number == number)) is not None:
        raise DuplicateItem(f"Das Paket {number} ist bereits erfasst.")
    parcel = OutgoingParcel(
        service_date=posting_date,
        org_unit_id=unit.org_unit_id,
        cost_centre=unit.cost_centre,
        carrier=carrier,
        product=band.key,
        tracking_number=number,
        weight_g=weight_g,
        postage_cents=catalogue.price_on(band.key, posting_date),
        recipient=_text(recipient, "Der Empfänger", required=True, limit=200),
        recipient_address=_text(recipient_address, "Die Anschrift", required=True, limit=300),
        created_by_id=user_id,
    )
    db.session.add(parcel)
    db.session.flush()
    return parcel


def tracked_on(day: date) -> list[TrackedItem]:
    return list(
        db.session.scalars(select(TrackedItem).where(TrackedItem.posting_date == day).order_by(desc(TrackedItem.id)))
    )


def parcels_on(day: date) -> list[OutgoingParcel]:
    return list(
        db.session.scalars(
            select(OutgoingParcel).where(OutgoingParcel.service_date == day).order_by(desc(OutgoingParcel.id))
        )
    )


def carriers_on(day: date) -> list[str]:
    """Carriers with tracked items or parcels posted on `day` (one posting list each)."""
    found = set(db.session.scalars(select(TrackedItem.carrier).where(TrackedItem.posting_date == day)))
    found |= set(db.session.scalars(select(OutgoingParcel.carrier).where(OutgoingParcel.service_date == day)))
    return sorted(found)


@dataclass(frozen=True)
class PostingLine:
    code: str
    product: str
    recipient: str
    cost_centre: str
    weight_g: int | None
    postage_cents: int


def posting_lines(carrier: str, day: date) -> list[PostingLine]:
    """What is handed to `carrier` on `day`: its tracked items and parcels, in the order they were recorded."""
    catalogue = Catalogue()

    def name(key: str | None) -> str:
        product = catalogue.products.get(key or "")
        return product.name if product else (key or "")

    lines = [
        PostingLine(
            code=i.code or f"PZU {i.file_number}",
            product=" + ".join(n for n in (name(i.product), name(i.add_on) if i.add_on else "") if n),
            recipient=i.recipient,
            cost_centre=i.cost_centre,
            weight_g=None,
            postage_cents=i.postage_cents,
        )
        for i in reversed(tracked_on(day))
        if i.carrier == carrier
    ]
    lines += [
        PostingLine(p.tracking_number, name(p.product), p.recipient or "", p.cost_centre, p.weight_g, p.postage_cents)
        for p in reversed(parcels_on(day))
        if p.carrier == carrier
    ]
    return lines


ERASED = "(gelöscht)"


def erase_recipients(posted_before: date) -> int:
    """Blank the recipients (personal data) of tracked items and parcels posted before `posted_before`;
    postage, numbers and file numbers stay for the reports. Returns the rows changed (for the purge log).

    Meant for the retention run (RETENTION_DAYS["recipient_data"]); one UPDATE per table."""
    changed = db.session.execute(
        update(TrackedItem)
        .where(TrackedItem.posting_date < posted_before, TrackedItem.recipient != ERASED)
        .values(recipient=ERASED)
    ).rowcount
    changed += db.session.execute(
        update(OutgoingParcel)
        .where(OutgoingParcel.service_date < posted_before, OutgoingParcel.recipient.is_not(None))
        .values(recipient=None, recipient_address="")
    ).rowcount
    return changed

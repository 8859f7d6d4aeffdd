"""Deliveries of incoming items for the mail room: the signature image of a hand-over
(stored under its hash by the courier view, `services.storage` kind "signatures"), and the proof of
delivery PDF (Zustellnachweis) of registered items and PZUs. The caller checks the role."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from labels.delivery_proof import CustodyStep, DeliveryProof, delivery_proof_pdf
from mailroom.errors import InvalidTransition, NotFound, ValidationFailed
from mailroom.extensions import db
from mailroom.models import EventKind, HandoverProof, MailEvent, MailItem, Site, Tour, User
from mailroom.models.mail import ITEM_KIND_LABELS
from mailroom.services import storage
from mailroom.services.clock import LOCAL_TZ, now_utc
from mailroom.services.intake.history import history
from mailroom.services.intake.lookups import org_unit_label

SIGNATURE_KIND = "signatures"
NO_SIGNATURE_MESSAGE = "Für diese Übergabe ist keine Unterschrift (mehr) gespeichert."


def _delivered_events(item: MailItem) -> list[MailEvent]:
    return list(
        db.session.scalars(
            select(MailEvent)
            .where(MailEvent.item_id == item.id, MailEvent.kind == EventKind.DELIVERED)
            .options(selectinload(MailEvent.proof))
            .order_by(MailEvent.at, MailEvent.id)
        )
    )


def _signature_file(proof: HandoverProof | None) -> tuple[str, str] | None:
    """(sha256, suffix) of the stored signature of a proof, or None when there is none (or it was purged)."""
    if proof is None or not proof.signature_sha256:
        return None
    for suffix in storage.SIGNATURE_SUFFIXES:
        try:
            if storage.exists(SIGNATURE_KIND, proof.signature_sha256, suffix):
                return proof.signature_sha256, suffix
        except ValueError:  # not a hash: nothing to serve
            return None
    return None


def _courier(event: MailEvent) -> str:
    user = db.session.get(User, event.user_id) if event.user_id else None
    name = user.display_name if user else ""
    if event.tour_id:
        tour = db.session.get(Tour, event.tour_id)
        tour_text = tour.display_name if tour is not None else "Tour"
        return f"{name}, {tour_text}" if name else tour_text
    return name


def _place(event: MailEvent, item: MailItem) -> str:
    site = db.session.get(Site, event.site_id) if event.site_id else item.site
    if site is None:
        return "Zentrale Poststelle"
    address = ", ".join(part for part in (site.street, " ".join(p for p in (site.postcode, site.city) if p)) if part)
    return f"{site.name} ({site.code})" + (f", {address}" if address else "")


def signature_png(item: MailItem, event_id: int) -> bytes:
    """The signature image of one hand-over of `item`; NotFound for other items' events and purged files."""
    event = db.session.get(MailEvent, event_id)
    if event is None or event.item_id != item.id or EventKind(event.kind) != EventKind.DELIVERED:
        raise NotFound("Diese Übergabe gibt es zu dieser Sendung nicht.")
    found = _signature_file(event.proof)
    if found is None:
        raise NotFound(NO_SIGNATURE_MESSAGE)
    return storage.read(SIGNATURE_KIND, *found)


def _chain(item: MailItem) -> list[CustodyStep]:
    steps = []
    for row in history(item):
        what = row.label + (f" → {row.status_label}" if row.status_label else "")
        remarks = []
        if row.receiver:
            remarks.append(f"Empfangen von {row.receiver}" + (" (unterschrieben)" if row.signed else ""))
        if row.note:
            remarks.append(row.note)
        if row.details:
            remarks.append(", ".join(row.details))
        steps.append(
            CustodyStep(
                at=row.at.astimezone(LOCAL_TZ), what=what, who=row.who, where=row.where, remark="; ".join(remarks)
            )
        )
    return steps


def delivery_proof(item: MailItem) -> DeliveryProof:
    """The proof of delivery of a registered item or PZU, from its last hand-over."""
    if not item.is_registered:
        raise ValidationFailed("Einen Zustellnachweis gibt es nur für Einschreiben und PZU.", code="not_registered")
    events = _delivered_events(item)
    if not events:
        raise InvalidTransition(f"Die Sendung {item.code} ist noch nicht zugestellt.", code="not_delivered")
    event = events[-1]
    proof = event.proof
    found = _signature_file(proof)
    png = storage.read(SIGNATURE_KIND, *found) if found else None
    unit = item.org_unit
    return DeliveryProof(
        code=item.code,
        incoming_number=item.incoming_number,
        kind=ITEM_KIND_LABELS.get(item.kind, str(item.kind)) if item.kind else "",
        org_unit=org_unit_label(unit) if unit else "",
        receiver_name=proof.receiver_name if proof else "",
        delivered_at=event.at.astimezone(LOCAL_TZ),
        place=_place(event, item),
        courier=_courier(event) or "–",
        generated_at=now_utc().astimezone(LOCAL_TZ),
        carrier_code=item.carrier_code or "",
        file_number=item.file_number or "",
        signature_png=png,
        signature_note=NO_SIGNATURE_MESSAGE if png is None else "",
        chain=_chain(item),
    )


def delivery_proof_file(item: MailItem) -> bytes:
    return delivery_proof_pdf(delivery_proof(item))

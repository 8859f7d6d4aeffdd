"""Address labels of outgoing tracked items (Einschreiben, PZU) and parcels: ORM rows to
`labels.outgoing_label.OutgoingLabel`, and the roll PDF. The sender is the administration, the item's
org unit with the address of its site, and the cost centre charged."""

from __future__ import annotations

import re

from labels.outgoing_label import OutgoingLabel, outgoing_label_pdf
from mailroom.errors import ValidationFailed
from mailroom.models import OrgUnit
from mailroom.models.outgoing import OutgoingParcel, TrackedItem, TrackedKind
from mailroom.services.outgoing.catalogue import Catalogue
from mailroom.services.outgoing.exports import SENDER
from mailroom.services.outgoing.tracked import ERASED

ADMINISTRATION = SENDER.split("·")[0].strip()  # "Stadt Oldenburg"
_SEPARATORS = re.compile(r"\s*[,;\n]\s*")
ERASED_MESSAGE = "Die Anschrift ist nach der Aufbewahrungsfrist gelöscht; es gibt kein Etikett mehr."


def address_lines(*parts: str | None) -> tuple[str, ...]:
    """Address lines from the recorded texts: each split at commas, semicolons and line breaks."""
    lines: list[str] = []
    for part in parts:
        lines += [line for line in _SEPARATORS.split((part or "").strip()) if line]
    return tuple(lines)


def _sender(unit: OrgUnit | None) -> tuple[str, tuple[str, ...]]:
    if unit is None:
        return "", ()
    site = unit.site
    address: tuple[str, ...] = ()
    if site is not None:
        town = " ".join(part for part in (site.postcode, site.city) if part)
        address = tuple(line for line in (site.street, town) if line)
    return f"{unit.short_name} {unit.name}", address


def _name(catalogue: Catalogue, key: str | None) -> str:
    product = catalogue.products.get(key or "")
    return product.name if product else (key or "")


def tracked_item_label(item: TrackedItem) -> OutgoingLabel:
    if item.recipient == ERASED:
        raise ValidationFailed(ERASED_MESSAGE, code="recipient_erased")
    catalogue = Catalogue()
    unit, address = _sender(item.org_unit)
    if item.kind == TrackedKind.PZU:
        product, carrier = _name(catalogue, item.product), item.carrier
    else:
        product = _name(catalogue, item.add_on) if item.add_on else _name(catalogue, item.product)
        carrier = " · ".join(
            part for part in (item.carrier, _name(catalogue, item.product) if item.add_on else "") if part
        )
    return OutgoingLabel(
        sender=ADMINISTRATION,
        sender_unit=unit,
        sender_address=address,
        cost_centre=item.cost_centre,
        product=product,
        carrier=carrier,
        recipient=address_lines(item.recipient),
        tracking_number=item.code or "",
        file_number=item.file_number or "",
    )


def parcel_label(parcel: OutgoingParcel) -> OutgoingLabel:
    if parcel.recipient is None:
        raise ValidationFailed(ERASED_MESSAGE, code="recipient_erased")
    unit, address = _sender(parcel.org_unit)
    return OutgoingLabel(
        sender=ADMINISTRATION,
        sender_unit=unit,
        sender_address=address,
        cost_centre=parcel.cost_centre,
        product=_name(Catalogue(), parcel.product) or "Paket",
        carrier=parcel.carrier,
        recipient=address_lines(parcel.recipient, parcel.recipient_address),
        tracking_number=parcel.tracking_number,
    )


def tracked_item_label_pdf(item: TrackedItem) -> bytes:
    return outgoing_label_pdf(tracked_item_label(item))


def parcel_label_pdf(parcel: OutgoingParcel) -> bytes:
    return outgoing_label_pdf(parcel_label(parcel))

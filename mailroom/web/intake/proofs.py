"""Deliveries on the incoming item page: the receiver's signature image and the proof of delivery PDF
(Zustellnachweis) of registered items and PZUs. Mail room staff and admins only: a signature is personal
data, couriers see their own stop in the courier view and nothing here. Registered on the intake blueprint."""

from __future__ import annotations

from flask import Response

from mailroom.models import Role
from mailroom.services import delivery_proofs
from mailroom.services.intake.lookups import get_item
from mailroom.web.access import roles_required
from mailroom.web.downloads import pdf_response
from mailroom.web.intake.views import bp


@bp.route("/items/<int:item_id>/deliveries/<int:event_id>/signature.png")
@roles_required(Role.MAILROOM)
def delivery_signature(item_id: int, event_id: int):
    png = delivery_proofs.signature_png(get_item(item_id), event_id)
    response = Response(png, mimetype="image/png")
    response.headers["Content-Disposition"] = "inline"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/items/<int:item_id>/delivery-proof.pdf")
@roles_required(Role.MAILROOM)
def delivery_proof(item_id: int):
    item = get_item(item_id)
    pdf = delivery_proofs.delivery_proof_file(item)
    safe = "".join(c for c in item.incoming_number if c.isalnum() or c == "-") or str(item.id)
    return pdf_response(pdf, f"zustellnachweis-{safe}.pdf")

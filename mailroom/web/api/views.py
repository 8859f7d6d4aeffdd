"""JSON API for scanner devices: `Authorization: Bearer <token>` (tokens from services.tokens).

Requests and answers are validated against the Pydantic models in `schemas.py`; spectree makes the
OpenAPI document (`/api/v1/openapi.json`, public) from the same models and the URL rules, so it cannot
drift from the code. Errors are always `{"error": {"code": ..., "message": ...}}` with a 4xx status.
Every POST accepts an `Idempotency-Key` header (see services/idempotency.py).
"""

from __future__ import annotations

import copy

from flask import Blueprint, current_app, g, request
from spectree import Response, SecurityScheme, SecuritySchemeData, SpecTree

from mailroom.errors import InvalidTransition, NotFound, ValidationFailed
from mailroom.extensions import csrf
from mailroom.models import Role
from mailroom.services import custody, intake
from mailroom.web.access import public
from mailroom.web.api.errors import ERROR_DESCRIPTIONS, translate_validation_error
from mailroom.web.api.operations import api_operation, check_json_body
from mailroom.web.api.schemas import (
    Error,
    ItemWithEvents,
    LogResult,
    NewEvent,
    NewItem,
    ScanResult,
    ScanUpload,
    StepResult,
)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # token auth, no cookies
bp.before_request(check_json_body)


def _reject_invalid(_request, _response, validation_error, _instance, _adapter) -> None:
    """spectree's hook after request validation: our German error instead of pydantic's list."""
    if validation_error is not None:
        raise translate_validation_error(validation_error)


spec = SpecTree(
    "flask",
    mode="strict",  # only the views decorated below are in the document
    title="mailroom scanner API",
    version="2.0.0",
    description="Incoming mail for scanner devices of the Zentrale Poststelle. Authenticate with "
    "`Authorization: Bearer <token>` (tokens: `mailroom create-token USERNAME --name DEVICE`). Every POST "
    "accepts an `Idempotency-Key` header: a retry with the same key gets the first answer and changes nothing.",
    security_schemes=[SecurityScheme(name="bearer", data=SecuritySchemeData(type="http", scheme="bearer"))],
    security={"bearer": []},
    before=_reject_invalid,
    validation_error_model=Error,
    annotations=True,
    naming_strategy=lambda model: model.__name__,  # plain component names: Item, Error, ...
    nested_naming_strategy=lambda _parent, child: child,
)


def _errors(*statuses: int) -> dict[str, type[Error]]:
    return {f"HTTP_{status}": Error for status in statuses}


# Statuses every authenticated operation can answer (token, role, rate limit, malformed JSON).
COMMON = (400, 401, 403, 415, 429)
WRITE = (*COMMON, 409, 413, 422)  # 409: the same Idempotency-Key still running; 422: a key reused


@bp.route("/openapi.json")
@public
def openapi():
    document = copy.deepcopy(spec.spec)  # spectree caches its document; the additions go on a copy
    for path in document["paths"].values():
        for method, operation in path.items():
            for status, response in operation["responses"].items():
                response["description"] = ERROR_DESCRIPTIONS.get(int(status), response.get("description", ""))
            if method == "post":
                operation.setdefault("parameters", []).append(
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "description": "Any unique string (e.g. a UUID) per logical request; a retry with the "
                        "same key gets the first answer.",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
                    }
                )
    return current_app.json.response(document)


def _item_with_events(item, *, new_item: bool = False) -> dict:
    data = intake.item_to_json(item)
    data["events"] = [intake.event_to_json(row) for row in intake.history(item, new_item=new_item)]
    return data


@bp.route("/scans", methods=["POST"])
@api_operation(Role.MAILROOM)
@spec.validate(
    form=ScanUpload,
    resp=Response(HTTP_201=ScanResult, HTTP_200=ScanResult, **_errors(*WRITE, 503)),
    operation_id="postScan",
    tags=["scans"],
)
def scans():
    """Decode every barcode on an image or PDF; match each code to an item or log it.

    201: at least one new item logged; 200: all codes matched existing items."""
    files = [f for f in request.files.getlist("image") if f]
    if len(files) != 1:
        raise ValidationFailed("Bitte genau eine Datei im Feld „image“ senden (multipart/form-data).", code="no_file")
    files[0].stream.seek(0)  # a request that lost a race runs again: read the file from its start
    upload = intake.Upload(data=files[0].read(), filename=files[0].filename or "scan")
    outcome = intake.process_upload(upload, user=g.api_user, via="api")  # limits: UPLOAD_MAX_BYTES, ...
    created = any(c.result is not None and c.result.created for c in outcome.codes)
    return outcome.to_json(), 201 if created else 200


def _org_unit(value: str | int | None):
    """Unknown org units are a 404 here like unknown sites and codes: the request is well-formed, the
    thing it names does not exist."""
    try:
        return intake.resolve_org_unit(value)
    except ValidationFailed as exc:
        if exc.code == "unknown_org_unit":
            raise NotFound(exc.message, code=exc.code) from None
        raise


DETAIL_NAMES = ("sender", "recipient_name", "file_number", "delivery_date", "remarks")


@bp.route("/items", methods=["POST"])
@api_operation(Role.MAILROOM)
@spec.validate(
    resp=Response(HTTP_201=LogResult, HTTP_200=LogResult, **_errors(*WRITE, 404)),
    operation_id="postItem",
    tags=["items"],
)
def create_item(json: NewItem):
    """Log an item by its code (or without a code: our own code is made).

    201: new item logged (with the details sent); 200: the code was known, the existing item, nothing
    changed. A retry with the same Idempotency-Key gets the first answer."""
    unit = _org_unit(json.org_unit)
    result = intake.log_item(json.code or "", user=g.api_user, via="api", kind=json.kind, org_unit=unit)
    details = {name: getattr(json, name) for name in DETAIL_NAMES if getattr(json, name) is not None}
    if json.confidential:
        details["confidential"] = True
    if result.created and details:
        intake.set_details(result.item, details, user=g.api_user)
    payload = result.to_json()
    payload["item"] = _item_with_events(result.item, new_item=result.created)
    return payload, 201 if result.created else 200


@bp.route("/items/<code>", methods=["GET"])
@api_operation(Role.MAILROOM)
@spec.validate(
    resp=Response(HTTP_200=ItemWithEvents, **_errors(*COMMON, 404)),
    operation_id="getItem",
    tags=["items"],
    path_parameter_descriptions={"code": "Our item code, the carrier's code or the incoming number (E-2026-000123)."},
)
def get_item(code: str):
    """An item with its chain of custody."""
    return _item_with_events(intake.get_item_by_code(code)), 200


@bp.route("/items/<code>/events", methods=["POST"])
@api_operation(Role.MAILROOM)
@spec.validate(
    resp=Response(HTTP_201=StepResult, HTTP_200=StepResult, **_errors(*WRITE, 404)),
    operation_id="postItemEvent",
    tags=["items"],
    path_parameter_descriptions={"code": "Our item code, the carrier's code or the incoming number."},
)
def add_event(code: str, json: NewEvent):
    """Record a custody step: sorted, returned or forwarded.

    201: step recorded. 200: the item already had this step (same status, same box): the existing event,
    nothing new in the custody log. 409: the step is not possible in the item's status."""
    step = json.root
    item = intake.get_item_by_code(code)
    note = getattr(step, "note", None)
    site = intake.resolve_site(step.site) if step.kind == "sorted" and step.site else None
    event = custody.repeated_step(item, intake.API_EVENT_KINDS[step.kind], site=site)
    repeated = event is not None
    if event is None:
        try:
            event = intake.apply_event(item, step.kind, user=g.api_user, note=note, site=site.code if site else None)
        except ValidationFailed as exc:
            if step.kind != "sorted":
                raise
            # The request is right; the item is not ready for the box (kind or recipient missing).
            raise InvalidTransition(exc.message, code="details_missing") from None
    data = _item_with_events(item)
    data["event_id"] = event.id
    data["repeated"] = repeated
    return data, 200 if repeated else 201

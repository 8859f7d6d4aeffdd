"""JSON API for scanner devices: `Authorization: Bearer <token>` (tokens from services.tokens).

Errors are always `{"error": {"code": ..., "message": ...}}` with a 4xx status. The OpenAPI document
(`/api/v1/openapi.json`, public) describes every path; a test checks that each documented path exists."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, current_app, g, jsonify, request

from mailroom.errors import DomainError, ValidationFailed
from mailroom.extensions import csrf, db
from mailroom.models import Role
from mailroom.services import intake, tokens
from mailroom.web.access import public
from mailroom.web.api.openapi import openapi_document

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # token auth, no cookies

F = TypeVar("F", bound=Callable[..., Any])


def api_error(status: int, code: str, message: str):
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="mailroom"'
    return response


def token_required(*roles: Role) -> Callable[[F], F]:
    """The request must carry a valid device token of a user with one of `roles` (admins always pass).
    Declares access like `roles_required`, so the app-wide check lets the view through."""
    allowed = frozenset(roles) | {Role.ADMIN}

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return api_error(401, "unauthorized", "API-Schlüssel fehlt (Authorization: Bearer …).")
            user = tokens.authenticate(token.strip())
            if user is None:
                db.session.rollback()
                return api_error(401, "unauthorized", "API-Schlüssel ungültig oder gesperrt.")
            if user.role not in allowed:
                db.session.rollback()
                return api_error(403, "forbidden", "Dieser API-Schlüssel darf das nicht.")
            g.api_user = user
            try:
                return view(*args, **kwargs)
            except DomainError as exc:
                db.session.rollback()
                return api_error(exc.status, exc.code, exc.message)

        wrapped.access_roles = allowed  # type: ignore[attr-defined]
        wrapped.access_public = False  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed("Erwartet wird ein JSON-Objekt im Anfragetext.", code="bad_json")
    return body


def _item_with_events(item) -> dict:
    data = intake.item_to_json(item)
    data["events"] = [intake.event_to_json(row) for row in intake.history(item)]
    return data


@bp.route("/openapi.json")
@public
def openapi():
    return jsonify(openapi_document())


@bp.route("/scans", methods=["POST"])
@token_required(Role.MAILROOM)
def scans():
    files = [f for f in request.files.getlist("image") if f]
    if len(files) != 1:
        raise ValidationFailed("Bitte genau eine Datei im Feld „image“ senden (multipart/form-data).", code="no_file")
    upload = intake.Upload(data=files[0].read(), filename=files[0].filename or "scan")
    config = current_app.config
    outcome = intake.process_upload(
        upload,
        user=g.api_user,
        max_bytes=int(config.get("UPLOAD_MAX_BYTES", intake.DEFAULT_UPLOAD_MAX_BYTES)),
        max_pixels=int(config.get("MAX_IMAGE_PIXELS", 60_000_000)),
        via="api",
    )
    db.session.commit()
    created = any(c.result is not None and c.result.created for c in outcome.codes)
    return jsonify(outcome.to_json()), 201 if created else 200


@bp.route("/items", methods=["POST"])
@token_required(Role.MAILROOM)
def create_item():
    body = _body()
    code = str(body.get("code") or "").strip()
    details = {k: body[k] for k in intake.DETAIL_FIELDS if k in body and k not in ("kind", "org_unit", "confidential")}
    result = intake.log_item(
        code,
        user=g.api_user,
        via="api",
        kind=body.get("kind") or None,
        org_unit=body.get("org_unit") or None,
        confidential=bool(body.get("confidential")),
    )
    if result.created and details:
        intake.set_details(result.item, details, user=g.api_user)
    db.session.commit()
    payload = result.to_json()
    payload["item"] = _item_with_events(result.item)
    return jsonify(payload), 201 if result.created else 200


@bp.route("/items/<code>", methods=["GET"])
@token_required(Role.MAILROOM)
def get_item(code: str):
    item = intake.get_item_by_code(code)
    db.session.commit()  # the token's last use
    return jsonify(_item_with_events(item))


@bp.route("/items/<code>/events", methods=["POST"])
@token_required(Role.MAILROOM)
def add_event(code: str):
    body = _body()
    item = intake.get_item_by_code(code)
    event = intake.apply_event(
        item,
        str(body.get("kind") or ""),
        user=g.api_user,
        note=body.get("note") if isinstance(body.get("note"), str) else None,
        site=body.get("site") if isinstance(body.get("site"), str) else None,
    )
    db.session.commit()
    data = _item_with_events(item)
    data["event_id"] = event.id
    return jsonify(data), 201

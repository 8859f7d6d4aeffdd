"""How every API request runs: body checks, token auth, role, Idempotency-Key, one transaction, races.

Scanners post the same code at the same moment (two stations, or a device retrying while the first
request still runs). The database's unique index decides which request creates the item; the others get
an IntegrityError (or, on SQLite, a busy write lock) and are run once more, when they find the item the
winner stored and answer 200 with it. Nothing of a failed attempt is kept: it is rolled back first.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, jsonify, request
from sqlalchemy.exc import IntegrityError, OperationalError

from mailroom.errors import DomainError, ValidationFailed
from mailroom.extensions import db
from mailroom.models import Role, User
from mailroom.services import tokens
from mailroom.web.api import idempotency as idempotency_web

F = TypeVar("F", bound=Callable[..., Any])

JSON_BODY_MAX = 64 * 1024  # the largest API request is an item with 2,000 characters of remarks
JSON_DEPTH_MAX = 32  # the API's bodies are flat objects; deeper nesting is refused before parsing
RACE_ATTEMPTS = 5  # a request that lost a race is run again this often at most


class BadBody(DomainError):
    status = 400
    code = "bad_json"


class BodyTooLarge(DomainError):
    status = 413
    code = "too_large"


class NotJson(DomainError):
    status = 415
    code = "unsupported_media_type"


def api_error(status: int, code: str, message: str, field: str | None = None):
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    response = jsonify({"error": error})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="mailroom"'
    return response


_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


def json_depth(raw: bytes) -> int:
    """How deeply `raw` nests arrays and objects (strings skipped), without parsing it: the parser
    itself would need one stack frame per level (100,000 levels: a RecursionError, i.e. a 500)."""
    depth = deepest = 0
    for match in _BRACKETS.finditer(_STRINGS.sub(b'""', raw)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def check_json_body():
    """Blueprint before_request: a JSON body must be small, shallow and well-formed before anything
    parses it; the parsed body is cached on the request for the validation that follows."""
    if request.method not in ("POST", "PUT", "PATCH") or request.endpoint == "api.scans":
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        # Who asks comes before what is asked: without a token the answer is 401, whatever the body.
        return api_error(401, "unauthorized", "API-Schlüssel fehlt (Authorization: Bearer …).")
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise BadBody("Der Anfragetext fehlt: erwartet wird ein JSON-Objekt (auch {} genügt).", code="no_body")
    if not request.is_json:
        raise NotJson("Erwartet wird JSON im Anfragetext (Content-Type: application/json).")
    # The depth of the first bytes first: a deeply nested body is named as such even when it is also too large.
    if json_depth(raw[:JSON_BODY_MAX]) > JSON_DEPTH_MAX:
        raise BadBody(f"Das JSON ist zu tief verschachtelt (höchstens {JSON_DEPTH_MAX} Ebenen).", code="json_too_deep")
    if len(raw) > JSON_BODY_MAX:
        raise BodyTooLarge(f"Der Anfragetext ist zu groß (höchstens {JSON_BODY_MAX // 1024} KB).")
    if json_depth(raw) > JSON_DEPTH_MAX:
        raise BadBody(f"Das JSON ist zu tief verschachtelt (höchstens {JSON_DEPTH_MAX} Ebenen).", code="json_too_deep")
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):  # RecursionError: cannot happen below the depth limit, kept as a guard
        raise BadBody("Der Anfragetext ist kein gültiges JSON.") from None
    if not isinstance(body, dict):
        raise ValidationFailed("Erwartet wird ein JSON-Objekt ({…}) im Anfragetext.", code="not_an_object")
    request.get_json()  # parse once more through Flask: cached for the validation
    return None


def _authenticate(allowed: frozenset[Role]):
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
    return user


def _run_once(view: Callable[..., Any], args: tuple, kwargs: dict):
    try:
        response = view(*args, **kwargs)
    except DomainError as exc:
        db.session.rollback()
        response = api_error(exc.status, exc.code, exc.message, getattr(exc, "field", None))
    if response.status_code >= 400:
        db.session.rollback()  # a refused request stores nothing but its answer (for its key)
    idempotency_web.record(response)
    db.session.commit()  # the work and the answer of its Idempotency-Key together
    return response


def api_operation(*roles: Role) -> Callable[[F], F]:
    """Token auth (admins always pass), the Idempotency-Key of a POST, and one transaction per request,
    run again when it lost a race on a unique index. Declares access like `roles_required`."""
    allowed = frozenset(roles) | {Role.ADMIN}

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = _authenticate(allowed)
            if not isinstance(user, User):
                return user  # the 401 or 403
            # No commit here: the token check only read (its last use is written on a connection of its own),
            # so this session holds no write lock while the key is claimed; a commit would only expire `user`.
            g.api_user = user
            if request.method == "POST":
                try:
                    replay = idempotency_web.begin(user.id)
                except DomainError as exc:
                    return api_error(exc.status, exc.code, exc.message)
                if replay is not None:
                    return replay
            for attempt in range(RACE_ATTEMPTS):
                try:
                    return _run_once(view, args, kwargs)
                except (IntegrityError, OperationalError):
                    db.session.rollback()
                    if attempt == RACE_ATTEMPTS - 1:
                        raise
                    time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))  # noqa: S311  (jitter, not secrets)
            raise AssertionError("unreachable")

        wrapped.access_roles = allowed  # type: ignore[attr-defined]
        wrapped.access_public = False  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator

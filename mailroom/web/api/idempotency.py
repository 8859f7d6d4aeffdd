"""`Idempotency-Key` on every POST: of the JSON API (token users) and of the signed-in pages (the courier's
phone, the scan station). The rules live in services/idempotency.py; this module reads the request, answers
a retry with the stored answer and stores the answer of the first request.

The API stores its answer in the transaction of the work (web/api/operations.py), and so does the scan
station (`record` before its commit, web/intake/views.py). For the other signed-in pages the view commits
its work itself; the answer is stored right after (after_request)."""

from __future__ import annotations

from flask import Flask, Response, current_app, g, request
from flask_login import current_user

from mailroom.extensions import db
from mailroom.services import idempotency

REPLAYED_HEADER = "Idempotent-Replayed"


def current_claim() -> idempotency.Claim | None:
    return g.get("idempotency_claim")


def begin(user_id: int) -> Response | None:
    """Claim this request's key (when one is sent). Returns the stored answer for a retry, else None."""
    header = request.headers.get(idempotency.HEADER)
    if header is None:
        return None
    key = idempotency.check_key(header)
    fingerprint = idempotency.request_hash(request.method, request.full_path, request.mimetype, request.get_data())
    outcome = idempotency.claim(
        user_id=user_id, key=key, method=request.method, path=request.full_path, fingerprint=fingerprint
    )
    if isinstance(outcome, idempotency.StoredResponse):
        response = current_app.response_class(outcome.body, status=outcome.status_code, mimetype=outcome.mimetype)
        if outcome.location:
            response.headers["Location"] = outcome.location
        response.headers[REPLAYED_HEADER] = "true"
        return response
    g.idempotency_claim = outcome
    return None


def record(response: Response) -> None:
    """Store `response` as the answer of the claimed key in the current transaction (the caller commits)."""
    claim = current_claim()
    if claim is None or claim.finished:
        return
    idempotency.record(
        claim,
        status_code=response.status_code,
        mimetype=response.mimetype,
        body=b"" if response.is_streamed else response.get_data(),
        location=response.headers.get("Location"),
    )


def _claim_signed_in_post() -> Response | None:
    """before_request: a POST of a signed-in user with a key (the API claims after its token check)."""
    if request.method != "POST" or idempotency.HEADER not in request.headers or request.blueprint == "api":
        return None
    if not current_user.is_authenticated:
        return None
    return begin(current_user.id)


def _store_answer(response: Response) -> Response:
    claim = current_claim()
    if claim is None or claim.finished:
        return response
    if response.status_code >= 500:
        idempotency.release(claim)
        return response
    try:
        db.session.rollback()  # what the view did not commit is not kept anyway (teardown rolls back)
        record(response)
        db.session.commit()
    except Exception:  # the answer is given in any case; a retry then runs the request once more
        db.session.rollback()
        current_app.logger.exception("could not store the answer of Idempotency-Key %s", claim.key)
        idempotency.release(claim)
    return response


def _release_on_error(_exc: BaseException | None) -> None:
    claim = current_claim()
    if claim is not None and not claim.finished:
        try:
            idempotency.release(claim)
        except Exception:
            current_app.logger.exception("could not release Idempotency-Key %s", claim.key)


def init_app(app: Flask) -> None:
    app.before_request(_claim_signed_in_post)
    app.after_request(_store_answer)
    app.teardown_request(_release_on_error)

"""Schemathesis hooks (SCHEMATHESIS_HOOKS) for tests/mailroom/api/test_schemathesis_server.py."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import schemathesis


@schemathesis.hook
def map_body(ctx, body):
    """JSON Schema cannot say "not after today": a generated future date of service is moved into the past
    (the API's 422 for a future date is tested in test_api_contract.py)."""
    if isinstance(body, dict) and isinstance(body.get("delivery_date"), str):
        try:
            day = date.fromisoformat(body["delivery_date"])
        except ValueError:
            return body
        if day > date(2020, 1, 1):
            body = {**body, "delivery_date": (date(2020, 1, 1) - timedelta(days=day.toordinal() % 3000)).isoformat()}
    return body


@schemathesis.hook
def before_call(ctx, case, kwargs):
    """An Idempotency-Key means "one logical request": a schema cannot say that a key must not be reused for
    another body, so each generated request gets its own (a malformed key, from negative tests, is kept)."""
    headers = dict(case.headers or {})
    key = headers.get("Idempotency-Key")
    if isinstance(key, str) and 0 < len(key) <= 255 and re.fullmatch(r"[!-~]+", key):
        headers["Idempotency-Key"] = f"{key[:20]}-{uuid.uuid4().hex}"
        case.headers = headers

"""Reading intake input from forms and JSON bodies into the plain values the intake service takes."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from mailroom.errors import ValidationFailed
from mailroom.services.intake import DETAIL_FIELDS


def details_from_form(form: MultiDict) -> dict:
    """The detail fields present in a submitted form (absent fields stay unchanged).

    The confidential checkbox comes with a hidden field of the same name and value "0" before it, so that
    an unticked box is sent too; the last value wins."""
    changes: dict = {}
    for name in DETAIL_FIELDS:
        values = form.getlist(name)
        if values:
            changes[name] = values[-1]
    return changes


def details_from_json(body: object) -> dict:
    if not isinstance(body, dict):
        raise ValidationFailed("Erwartet wird ein JSON-Objekt.", code="bad_json")
    return dict(body)


def json_body(request) -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed("Erwartet wird ein JSON-Objekt im Anfragetext.", code="bad_json")
    return body

"""API errors: German messages for validation errors and the descriptions of every documented status."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from mailroom.errors import ValidationFailed

ERROR_DESCRIPTIONS = {
    200: "OK: an existing item or a repeated step; nothing new stored.",
    201: "Created.",
    400: "Malformed JSON or JSON nested too deep (code bad_json, json_too_deep).",
    401: "Token missing, invalid or revoked (code unauthorized).",
    403: "The token's user may not do this (code forbidden).",
    404: "Unknown code, site or org unit.",
    409: "The step is not possible in the item's status, or a request with the same Idempotency-Key is still running.",
    413: "Request or file too large.",
    415: "The request body is not JSON (Content-Type: application/json).",
    422: "Invalid input: wrong type, unknown field, text too long, control characters, unreadable file, "
    "an Idempotency-Key reused for another request (code says which).",
    429: "Too many requests from this token; retry later (Retry-After).",
    503: "All decoding slots busy; retry later (Retry-After).",
}

FIELD_NAMES = {
    "code": "Code",
    "kind": "Sendungsart/Schritt",
    "org_unit": "Fachdienst",
    "confidential": "Vertraulich",
    "sender": "Absender",
    "recipient_name": "Empfänger",
    "file_number": "Aktenzeichen",
    "delivery_date": "Zustelldatum",
    "remarks": "Bemerkungen",
    "note": "Vermerk",
    "site": "Standort",
    "image": "Datei",
}

# The error that says most about a field: a bound or a length beats "wrong type" (which a union of
# string and integer reports for the branch that did not apply).
_LESS_TELLING = ("string_type", "int_type", "int_from_float", "none_required", "bool_type", "dict_type")


def _describe(error: dict[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "fehlt"
    if kind == "extra_forbidden":
        return "ist hier unbekannt"
    if kind == "string_type":
        return "muss Text sein (in Anführungszeichen)"
    if kind == "bool_type":
        return "muss true oder false sein (ohne Anführungszeichen)"
    if kind in ("int_type", "int_from_float", "int_parsing"):
        return "muss eine ganze Zahl sein"
    if kind in ("less_than_equal", "greater_than_equal", "less_than", "greater_than"):
        return "liegt außerhalb des erlaubten Bereichs (1 bis 2147483647)"
    if kind == "string_too_long":
        return f"ist zu lang (höchstens {ctx.get('max_length')} Zeichen)"
    if kind == "string_too_short":
        return "darf nicht leer sein"
    if kind == "string_pattern_mismatch":
        return "darf nicht leer sein"
    if kind in ("enum", "literal_error"):
        return f"hat einen unbekannten Wert (erlaubt: {ctx.get('expected', '')})"
    if kind == "union_tag_invalid":
        return f"ist unbekannt (erlaubt: {ctx.get('expected_tags', '')})"
    if kind == "union_tag_not_found":
        return "fehlt"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "muss ein JSON-Objekt sein"
    if kind == "value_error":
        return str(ctx.get("error") or error.get("msg", "")).removeprefix("Value error, ")
    return "ist ungültig"


def _code_for(error: dict[str, Any], field: str | None) -> str:
    kind = error["type"]
    if kind in ("union_tag_invalid",) or (field == "kind" and kind == "literal_error"):
        return "unknown_event"
    if field == "note" and kind in ("missing", "string_too_short", "string_pattern_mismatch"):
        return "note_required"
    if field == "image" and kind == "missing":
        return "no_file"
    if field == "kind" and kind == "enum":
        return "unknown_kind"
    if kind == "value_error" and "Steuerzeichen" in str(error.get("msg")):
        return "control_characters"
    if kind == "string_too_long":
        return "too_long"
    return "validation_failed"


def translate_validation_error(exc: Exception) -> ValidationFailed:
    """One German message for the first field at fault; `field` names it for programs."""
    if not isinstance(exc, ValidationError):
        return ValidationFailed("Die Anfrage ist ungültig.")
    errors = exc.errors(include_url=False)
    if not errors:
        return ValidationFailed("Die Anfrage ist ungültig.")
    first_loc = errors[0]["loc"]
    first_field = next((str(part) for part in first_loc if isinstance(part, str) and part in FIELD_NAMES), None)
    same_field = [e for e in errors if first_field in [str(p) for p in e["loc"]]] or errors
    best = next((e for e in same_field if e["type"] not in _LESS_TELLING), same_field[0])
    field = next((str(part) for part in best["loc"] if isinstance(part, str) and part in FIELD_NAMES), None)
    if field is None and not best["loc"]:
        message = f"Der Anfragetext {_describe(best)}."
    elif field is None:
        name = ".".join(str(p) for p in best["loc"])
        message = f"Angabe „{name}“ {_describe(best)}."
    else:
        message = f"{FIELD_NAMES[field]} („{field}“) {_describe(best)}."
    failure = ValidationFailed(message, code=_code_for(best, field))
    failure.field = field  # type: ignore[attr-defined]
    return failure

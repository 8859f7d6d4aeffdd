"""Request and response models of the scanner API (Pydantic, strict).

The same models validate every request and answer and make the OpenAPI document (spectree), so the
document cannot drift from the code. Strict: a string is not a boolean, a boolean is not a string,
integers are bounded to what the database stores, unknown fields are refused, control characters are
refused with a message instead of being dropped.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    StrictBool,
    StrictInt,
    StrictStr,
    WithJsonSchema,
)

from mailroom.models import EventKind, ItemKind, ItemStatus
from mailroom.services.intake import CODE_MAX, NOTE_MAX, TEXT_LIMITS

DB_INT_MAX = 2**31 - 1  # an INTEGER column on PostgreSQL

# Characters a JSON Schema pattern cannot contain when the value is valid: C0, DEL and C1 controls;
# multi-line text (remarks) may hold tab, line feed and carriage return.
CONTROL_PATTERN = "[\\x00-\\x1f\\x7f-\\x9f]"
MULTILINE_CONTROL_PATTERN = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]"
ALLOWED_IN_MULTILINE = frozenset("\t\n\r")


class ControlCharacters(ValueError):
    """A text field holds a control character (reported per field, in German)."""


def _no_controls(value: str) -> str:
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise ControlCharacters("enthält Steuerzeichen (z. B. Tabulator, Zeilenumbruch, NUL): bitte entfernen")
    return value


def _no_controls_multiline(value: str) -> str:
    if any(unicodedata.category(char) == "Cc" and char not in ALLOWED_IN_MULTILINE for char in value):
        raise ControlCharacters("enthält Steuerzeichen (außer Tabulator und Zeilenumbruch): bitte entfernen")
    return value


def _text(max_length: int, *, multiline: bool = False, min_length: int = 0, description: str | None = None):
    pattern = MULTILINE_CONTROL_PATTERN if multiline else CONTROL_PATTERN
    return Annotated[
        StrictStr,
        Field(
            max_length=max_length,
            min_length=min_length,
            description=description,
            json_schema_extra={"not": {"pattern": pattern}},
        ),
        AfterValidator(_no_controls_multiline if multiline else _no_controls),
    ]


# The carrier's or our code: printable ASCII (barcodes carry nothing else), spaces allowed (typed codes).
ItemCode = Annotated[
    StrictStr,
    Field(
        max_length=CODE_MAX,
        description="The carrier's code (e.g. an S10 number) or ours. Empty or missing: our own code is made.",
        json_schema_extra={"not": {"pattern": "[^ -~]"}},
    ),
    AfterValidator(_no_controls),
]
NoteText = _text(NOTE_MAX)


def _whole_number(value: object) -> object:
    """JSON has one number type: 7 and 7.0 are the same integer (JSON Schema agrees); 7.5, true and "7" are not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("muss eine ganze Zahl sein")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("muss eine ganze Zahl sein")
        return int(value)
    return value


DatabaseId = Annotated[StrictInt, Field(ge=1, le=DB_INT_MAX), BeforeValidator(_whole_number)]


def _iso_date(value: str) -> date:
    if not ISO_DATE.fullmatch(value):
        raise ValueError("ist kein Datum im Format JJJJ-MM-TT")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError("ist kein gültiges Datum") from None


ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DateText = Annotated[StrictStr, Field(json_schema_extra={"format": "date"}), AfterValidator(_iso_date)]  # -> date


class Strict(BaseModel):
    """Field types are the strict ones (StrictStr, StrictBool, StrictInt): lax mode only for enums."""

    model_config = ConfigDict(extra="forbid")


class NewItem(Strict):
    code: ItemCode | None = None
    kind: ItemKind | None = Field(None, description="Kind of item (Sendungsart).")
    org_unit: _text(80, description="Short name of the org unit (e.g. FD20) or its id.") | DatabaseId | None = None
    confidential: StrictBool = False
    sender: _text(TEXT_LIMITS["sender"]) | None = None
    recipient_name: _text(TEXT_LIMITS["recipient_name"]) | None = None
    file_number: _text(TEXT_LIMITS["file_number"]) | None = None
    delivery_date: DateText | None = Field(None, description="Date of service (PZU); not after today.")
    remarks: _text(TEXT_LIMITS["remarks"], multiline=True) | None = None


class SortedStep(Strict):
    kind: Literal["sorted"]
    site: _text(20, description="The site code of the box (default: the item's site).") | None = None
    note: NoteText | None = None


class ReturnedStep(Strict):
    kind: Literal["returned"]
    note: NoteText | None = None


class ForwardedStep(Strict):
    kind: Literal["forwarded"]
    # At least one visible character: to whom the item went.
    note: Annotated[
        StrictStr,
        Field(
            min_length=1,
            max_length=NOTE_MAX,
            pattern="\\S",
            description="To whom the item was forwarded.",
            json_schema_extra={"not": {"pattern": CONTROL_PATTERN}},
        ),
        AfterValidator(_no_controls),
    ]


class NewEvent(RootModel[Annotated[SortedStep | ReturnedStep | ForwardedStep, Field(discriminator="kind")]]):
    """sorted (optionally into another site's box), returned or forwarded (with a note: to whom)."""


# --- answers ------------------------------------------------------------------------------------------


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


NullableText = str | None


class ErrorBody(Answer):
    code: str = Field(description="Stable, for programs (e.g. invalid_transition).")
    message: str = Field(description="German, for the device's user.")
    field: str | None = Field(None, description="The request field at fault (validation errors).")


class Error(Answer):
    error: ErrorBody


class Item(Answer):
    id: int
    code: str
    carrier_code: NullableText
    carrier_format: NullableText
    check_digit_valid: bool | None
    incoming_number: str = Field(examples=["E-2026-004711"])
    received_at: str | None = Field(json_schema_extra={"format": "date-time"})
    received_local: NullableText
    kind: ItemKind | None
    kind_label: NullableText
    status: ItemStatus
    status_label: str
    org_unit: NullableText
    org_unit_short: NullableText
    site_code: NullableText
    confidential: bool
    registered: bool
    needs_details: bool
    file_number: NullableText
    delivery_date: str | None = Field(json_schema_extra={"format": "date"})


class Event(Answer):
    id: int
    kind: EventKind
    label: str
    from_status: NullableText
    to_status: NullableText
    at: str = Field(json_schema_extra={"format": "date-time"})
    recorded_at: str | None
    user: NullableText
    where: NullableText
    tour_id: int | None
    note: NullableText
    receiver_name: NullableText
    signed: bool
    details: list[str]


class ItemWithEvents(Item):
    events: list[Event]


class StepResult(ItemWithEvents):
    event_id: int = Field(description="The custody event of this step (the existing one for a repeat).")
    repeated: bool = Field(description="true: the item already had this step; nothing new was recorded.")


class LogResult(Answer):
    created: bool = Field(description="false: the code was known, the item is shown, nothing changed.")
    level: Literal["ok", "warn", "error"]
    message: str
    format: NullableText
    format_label: NullableText
    notified: bool
    item: ItemWithEvents


class ScanCode(Answer):
    value: str
    symbology: str = Field(examples=["CODE128", "I25", "QRCODE"])
    format: str
    format_label: str
    check_digit_valid: bool | None
    message: NullableText
    created: bool
    error: NullableText
    item: Item | None


class ScanResult(Answer):
    file: str
    media_type: NullableText
    error: ErrorBody | None = None
    codes: list[ScanCode]
    notice: NullableText = Field(None, description="Pages not read (page, pixel or time budget), in German.")


class ScanUpload(BaseModel):
    """multipart/form-data with exactly one file in `image` (JPEG, PNG, TIFF or PDF)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    image: Annotated[Any, WithJsonSchema({"type": "string", "format": "binary"})]

"""Incoming mail: the limits, field names and labels every part of intake uses."""

from __future__ import annotations

from datetime import datetime

from mailroom.services import uploads as upload_checks
from mailroom.services.clock import LOCAL_TZ

CODE_MAX = 64
NOTE_MAX = 500
TEXT_LIMITS = {"sender": 200, "recipient_name": 200, "file_number": 64, "remarks": 2000}
DETAIL_FIELDS = (
    "kind",
    "org_unit",
    "sender",
    "recipient_name",
    "file_number",
    "delivery_date",
    "confidential",
    "remarks",
)
# Personal data: its values never go into the (append-only, never purged) event log, only the field names.
PERSONAL_FIELDS = frozenset({"sender", "recipient_name", "remarks"})
FIELD_LABELS = {
    "kind": "Sendungsart",
    "org_unit": "Fachdienst",
    "sender": "Absender",
    "recipient_name": "Empfänger/in",
    "file_number": "Aktenzeichen",
    "delivery_date": "Zustelldatum",
    "confidential": "vertraulich",
    "remarks": "Bemerkung",
}
UPLOAD_STORAGE_KIND = "uploads"
MEDIA_SUFFIXES = {"image/jpeg": ".jpg", "image/png": ".png", "image/tiff": ".tif", "application/pdf": ".pdf"}
DEFAULT_UPLOAD_MAX_FILES = 50

OK, WARN, ERROR = "ok", "warn", "error"
INFO = "info"  # nothing went wrong and nothing changed (e.g. an item already in its box): neutral, not red


UploadTooLarge = upload_checks.UploadTooLarge  # 413: a file over the byte limit


def local_time(moment: datetime) -> datetime:
    """A stored UTC time in the administration's zone."""
    return moment.astimezone(LOCAL_TZ)

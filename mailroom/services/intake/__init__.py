"""Incoming mail: logging items (scan station, by hand, from uploaded envelope scans), the receipt stamp,
details, sorting into site boxes, Irrläufer, tracking.

Every status change goes through `mailroom.services.custody`. Functions only flush; the caller commits
once per action. Messages are German (shown to the user as they are).

The receipt stamp: every item gets the next running incoming number of its year (``E-2026-004711``,
`IncomingCounter`) and the exact time. The number is taken with one ``UPDATE ... RETURNING``: on PostgreSQL
in its own short transaction (the counter row is locked only for the number itself, so scan stations do not
wait on each other's commits; a failed request leaves a gap), on SQLite inside the request's transaction (one
writer at a time there anyway). Two requests never get the same number; the row of a new year is created
with ``INSERT ... ON CONFLICT DO NOTHING`` first. Notifications are outbox rows sent after the commit
(`mailroom.services.outbox`).

Parts: `numbers` (the receipt stamp), `lookups`, `log` (logging an item), `details` (and the work list),
`sorting` (boxes, Irrläufer), `search` (finding mail by unit, sender, ...), `history` (custody chain, JSON),
`uploads` (envelope scans); `common` holds the limits and labels. The public names are re-exported here:
`from mailroom.services import intake` works.
"""

from __future__ import annotations

from mailroom.services.intake.common import (
    CODE_MAX,
    DEFAULT_UPLOAD_MAX_FILES,
    DETAIL_FIELDS,
    ERROR,
    FIELD_LABELS,
    MEDIA_SUFFIXES,
    NOTE_MAX,
    OK,
    PERSONAL_FIELDS,
    TEXT_LIMITS,
    UPLOAD_STORAGE_KIND,
    WARN,
    UploadTooLarge,
)
from mailroom.services.intake.details import (
    logged_today,
    set_details,
    worklist,
)
from mailroom.services.intake.history import (
    HistoryRow,
    event_to_json,
    history,
    item_to_json,
)
from mailroom.services.intake.log import (
    DEFAULT_VOID_MINUTES,
    ScanResult,
    log_item,
    notify_if_registered,
    void_scan,
    void_seconds_left,
)
from mailroom.services.intake.lookups import (
    find_item,
    get_item,
    get_item_by_code,
    normalise_code,
    org_unit_label,
    org_units,
    parse_kind,
    resolve_org_unit,
    resolve_site,
)
from mailroom.services.intake.numbers import (
    format_incoming_number,
    next_incoming_number,
)
from mailroom.services.intake.search import (
    SEARCH_LIMIT,
    SearchCriteria,
    parse_criteria,
    search_items,
)
from mailroom.services.intake.sorting import (
    API_EVENT_KINDS,
    SortResult,
    apply_event,
    box_items,
    forward_item,
    move_box,
    resolve_box,
    return_box,
    return_item,
    sort_scanned,
)
from mailroom.services.intake.uploads import (
    CodeOutcome,
    FileOutcome,
    Upload,
    envelope_file,
    process_upload,
    process_uploads,
)

__all__ = [
    "API_EVENT_KINDS",
    "CODE_MAX",
    "DEFAULT_UPLOAD_MAX_FILES",
    "DEFAULT_VOID_MINUTES",
    "DETAIL_FIELDS",
    "ERROR",
    "FIELD_LABELS",
    "MEDIA_SUFFIXES",
    "NOTE_MAX",
    "OK",
    "PERSONAL_FIELDS",
    "SEARCH_LIMIT",
    "TEXT_LIMITS",
    "UPLOAD_STORAGE_KIND",
    "WARN",
    "CodeOutcome",
    "FileOutcome",
    "HistoryRow",
    "ScanResult",
    "SearchCriteria",
    "SortResult",
    "Upload",
    "UploadTooLarge",
    "apply_event",
    "box_items",
    "envelope_file",
    "event_to_json",
    "find_item",
    "format_incoming_number",
    "forward_item",
    "get_item",
    "get_item_by_code",
    "history",
    "item_to_json",
    "log_item",
    "logged_today",
    "move_box",
    "next_incoming_number",
    "normalise_code",
    "notify_if_registered",
    "org_unit_label",
    "org_units",
    "parse_criteria",
    "parse_kind",
    "process_upload",
    "process_uploads",
    "resolve_box",
    "resolve_org_unit",
    "resolve_site",
    "return_box",
    "return_item",
    "search_items",
    "set_details",
    "sort_scanned",
    "void_scan",
    "void_seconds_left",
    "worklist",
]

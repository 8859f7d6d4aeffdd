"""Uploaded envelope and label scans: every barcode on them logged or matched, the scan kept."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from labels import codes as carrier_codes
from labels.reading import FileRejected, check_file_name
from mailroom.errors import DomainError, NotFound, UploadRejected, ValidationFailed
from mailroom.extensions import db
from mailroom.models import (
    MailItem,
    User,
)
from mailroom.services import storage
from mailroom.services import uploads as upload_checks
from mailroom.services.intake.common import DEFAULT_UPLOAD_MAX_FILES, MEDIA_SUFFIXES, UPLOAD_STORAGE_KIND
from mailroom.services.intake.history import item_to_json
from mailroom.services.intake.log import ScanResult, log_item
from mailroom.services.intake.lookups import normalise_code

# --- uploads of envelope and label scans --------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str


@dataclass
class CodeOutcome:
    value: str
    symbology: str
    info: carrier_codes.CodeInfo
    result: ScanResult | None = None
    error: str | None = None

    def to_json(self) -> dict:
        return {
            "value": self.value,
            "symbology": self.symbology,
            "format": self.info.format,
            "format_label": self.info.label,
            "check_digit_valid": self.info.check_digit_valid,
            "message": self.result.message if self.result else self.error,
            "created": self.result.created if self.result else False,
            "error": self.error,
            "item": item_to_json(self.result.item) if self.result else None,
        }


@dataclass
class FileOutcome:
    filename: str
    media_type: str | None = None
    error: str | None = None
    error_code: str | None = None
    error_status: int = 422
    codes: list[CodeOutcome] = field(default_factory=list)
    notice: str | None = None  # pages not read (page limit, pixel or time budget), in German

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict:
        return {
            "file": self.filename,
            "media_type": self.media_type,
            "error": {"code": self.error_code, "message": self.error} if self.error else None,
            "codes": [c.to_json() for c in self.codes],
            "notice": self.notice,
        }


def _envelope_in_use(sha256: str) -> bool:
    with db.engine.connect() as connection:
        found = connection.execute(select(MailItem.id).where(MailItem.envelope_sha256 == sha256).limit(1)).first()
    return found is not None


def _upload_name(upload: Upload) -> str:
    """The display name; UploadRejected for a name with a path or control characters."""
    try:
        return check_file_name(upload.filename)
    except FileRejected as exc:
        raise upload_checks.rejected(exc) from exc


def process_upload(
    upload: Upload,
    *,
    user: User | None,
    max_bytes: int | None = None,
    max_pixels: int | None = None,
    via: str = "upload",
    budget: upload_checks.RequestBudget | None = None,
) -> FileOutcome:
    """Decode every barcode on one uploaded scan (within the budgets of `mailroom.services.uploads`; pages
    not read are named in `notice`); match each code to an item or log a new one, and keep the scan with
    the items it logged. Raises UploadRejected (nothing stored) for a bad file or a file without any barcode."""
    name = _upload_name(upload)
    read = upload_checks.read_upload(upload.data, name, upload_checks.read_limits(max_bytes, max_pixels), budget)
    media_type, codes = read.media_type, read.codes
    outcome = FileOutcome(filename=name, media_type=media_type, notice=read.notice())
    values: list[tuple[str, str]] = []
    seen: set[str] = set()
    for code in codes:
        value = normalise_code(code.value)
        if value and value not in seen:
            seen.add(value)
            values.append((value, code.symbology))
    if not values:
        raise UploadRejected(
            f"„{name}“: kein Barcode gefunden. Bitte die Sendung an der Scanstation von Hand erfassen."
            + (f" {outcome.notice}" if outcome.notice else ""),
            code="no_barcode",
        )
    items_with_scan: list[MailItem] = []
    for value, symbology in values:
        info = carrier_codes.classify(value)
        code_outcome = CodeOutcome(value=info.value or value, symbology=symbology, info=info)
        outcome.codes.append(code_outcome)
        if info.format == "box":
            code_outcome.error = "Fach-Code: wird beim Hochladen übergangen."
            continue
        try:  # log_item checks everything before it writes: a refused code leaves nothing behind
            result = log_item(value, user=user, via=via)
        except DomainError as exc:
            code_outcome.error = exc.message
            continue
        code_outcome.result = result
        if result.item.envelope_sha256 is None:
            items_with_scan.append(result.item)
    if items_with_scan:
        sha256 = storage.store_in_transaction(
            UPLOAD_STORAGE_KIND, upload.data, MEDIA_SUFFIXES[media_type], in_use=_envelope_in_use
        )
        for item in items_with_scan:
            item.envelope_sha256 = sha256
            item.envelope_media_type = media_type
        db.session.flush()
    return outcome


def process_uploads(
    uploads: Iterable[Upload],
    *,
    user: User | None,
    max_bytes: int | None = None,
    max_pixels: int | None = None,
    max_files: int = DEFAULT_UPLOAD_MAX_FILES,
) -> list[FileOutcome]:
    """Several files at once: a bad file is reported and leaves nothing behind; the good ones are logged."""
    uploads = list(uploads)
    if not uploads:
        raise ValidationFailed("Bitte mindestens eine Datei auswählen.", code="no_file")
    if len(uploads) > max_files:
        raise ValidationFailed(f"Höchstens {max_files} Dateien auf einmal.", code="too_many_files")
    outcomes = []
    budget = upload_checks.RequestBudget.from_config()  # pages x pixels over all files of this request
    for upload in uploads:
        try:  # a file is refused before anything of it is written
            outcomes.append(
                process_upload(upload, user=user, max_bytes=max_bytes, max_pixels=max_pixels, budget=budget)
            )
        except UploadRejected as exc:
            name = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1][:255] or "Datei"
            outcomes.append(FileOutcome(filename=name, error=exc.message, error_code=exc.code, error_status=exc.status))
    return outcomes


def envelope_file(item: MailItem) -> tuple[bytes, str]:
    if not item.envelope_sha256 or not item.envelope_media_type:
        raise NotFound("Zu dieser Sendung gibt es keinen Umschlag-Scan.")
    suffix = MEDIA_SUFFIXES.get(item.envelope_media_type, "")
    try:
        return storage.read(UPLOAD_STORAGE_KIND, item.envelope_sha256, suffix), item.envelope_media_type
    except FileNotFoundError:
        raise NotFound("Der Umschlag-Scan ist nicht mehr vorhanden.") from None

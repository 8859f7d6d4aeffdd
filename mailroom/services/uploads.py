"""Uploaded scans within budgets: the app's side of the pure reader `labels.reading`.

`labels.reading` checks and decodes bytes (a pure function, ready to run in a worker process); this module
adds what belongs to the running server:

- the budgets from the configuration (`read_limits`): bytes and pixels per file, pixels a page is decoded
  at, pages per file, seconds per file, and pixels per request (`RequestBudget`: pages x pixels summed over
  every file of one request);
- a gate (`UploadGate`) that lets at most `UPLOAD_DECODE_SLOTS` uploads be read at once and at most
  `UPLOAD_DECODE_QUEUE` more wait for a slot (each up to `UPLOAD_DECODE_WAIT_S`); any further upload is
  answered at once with a German 503. Reading holds a server thread, so without the gate eight hostile
  uploads would hold all of waitress's threads and nothing, not even the health check, would be answered;
- the refusals of `labels.reading` turned into the app's `UploadRejected` (413 for a file over the byte
  limit, 503 when the server is busy, 422 otherwise).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import current_app

from labels.reading import (
    FileRejected,
    ReadLimits,
    ReadResult,
    check_file_name,
    inspect_file,
    precheck,
    read_codes,
)
from mailroom.errors import UploadRejected

GATE_EXTENSION = "mailroom.upload_gate"


class UploadTooLarge(UploadRejected):
    status = 413


class ServerBusy(UploadRejected):
    code = "busy"
    status = 503


def rejected(exc: FileRejected, name: str | None = None) -> UploadRejected:
    """The app's error for a refusal of `labels.reading` (the message prefixed with the file name if given)."""
    message = f"„{name}“: {exc.message}" if name else exc.message
    error_type = UploadTooLarge if exc.code == "too_large" else UploadRejected
    error = error_type(message, code=exc.code)
    error.__cause__ = exc
    return error


def read_limits(max_bytes: int | None = None, max_pixels: int | None = None) -> ReadLimits:
    """The budgets of reading one uploaded file, from the configuration (arguments override it)."""
    config = current_app.config
    return ReadLimits(
        max_bytes=int(max_bytes if max_bytes is not None else config["UPLOAD_MAX_BYTES"]),
        max_pixels=int(max_pixels if max_pixels is not None else config["MAX_IMAGE_PIXELS"]),
        decode_pixels=int(config["UPLOAD_DECODE_PIXELS"]),
        file_pixels=int(config["UPLOAD_FILE_PIXELS"]),
        max_pages=int(config["UPLOAD_MAX_PAGES"]),
        seconds=float(config["UPLOAD_FILE_SECONDS"]),
    )


@dataclass
class RequestBudget:
    """Pixels left for the files of one request (pages x pixels over all its files)."""

    pixels_left: int

    @classmethod
    def from_config(cls) -> RequestBudget:
        return cls(int(current_app.config["UPLOAD_REQUEST_PIXELS"]))

    def limits_for_file(self, limits: ReadLimits, name: str) -> ReadLimits:
        """The file's limits within what is left; UploadRejected when nothing is left."""
        if self.pixels_left <= 0:
            raise UploadRejected(
                f"„{name}“ wurde nicht gelesen: die Dateien dieser Sendung zusammen übersteigen das Pixelbudget "
                "einer Anfrage. Bitte diese Datei in einem zweiten Durchgang hochladen.",
                code="request_pixel_budget",
            )
        return ReadLimits(
            max_bytes=limits.max_bytes,
            max_pixels=limits.max_pixels,
            decode_pixels=limits.decode_pixels,
            file_pixels=min(limits.file_pixels, self.pixels_left),
            max_pages=limits.max_pages,
            seconds=limits.seconds,
        )

    def spend(self, pixels: int) -> None:
        self.pixels_left -= pixels


class UploadGate:
    """At most `slots` uploads read at once, at most `queue` more waiting (each up to `wait_s`); more: 503."""

    def __init__(self, slots: int, queue: int, wait_s: float) -> None:
        self._slots = threading.BoundedSemaphore(max(1, slots))
        self._admitted = 0
        self._limit = max(1, slots) + max(0, queue)
        self._lock = threading.Lock()
        self.wait_s = wait_s

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._lock:
            if self._admitted >= self._limit:
                raise _busy()
            self._admitted += 1
        try:
            if not self._slots.acquire(timeout=self.wait_s):
                raise _busy()
            try:
                yield
            finally:
                self._slots.release()
        finally:
            with self._lock:
                self._admitted -= 1


def _busy() -> ServerBusy:
    return ServerBusy(
        "Der Server liest gerade andere Scans und nimmt im Moment keine weiteren an. "
        "Bitte in einigen Sekunden noch einmal hochladen.",
    )


def gate() -> UploadGate:
    """The app's gate (one per app, made from its configuration at first use)."""
    extensions: dict[str, Any] = current_app.extensions
    with _GATE_CREATION:
        found = extensions.get(GATE_EXTENSION)
        if found is None:
            found = extensions[GATE_EXTENSION] = gate_from_config(current_app.config)
    return found


def gate_from_config(config: Mapping[str, Any]) -> UploadGate:
    return UploadGate(
        int(config["UPLOAD_DECODE_SLOTS"]), int(config["UPLOAD_DECODE_QUEUE"]), float(config["UPLOAD_DECODE_WAIT_S"])
    )


_GATE_CREATION = threading.Lock()


def read_upload(data: bytes, name: str, limits: ReadLimits, budget: RequestBudget | None = None) -> ReadResult:
    """Read the codes on one uploaded file within its budgets and the request's, through the gate.

    `name` is the display name (from `labels.reading.check_file_name`). Raises UploadRejected (German).
    """
    budget = budget or RequestBudget.from_config()
    file_limits = budget.limits_for_file(limits, name)
    try:
        precheck(data, file_limits)  # bombs, polyglots, wrong types: refused without waiting for a slot
        with gate().slot():
            result = read_codes(data, file_limits)
    except FileRejected as exc:
        raise rejected(exc, name) from exc
    budget.spend(result.pixels)
    return result


def inspect_stored_upload(data: bytes, filename: str, budget: RequestBudget | None = None) -> str:
    """Check a file that is stored, not decoded (content scans): its media type, or UploadRejected.

    Frames x pixels count against the request's pixel budget; the check runs through the gate (it loads
    every frame to find truncated files).
    """
    limits = read_limits(max_bytes=int(current_app.config["MAX_CONTENT_LENGTH"]))
    budget = budget or RequestBudget.from_config()
    try:
        name = check_file_name(filename)
    except FileRejected as exc:
        raise rejected(exc) from exc
    try:
        precheck(data, limits)
    except FileRejected as exc:
        raise rejected(exc, name) from exc
    with gate().slot():
        try:
            inspection = inspect_file(
                data,
                filename,
                max_bytes=limits.max_bytes,
                max_pixels=limits.max_pixels,
                max_file_pixels=min(limits.file_pixels, max(budget.pixels_left, 0)),
            )
        except FileRejected as exc:
            raise rejected(exc) from exc
    budget.spend(inspection.pixels)
    return inspection.media_type

"""Reading uploaded scans: upload checks, budgets and barcode decoding (zbar through pyzbar).

Pure: no Flask, no database, no mailroom imports (the import-linter contract guards it), so it can be
benchmarked standalone (benchmarks/decoding.py) and run in a worker process: `read_codes` is a function from
bytes and limits to a result. Refusals are `FileRejected` (German message, a machine code); the app turns
them into its own errors. The parts:

- `checks`: `inspect_file`/`inspect_upload`/`check_file_name`, an uploaded file checked by its content
  (type, size, pixels in the header, truncation, polyglots, the file name);
- `pages`: the pages of an image or PDF as grey images within the pixel budgets;
- `preprocess`: the preprocessed variants of a page tried in turn (upscaling for small modules, turning,
  contrast, thresholds, scaling);
- `zbar`: zbar's reads and which of them count (merged, partial and invented reads dropped).

`read_codes` (here) finds every barcode on every page within budgets (`ReadLimits`): the pixels of one page
as stored, the pixels a page is decoded at (larger images are reduced, JPEGs decoded at a reduced scale, PDF
pages rendered at a resolution chosen from the page size), the pixels of the whole file (pages x pixels,
frames x pixels), the number of pages and the seconds one file may take. Pages it does not read are
reported in the result (`ReadResult.unread_pages`, `notice()`), never dropped silently.

Decoding tries the cheap path first (zbar on the grey image as it is: a clean scan takes a few
milliseconds) and escalates through the passes only when nothing was found or the codes look incomplete
(an Interleaved 2 of 5 of a length no carrier uses, a check digit that fails, one of the two codes of our
own labels missing).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from labels.reading.checks import (
    DEFAULT_MAX_PIXELS,
    MEDIA_JPEG,
    MEDIA_PDF,
    MEDIA_PNG,
    MEDIA_TIFF,
    FileRejected,
    Inspection,
    check_bytes,
    check_file_name,
    check_frame_size,
    inspect_file,
    inspect_upload,
    open_header,
    sniff_media_type,
)
from labels.reading.pages import Page, open_pages
from labels.reading.preprocess import blank, passes
from labels.reading.zbar import SYMBOLOGIES, Collector, DecodedCode, Symbol, validated, zbar_scan

MAX_PAGES = 50  # pages/frames decoded per file by default (the rest is reported as not read)
PARTIAL_EXTRA_PASSES = 4  # passes tried after a page looks partial (a usual companion code missing)


@dataclass(frozen=True)
class ReadLimits:
    """Budgets of reading one file (see the module docstring)."""

    max_bytes: int = 100 * 1024 * 1024
    max_pixels: int = DEFAULT_MAX_PIXELS  # one page or frame as stored (checked in the header): refused above
    decode_pixels: int = 12_000_000  # a page is decoded at most at this size (reduced, or rendered lower)
    file_pixels: int = 400_000_000  # pixels loaded over all pages of the file; pages beyond are not read
    max_pages: int = MAX_PAGES  # pages or frames read per file; pages beyond are not read
    seconds: float | None = 10.0  # time budget of one file; None: unbounded (the command line)


@dataclass(frozen=True)
class ReadResult:
    """What `read_codes` found. Pages are numbered from 1; `unread_pages` are the pages not (fully) read."""

    media_type: str
    codes: list[DecodedCode]
    pages: int
    pages_read: int
    pixels: int  # pixels loaded or rendered (counted against the budgets)
    unread_reason: str | None = None  # "page_limit" | "pixel_budget" | "time_budget"
    limits: ReadLimits = field(default_factory=ReadLimits)

    @property
    def unread_pages(self) -> range:
        return range(self.pages_read + 1, self.pages + 1)

    def notice(self) -> str | None:
        """A German sentence naming the pages that were not read and why, or None."""
        if not self.unread_pages:
            return None
        first, last = self.unread_pages[0], self.unread_pages[-1]
        which = f"Seite {first}" if first == last else f"Seiten {first}–{last}"
        verb = "wurde" if first == last else "wurden"
        why = {
            "page_limit": f"höchstens {self.limits.max_pages} Seiten je Datei werden gelesen",
            "pixel_budget": "das Pixelbudget der Datei ist ausgeschöpft",
            "time_budget": f"die Lesezeit von {_fmt_seconds(self.limits.seconds)} je Datei ist abgelaufen",
        }.get(self.unread_reason or "", "")
        return (
            f"{which} von {self.pages} {verb} nicht gelesen ({why}). "
            "Bitte diese Seiten als eigene Datei hochladen oder von Hand erfassen."
        )


@dataclass(frozen=True)
class FileResult:
    file: str
    codes: list[DecodedCode]
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "codes": [{"symbology": c.symbology, "value": c.value} for c in self.codes],
            "error": self.error,
        }


def _fmt_seconds(seconds: float | None) -> str:
    return "unbegrenzt" if seconds is None else f"{seconds:g} s"


def decode_grey(grey: Image.Image, deadline: float | None = None) -> list[DecodedCode]:
    """All codes on one grey page, escalating preprocessing only as far as needed (and as time allows:
    no new pass starts after `deadline`, a `time.monotonic()` value)."""
    if blank(grey):
        return []
    collector = Collector()
    extra = PARTIAL_EXTRA_PASSES
    for step in passes(grey):
        if deadline is not None and time.monotonic() > deadline and collector.symbols:
            break
        if deadline is not None and time.monotonic() > deadline:
            raise _OutOfTime
        found = zbar_scan(step.make())
        collector.add([s for s in found if validated(s)] if step.checked else found)
        state = collector.completeness()
        if state == "done":
            break
        if state == "partial":
            # A companion code may simply not be there: a few more passes, not all of them.
            if extra == 0:
                break
            extra -= 1
    return collector.result()


class _OutOfTime(Exception):
    """The time budget of a file ran out before a page gave any code."""


# --- files -------------------------------------------------------------------------------------


def precheck(data: bytes, limits: ReadLimits | None = None) -> str:
    """The cheap checks of `read_codes` (size, type, polyglot, the first frame's header; no pixel decoded):
    the media type or FileRejected. Lets a server refuse such files without waiting for a decoding slot."""
    limits = limits or ReadLimits()
    media_type = check_bytes(data, limits.max_bytes)
    if media_type != MEDIA_PDF:
        check_frame_size(open_header(data, media_type), limits.max_pixels)
    return media_type


def read_codes(data: bytes, limits: ReadLimits | None = None) -> ReadResult:
    """Every barcode on the pages of an image or PDF within the budgets of `limits`, deduplicated, in a stable
    order, and which pages were not read. Raises FileRejected (German, without the file name) for files
    that are refused or not readable, and when the time budget ran out before any code was found."""
    limits = limits or ReadLimits()
    start = time.monotonic()
    deadline = None if limits.seconds is None else start + limits.seconds
    media_type, count, pages, close = _open_pages(data, limits)
    codes: list[DecodedCode] = []
    seen: set[DecodedCode] = set()
    read = pixels = 0
    reason: str | None = None
    try:
        for page in pages:
            if pixels + page.pixels > limits.file_pixels and read > 0:
                reason = "pixel_budget"
                break
            pixels += page.pixels
            try:
                found = decode_grey(page.image, deadline)
            except _OutOfTime:
                reason = "time_budget"
                break
            read += 1
            for code in found:
                if code not in seen:
                    seen.add(code)
                    codes.append(code)
            if read >= min(count, limits.max_pages):
                break
            if deadline is not None and time.monotonic() > deadline:
                reason = "time_budget"
                break
    finally:
        close()  # the PDF is closed (under the lock) however reading ended
    if reason is None and read < count:
        reason = "page_limit"
    if reason == "time_budget" and not codes:
        raise FileRejected(
            f"Die Datei konnte nicht in der vorgesehenen Zeit ({_fmt_seconds(limits.seconds)}) gelesen werden: "
            "bitte mit 300 dpi scannen oder die Sendung an der Scanstation von Hand erfassen.",
            code="time_budget",
        )
    return ReadResult(media_type, codes, count, read, pixels, reason, limits)


def load_pages(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Iterator[Image.Image]:
    """The pages of an image or PDF as grey images as they are decoded (EXIF orientation applied)."""
    limits = ReadLimits(max_pixels=max_pixels, seconds=None)
    _media_type, count, pages, close = _open_pages(data, limits)
    try:
        for index, page in enumerate(pages):
            if index >= min(count, limits.max_pages):
                break
            yield page.image
    finally:
        close()


def decode_image_bytes(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> list[DecodedCode]:
    """Every barcode on the first pages of an image or PDF (no time budget), deduplicated, in a stable order.

    Raises FileRejected (German message) for files that are not readable images or PDFs.
    """
    return read_codes(data, ReadLimits(max_pixels=max_pixels, seconds=None)).codes


def decode_file(
    path: str | Path, *, max_bytes: int = 100 * 1024 * 1024, max_pixels: int = DEFAULT_MAX_PIXELS
) -> FileResult:
    """Decode one file; an unreadable file gives no codes and a German error text, never an exception."""
    name = str(path)
    try:
        p = Path(path)
        if not p.is_file():
            return FileResult(name, [], "Datei nicht gefunden." if not p.exists() else "Keine Datei.")
        if p.stat().st_size > max_bytes:
            return FileResult(name, [], f"Datei zu groß (höchstens {max_bytes / 1_048_576:.0f} MB).")
        data = p.read_bytes()
    except OSError as exc:
        return FileResult(name, [], f"Datei nicht lesbar: {exc.strerror or exc}")
    # The command line reads every page: whoever runs it chose the file (uploads have budgets).
    limits = ReadLimits(max_bytes=max_bytes, max_pixels=max_pixels, file_pixels=2**62, max_pages=2**31, seconds=None)
    try:
        return FileResult(name, read_codes(data, limits).codes, None)
    except FileRejected as exc:
        return FileResult(name, [], exc.message)


def _open_pages(data: bytes, limits: ReadLimits) -> tuple[str, int, Iterator[Page], Callable[[], None]]:
    return open_pages(
        data, max_bytes=limits.max_bytes, max_pixels=limits.max_pixels, decode_pixels=limits.decode_pixels
    )


__all__ = [
    "DEFAULT_MAX_PIXELS",
    "MAX_PAGES",
    "MEDIA_JPEG",
    "MEDIA_PDF",
    "MEDIA_PNG",
    "MEDIA_TIFF",
    "SYMBOLOGIES",
    "Collector",
    "DecodedCode",
    "FileRejected",
    "FileResult",
    "Inspection",
    "ReadLimits",
    "ReadResult",
    "Symbol",
    "check_file_name",
    "decode_file",
    "decode_grey",
    "decode_image_bytes",
    "inspect_file",
    "inspect_upload",
    "load_pages",
    "precheck",
    "read_codes",
    "sniff_media_type",
    "zbar_scan",
]

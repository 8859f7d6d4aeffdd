"""Reading uploaded scans: upload checks, budgets and barcode decoding (zbar through pyzbar).

Pure: no Flask, no database, no mailroom imports (the import-linter contract guards it), so it can be
benchmarked standalone (benchmarks/decoding.py) and run in a worker process: `read_codes` is a function from
bytes and limits to a result. Refusals are `FileRejected` (German message, a machine code); the app turns
them into its own errors.

`inspect_upload` checks an uploaded file by its content: JPEG, PNG, TIFF or PDF, within the byte and pixel
limits, not truncated, not a polyglot (a file that is also another format), under a file name without a
path. Image headers are read by Pillow's format plugins directly, so a decompression bomb is refused by the
size in its header before any pixel is decoded, and without Pillow's own `DecompressionBombWarning`
(which pytest turns into an error).

`read_codes` finds every barcode on every page within budgets (`ReadLimits`): the pixels of one page as
stored, the pixels a page is decoded at (larger images are reduced, JPEGs decoded at a reduced scale, PDF
pages rendered at a resolution chosen from the page size), the pixels of the whole file (pages x pixels,
frames x pixels), the number of pages and the seconds one file may take. Pages it does not read are
reported in the result (`ReadResult.unread_pages`, `notice()`), never dropped silently.

Decoding tries the cheap path first (zbar on the grey image as it is: a clean scan takes a few
milliseconds) and escalates only when nothing was found or the codes look incomplete (an Interleaved 2 of 5
of a length no carrier uses, a check digit that fails, one of the two codes of our own labels missing):

1. the grey image as it is;
2. small modules (low resolution, blur): scaled up x2 and x3 with a Lanczos filter, then binarised at
   several thresholds (zbar needs about 2 pixels per module and sharp edges);
3. the image turned to the dominant direction of its edges (labels photographed or scanned askew; zbar
   itself reads 1D codes only within about 10-20 degrees of its scan lines);
4. contrast stretched (dark, low contrast), and a local threshold (uneven light);
5. scaled: up (sharpened) and down (noise and blur average out);
6. fixed turns in steps of 30 degrees, as a last resort.

Codes from all passes are merged: a value is kept once per symbology, in the order of first discovery.
A suspicious Interleaved 2 of 5 read (wrong length or failing check digit) is dropped when another pass
found a plausible code of the same kind; otherwise it is kept (and `codes.classify` flags it). A Code 128
read only after upscaling or thresholding is kept only if it is a known carrier format with a valid check
digit (or a format without one): such passes can invent bars, and a wrong code is worse than none.

PDFium is not thread-safe: one lock is held around the PDFium calls of opening a document and of rendering
one page (at most `decode_pixels`), never around decoding, so a one-page PDF waits at most for one page of
another upload.
"""

from __future__ import annotations

import io
import math
import threading
import time
from collections.abc import Callable, Iterator
from ctypes import c_char_p, c_void_p, cast, string_at
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFilter, ImageOps, JpegImagePlugin, PngImagePlugin, TiffImagePlugin

from labels import codes as carrier_codes

MEDIA_JPEG = "image/jpeg"
MEDIA_PNG = "image/png"
MEDIA_TIFF = "image/tiff"
MEDIA_PDF = "application/pdf"

DEFAULT_MAX_PIXELS = 60_000_000
MAX_PAGES = 50  # pages/frames decoded per file by default (the rest is reported as not read)
PDF_DPI = 250  # PDF pages are rendered at this resolution unless the pixel budget asks for less

# The symbologies decoded (zbar names). DataMatrix (Deutsche Post franking marks) is beyond zbar.
SYMBOLOGIES = ("CODE128", "I25", "QRCODE", "EAN13", "EAN8", "UPCA", "UPCE", "CODE39", "CODE93")
# Interleaved 2 of 5 has no start/stop robustness: zbar's short partial reads are noise. Carriers use 12
# (Identcode), 14 (Leitcode, ITF-14) digits; shorter reads are refused.
I25_MIN_LENGTH = 10
I25_PLAUSIBLE_LENGTHS = (12, 14)

_PDFIUM_LOCK = threading.Lock()  # PDFium is not thread-safe: held per call group, never per document


class FileRejected(ValueError):
    """An upload that cannot be read or is refused. `message` is German (shown as it is); `code` is for the API."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


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
class DecodedCode:
    symbology: str  # as pyzbar names it: "CODE128", "I25", "QRCODE", "EAN13", ...
    value: str


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


# --- upload checks -----------------------------------------------------------------------------


def sniff_media_type(data: bytes) -> str | None:
    """The media type by the file's first bytes (never by its name), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return MEDIA_JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return MEDIA_PNG
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return MEDIA_TIFF
    if b"%PDF-" in data[:1024]:
        return MEDIA_PDF
    return None


_PLUGINS: dict[str, Callable[[io.BytesIO], Image.Image]] = {
    MEDIA_JPEG: JpegImagePlugin.JpegImageFile,
    MEDIA_PNG: PngImagePlugin.PngImageFile,
    MEDIA_TIFF: TiffImagePlugin.TiffImageFile,
}

# Markers of formats a browser or another reader would act on. Their bytes do not occur by chance in an
# image (5-7 bytes: odds below 1 in 10^9 per file); XMP metadata ("<?xpacket", "<x:xmpmeta") is allowed.
_FOREIGN_MARKERS = (b"%pdf-", b"<html", b"<script", b"<?php", b"<iframe", b"<body", b"<!doctype html")
_ZIP_END = b"PK\x05\x06"  # a ZIP's end-of-central-directory record sits in its last 64 KiB
_PNG_END = b"IEND\xaeB`\x82"


def _polyglot(data: bytes, media_type: str) -> bool:
    """Is the file also another format (a PDF, HTML or script, a ZIP) besides the one it starts as?"""
    if media_type == MEDIA_PDF:
        # A PDF reader finds "%PDF-" anywhere in the first KiB: anything before it is another format.
        return not data.startswith(b"%PDF-")
    lowered = data.lower()
    if any(marker in lowered for marker in _FOREIGN_MARKERS):
        return True
    if _ZIP_END in data[-(65_536 + 22) :]:
        return True
    if media_type == MEDIA_PNG:
        end = data.rfind(_PNG_END)
        return end >= 0 and data[end + len(_PNG_END) :].strip(b"\x00") != b""
    return False


def check_file_name(filename: str | None) -> str:
    """The file's display name (its last path part, at most 255 characters); refuses traversal and control
    characters (a name is never used as a path here, but such a name is an attack, not a scan)."""
    raw = filename or ""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in raw):
        raise FileRejected("Der Dateiname enthält Steuerzeichen: die Datei wird nicht angenommen.", code="bad_name")
    parts = raw.replace("\\", "/").split("/")
    if ".." in (part.strip() for part in parts) or raw.startswith(("/", "\\")) or (len(raw) > 1 and raw[1] == ":"):
        shown = raw[:80]
        raise FileRejected(
            f"Der Dateiname „{shown}“ enthält eine Pfadangabe: bitte nur den Dateinamen senden.", code="bad_name"
        )
    return parts[-1].strip()[:255] or "Datei"


def _fmt_pixels(n: int) -> str:
    return f"{n / 1_000_000:.0f} Megapixel" if n >= 10_000_000 else f"{n / 1_000_000:.1f} Megapixel"


def _check_bytes(data: bytes, max_bytes: int) -> str:
    """Size, type by content, polyglot: the media type, or FileRejected (messages without the file name)."""
    if not data:
        raise FileRejected("Die Datei ist leer.", code="empty")
    if len(data) > max_bytes:
        raise FileRejected(
            f"Datei zu groß: {len(data) / 1_048_576:.1f} MB, höchstens {max_bytes / 1_048_576:.1f} MB sind erlaubt.",
            code="too_large",
        )
    media_type = sniff_media_type(data)
    if media_type is None:
        raise FileRejected(
            "Die Datei ist kein Bild und kein PDF (erlaubt: JPEG, PNG, TIFF, PDF).", code="unsupported_type"
        )
    if _polyglot(data, media_type):
        raise FileRejected(
            "Die Datei enthält außer dem Bild oder PDF noch Daten eines anderen Formats und wird nicht angenommen.",
            code="polyglot",
        )
    return media_type


def _open_header(data: bytes, media_type: str) -> Image.Image:
    """Open an image by its format plugin: reads the header only and does no pixel-count check of Pillow's."""
    try:
        return _PLUGINS[media_type](io.BytesIO(data))
    except Exception as exc:  # Pillow raises SyntaxError, OSError, ValueError, struct.error ... on bad headers
        raise FileRejected("Die Datei ist beschädigt oder kein lesbares Bild.", code="corrupt") from exc


def _frame_count(image: Image.Image) -> int:
    try:
        return max(1, int(getattr(image, "n_frames", 1)))
    except Exception as exc:  # a broken IFD chain
        raise FileRejected("Die Bilddatei ist beschädigt (Seitenverzeichnis nicht lesbar).", code="corrupt") from exc


def _check_frame_size(image: Image.Image, max_pixels: int) -> int:
    width, height = image.size
    if width <= 0 or height <= 0:
        raise FileRejected("Die Datei ist beschädigt oder kein lesbares Bild.", code="corrupt")
    if width * height > max_pixels:
        raise FileRejected(
            f"Das Bild ist zu groß ({width} × {height} Pixel, höchstens {_fmt_pixels(max_pixels)} erlaubt).",
            code="too_many_pixels",
        )
    return width * height


def _load(image: Image.Image) -> None:
    try:
        image.load()
    except Exception as exc:  # truncated or corrupt pixel data
        raise FileRejected(
            "Die Bilddatei ist unvollständig oder beschädigt und kann nicht gelesen werden.", code="truncated"
        ) from exc


def _seek(image: Image.Image, index: int) -> None:
    try:
        image.seek(index)
    except Exception as exc:
        raise FileRejected("Die Bilddatei ist beschädigt (Seite nicht lesbar).", code="corrupt") from exc


def _open_pdf(data: bytes) -> Any:
    """The PDFium document (call with the lock held) or FileRejected."""
    import pypdfium2

    if b"%%EOF" not in data[-2048:]:
        raise FileRejected("Die PDF-Datei ist unvollständig (Dateiende fehlt).", code="truncated")
    try:
        pdf = pypdfium2.PdfDocument(data)
    except Exception as exc:  # PdfiumError: damaged, or protected by a password
        raise FileRejected(
            "Die PDF-Datei ist beschädigt oder verschlüsselt und kann nicht gelesen werden.", code="corrupt"
        ) from exc
    if len(pdf) == 0:
        pdf.close()
        raise FileRejected("Die PDF-Datei enthält keine Seiten.", code="corrupt")
    return pdf


@dataclass(frozen=True)
class Inspection:
    media_type: str
    pixels: int  # pixels of all frames (0 for a PDF: it is opened, not rendered)


def inspect_file(
    data: bytes,
    filename: str,
    *,
    max_bytes: int,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_file_pixels: int | None = None,
) -> Inspection:
    """Check an uploaded file by its content (for files that are stored, not decoded); raises FileRejected
    (German, naming the file).

    Refused: a file name with a path or control characters, empty, larger than `max_bytes`, not a
    JPEG/PNG/TIFF/PDF (by content: the name does not count), a polyglot, more than `max_pixels` pixels in a
    frame (checked in the header, before decoding), more than `max_file_pixels` over all frames, truncated
    or corrupt.
    """
    name = check_file_name(filename)
    total = 0
    try:
        media_type = _check_bytes(data, max_bytes)
        if media_type == MEDIA_PDF:
            with _PDFIUM_LOCK:
                _open_pdf(data).close()
        else:
            image = _open_header(data, media_type)
            frames = _frame_count(image)
            for index in range(frames):
                if index:
                    _seek(image, index)
                total += _check_frame_size(image, max_pixels)
                if max_file_pixels is not None and total > max_file_pixels:
                    raise FileRejected(
                        "Die Datei hat mehr Bildpunkte als erlaubt (höchstens "
                        f"{_fmt_pixels(max_file_pixels)} für alle Seiten zusammen). Bitte mit geringerer "
                        "Auflösung scannen oder in mehreren Durchgängen hochladen.",
                        code="too_many_pixels",
                    )
                _load(image)
    except FileRejected as exc:
        raise FileRejected(f"„{name}“: {exc.message}", code=exc.code) from exc.__cause__
    return Inspection(media_type, total)


def inspect_upload(
    data: bytes,
    filename: str,
    *,
    max_bytes: int,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_file_pixels: int | None = None,
) -> str:
    """`inspect_file`'s media type."""
    return inspect_file(
        data, filename, max_bytes=max_bytes, max_pixels=max_pixels, max_file_pixels=max_file_pixels
    ).media_type


# --- zbar --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Symbol:
    symbology: str
    value: str
    quality: int


def _zbar_symbols() -> tuple:
    from pyzbar.wrapper import ZBarSymbol

    return tuple(ZBarSymbol[name] for name in SYMBOLOGIES)


def zbar_scan(image: Image.Image) -> list[_Symbol]:
    """zbar on a grey ("L") image with our configuration (symbologies, I25 minimum length)."""
    from pyzbar.wrapper import (
        ZBarConfig,
        ZBarSymbol,
        zbar_image_create,
        zbar_image_destroy,
        zbar_image_first_symbol,
        zbar_image_scanner_create,
        zbar_image_scanner_destroy,
        zbar_image_scanner_set_config,
        zbar_image_set_data,
        zbar_image_set_format,
        zbar_image_set_size,
        zbar_scan_image,
        zbar_symbol_get_data,
        zbar_symbol_get_data_length,
        zbar_symbol_get_quality,
        zbar_symbol_next,
    )

    if image.mode != "L":
        image = image.convert("L")
    pixels = image.tobytes()
    width, height = image.size
    found: list[_Symbol] = []
    scanner = zbar_image_scanner_create()
    try:
        zbar_image_scanner_set_config(scanner, ZBarSymbol.NONE, ZBarConfig.CFG_ENABLE, 0)
        for symbol in _zbar_symbols():
            zbar_image_scanner_set_config(scanner, symbol, ZBarConfig.CFG_ENABLE, 1)
        zbar_image_scanner_set_config(scanner, ZBarSymbol.I25, ZBarConfig.CFG_MIN_LEN, I25_MIN_LENGTH)
        zimage = zbar_image_create()
        try:
            zbar_image_set_format(zimage, 0x30303859)  # fourcc "Y800": 8-bit grey
            zbar_image_set_size(zimage, width, height)
            zbar_image_set_data(zimage, cast(c_char_p(pixels), c_void_p), len(pixels), None)
            if zbar_scan_image(scanner, zimage) > 0:
                symbol = zbar_image_first_symbol(zimage)
                while symbol:
                    raw = string_at(zbar_symbol_get_data(symbol), zbar_symbol_get_data_length(symbol))
                    try:
                        name = ZBarSymbol(symbol.contents.type).name
                    except ValueError:
                        name = f"TYPE{symbol.contents.type}"
                    found.append(_Symbol(name, _text(raw), zbar_symbol_get_quality(symbol)))
                    symbol = zbar_symbol_next(symbol)
        finally:
            zbar_image_destroy(zimage)
    finally:
        zbar_image_scanner_destroy(scanner)
    return found


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


# --- judging what was found --------------------------------------------------------------------


def _suspicious(symbol: _Symbol) -> bool:
    """A read that may be partial or misread: worth more passes, and replaced by a plausible one if found."""
    if symbol.symbology == "I25":
        if len(symbol.value) not in I25_PLAUSIBLE_LENGTHS:
            return True
        return carrier_codes.classify(symbol.value).check_digit_valid is False
    return False


@dataclass
class _Collector:
    symbols: list[_Symbol] = field(default_factory=list)

    def add(self, found: list[_Symbol]) -> None:
        seen = {(s.symbology, s.value) for s in self.symbols}
        for symbol in found:
            if (symbol.symbology, symbol.value) not in seen:
                seen.add((symbol.symbology, symbol.value))
                self.symbols.append(symbol)

    def _kept(self) -> list[_Symbol]:
        plausible = {s.symbology for s in self.symbols if not _suspicious(s)}
        # A suspicious read is dropped when a plausible code of the same symbology was found elsewhere:
        # it is most likely a partial or misread copy of it. An Interleaved 2 of 5 read that is part of a
        # longer one is a partial read (a 12-digit piece of a Leitcode can pass as an Identcode).
        i25 = [s.value for s in self.symbols if s.symbology == "I25"]
        return [
            s
            for s in self.symbols
            if not (_suspicious(s) and s.symbology in plausible)
            and not (s.symbology == "I25" and any(s.value != v and s.value in v for v in i25))
            and not self._misread_copy(s)
        ]

    def _misread_copy(self, symbol: _Symbol) -> bool:
        """An unknown value of the same symbology and length as a known code found on the page, mostly the
        same characters in the same places: a misread of that code (a blurred pass can pass Code 128's
        checksum with a few wrong characters), not a second code."""
        if carrier_codes.classify(symbol.value).is_known:
            return False
        for other in self.symbols:
            if other is symbol or other.symbology != symbol.symbology or len(other.value) != len(symbol.value):
                continue
            if not carrier_codes.classify(other.value).is_known:
                continue
            same = sum(a == b for a, b in zip(symbol.value, other.value, strict=True))
            if same * 2 >= len(symbol.value):
                return True
        return False

    def completeness(self) -> str:
        """ "none" (nothing yet, or only suspicious reads), "partial" (a usual companion code is missing), "done"."""
        kept = self._kept()
        if not kept or any(_suspicious(s) for s in kept):
            return "none"
        formats: dict[str, set[str]] = {}
        for s in kept:
            formats.setdefault(carrier_codes.classify(s.value).format, set()).add(s.symbology)
        # Our own labels carry the internal code twice (Code 128 and QR); DHL labels with a Leitcode
        # usually carry an Identcode too (and the reverse).
        internal_values: dict[str, set[str]] = {}
        for s in kept:
            if s.symbology in ("CODE128", "QRCODE") and carrier_codes.classify(s.value).format == "internal":
                internal_values.setdefault(s.value, set()).add(s.symbology)
        if any(len(kinds) < 2 for kinds in internal_values.values()):
            return "partial"
        if ("dhl_leitcode" in formats) != ("dhl_identcode" in formats):
            return "partial"
        return "done"

    def result(self) -> list[DecodedCode]:
        return [DecodedCode(s.symbology, s.value) for s in self._kept()]


# --- preprocessing -----------------------------------------------------------------------------


def dominant_angle(grey: Image.Image, max_side: int = 700) -> float | None:
    """The dominant edge direction modulo 90 degrees, in [-45, 45), from the strongest gradients.

    Labels carry their text, frames and bars along two perpendicular axes: the peak of the gradient
    orientation histogram (doubled-angle, weighted by magnitude, over quarter turns) is how far the label
    is turned. None if the image has no clear direction.
    """
    scale = max_side / max(grey.size)
    small = grey.reduce(max(1, math.floor(1 / scale))) if scale < 1 else grey
    a = np.asarray(small, dtype=np.float32)
    if a.shape[0] < 8 or a.shape[1] < 8:
        return None
    gx = a[1:-1, 2:] - a[1:-1, :-2]
    gy = a[2:, 1:-1] - a[:-2, 1:-1]
    mag = np.hypot(gx, gy)
    strong = mag > max(20.0, float(np.percentile(mag, 90)))
    if strong.sum() < 50:
        return None
    # Angle modulo 90 degrees, as a 4x-angle vector so that 0/90/180/270 coincide
    theta = np.arctan2(gy[strong], gx[strong]) * 4.0
    weights = mag[strong]
    hist, edges = np.histogram(theta, bins=180, range=(-math.pi, math.pi), weights=weights)
    # Circular smoothing over 5 bins
    kernel = np.array([1, 2, 3, 2, 1], dtype=np.float64)
    padded = np.concatenate([hist[-2:], hist, hist[:2]])
    smooth = np.convolve(padded, kernel, mode="valid")
    peak = int(np.argmax(smooth))
    if smooth[peak] < 2.0 * float(np.mean(smooth)):
        return None
    angle4 = (edges[peak] + edges[peak + 1]) / 2
    return math.degrees(angle4) / 4.0


def noise_level(grey: Image.Image, crop: int = 400) -> float:
    """Estimated standard deviation of pixel noise (Immerkær's fast method, on a central crop)."""
    w, h = grey.size
    left, top = max(0, (w - crop) // 2), max(0, (h - crop) // 2)
    a = np.asarray(grey.crop((left, top, min(w, left + crop), min(h, top + crop))), dtype=np.float32)
    if a.shape[0] < 3 or a.shape[1] < 3:
        return 0.0
    lap = (
        a[:-2, :-2] - 2 * a[:-2, 1:-1] + a[:-2, 2:]
        - 2 * a[1:-1, :-2] + 4 * a[1:-1, 1:-1] - 2 * a[1:-1, 2:]
        + a[2:, :-2] - 2 * a[2:, 1:-1] + a[2:, 2:]
    )  # fmt: skip
    return float(math.sqrt(math.pi / 2) * np.abs(lap).mean() / 6)


def _rotate(grey: Image.Image, angle: float) -> Image.Image:
    return grey.rotate(angle, Image.Resampling.BILINEAR, expand=True, fillcolor=255)


def _stretch(grey: Image.Image) -> Image.Image:
    return ImageOps.autocontrast(grey, cutoff=1)


def _local_threshold(grey: Image.Image, radius: int = 8, offset: int = 4) -> Image.Image:
    """Binarise against the local mean (uneven light, shadows, low contrast)."""
    mean = np.asarray(grey.filter(ImageFilter.BoxBlur(radius)), dtype=np.int16)
    a = np.asarray(grey, dtype=np.int16)
    return Image.fromarray(np.where(a < mean - offset, 0, 255).astype(np.uint8), "L")


def _scale(grey: Image.Image, factor: float) -> Image.Image:
    size = (max(1, round(grey.width * factor)), max(1, round(grey.height * factor)))
    if factor < 1:
        return grey.resize(size, Image.Resampling.BOX)
    return grey.resize(size, Image.Resampling.BICUBIC)


def _smooth(grey: Image.Image, radius: float = 1.0) -> Image.Image:
    return grey.filter(ImageFilter.GaussianBlur(radius))


def _rotate_smoothed(grey: Image.Image, angle: float) -> Image.Image:
    return _rotate(_smooth(grey), angle)


def _sharpen(grey: Image.Image) -> Image.Image:
    return grey.filter(ImageFilter.UnsharpMask(radius=3, percent=150, threshold=2))


NOISY = 4.0  # noise level above which the plain image is not worth a pass (zbar is slow and blind on noise)
LARGE = 2_500_000
PARTIAL_EXTRA_PASSES = 4  # pixels above which upscaling is skipped


def _low_contrast(grey: Image.Image) -> bool:
    """Dark or flat: the 1st and 99th percentile of the grey values are less than half the range apart."""
    hist = grey.histogram()
    total = sum(hist)
    lo = hi = acc = 0
    for value, count in enumerate(hist):
        acc += count
        if acc <= total * 0.01:
            lo = value
        if acc < total * 0.99:
            hi = value
    return hi - lo < 128


BLANK_RANGE = 24  # grey levels between the darkest and the lightest 0.1 % below which a page is blank


def _blank(grey: Image.Image, max_side: int = 1000) -> bool:
    """Nothing printed on the page (blank paper, an empty PDF page, a uniform image): no pass can find a code.

    A code covers well over 0.1 % of any page it is readable on, so the 0.1 % darkest pixels of a page
    with a code are ink; on blank paper they are only a little darker than the paper.
    """
    factor = max(1, math.ceil(max(grey.size) / max_side))
    small = np.asarray(grey.reduce(factor) if factor > 1 else grey)
    low, high = np.percentile(small, [0.1, 99.9])
    return bool(high - low < BLANK_RANGE)


UPSCALE_MAX_PIXELS = 1_500_000  # pages up to this size get the upscaling passes (x3: 13.5 MP at most)


def _upscale(grey: Image.Image, factor: int) -> Image.Image:
    """Scaled up with a Lanczos filter: a bar module of 1.3-2 pixels becomes 3-6 pixels with sharp edges
    (bicubic rings less but blurs more; zbar needs about 2 pixels per module and a clear edge)."""
    return grey.resize((grey.width * factor, grey.height * factor), Image.Resampling.LANCZOS)


def otsu_threshold(grey: Image.Image) -> int:
    """The grey level that best separates ink and paper (Otsu's method on the histogram)."""
    hist = np.asarray(grey.histogram()[:256], dtype=np.float64)
    total = hist.sum()
    if total == 0:
        return 128
    levels = np.arange(256, dtype=np.float64)
    weight = np.cumsum(hist) / total
    mean = np.cumsum(hist * levels) / total
    between = (mean[-1] * weight - mean) ** 2 / (weight * (1 - weight) + 1e-12)
    return int(np.argmax(between))


def _binarise(grey: Image.Image, offset: int) -> Image.Image:
    """Black below Otsu's threshold + `offset` (a negative offset thins bars that blur has widened)."""
    threshold = otsu_threshold(grey) + offset
    return grey.point(lambda value: 0 if value < threshold else 255)


@dataclass(frozen=True)
class _Pass:
    make: Callable[[], Image.Image]
    checked: bool = False  # its linear reads count only as known formats with a valid check digit


def _passes(grey: Image.Image) -> Iterator[_Pass]:
    """Preprocessed variants of the image, cheapest and most promising first (computed lazily)."""
    if _low_contrast(grey):
        grey = _stretch(grey)
    noise = noise_level(grey)
    noisy = noise > NOISY
    if not noisy:
        yield _Pass(lambda: grey)
    # Smoothing as strong as the noise asks for: 1 pixel for slight noise, up to 2 for heavy noise
    radius = 1.0 + min(1.0, max(0.0, (noise - NOISY) / 16))
    angle = dominant_angle(_smooth(grey, radius) if noisy else grey)
    base = _rotate(grey, angle) if angle is not None and abs(angle) > 4 else grey
    if base is not grey and not noisy:
        yield _Pass(lambda: base)
    small = base.width * base.height <= UPSCALE_MAX_PIXELS
    if small:  # small modules at low resolution (a Code 128 printed small, scanned at 120-160 dpi)
        yield _Pass(lambda: _upscale(base, 2), checked=True)
        yield _Pass(lambda: _binarise(_upscale(base, 2), -15), checked=True)
    yield _Pass(lambda: _smooth(base, radius))
    if noisy:
        yield _Pass(lambda: _smooth(base, radius + 0.5))
        yield _Pass(lambda: base.filter(ImageFilter.MedianFilter(3)))  # noise on a blurred image: keep the edges
    yield _Pass(lambda: _local_threshold(_scale(base, 0.5)))
    yield _Pass(lambda: _local_threshold(_smooth(base)))
    yield _Pass(lambda: _sharpen(base))
    yield _Pass(lambda: _sharpen(base.filter(ImageFilter.MedianFilter(3))))
    yield _Pass(lambda: _stretch(_scale(base, 1 / 3)))
    if base.width * base.height < LARGE:
        yield _Pass(lambda: _local_threshold(_scale(_smooth(base, 0.7), 2.0), radius=12, offset=1))
        yield _Pass(lambda: _sharpen(_scale(_smooth(base), 2.0)))
    if small:
        yield _Pass(lambda: _upscale(base, 3), checked=True)
        yield _Pass(lambda: _binarise(_upscale(base, 3), -30), checked=True)
        yield _Pass(lambda: _binarise(_upscale(base, 2), 0), checked=True)
    # Turned copies grow by up to 2x and zbar is slowest on them: a large page is turned at half its size
    # (its modules stay readable: a page that large was scanned at a high resolution).
    turned = base if base.width * base.height < LARGE else _scale(base, 0.5)
    for step in (30, 60, -30, -60):
        yield _Pass(partial(_rotate_smoothed, turned, step))


def _validated(symbol: _Symbol) -> bool:
    """A read from an upscaled or thresholded image: such passes can invent or merge bars, so a linear code
    counts only as a known format whose check digit holds (or that has none, like DHL's JJD numbers)."""
    if symbol.symbology in ("QRCODE",):  # Reed-Solomon error correction: a wrong read is not plausible
        return True
    info = carrier_codes.classify(symbol.value)
    return info.is_known and info.check_digit_valid is not False


def decode_grey(grey: Image.Image, deadline: float | None = None) -> list[DecodedCode]:
    """All codes on one grey page, escalating preprocessing only as far as needed (and as time allows:
    no new pass starts after `deadline`, a `time.monotonic()` value)."""
    if _blank(grey):
        return []
    collector = _Collector()
    extra = PARTIAL_EXTRA_PASSES
    for step in _passes(grey):
        if deadline is not None and time.monotonic() > deadline and collector.symbols:
            break
        if deadline is not None and time.monotonic() > deadline:
            raise _OutOfTime
        found = zbar_scan(step.make())
        collector.add([s for s in found if _validated(s)] if step.checked else found)
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


@dataclass(frozen=True)
class _Page:
    image: Image.Image  # grey, at most about `decode_pixels`
    pixels: int  # pixels loaded or rendered for it (the budget's unit)


def _reduce_to(grey: Image.Image, budget: int) -> Image.Image:
    """The page reduced by a whole factor (box filter) until it fits the decode budget."""
    pixels = grey.width * grey.height
    if pixels <= budget:
        return grey
    return grey.reduce(math.ceil(math.sqrt(pixels / budget)))


def _image_pages(data: bytes, media_type: str, limits: ReadLimits) -> tuple[int, Iterator[_Page]]:
    """The number of frames and the frames as grey pages (EXIF orientation applied), header-checked first."""
    image = _open_header(data, media_type)
    frames = _frame_count(image)

    def pages() -> Iterator[_Page]:
        for index in range(frames):
            if index:
                _seek(image, index)
            stored = _check_frame_size(image, limits.max_pixels)
            if media_type == MEDIA_JPEG and stored > limits.decode_pixels:
                # JPEG decodes at 1/2, 1/4 or 1/8 scale directly: less time and memory for a huge photo
                factor = math.sqrt(stored / limits.decode_pixels)
                image.draft("L", (math.ceil(image.width / factor), math.ceil(image.height / factor)))
            _load(image)
            pixels = image.width * image.height
            grey = ImageOps.exif_transpose(image).convert("L")
            yield _Page(_reduce_to(grey, limits.decode_pixels), max(pixels, 1))

    return frames, pages()


def _pdf_scale(width_pt: float, height_pt: float, budget: int) -> float:
    """Render scale (pixels per point) of a page: PDF_DPI, or less so that the page fits `budget` pixels."""
    scale = PDF_DPI / 72
    area = max(width_pt, 1.0) * max(height_pt, 1.0)
    if area * scale * scale > budget:
        scale = math.sqrt(budget / area)
        # PDFium rounds the bitmap's sides up: shrink until the rounded size fits too (a few steps at most)
        for _ in range(20):
            if math.ceil(width_pt * scale) * math.ceil(height_pt * scale) <= budget:
                break
            scale *= 0.995
    return scale


def _pdf_pages(data: bytes, limits: ReadLimits) -> tuple[int, Iterator[_Page], Callable[[], None]]:
    """The number of pages, the pages rendered in grey (one page per lock, see the module docstring) and the
    function that closes the document (under the lock; call it however reading ends)."""
    with _PDFIUM_LOCK:
        pdf = _open_pdf(data)
        count = len(pdf)
    closed = False

    def close() -> None:
        nonlocal closed
        if not closed:
            closed = True
            with _PDFIUM_LOCK:
                pdf.close()

    def pages() -> Iterator[_Page]:
        for index in range(count):
            with _PDFIUM_LOCK:
                page = pdf[index]
                try:
                    width_pt, height_pt = page.get_size()
                    scale = _pdf_scale(width_pt, height_pt, limits.decode_pixels)
                    bitmap = page.render(scale=scale, grayscale=True)
                    try:
                        image = bitmap.to_pil().convert("L")  # a copy: the bitmap's buffer is freed below
                    finally:
                        bitmap.close()
                except Exception as exc:  # PdfiumError on a damaged page
                    raise FileRejected(
                        f"Seite {index + 1} der PDF-Datei ist beschädigt und kann nicht gelesen werden.",
                        code="corrupt",
                    ) from exc
                finally:
                    page.close()
            yield _Page(image, max(image.width * image.height, 1))

    return count, pages(), close


def _open_pages(data: bytes, limits: ReadLimits) -> tuple[str, int, Iterator[_Page], Callable[[], None]]:
    media_type = _check_bytes(data, limits.max_bytes)
    if media_type == MEDIA_PDF:
        return media_type, *_pdf_pages(data, limits)
    count, pages = _image_pages(data, media_type, limits)
    return media_type, count, pages, lambda: None


def precheck(data: bytes, limits: ReadLimits | None = None) -> str:
    """The cheap checks of `read_codes` (size, type, polyglot, the first frame's header; no pixel decoded):
    the media type or FileRejected. Lets a server refuse such files without waiting for a decoding slot."""
    limits = limits or ReadLimits()
    media_type = _check_bytes(data, limits.max_bytes)
    if media_type != MEDIA_PDF:
        _check_frame_size(_open_header(data, media_type), limits.max_pixels)
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

"""Checks of an uploaded file by its content, before any pixel is decoded.

JPEG, PNG, TIFF or PDF, within the byte and pixel limits, not truncated, not a polyglot (a file that is
also another format), under a file name without a path. Image headers are read by Pillow's format plugins
directly, so a decompression bomb is refused by the size in its header before any pixel is decoded, and
without Pillow's own `DecompressionBombWarning` (which pytest turns into an error). Refusals are
`FileRejected` (German message, a machine code); the app turns them into its own errors.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image, JpegImagePlugin, PngImagePlugin, TiffImagePlugin

MEDIA_JPEG = "image/jpeg"
MEDIA_PNG = "image/png"
MEDIA_TIFF = "image/tiff"
MEDIA_PDF = "application/pdf"

DEFAULT_MAX_PIXELS = 60_000_000

PDFIUM_LOCK = threading.Lock()  # PDFium is not thread-safe: held per call group, never per document


class FileRejected(ValueError):
    """An upload that cannot be read or is refused. `message` is German (shown as it is); `code` is for the API."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


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


def check_bytes(data: bytes, max_bytes: int) -> str:
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


def open_header(data: bytes, media_type: str) -> Image.Image:
    """Open an image by its format plugin: reads the header only and does no pixel-count check of Pillow's."""
    try:
        return _PLUGINS[media_type](io.BytesIO(data))
    except Exception as exc:  # Pillow raises SyntaxError, OSError, ValueError, struct.error ... on bad headers
        raise FileRejected("Die Datei ist beschädigt oder kein lesbares Bild.", code="corrupt") from exc


def frame_count(image: Image.Image) -> int:
    try:
        return max(1, int(getattr(image, "n_frames", 1)))
    except Exception as exc:  # a broken IFD chain
        raise FileRejected("Die Bilddatei ist beschädigt (Seitenverzeichnis nicht lesbar).", code="corrupt") from exc


def check_frame_size(image: Image.Image, max_pixels: int) -> int:
    width, height = image.size
    if width <= 0 or height <= 0:
        raise FileRejected("Die Datei ist beschädigt oder kein lesbares Bild.", code="corrupt")
    if width * height > max_pixels:
        raise FileRejected(
            f"Das Bild ist zu groß ({width} × {height} Pixel, höchstens {_fmt_pixels(max_pixels)} erlaubt).",
            code="too_many_pixels",
        )
    return width * height


def load_frame(image: Image.Image) -> None:
    try:
        image.load()
    except Exception as exc:  # truncated or corrupt pixel data
        raise FileRejected(
            "Die Bilddatei ist unvollständig oder beschädigt und kann nicht gelesen werden.", code="truncated"
        ) from exc


def seek_frame(image: Image.Image, index: int) -> None:
    try:
        image.seek(index)
    except Exception as exc:
        raise FileRejected("Die Bilddatei ist beschädigt (Seite nicht lesbar).", code="corrupt") from exc


def open_pdf(data: bytes) -> Any:
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
        media_type = check_bytes(data, max_bytes)
        if media_type == MEDIA_PDF:
            with PDFIUM_LOCK:
                open_pdf(data).close()
        else:
            image = open_header(data, media_type)
            frames = frame_count(image)
            for index in range(frames):
                if index:
                    seek_frame(image, index)
                total += check_frame_size(image, max_pixels)
                if max_file_pixels is not None and total > max_file_pixels:
                    raise FileRejected(
                        "Die Datei hat mehr Bildpunkte als erlaubt (höchstens "
                        f"{_fmt_pixels(max_file_pixels)} für alle Seiten zusammen). Bitte mit geringerer "
                        "Auflösung scannen oder in mehreren Durchgängen hochladen.",
                        code="too_many_pixels",
                    )
                load_frame(image)
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

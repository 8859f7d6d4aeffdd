"""Barcodes on scans of envelopes and labels: upload checks and decoding (zbar through pyzbar).

Pure: no Flask, no database (it only imports `mailroom.errors`), so it can be benchmarked standalone
(benchmarks/decoding.py).

`inspect_upload` checks an uploaded file by its content: JPEG, PNG, TIFF or PDF, within the byte and pixel
limits, not truncated. Image headers are read by Pillow's format plugins directly, so a decompression bomb is
refused by the size in its header before any pixel is decoded, and without Pillow's own
`DecompressionBombWarning` (which pytest turns into an error).

`decode_image_bytes` finds every barcode on every page. It tries the cheap path first (zbar on the grey
image as it is: a clean scan takes a few milliseconds) and escalates only when nothing was found or the
codes look incomplete (an Interleaved 2 of 5 of a length no carrier uses, a check digit that fails, one of
the two codes of our own labels missing):

1. the grey image as it is;
2. the image turned to the dominant direction of its edges (labels photographed or scanned askew; zbar
   itself reads 1D codes only within about 10-20 degrees of its scan lines);
3. contrast stretched (dark, low contrast), and a local threshold (uneven light);
4. scaled: up (small modules at low resolution, sharpened) and down (noise and blur average out);
5. fixed turns in steps of 30 degrees, as a last resort.

Codes from all passes are merged: a value is kept once per symbology, in the order of first discovery.
A suspicious Interleaved 2 of 5 read (wrong length or failing check digit) is dropped when another pass
found a plausible code of the same kind; otherwise it is kept (and `carrier_codes.classify` flags it).
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Callable, Iterator
from ctypes import c_void_p, cast, string_at
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps, JpegImagePlugin, PngImagePlugin, TiffImagePlugin

from mailroom.errors import UploadRejected
from mailroom.services import carrier_codes

MEDIA_JPEG = "image/jpeg"
MEDIA_PNG = "image/png"
MEDIA_TIFF = "image/tiff"
MEDIA_PDF = "application/pdf"

DEFAULT_MAX_PIXELS = 60_000_000
MAX_PAGES = 50  # pages/frames decoded per file (a longer PDF is stored, but only its first pages are read)
PDF_DPI = 250
PDF_MAX_PAGE_PIXELS = 40_000_000  # a page rendered larger than this is rendered at a lower resolution

# The symbologies decoded (zbar names). DataMatrix (Deutsche Post franking marks) is beyond zbar.
SYMBOLOGIES = ("CODE128", "I25", "QRCODE", "EAN13", "EAN8", "UPCA", "UPCE", "CODE39", "CODE93")
# Interleaved 2 of 5 has no start/stop robustness: zbar's short partial reads are noise. Carriers use 12
# (Identcode), 14 (Leitcode, ITF-14) digits; shorter reads are refused.
I25_MIN_LENGTH = 10
I25_PLAUSIBLE_LENGTHS = (12, 14)

_PDFIUM_LOCK = threading.Lock()  # PDFium is not thread-safe


@dataclass(frozen=True)
class DecodedCode:
    symbology: str  # as pyzbar names it: "CODE128", "I25", "QRCODE", "EAN13", ...
    value: str


@dataclass(frozen=True)
class FileResult:
    file: str
    codes: list[DecodedCode]
    error: str | None = None

    def to_json(self) -> dict:
        return {
            "file": self.file,
            "codes": [{"symbology": c.symbology, "value": c.value} for c in self.codes],
            "error": self.error,
        }


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


_PLUGINS = {
    MEDIA_JPEG: JpegImagePlugin.JpegImageFile,
    MEDIA_PNG: PngImagePlugin.PngImageFile,
    MEDIA_TIFF: TiffImagePlugin.TiffImageFile,
}


def _fmt_pixels(n: int) -> str:
    return f"{n / 1_000_000:.0f} Megapixel" if n >= 10_000_000 else f"{n / 1_000_000:.1f} Megapixel"


def _open_header(data: bytes, media_type: str) -> Image.Image:
    """Open an image by its format plugin: reads the header only and does no pixel-count check of Pillow's."""
    try:
        return _PLUGINS[media_type](io.BytesIO(data))
    except Exception as exc:  # Pillow raises SyntaxError, OSError, ValueError, struct.error ... on bad headers
        raise UploadRejected("Die Datei ist beschädigt oder kein lesbares Bild.", code="corrupt") from exc


def _frames(image: Image.Image, max_pixels: int) -> Iterator[Image.Image]:
    """The frames of an image (TIFF pages), header-checked for their pixel count before being decoded."""
    index = 0
    while True:
        width, height = image.size
        if width <= 0 or height <= 0:
            raise UploadRejected("Die Datei ist beschädigt oder kein lesbares Bild.", code="corrupt")
        if width * height > max_pixels:
            raise UploadRejected(
                f"Das Bild ist zu groß ({width} × {height} Pixel, höchstens {_fmt_pixels(max_pixels)} erlaubt).",
                code="too_many_pixels",
            )
        try:
            image.load()
        except Exception as exc:  # truncated or corrupt pixel data
            raise UploadRejected(
                "Die Bilddatei ist unvollständig oder beschädigt und kann nicht gelesen werden.", code="truncated"
            ) from exc
        yield image
        index += 1
        if index >= MAX_PAGES or not getattr(image, "is_animated", False):
            return
        try:
            image.seek(index)
        except EOFError:
            return
        except Exception as exc:
            raise UploadRejected("Die Bilddatei ist beschädigt (Seite nicht lesbar).", code="corrupt") from exc


def _check_pdf(data: bytes) -> None:
    import pypdfium2

    if b"%%EOF" not in data[-2048:]:
        raise UploadRejected("Die PDF-Datei ist unvollständig (Dateiende fehlt).", code="truncated")
    with _PDFIUM_LOCK:
        try:
            pdf = pypdfium2.PdfDocument(data)
        except Exception as exc:  # PdfiumError: damaged, or protected by a password
            raise UploadRejected(
                "Die PDF-Datei ist beschädigt oder verschlüsselt und kann nicht gelesen werden.", code="corrupt"
            ) from exc
        try:
            if len(pdf) == 0:
                raise UploadRejected("Die PDF-Datei enthält keine Seiten.", code="corrupt")
        finally:
            pdf.close()


def inspect_upload(data: bytes, filename: str, *, max_bytes: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> str:
    """Check an uploaded scan by its content; returns its media type or raises UploadRejected (German).

    Refused: empty, larger than `max_bytes`, not a JPEG/PNG/TIFF/PDF (by content: the name does not count),
    more than `max_pixels` pixels in a frame (checked in the header, before decoding), truncated or corrupt.
    """
    name = Path(filename or "").name or "Datei"
    if not data:
        raise UploadRejected(f"„{name}“ ist leer.", code="empty")
    if len(data) > max_bytes:
        raise UploadRejected(
            f"Datei zu groß: „{name}“ hat {len(data) / 1_048_576:.1f} MB, höchstens "
            f"{max_bytes / 1_048_576:.1f} MB sind erlaubt.",
            code="too_large",
        )
    media_type = sniff_media_type(data)
    if media_type is None:
        raise UploadRejected(
            f"„{name}“ ist kein Bild und kein PDF (erlaubt: JPEG, PNG, TIFF, PDF).", code="unsupported_type"
        )
    try:
        if media_type == MEDIA_PDF:
            _check_pdf(data)
        else:
            for _frame in _frames(_open_header(data, media_type), max_pixels):
                pass
    except UploadRejected as exc:
        raise UploadRejected(f"„{name}“: {exc.message}", code=exc.code) from exc.__cause__
    return media_type


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
            zbar_image_set_data(zimage, cast(pixels, c_void_p), len(pixels), None)
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
        ]

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


def _passes(grey: Image.Image) -> Iterator[Callable[[], Image.Image]]:
    """Preprocessed variants of the image, cheapest and most promising first (computed lazily)."""
    if _low_contrast(grey):
        grey = _stretch(grey)
    noise = noise_level(grey)
    noisy = noise > NOISY
    if not noisy:
        yield lambda: grey
    # Smoothing as strong as the noise asks for: 1 pixel for slight noise, up to 2 for heavy noise
    radius = 1.0 + min(1.0, max(0.0, (noise - NOISY) / 16))
    angle = dominant_angle(_smooth(grey, radius) if noisy else grey)
    base = _rotate(grey, angle) if angle is not None and abs(angle) > 4 else grey
    if base is not grey and not noisy:
        yield lambda: base
    yield lambda: _smooth(base, radius)
    if noisy:
        yield lambda: _smooth(base, radius + 0.5)
        yield lambda: base.filter(ImageFilter.MedianFilter(3))  # noise on a blurred image: keep the edges
    yield lambda: _local_threshold(_scale(base, 0.5))
    yield lambda: _local_threshold(_smooth(base))
    yield lambda: _sharpen(base)
    yield lambda: _sharpen(base.filter(ImageFilter.MedianFilter(3)))
    yield lambda: _stretch(_scale(base, 1 / 3))
    if base.width * base.height < LARGE:
        yield lambda: _local_threshold(_scale(_smooth(base, 0.7), 2.0), radius=12, offset=1)
        yield lambda: _sharpen(_scale(_smooth(base), 2.0))
    for step in (30, 60, -30, -60):
        yield lambda step=step: _rotate(_smooth(base), step)


def decode_grey(grey: Image.Image) -> list[DecodedCode]:
    """All codes on one grey page, escalating preprocessing only as far as needed."""
    collector = _Collector()
    extra = PARTIAL_EXTRA_PASSES
    for make in _passes(grey):
        collector.add(zbar_scan(make()))
        state = collector.completeness()
        if state == "done":
            break
        if state == "partial":
            # A companion code may simply not be there: a few more passes, not all of them.
            if extra == 0:
                break
            extra -= 1
    return collector.result()


# --- files -------------------------------------------------------------------------------------


def _pdf_pages(data: bytes) -> Iterator[Image.Image]:
    import pypdfium2

    with _PDFIUM_LOCK:
        pdf = pypdfium2.PdfDocument(data)
        try:
            for index in range(min(len(pdf), MAX_PAGES)):
                page = pdf[index]
                try:
                    width, height = page.get_size()  # points
                    scale = PDF_DPI / 72
                    pixels = width * height * scale * scale
                    if pixels > PDF_MAX_PAGE_PIXELS:
                        scale *= math.sqrt(PDF_MAX_PAGE_PIXELS / pixels)
                    bitmap = page.render(scale=scale, grayscale=True)
                    image = bitmap.to_pil().convert("L")
                    bitmap.close()
                finally:
                    page.close()
                yield image
        finally:
            pdf.close()


def load_pages(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Iterator[Image.Image]:
    """The pages of an image or PDF as grey images: EXIF orientation applied, PDF pages rendered (~250 dpi)."""
    media_type = sniff_media_type(data)
    if media_type is None:
        raise UploadRejected(
            "Die Datei ist kein Bild und kein PDF (erlaubt: JPEG, PNG, TIFF, PDF).", code="unsupported"
        )
    if media_type == MEDIA_PDF:
        _check_pdf(data)
        yield from _pdf_pages(data)
        return
    for frame in _frames(_open_header(data, media_type), max_pixels):
        yield ImageOps.exif_transpose(frame).convert("L")


def decode_image_bytes(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> list[DecodedCode]:
    """Every barcode on every page of an image or PDF, deduplicated, in a stable order.

    Raises UploadRejected (German message) for files that are not readable images or PDFs.
    """
    if not data:
        raise UploadRejected("Die Datei ist leer.", code="empty")
    codes: list[DecodedCode] = []
    seen: set[DecodedCode] = set()
    for page in load_pages(data, max_pixels):
        for code in decode_grey(page):
            if code not in seen:
                seen.add(code)
                codes.append(code)
    return codes


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
    try:
        codes = decode_image_bytes(data, max_pixels=max_pixels)
    except UploadRejected as exc:
        return FileResult(name, [], exc.message)
    if not codes:
        return FileResult(name, [], None)
    return FileResult(name, codes, None)

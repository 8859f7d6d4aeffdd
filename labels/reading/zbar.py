"""zbar's reads (through pyzbar's ctypes wrapper) and which of them count.

Codes from all passes are merged (`Collector`): a value is kept once per symbology, in the order of first
discovery. A suspicious Interleaved 2 of 5 read (wrong length or failing check digit) is dropped when
another pass found a plausible code of the same kind; otherwise it is kept (and `codes.classify` flags
it). A Code 128 read only after upscaling or thresholding is kept only if it is a known carrier format
with a valid check digit, or a format without one (`validated`): such passes can invent bars, and a
wrong code is worse than none.
"""

from __future__ import annotations

from ctypes import c_char_p, c_void_p, cast, string_at
from dataclasses import dataclass, field

from PIL import Image

from labels import codes as carrier_codes

# The symbologies decoded (zbar names). DataMatrix (Deutsche Post franking marks) is beyond zbar.
SYMBOLOGIES = ("CODE128", "I25", "QRCODE", "EAN13", "EAN8", "UPCA", "UPCE", "CODE39", "CODE93")
# Interleaved 2 of 5 has no start/stop robustness: zbar's short partial reads are noise. Carriers use 12
# (Identcode), 14 (Leitcode, ITF-14) digits; shorter reads are refused.
I25_MIN_LENGTH = 10
I25_PLAUSIBLE_LENGTHS = (12, 14)


@dataclass(frozen=True)
class DecodedCode:
    symbology: str  # as pyzbar names it: "CODE128", "I25", "QRCODE", "EAN13", ...
    value: str


@dataclass(frozen=True)
class Symbol:
    symbology: str
    value: str
    quality: int


def _zbar_symbols() -> tuple:
    from pyzbar.wrapper import ZBarSymbol

    return tuple(ZBarSymbol[name] for name in SYMBOLOGIES)


def zbar_scan(image: Image.Image) -> list[Symbol]:
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
    found: list[Symbol] = []
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
                    found.append(Symbol(name, _text(raw), zbar_symbol_get_quality(symbol)))
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


def _suspicious(symbol: Symbol) -> bool:
    """A read that may be partial or misread: worth more passes, and replaced by a plausible one if found."""
    if symbol.symbology == "I25":
        if len(symbol.value) not in I25_PLAUSIBLE_LENGTHS:
            return True
        return carrier_codes.classify(symbol.value).check_digit_valid is False
    return False


@dataclass
class Collector:
    symbols: list[Symbol] = field(default_factory=list)

    def add(self, found: list[Symbol]) -> None:
        seen = {(s.symbology, s.value) for s in self.symbols}
        for symbol in found:
            if (symbol.symbology, symbol.value) not in seen:
                seen.add((symbol.symbology, symbol.value))
                self.symbols.append(symbol)

    def _kept(self) -> list[Symbol]:
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

    def _misread_copy(self, symbol: Symbol) -> bool:
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


def validated(symbol: Symbol) -> bool:
    """A read from an upscaled or thresholded image: such passes can invent or merge bars, so a linear code
    counts only as a known format whose check digit holds (or that has none, like DHL's JJD numbers)."""
    if symbol.symbology in ("QRCODE",):  # Reed-Solomon error correction: a wrong read is not plausible
        return True
    info = carrier_codes.classify(symbol.value)
    return info.is_known and info.check_digit_valid is not False

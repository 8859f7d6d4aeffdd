"""Carrier code formats found on incoming items, and the product's own item and box codes.

Pure: no Flask, no database. `classify(value)` tells what a scanned or typed code is and whether its
check digit holds. The rules, in the order they are tried (first match wins), and their sources:

1. Site box ("Fach"): ``FACH-`` + a site code (letters, digits, ``_``/``-``, up to 16 characters). Our own format.
2. Own item code: ``PS`` + two-digit year + ``-`` + six-digit running number + one Luhn (mod 10) check digit
   over the eight digits year+number, e.g. ``PS26-0047113``. The hyphen may be missing when typed by hand;
   the normalised value always has it. Our own format (see `make_internal_code`).
3. UPU S10 (Einschreiben and other registered/tracked postal items): 2 letters, 8 digits, 1 check digit,
   2-letter country code, e.g. ``RR123456785DE``. Check digit: weights 8 6 4 2 3 5 9 7 over the 8 digits,
   ``11 - (sum mod 11)``, where 10 gives 0 and 11 gives 5. Source: UPU standard S10 ("Identification of
   postal items - 13-character identifier").
4. DHL parcel number, GS1 form: 20 digits ``00`` + an 18-digit SSCC (NVE) of Deutsche Post DHL, whose GS1
   company prefix is ``340434`` (so the value starts ``00340434``); check digit: the GS1 mod 10 of the SSCC
   (weights 3 and 1 alternating from the right, the rightmost data digit weighted 3). Source: GS1 General
   Specifications (SSCC, AI 00); DHL Paket labels ("Sendungsnummer 00340434...").
   Other ``00`` + 18 digit SSCCs belong to other senders' logistics and are not classified as DHL (unknown).
5. DHL parcel number, JJD form: ``JJD`` + 9 to 20 digits: DHL Paket international and partner numbers
   (``JJD000390007757424371``, 18 digits) and DHL Express piece IDs (``JJD0099999999``, 10 digits). DHL
   publishes no check digit for them: ``check_digit_valid`` is None.
6. UPS tracking number: ``1Z`` + 6 characters shipper account + 2 characters service + 7 characters package
   number (letters and digits) + 1 check digit, 18 characters, e.g. ``1Z999AA10123456784``. Check digit over
   the 15 characters after ``1Z``: letters count as ``(position in the alphabet + 2) mod 10`` (A=2 ... H=9,
   I=0, J=1, ...), digits as themselves; the characters at even positions (0-based) weighted 1, at odd ones 2;
   ``(10 - sum mod 10) mod 10``. Source: UPS "Tracking number" format as documented by carriers'
   integration guides and the tracking_number_data project (jkeen/tracking_number_data, couriers/ups.json).
7. DHL Leitcode: 14 digits (PLZ 5, street 3, house number 3, product 2, check 1), in Interleaved 2 of 5.
8. DHL Identcode: 12 digits (branch 2, customer 3, running number 6, check 1), in Interleaved 2 of 5.
   DHL's 12-digit parcel numbers *are* Identcodes (the same number, the same check digit), so a 12-digit
   number is always classified as Identcode, never as "dhl_parcel".
   Check digit of Leitcode and Identcode: the data digits weighted 4 and 9 alternately from the left,
   ``(10 - sum mod 10) mod 10``. Source: Deutsche Post "Leitcode/Identcode" specification, as implemented
   by e.g. zint (2of5_based.c, DP Leitcode/Identcode) and zxing-cpp (ODDeutschePostReader).
9. Everything else: ``unknown`` (no check digit judgement).

Numbers are length-exact: a 13-, 15- or 16-digit number is unknown, never "almost" a Leitcode.
Normalisation: surrounding white space and control characters (e.g. the GS1 group separator) are dropped,
letters are upper-cased, inner spaces are removed; for all-digit codes, the punctuation of printed
human-readable lines (``.``, ``(``, ``)``) is dropped too, so ``21.580 400.100 1`` reads as an Identcode.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FORMATS = ("s10", "dhl_identcode", "dhl_leitcode", "dhl_parcel", "ups", "internal", "box", "unknown")

LABELS = {
    "s10": "Einschreiben (S10)",
    "dhl_identcode": "DHL Identcode",
    "dhl_leitcode": "DHL Leitcode",
    "dhl_parcel": "DHL Paketnummer",
    "ups": "UPS Sendungsnummer",
    "internal": "Eigene Sendungsnummer",
    "box": "Fach",
    "unknown": "Unbekannt",
}

INVALID_CHECK_DIGIT = "Prüfziffer ungültig"
INTERNAL_PREFIX = "PS"
BOX_PREFIX = "FACH-"
DHL_GS1_PREFIX = "00340434"

_S10 = re.compile(r"[A-Z]{2}\d{9}[A-Z]{2}")
_INTERNAL = re.compile(r"PS(\d{2})-?(\d{6})(\d)")
_BOX = re.compile(r"FACH-([A-Z0-9][A-Z0-9_-]{0,15})")
_JJD = re.compile(r"JJD\d{9,20}")
_UPS = re.compile(r"1Z[A-Z0-9]{15}\d")
_SITE_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,15}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DIGIT_PUNCTUATION = re.compile(r"[.()]")

S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)


@dataclass(frozen=True)
class CodeInfo:
    """What a code is. `check_digit_valid` is None where the format has no check digit or is unknown."""

    value: str
    format: str
    check_digit_valid: bool | None
    label: str
    message: str | None = None

    @property
    def is_known(self) -> bool:
        return self.format != "unknown"


# --- check digits ------------------------------------------------------------------------------


def s10_check_digit(serial: str) -> int:
    """UPU S10 check digit of the 8-digit serial number."""
    if len(serial) != 8 or not serial.isdigit():
        raise ValueError("S10 serial must be 8 digits")
    total = sum(int(d) * w for d, w in zip(serial, S10_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: 0, 11: 5}.get(check, check)


def dp_check_digit(data: str) -> int:
    """Deutsche Post Leitcode/Identcode check digit: weights 4 and 9 alternately from the left."""
    if not data.isdigit():
        raise ValueError("digits expected")
    total = sum(int(d) * (4 if i % 2 == 0 else 9) for i, d in enumerate(data))
    return (10 - total % 10) % 10


def gs1_check_digit(data: str) -> int:
    """GS1 mod 10 check digit (weights 3 and 1 from the right, rightmost data digit weighted 3)."""
    if not data.isdigit():
        raise ValueError("digits expected")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(data)))
    return (10 - total % 10) % 10


def ups_check_digit(data: str) -> int:
    """UPS check digit of the 15 characters after ``1Z`` (letters mapped to digits, weights 1 and 2)."""
    if len(data) != 15 or not data.isalnum() or not data.isascii():
        raise ValueError("UPS: 15 letters or digits expected")
    values = [int(c) if c.isdigit() else (ord(c.upper()) - ord("A") + 2) % 10 for c in data]
    total = sum(v * (2 if i % 2 else 1) for i, v in enumerate(values))
    return (10 - total % 10) % 10


def luhn_check_digit(data: str) -> int:
    """Luhn (mod 10) check digit to append to `data`."""
    if not data.isdigit():
        raise ValueError("digits expected")
    total = 0
    for i, d in enumerate(reversed(data)):
        n = int(d)
        if i % 2 == 0:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return (10 - total % 10) % 10


# --- own codes ---------------------------------------------------------------------------------


def make_internal_code(year: int, number: int) -> str:
    """The product's own item code, e.g. ``PS26-0047113``: year 2026, running number 4711, Luhn digit 3."""
    if 2000 <= year <= 2099:
        year %= 100
    if not 0 <= year <= 99:
        raise ValueError(f"year out of range: {year}")
    if not 0 <= number <= 999_999:
        raise ValueError(f"running number out of range: {number}")
    digits = f"{year:02d}{number:06d}"
    return f"{INTERNAL_PREFIX}{digits[:2]}-{digits[2:]}{luhn_check_digit(digits)}"


def make_box_code(site_code: str) -> str:
    """The code on a site's box or bag: ``FACH-`` + the site code."""
    code = site_code.strip().upper()
    if not _SITE_CODE.fullmatch(code):
        raise ValueError(f"not a site code: {site_code!r}")
    return BOX_PREFIX + code


def parse_box_code(value: str) -> str | None:
    """The site code of a box code, or None if `value` is not a box code."""
    match = _BOX.fullmatch(normalise(value))
    return match.group(1) if match else None


# --- classification ----------------------------------------------------------------------------


def normalise(value: str) -> str:
    """Strip, drop control characters and spaces, upper-case."""
    text = _CONTROL.sub("", value or "").strip().upper()
    return "".join(text.split())


def _info(value: str, fmt: str, valid: bool | None) -> CodeInfo:
    return CodeInfo(
        value=value,
        format=fmt,
        check_digit_valid=valid,
        label=LABELS[fmt],
        message=INVALID_CHECK_DIGIT if valid is False else None,
    )


def classify(value: str) -> CodeInfo:
    """What `value` is (see the module docstring for the rules), normalised, with its check digit judged."""
    text = normalise(value)
    if not text:
        return CodeInfo(value="", format="unknown", check_digit_valid=None, label=LABELS["unknown"], message=None)

    box = _BOX.fullmatch(text)
    if box:
        return _info(text, "box", None)

    internal = _INTERNAL.fullmatch(text)
    if internal:
        year, number, check = internal.groups()
        canonical = f"{INTERNAL_PREFIX}{year}-{number}{check}"
        return _info(canonical, "internal", luhn_check_digit(year + number) == int(check))

    if _S10.fullmatch(text):
        return _info(text, "s10", s10_check_digit(text[2:10]) == int(text[10]))

    if _JJD.fullmatch(text):
        return _info(text, "dhl_parcel", None)

    if _UPS.fullmatch(text):
        return _info(text, "ups", ups_check_digit(text[2:17]) == int(text[17]))

    digits = _DIGIT_PUNCTUATION.sub("", text)
    if digits.isdigit():
        if len(digits) == 20 and digits.startswith(DHL_GS1_PREFIX):
            return _info(digits, "dhl_parcel", gs1_check_digit(digits[2:19]) == int(digits[19]))
        if len(digits) == 14:
            return _info(digits, "dhl_leitcode", dp_check_digit(digits[:13]) == int(digits[13]))
        if len(digits) == 12:
            return _info(digits, "dhl_identcode", dp_check_digit(digits[:11]) == int(digits[11]))

    return _info(text, "unknown", None)


# --- helpers for tests, demo data and the benchmark -------------------------------------------


def make_s10(service: str, serial: int, country: str = "DE") -> str:
    """A valid S10 identifier, e.g. ``make_s10("RR", 12345678)`` -> ``RR123456785DE``."""
    body = f"{serial:08d}"
    return f"{service.upper()}{body}{s10_check_digit(body)}{country.upper()}"


def make_identcode(data: int) -> str:
    """A valid 12-digit Identcode from 11 data digits."""
    body = f"{data:011d}"
    return body + str(dp_check_digit(body))


def make_leitcode(data: int) -> str:
    """A valid 14-digit Leitcode from 13 data digits."""
    body = f"{data:013d}"
    return body + str(dp_check_digit(body))


def make_ups(account: str, service: str, package: int) -> str:
    """A valid UPS tracking number, e.g. ``make_ups("999AA1", "01", 2345678)`` -> ``1Z999AA10123456784``."""
    body = f"{account.upper()}{service.upper()}{package:07d}"
    return f"1Z{body}{ups_check_digit(body)}"


def make_dhl_sscc(serial: int) -> str:
    """A valid 20-digit DHL parcel number ``00340434`` + 11-digit serial + GS1 check digit."""
    body = f"{DHL_GS1_PREFIX}{serial:011d}"
    return body + str(gs1_check_digit(body[2:]))

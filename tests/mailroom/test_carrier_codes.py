"""Carrier code formats: classification, check digits, our own item and box codes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labels import codes as cc
from labels.codes import classify


@pytest.mark.parametrize(
    ("raw", "value", "fmt", "valid", "label"),
    [
        # UPU S10 (example of the standard: serial 12345678 -> check digit 5)
        ("RR123456785DE", "RR123456785DE", "s10", True, "Einschreiben (S10)"),
        (" rr 123 456 785 de ", "RR123456785DE", "s10", True, "Einschreiben (S10)"),
        ("RR123456784DE", "RR123456784DE", "s10", False, "Einschreiben (S10)"),
        # A real DHL parcel number (GS1: 00 + SSCC of Deutsche Post DHL, 340434)
        ("00340434161094042557", "00340434161094042557", "dhl_parcel", True, "DHL Paketnummer"),
        ("00340434161094042558", "00340434161094042558", "dhl_parcel", False, "DHL Paketnummer"),
        ("JJD000390007757424371", "JJD000390007757424371", "dhl_parcel", None, "DHL Paketnummer"),
        ("jjd 0003 9000 7757 4243 71", "JJD000390007757424371", "dhl_parcel", None, "DHL Paketnummer"),
        ("JJD0099999999", "JJD0099999999", "dhl_parcel", None, "DHL Paketnummer"),  # DHL Express piece ID
        ("JJD014600003159481522", "JJD014600003159481522", "dhl_parcel", None, "DHL Paketnummer"),
        # UPS: 1Z + account (6) + service (2) + package (7) + check digit (UPS's own example numbers)
        ("1Z999AA10123456784", "1Z999AA10123456784", "ups", True, "UPS Sendungsnummer"),
        ("1z 999 aa1 01 2345 6784", "1Z999AA10123456784", "ups", True, "UPS Sendungsnummer"),
        ("1Z5R89390357567127", "1Z5R89390357567127", "ups", True, "UPS Sendungsnummer"),
        ("1Z879E930346834440", "1Z879E930346834440", "ups", True, "UPS Sendungsnummer"),
        ("1Z999AA10123456785", "1Z999AA10123456785", "ups", False, "UPS Sendungsnummer"),
        ("1Z1111111111111111", "1Z1111111111111111", "ups", False, "UPS Sendungsnummer"),
        # Identcode and Leitcode: weights 4 and 9 from the left
        ("215804001001", "215804001001", "dhl_identcode", True, "DHL Identcode"),
        ("21.580 400.100 1", "215804001001", "dhl_identcode", True, "DHL Identcode"),
        ("215804001002", "215804001002", "dhl_identcode", False, "DHL Identcode"),
        ("26122012001002", "26122012001002", "dhl_leitcode", True, "DHL Leitcode"),
        ("26122.012.001.00 2", "26122012001002", "dhl_leitcode", True, "DHL Leitcode"),
        ("26122012001003", "26122012001003", "dhl_leitcode", False, "DHL Leitcode"),
        # Our own codes
        ("PS26-0047113", "PS26-0047113", "internal", True, "Eigene Sendungsnummer"),
        ("ps260047113", "PS26-0047113", "internal", True, "Eigene Sendungsnummer"),
        ("PS26-0047114", "PS26-0047114", "internal", False, "Eigene Sendungsnummer"),
        ("FACH-RH", "FACH-RH", "box", None, "Fach"),
        (" fach-gsbu ", "FACH-GSBU", "box", None, "Fach"),
        # Not to be misclassified
        ("1234567890123", "1234567890123", "unknown", None, "Unbekannt"),  # 13 digits: no Leitcode
        ("123456789012345", "123456789012345", "unknown", None, "Unbekannt"),
        ("00123456789012345675", "00123456789012345675", "unknown", None, "Unbekannt"),  # SSCC, not DHL
        ("JJD12345", "JJD12345", "unknown", None, "Unbekannt"),
        ("JJD12345678", "JJD12345678", "unknown", None, "Unbekannt"),  # 8 digits: too short for DHL
        ("1Z999AA1012345678", "1Z999AA1012345678", "unknown", None, "Unbekannt"),  # 17 characters
        ("2Z5R89390357567127", "2Z5R89390357567127", "unknown", None, "Unbekannt"),
        ("1Z999AA1012345678X", "1Z999AA1012345678X", "unknown", None, "Unbekannt"),  # check must be a digit
        ("R123456785DE", "R123456785DE", "unknown", None, "Unbekannt"),
        ("RR12345678DE", "RR12345678DE", "unknown", None, "Unbekannt"),
        ("PS26-004711", "PS26-004711", "unknown", None, "Unbekannt"),
        ("FACH-", "FACH-", "unknown", None, "Unbekannt"),
        ("https://example.org/x", "HTTPS://EXAMPLE.ORG/X", "unknown", None, "Unbekannt"),
        ("4006381333931", "4006381333931", "unknown", None, "Unbekannt"),  # an EAN-13
    ],
)
def test_classify(raw, value, fmt, valid, label):
    info = classify(raw)
    assert (info.value, info.format, info.check_digit_valid, info.label) == (value, fmt, valid, label)
    assert info.message == ("Prüfziffer ungültig" if valid is False else None)
    assert info.format in cc.FORMATS


def test_classify_drops_gs1_separators_and_empty_input():
    assert classify("\x1d00340434161094042557\r\n").value == "00340434161094042557"
    empty = classify("   ")
    assert (empty.value, empty.format, empty.check_digit_valid, empty.label) == ("", "unknown", None, "Unbekannt")


def test_s10_check_digit_special_cases():
    # 11 - (sum mod 11): 10 becomes 0 and 11 becomes 5
    by_check: dict[int, str] = {}
    for serial in range(0, 200):
        body = f"{serial:08d}"
        raw = 11 - sum(int(d) * w for d, w in zip(body, cc.S10_WEIGHTS, strict=True)) % 11
        by_check.setdefault(raw, body)
    assert cc.s10_check_digit(by_check[10]) == 0
    assert cc.s10_check_digit(by_check[11]) == 5
    assert classify(f"RR{by_check[10]}0DE").check_digit_valid is True
    assert classify(f"RR{by_check[11]}5DE").check_digit_valid is True


def test_make_internal_code():
    assert cc.make_internal_code(2026, 4711) == "PS26-0047113"
    assert cc.make_internal_code(26, 4711) == "PS26-0047113"
    assert cc.make_internal_code(2030, 999_999).startswith("PS30-999999")
    for bad in [(2026, -1), (2026, 1_000_000), (1999, 1), (2100, 1)]:
        with pytest.raises(ValueError):
            cc.make_internal_code(*bad)


def test_box_codes():
    assert cc.make_box_code("rh") == "FACH-RH"
    assert cc.parse_box_code("FACH-RH") == "RH"
    assert cc.parse_box_code(" fach-fw1 ") == "FW1"
    assert cc.parse_box_code("RH") is None
    assert cc.parse_box_code("PS26-0047113") is None
    with pytest.raises(ValueError):
        cc.make_box_code("")
    with pytest.raises(ValueError):
        cc.make_box_code("A B")


@given(year=st.integers(2000, 2099), number=st.integers(0, 999_999))
def test_internal_codes_round_trip(year, number):
    code = cc.make_internal_code(year, number)
    info = classify(code)
    assert (info.format, info.check_digit_valid, info.value) == ("internal", True, code)
    assert len(code) == 12


@given(year=st.integers(2000, 2099), number=st.integers(0, 999_999), pos=st.integers(0, 7), delta=st.integers(1, 9))
def test_luhn_catches_every_single_digit_error(year, number, pos, delta):
    code = cc.make_internal_code(year, number)
    digits = code[2:4] + code[5:]
    wrong = list(digits)
    wrong[pos] = str((int(wrong[pos]) + delta) % 10)
    wrong_code = f"PS{''.join(wrong[:2])}-{''.join(wrong[2:])}"
    assert classify(wrong_code).check_digit_valid is False


@given(serial=st.integers(0, 10**11 - 1), pos=st.integers(2, 18), delta=st.integers(1, 9))
def test_gs1_catches_every_single_digit_error(serial, pos, delta):
    code = cc.make_dhl_sscc(serial)
    assert classify(code).check_digit_valid is True
    wrong = code[:pos] + str((int(code[pos]) + delta) % 10) + code[pos + 1 :]
    if wrong.startswith(cc.DHL_GS1_PREFIX):
        assert classify(wrong).check_digit_valid is False


@given(data=st.integers(0, 10**11 - 1), leit=st.integers(0, 10**13 - 1), serial=st.integers(0, 99_999_999))
def test_generated_codes_are_valid(data, leit, serial):
    assert classify(cc.make_identcode(data)).format == "dhl_identcode"
    assert classify(cc.make_identcode(data)).check_digit_valid is True
    assert classify(cc.make_leitcode(leit)).format == "dhl_leitcode"
    assert classify(cc.make_leitcode(leit)).check_digit_valid is True
    assert classify(cc.make_s10("RR", serial)).check_digit_valid is True


@given(st.text(max_size=40))
def test_classify_never_fails(text):
    info = classify(text)
    assert info.format in cc.FORMATS
    assert info.label == cc.LABELS[info.format]
    assert (info.check_digit_valid is None) == (info.format in ("box", "unknown") or info.value.startswith("JJD"))


@given(
    account=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=6, max_size=6),
    service=st.text(alphabet="0123456789AB", min_size=2, max_size=2),
    package=st.integers(0, 9_999_999),
    wrong=st.integers(1, 9),
)
def test_ups_numbers_made_are_valid_and_a_changed_check_digit_is_caught(account, service, package, wrong):
    code = cc.make_ups(account, service, package)
    assert len(code) == 18 and code.startswith("1Z")
    info = classify(code)
    assert (info.format, info.check_digit_valid, info.value) == ("ups", True, code)
    changed = code[:17] + str((int(code[17]) + wrong) % 10)
    assert classify(changed).check_digit_valid is False

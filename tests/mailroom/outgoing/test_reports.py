"""Postage reports over everything booked (sessions, imports, tracked items, parcels): per cost centre,
org unit, product, month and year; the CLI contract, the charge-back CSV, the PDF."""

from __future__ import annotations

import json
from datetime import date

import pypdfium2 as pdfium
import pytest

from labels.codes import make_identcode, make_s10
from mailroom.errors import ValidationFailed
from mailroom.extensions import db
from mailroom.services.outgoing import exports, franking, importer, reports, tracked
from mailroom.services.outgoing.franking import SessionLine
from tests.mailroom.outgoing.conftest import csv_file


@pytest.fixture
def booked(world):
    """November 2026: a session, an import, two Einschreiben (one already franked), a PZU, a parcel;
    plus lines in October and in 2025 that the November report must leave out."""
    franking.book_session(date(2026, 11, 2), "10100", [SessionLine("standardbrief", None, 100)], user_id=None)
    franking.book_session(date(2026, 10, 30), "10100", [SessionLine("standardbrief", None, 7)], user_id=None)
    importer.import_file(
        csv_file("30.11.2026;;10200;kompaktbrief;;10;11,00", "03.03.2025;;10200;maxibrief;;1;2,90"), "nov.csv"
    )
    common = {"posting_date": date(2026, 11, 5), "cost_centre": "10200", "recipient": "R", "file_number": "1/26"}
    tracked.record_einschreiben(**common, code=make_s10("RR", 1), variant="einschreiben")
    tracked.record_einschreiben(**common, code=make_s10("RR", 2), variant="einschreiben", billed=False)
    tracked.record_pzu(**common)
    tracked.record_parcel(
        posting_date=date(2026, 11, 6),
        cost_centre="10300",
        carrier="DHL",
        tracking_number=make_identcode(9),
        weight_g=1_500,
        recipient="R",
        recipient_address="A",
    )
    db.session.commit()


def test_month_report_contract_via_cli(booked, runner):
    result = runner.invoke(args=["outgoing", "report", "--month", "2026-11", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "month": "2026-11",
        "pieces": 100 + 10 + 1 + 1 + 1,
        "postage_cents": 9_500 + 1_100 + (95 + 265) + 345 + 619,
        "cost_centres": [
            {"cost_centre": "10100", "pieces": 100, "postage_cents": 9_500},
            {"cost_centre": "10200", "pieces": 12, "postage_cents": 1_100 + 360 + 345},
            {"cost_centre": "10300", "pieces": 1, "postage_cents": 619},
        ],
    }
    bad = runner.invoke(args=["outgoing", "report", "--month", "2026-13", "--json"])
    assert bad.exit_code == 2 and "ungültig" in json.loads(bad.output)["errors"][0]["message"]


def test_month_report_per_product_and_org_unit(booked):
    report = reports.month_report(date(2026, 11, 1))
    products = {r.label: (r.pieces, r.postage_cents) for r in report.products}
    assert products == {
        "Standardbrief": (100, 9_500),
        "Kompaktbrief": (10, 1_100),
        "Standardbrief + Einschreiben (Übergabe)": (1, 360),
        "Postzustellungsauftrag (PZU)": (1, 345),
        "DHL Paket bis 2 kg": (1, 619),
    }
    assert sum(r.pieces for r in report.org_units) == report.pieces
    assert report.org_units[0].label.startswith(("FD", "OB"))


def test_charge_back_and_month_csv(booked):
    text = exports.charge_back_csv(date(2026, 11, 1)).decode("utf-8-sig")
    assert text.splitlines() == [
        "Kostenstelle;Zeitraum;Stueck;Betrag_EUR",
        "10100;2026-11;100;95,00",
        "10200;2026-11;12;18,05",
        "10300;2026-11;1;6,19",
    ]
    month = exports.month_csv(date(2026, 11, 1)).decode("utf-8-sig").splitlines()
    assert month[0] == "Kostenstelle;Fachdienst;Monat;Stueck;Porto_EUR" and month[-1] == "Summe;;2026-11;113;119,24"


def test_year_view_counts_working_days_letters_and_parcels(booked):
    view = reports.year_view(2026)
    november = view.months[10]
    assert november.working_days == 21  # Lower Saxony, November 2026: no public holiday on a weekday
    assert (november.letters, november.parcels) == (112, 1)
    assert november.letters_per_working_day == round(112 / 21)
    assert view.months[9].letters == 7
    # 261 weekdays, 7 public holidays of Lower Saxony on weekdays (1.1., 3.4., 6.4., 1.5., 14.5., 25.5., 25.12.;
    # 3.10., 31.10. and 26.12. fall on Saturdays), and the closed days 24 and 31 December
    assert view.working_days == 261 - 7 - 2
    svg = reports.year_chart_svg(view)
    assert svg.startswith("<svg") and svg.count("<rect") == 12 and 'data-letters="112"' in svg
    assert reports.year_view(2025).letters == 1
    running = reports.year_view(2026, through=date(2026, 11, 20))
    assert running.months[10].working_days == 15 and running.months[11].working_days == 0
    assert running.working_days == 252 - 20 - 6  # December and 23.-30. November still to come
    assert running.letters_per_working_day == round(119 / 226)


def test_month_report_pdf(booked):
    pdf = exports.month_pdf(date(2026, 11, 1))
    doc = pdfium.PdfDocument(pdf)
    text = doc[0].get_textpage().get_text_range()
    assert "Portobericht November 2026" in text and "119,24 €" in text and "10300" in text
    assert "DHL Paket bis 2 kg" in text


def test_month_and_year_parsing():
    today = date(2026, 11, 20)
    assert reports.parse_month("2026-02", today) == date(2026, 2, 1)
    assert reports.parse_month(None, today) == date(2026, 11, 1)
    for bad in ("2026-13", "11/2026", "2026-1"):
        with pytest.raises(ValidationFailed):
            reports.parse_month(bad, today)
    with pytest.raises(ValidationFailed):
        reports.parse_year("zwanzig", today)

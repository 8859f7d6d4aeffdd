"""Dated tariffs and franking sessions by cost centre: the price of the posting day, exact cents,
bad input refused in German with nothing stored."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from mailroom.errors import ValidationFailed
from mailroom.extensions import db
from mailroom.models.outgoing import FrankingBatch, LetterCount, Tariff
from mailroom.services.outgoing import budgets, catalogue, franking, reports
from mailroom.services.outgoing.franking import SessionLine


def _lines() -> int:
    return db.session.scalar(select(func.count(LetterCount.id))) or 0


def test_seeded_prices_follow_the_domain_document(world):
    prices = catalogue.Catalogue()
    expected_2022 = {
        "postkarte": 70,
        "standardbrief": 85,
        "kompaktbrief": 100,
        "grossbrief": 160,
        "maxibrief": 275,
        "maxibrief_2000": 495,
        "warensendung": 255,
        "einschreiben_einwurf": 235,
        "einschreiben": 265,
        "einschreiben_rueckschein": 485,
        "eigenhaendig": 220,
    }
    expected_2025 = {
        "postkarte": 95,
        "standardbrief": 95,
        "kompaktbrief": 110,
        "grossbrief": 180,
        "maxibrief": 290,
        "maxibrief_2000": 510,
        "warensendung": 270,
        "paeckchen_s": 419,
        "paeckchen_m": 519,
        "paket_2kg": 619,
        "paket_5kg": 769,
        "paket_10kg": 1049,
        "paket_20kg": 1899,
        "paket_31kg": 2399,
    }
    assert {k: prices.price_on(k, date(2024, 12, 31)) for k in expected_2022} == expected_2022
    assert {k: prices.price_on(k, date(2025, 1, 1)) for k in expected_2025} == expected_2025
    with pytest.raises(ValidationFailed, match="nicht mehr angeboten"):
        prices.price_on("eigenhaendig", date(2025, 3, 1))
    with pytest.raises(ValidationFailed, match=r"am 31\.12\.2021 keinen gültigen Tarif"):
        prices.price_on("standardbrief", date(2021, 12, 31))
    assert catalogue.seed_default_tariffs() == 0  # idempotent


def test_a_new_price_list_leaves_past_months_alone(world):
    franking.book_session(date(2026, 10, 15), "10100", [SessionLine("standardbrief", None, 100)], user_id=None)
    db.session.commit()
    before = reports.month_report(date(2026, 10, 1)).as_json()
    assert before["postage_cents"] == 9_500
    old_rows = db.session.scalar(select(func.count(Tariff.id)))
    catalogue.add_price_list(date(2026, 11, 1), {"standardbrief": 99, "eigenhaendig": None}, user_id=None)
    db.session.commit()
    assert db.session.scalar(select(func.count(Tariff.id))) == old_rows + 2
    assert reports.month_report(date(2026, 10, 1)).as_json() == before
    assert catalogue.Catalogue().price_on("standardbrief", date(2026, 10, 31)) == 95
    assert catalogue.Catalogue().price_on("standardbrief", date(2026, 11, 1)) == 99
    with pytest.raises(ValidationFailed, match=r"schon einen Preis ab 01\.11\.2026"):
        catalogue.add_price_list(date(2026, 11, 1), {"standardbrief": 98}, user_id=None)
    with pytest.raises(ValidationFailed, match="Unbekanntes Produkt"):
        catalogue.add_price_list(date(2026, 12, 1), {"luftpost": 98}, user_id=None)


def test_session_postage_is_exact_per_tariff_of_the_day(world):
    lines = [SessionLine("standardbrief", None, 1234), SessionLine("grossbrief", "einschreiben_rueckschein", 3)]
    batch = franking.book_session(date(2026, 11, 20), "10100", lines, user_id=None)
    db.session.commit()
    assert batch.pieces == 1237
    assert batch.postage_cents == 1234 * 95 + 3 * (180 + 485)
    old = franking.book_session(date(2024, 6, 3), "10100", [SessionLine("standardbrief", None, 10)], user_id=None)
    assert old.postage_cents == 850
    rows = db.session.scalars(select(LetterCount).where(LetterCount.batch_id == batch.id)).all()
    assert sorted((r.product, r.add_on, r.count, r.postage_cents) for r in rows) == [
        ("grossbrief", "einschreiben_rueckschein", 3, 1995),
        ("standardbrief", None, 1234, 117_230),
    ]


@pytest.mark.parametrize(
    ("cost_centre", "lines", "message"),
    [
        ("99999", [SessionLine("standardbrief", None, 1)], "Unbekannte Kostenstelle „99999“"),
        ("10100", [SessionLine("standardbrief", None, 0)], "mindestens 1"),
        ("10100", [SessionLine("standardbrief", None, -5)], "mindestens 1"),
        ("10100", [SessionLine("luftpost", None, 1)], "Unbekanntes Produkt „luftpost“"),
        ("10100", [SessionLine("standardbrief", "express", 1)], "Unbekannte Zusatzleistung „express“"),
        ("10100", [SessionLine("paket_5kg", None, 1)], "Unbekanntes Produkt"),  # parcels are booked one by one
        ("10100", [], "mindestens eine Stückzahl"),
    ],
)
def test_bad_sessions_are_refused_and_store_nothing(world, cost_centre, lines, message):
    good = SessionLine("kompaktbrief", None, 5)
    with pytest.raises(ValidationFailed, match=message):
        franking.book_session(date(2026, 11, 20), cost_centre, [good, *lines] if lines else [], user_id=None)
    db.session.rollback()
    assert _lines() == 0
    assert db.session.scalar(select(func.count(FrankingBatch.id))) == 0


def test_a_day_without_tariff_is_refused(world):
    with pytest.raises(ValidationFailed, match="keinen gültigen Tarif"):
        franking.book_session(date(2021, 5, 3), "10100", [SessionLine("standardbrief", None, 5)], user_id=None)


def test_budget_warning_at_threshold_and_over(world):
    budgets.set_budget("10100", 2026, 11, 10_000, 80)
    budgets.set_budget("10100", 2026, None, 1_000_000, 90)
    franking.book_session(date(2026, 11, 20), "10100", [SessionLine("standardbrief", None, 85)], user_id=None)
    warnings = budgets.warnings_for("10100", date(2026, 11, 20))
    assert warnings == ["Budget der Kostenstelle 10100 für November 2026 zu 80 % ausgeschöpft: 80,75 € von 100,00 €."]
    franking.book_session(date(2026, 11, 21), "10100", [SessionLine("standardbrief", None, 30)], user_id=None)
    assert "überschritten" in budgets.warnings_for("10100", date(2026, 11, 20))[0]
    uses = {u.period: u for u in budgets.uses_for_month(date(2026, 11, 1))["10100"]}
    assert uses["November 2026"].level == "over" and uses["2026"].level == "ok"
    assert uses["2026"].used_cents == 115 * 95
    for args, message in [
        (("99", 2026, None, 100, 80), "Unbekannte Kostenstelle"),
        (("10100", 2026, 13, 100, 80), "Monat 13"),
        (("10100", 2026, None, 0, 80), "größer als 0"),
        (("10100", 2026, None, 100, 0), "Warnschwelle"),
    ]:
        with pytest.raises(ValidationFailed, match=message):
            budgets.set_budget(*args)


def test_money_parsing_is_exact():
    assert catalogue.parse_eur("9,50") == 950
    assert catalogue.parse_eur("1.234,56") == 123_456
    assert catalogue.parse_eur("0,1") == 10
    assert catalogue.parse_eur("12") == 1200
    for bad in ("", "9,505", "abc", "1,2,3"):
        with pytest.raises(ValidationFailed):
            catalogue.parse_eur(bad)
    assert catalogue.format_eur(123_456) == "1.234,56 €"
    assert catalogue.plain_eur(5) == "0,05"

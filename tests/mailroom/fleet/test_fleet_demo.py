"""The demo's fleet history: at least 14 months of tours per van, and the year report on it matches a hand
calculation from the raw logbook rows (km with the demo's corrected typo, tours, planned km, kWh from the
charging log or the state of charge, kWh/100 km, CO2 with the default grid factor)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from mailroom import demo
from mailroom.extensions import db
from mailroom.models import ChargingSession, OdometerReading, ReadingKind, Tour, TourStatus
from mailroom.services import fleet

TODAY = date(2026, 3, 3)
YEAR = (date(2025, 1, 1), date(2025, 12, 31))


@pytest.fixture
def demo_fleet(app):
    app.config["CLOCK_NOW"] = "2026-03-03T07:30:00+01:00"
    demo.seed(history_days=30)
    db.session.commit()
    return fleet.vehicles()


def hand_calculation(van, first: date, last: date) -> dict:
    """The report's figures for one van, from the rows, in plain Python."""
    rows = list(db.session.scalars(select(OdometerReading).where(OdometerReading.vehicle_id == van.id)))
    replaced = {r.corrects_id for r in rows if r.corrects_id is not None}
    counted = sorted((r for r in rows if r.id not in replaced), key=lambda r: (r.day, r.at, r.id))
    before = [r.km for r in counted if r.day < first]
    inside = [r for r in counted if first <= r.day <= last]
    km = max(r.km for r in inside) - before[-1]
    segments = sum(r.km - r.start_km for r in inside if r.start_km is not None)  # trips
    tours = [
        t
        for t in db.session.scalars(select(Tour).where(Tour.vehicle_id == van.id))
        if first <= t.service_date <= last and t.status in (TourStatus.STARTED, TourStatus.FINISHED)
    ]
    charges = [
        c
        for c in db.session.scalars(select(ChargingSession).where(ChargingSession.vehicle_id == van.id))
        if first <= c.day <= last
    ]
    replaced_charges = {c.corrects_id for c in charges if c.corrects_id is not None}
    charges = [c for c in charges if c.id not in replaced_charges]
    charged_days = {c.day for c in charges}
    kwh = sum(c.kwh for c in charges)
    for tour in tours:
        readings = [r for r in counted if r.tour_id == tour.id]
        segments += max(r.km for r in readings) - min(r.km for r in readings)
        if tour.service_date not in charged_days:
            socs = [r.soc_percent for r in readings]
            kwh += (max(socs) - min(socs)) / 100 * van.battery_kwh * 1.08
    return {
        "km": km,
        "segments": segments,
        "tours": len(tours),
        "planned": sum(t.planned_km for t in tours),
        "kwh": kwh,
        "typos": [r for r in rows if r.id in replaced and first <= r.day <= last],
    }


def test_demo_history_and_its_year_report(demo_fleet):
    """One seeding (it takes seconds) for all checks."""
    check_fourteen_months(demo_fleet)
    check_year_report(demo_fleet)
    check_van_figures_agree(demo_fleet)


def check_van_figures_agree(demo_fleet):
    """Rated range = usable battery / consumption, and the history was driven at that consumption: what the
    planner measures from the last winter tours is the rated consumption plus the demo's quarter for winter."""
    for van in demo_fleet:
        assert van.battery_kwh / van.kwh_per_100km * 100 == pytest.approx(van.battery_range_km, rel=0.02)
        measured = fleet.range_figures(van, TODAY)
        assert measured.winter and measured.measured_kwh_per_100km is not None
        assert measured.measured_kwh_per_100km == pytest.approx(van.kwh_per_100km * 1.25, rel=0.06)
        assert measured.measured_km == pytest.approx(van.battery_range_km * van.winter_factor, rel=0.06)
        tours = db.session.scalars(select(Tour).where(Tour.vehicle_id == van.id, Tour.service_date < TODAY))
        for tour in tours:
            start, end = fleet.tour_readings(tour)
            if start is not None and end is not None and start.soc_percent and end.soc_percent:
                assert end.soc_percent >= 5 and start.soc_percent - end.soc_percent < 60  # a day's tour, not a battery


def check_fourteen_months(demo_fleet):
    assert len(demo_fleet) == 2
    for van in demo_fleet:
        days = set(db.session.scalars(select(Tour.service_date).where(Tour.vehicle_id == van.id)))
        months = {(d.year, d.month) for d in days}
        assert min(days) <= date(2025, 1, 3) and max(days) >= date(2026, 3, 2)  # 14 months back from the pinned day
        assert len(months) >= 15 and all((y, m) in months for y in (2025,) for m in range(1, 13))
        readings = db.session.scalars(select(OdometerReading.day).where(OdometerReading.vehicle_id == van.id))
        assert min(readings) <= date(2025, 1, 3)


def check_year_report(demo_fleet):
    report = fleet.build_report(*YEAR, grain="month", vehicles=demo_fleet, today=TODAY)
    data = {row["vehicle"]: row for row in fleet.report_json(report)["vehicles"]}
    corrected = 0
    for van in demo_fleet:
        hand = hand_calculation(van, *YEAR)
        row = data[van.code]
        assert row["km_driven"] == pytest.approx(hand["km"], abs=0.05)
        assert hand["segments"] == pytest.approx(hand["km"], abs=0.5)  # tours and trips make up the odometer
        assert 6_000 < row["km_driven"] < 13_000  # about 12,000 km a year, not inflated by the typo
        assert (row["tours"], row["km_planned"]) == (hand["tours"], pytest.approx(hand["planned"], abs=0.05))
        # the JSON's one decimal, after twelve months' kWh summed at two decimals each
        assert row["kwh"] == pytest.approx(hand["kwh"], abs=0.05 + 12 * 0.005)
        assert row["kwh_per_100km"] == pytest.approx(hand["kwh"] / hand["km"] * 100, abs=0.05)
        assert row["co2_kg"] == pytest.approx(hand["kwh"] * 380 / 1000, abs=0.05)  # no 2025 factor: the default
        for typo in hand["typos"]:
            assert typo.kind == ReadingKind.TRIP and typo.km > 100_000  # a digit too many, replaced
            corrected += 1
    assert corrected == 1
    assert report.co2_factors == [(2025, 380.0, "Umweltbundesamt, Strommix 2023 (Standardwert)")]

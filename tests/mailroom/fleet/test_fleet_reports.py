"""Reports against a hand calculation: km from the effective logbook (a correction replaces what it corrects),
energy from the charging log or the state of charge, kWh/100 km, CO2 with the year's grid factor; the start
page shows the same km; standouts, projection, utilisation; the measured range the planner gets."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from mailroom.errors import ValidationFailed
from mailroom.extensions import db
from mailroom.models import ChargeLocation, Role
from mailroom.services import fleet, overview
from tests.builders import add_user, add_van
from tests.mailroom.fleet.builders import at, driven_tour, end_reading

MONDAY = date(2025, 3, 3)
TUESDAY = date(2025, 3, 4)


@pytest.fixture
def vans(app):
    one = add_van("E1", battery_kwh=50, battery_range_km=150, kwh_per_100km=24)
    two = add_van("E2", name="E-Transporter 2", battery_kwh=50, battery_range_km=150)
    fleet.set_grid_factor(2025, 363, "Umweltbundesamt 2025 (Testwert)")
    db.session.commit()
    return one, two


@pytest.fixture
def two_days(vans):
    """E1: Monday a tour 1,000 -> 1,042 (SoC 90 -> 70 %) and an errand to 1,050; Tuesday a tour 1,050 -> 1,150,
    whose end is corrected to 1,095, and 12 kWh charged for 3.60 EUR. E2 drives nothing."""
    one, _two = vans
    user = add_user("fuhrpark", Role.FLEET)
    driven_tour(one, MONDAY, 1_000, 1_042, planned_km=40, soc=(90, 70))
    fleet.record_trip(one, at=at(MONDAY, 15), start_km=1_042, end_km=1_050, destination="Postfiliale", purpose="other")
    tuesday = driven_tour(one, TUESDAY, 1_050, 1_150, planned_km=45, soc=(95, 75))
    fleet.record_charge(one, day=TUESDAY, kwh="12", location=ChargeLocation.DEPOT, cost_cents=360, user=user)
    db.session.commit()
    fleet.record_correction(end_reading(tuesday), km=1_095, note="Tippfehler", user=user)
    db.session.commit()
    return vans


def test_report_matches_a_hand_calculation(two_days):
    one, two = two_days
    report = fleet.build_report(MONDAY, TUESDAY, grain="day", vehicles=[one, two], today=TUESDAY)
    data = fleet.report_json(report)
    assert data["from"] == "2025-03-03" and data["to"] == "2025-03-04"
    e1, e2 = data["vehicles"]
    # km: 1,095 (the correction, not the typo 1,150) - 1,000
    assert (e1["vehicle"], e1["km_driven"], e1["km_planned"], e1["tours"]) == ("E1", 95.0, 85.0, 2)
    # energy: Monday from the SoC, 20 % x 50 kWh x 1.08 (losses) = 10.8 kWh; Tuesday charged 12 kWh
    assert e1["kwh"] == 22.8
    assert e1["kwh_per_100km"] == 24.0  # 22.8 kWh / 95 km
    assert e1["co2_kg"] == 8.3  # 22.8 kWh x 363 g
    assert e2 == {
        "vehicle": "E2",
        "km_driven": 0.0,
        "km_planned": 0.0,
        "tours": 0,
        "kwh": None,
        "kwh_per_100km": None,
        "co2_kg": None,
    }
    monday, tuesday = report.vans[0].periods
    assert (monday.km, monday.tour_km, monday.planned_km, monday.kwh) == (50.0, 42.0, 40.0, 10.8)
    assert (tuesday.km, tuesday.tour_km, tuesday.difference_km, tuesday.cost_cents) == (45.0, 45.0, 0.0, 360)
    assert report.vans[0].total.diesel_co2_kg == pytest.approx(95 * 0.212)
    assert report.co2_factors == [(2025, 363.0, "Umweltbundesamt 2025 (Testwert)")]


def test_start_page_and_report_show_the_same_km_after_a_correction(two_days):
    one, _two = two_days
    start = overview.fleet_start(today=TUESDAY)
    row = next(r for r in start.vehicles if r.vehicle.id == one.id)
    report = fleet.build_report(date(2025, 3, 1), TUESDAY, vehicles=[one], today=TUESDAY)
    assert row.km_month == report.vans[0].total.km == fleet.km_driven([one.id], MONDAY, TUESDAY)[one.id] == 95.0
    assert row.km_year == 95.0 and row.last_km == 1_095


def test_grains_and_csv(two_days):
    one, _two = two_days
    for grain, labels in [("week", ["KW 10/2025"]), ("month", ["März 2025"]), ("year", ["2025"])]:
        report = fleet.build_report(MONDAY, TUESDAY, grain=grain, vehicles=[one], today=TUESDAY)
        assert [p.label for p in report.vans[0].periods] == labels
        assert report.vans[0].periods[0].km == 95.0
    report = fleet.build_report(date(2025, 1, 1), date(2025, 12, 31), vehicles=[one], today=date(2026, 1, 5))
    assert len(report.vans[0].periods) == 12 and report.vans[0].periods[2].km == 95.0
    rows = fleet.report_csv(report).decode("utf-8-sig").splitlines()
    assert rows[0].split(";") == fleet.REPORT_CSV_HEADER
    march = rows[3].split(";")
    assert march[:2] == ["E1", "März 2025"] and march[8] == "95,0" and march[9] == "22,8" and march[11] == "3,60"
    assert len(fleet.report_charts(report)) == 3


def test_bad_periods_are_refused(vans):
    with pytest.raises(ValidationFailed, match="liegt vor seinem Anfang"):
        fleet.build_report(TUESDAY, MONDAY, vehicles=list(vans))
    with pytest.raises(ValidationFailed, match="Einteilung"):
        fleet.build_report(MONDAY, TUESDAY, grain="hour", vehicles=list(vans))


def test_standouts_projection_and_utilisation(vans):
    one, _two = vans
    driven_tour(one, MONDAY, 1_000, 1_060, planned_km=40)  # 50 % over plan
    driven_tour(one, TUESDAY, 1_060, 1_240, planned_km=170)  # 180 km: more than the 150 km range
    db.session.commit()
    report = fleet.build_report(MONDAY, date(2025, 3, 7), grain="day", vehicles=[one], today=date(2025, 3, 7))
    van = report.vans[0]
    reasons = [(s.day, s.reason) for s in van.standouts]
    assert (MONDAY, "Touren 60 km statt geplant 40 km (+50 %)") in reasons
    assert (TUESDAY, "180 km an einem Tag: mehr als die Reichweite (150 km)") in reasons
    assert (van.tour_days, van.service_days, van.utilisation) == (2, 5, 40.0)
    # 240 km in the 66 days of 2025 until 7 March -> 240 / 66 x 365 = 1,327 km for the year
    assert (van.year_km, van.projection_km, van.target_km) == (240.0, 1327.0, 12000)


def test_workshop_periods_make_a_van_unavailable(vans):
    one, _two = vans
    fleet.add_workshop_period(one, starts_on=MONDAY, ends_on=TUESDAY, note="Inspektion", user=None)
    db.session.commit()
    assert fleet.vehicle_available_on(one, MONDAY - timedelta(days=3))
    assert not fleet.vehicle_available_on(one, MONDAY) and not fleet.vehicle_available_on(one, TUESDAY)
    with pytest.raises(ValidationFailed, match="bereits in der Werkstatt"):
        fleet.add_workshop_period(one, starts_on=TUESDAY, ends_on=TUESDAY, note="", user=None)
    db.session.rollback()
    with pytest.raises(ValidationFailed, match="liegt vor ihrem Beginn"):
        fleet.add_workshop_period(one, starts_on=TUESDAY, ends_on=MONDAY, note="", user=None)
    db.session.rollback()
    fleet.set_commissioned(one, date(2025, 6, 1))
    assert not fleet.vehicle_available_on(one, date(2025, 5, 30))
    assert fleet.vehicle_available_on(one, date(2025, 6, 2))
    assert len(one.workshop_periods) == 1  # the history stays


def test_measured_range_for_the_planner(vans):
    one, _two = vans
    km = 2_000.0
    for n in range(5):  # five summer tours of 40 km using 20 % of 50 kWh each: 25 kWh/100 km
        driven_tour(one, date(2025, 6, 2) + timedelta(days=n), km, km + 40, planned_km=40, soc=(90, 70))
        km += 40
    db.session.commit()
    summer = fleet.range_figures(one, date(2025, 7, 1))
    assert (summer.measured_kwh_per_100km, summer.measured_km, summer.tours_measured) == (25.0, 200.0, 5)
    # 200 km measured is more than the 150 km rating: the planner stays within the rating, less the 15 % reserve
    assert (summer.capped, fleet.planning_range_km(one, date(2025, 7, 1))) == (True, 127.5)
    # in winter there are no winter tours yet: rated range x winter factor less the reserve
    assert fleet.planning_range_km(one, date(2025, 12, 1)) == pytest.approx(150 * 0.8 * 0.85)
    assert fleet.range_figures(one, date(2025, 12, 1)).measured_km is None


def test_charging_log_checks(vans):
    one, _two = vans
    with pytest.raises(ValidationFailed) as refused:
        fleet.record_charge(one, day=MONDAY, kwh="80", location="depot", cost_cents=0)
    assert refused.value.code == "kwh_above_battery"
    assert refused.value.message.startswith("80 kWh passen nicht in die Batterie von E-Transporter 1 (50 kWh")
    db.session.rollback()
    for kwargs, message in [
        ({"kwh": "-3"}, "größer als 0"),
        ({"kwh": "viel"}, "Zahl"),
        ({"kwh": "10", "location": "mond"}, "Ladeort"),
        ({"kwh": "10", "day": date(2999, 1, 1)}, "Zukunft"),
    ]:
        args = {"day": MONDAY, "location": "depot", "cost_cents": 0, **kwargs}
        with pytest.raises(ValidationFailed, match=message):
            fleet.record_charge(one, **args)
        db.session.rollback()
    assert fleet.parse_euro_cents("999,99 €") == 99_999 and fleet.parse_euro_cents("3.6") == 360
    with pytest.raises(ValidationFailed):
        fleet.parse_euro_cents("3,333")
    first = fleet.record_charge(one, day=MONDAY, kwh="10", location="depot", cost_cents=300)
    db.session.commit()
    fleet.record_charge(one, day=MONDAY, kwh="11", location="depot", cost_cents=330, note="Zähler", corrects=first)
    db.session.commit()
    with pytest.raises(ValidationFailed, match="zählt nicht mehr"):
        fleet.record_charge(one, day=MONDAY, kwh="9", location="depot", cost_cents=0, note="x", corrects=first)
    db.session.rollback()
    report = fleet.build_report(MONDAY, MONDAY, vehicles=[one], today=MONDAY)
    assert (report.vans[0].total.kwh, report.vans[0].total.cost_cents) == (11.0, 330)


def test_charts_of_a_large_fleet_show_the_fleet_as_a_whole(vans):
    one, two = vans
    more = [add_van(f"E{n}", name=f"E-Transporter {n}", battery_kwh=50, battery_range_km=150) for n in range(3, 10)]
    driven_tour(one, MONDAY, 1_000, 1_042, planned_km=40, soc=(90, 70))  # 20 % of 50 kWh x 1.08 = 10.8 kWh
    driven_tour(more[0], MONDAY, 500, 558, planned_km=60, soc=(90, 60))  # 30 % -> 16.2 kWh
    db.session.commit()
    report = fleet.build_report(MONDAY, TUESDAY, grain="day", vehicles=[one, two, *more], today=TUESDAY)
    km, plan, energy = fleet.report_charts(report)
    assert [s.name for s in km.series] == ["alle 9 Fahrzeuge"] and km.series[0].values == (100.0,)  # Monday only
    assert [s.name for s in energy.series] == ["alle 9 Fahrzeuge"]
    assert energy.series[0].values == (27.0,)  # 27 kWh / 100 km
    assert [s.values for s in plan.series] == [(100.0,), (100.0,)]
    # by day a van lists only its days with entries: the charts have every day of any van, each van in its place
    driven_tour(two, TUESDAY, 700, 730, planned_km=30, soc=(90, 80))
    db.session.commit()
    small = fleet.build_report(MONDAY, TUESDAY, grain="day", vehicles=[one, two], today=TUESDAY)
    km, plan, energy = fleet.report_charts(small)
    assert len(km.categories) == 2
    assert [(s.name, s.values) for s in km.series] == [("E1", (42.0, 0.0)), ("E2", (0.0, 30.0))]
    assert [s.values for s in plan.series] == [(40.0, 30.0), (42.0, 30.0)]
    assert [s.values for s in energy.series] == [(25.7, None), (None, 18.0)]  # 10.8 / 42; 5.4 / 30

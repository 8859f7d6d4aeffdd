"""The fleet feeds the planner: a van in the workshop is not planned on those days, and the range the optimiser
assumes for a van is measured from its recent tours of the same season (rated range x winter factor without
enough of them). The day is pinned (CLOCK_NOW); the plans are real solver runs."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import current_app

from mailroom.errors import PlanningFailed
from mailroom.extensions import db
from mailroom.models import AdhocStop, Role, Tour
from mailroom.services import dispatch, fleet
from tests.builders import PASSWORD, add_user, add_van, town
from tests.mailroom.fleet.builders import driven_tour

MONDAY = date(2025, 7, 7)  # summer
TUESDAY = MONDAY + timedelta(days=1)
RATED_SUMMER = 220 * 0.85  # rated range less the 15 % reserve: 187 km
MEASURED = 200 * 0.85  # 25 kWh/100 km on a 50 kWh battery: 200 km, less the reserve: 170 km


@pytest.fixture
def day(app):
    """Depot, Rathaus and Stadthaus with a stop each on Monday and Tuesday; two vans of 50 kWh and 220 km rated
    range. E1 drove six June tours of 40 km using 20 % of its battery each (10 kWh: 25 kWh/100 km); E2 none."""
    app.config["CLOCK_NOW"] = "2025-07-07T06:30:00+02:00"
    place = town(commit=False)
    one = add_van("E1", battery_kwh=50, battery_range_km=220, plate="OL-PS 101E")
    two = add_van("E2", name="E-Transporter 2", battery_kwh=50, battery_range_km=220, plate="OL-PS 102E")
    for service_date in (MONDAY, TUESDAY):
        for code in ("RH", "SH"):
            db.session.add(AdhocStop(service_date=service_date, site_id=place.sites[code].id, pickup_boxes=1))
    km = 10_000.0
    for n in range(6):
        driven_tour(one, date(2025, 6, 2) + timedelta(days=n), km, km + 40, planned_km=40, soc=(90, 70))
        km += 40
    db.session.commit()
    return one, two


def problem_vans(service_date: date) -> dict[str, object]:
    return {v.id: v for v in dispatch.problem_for_day(service_date).vehicles}


def test_the_optimiser_gets_the_measured_range_of_the_season(day):
    one, _two = day
    assert fleet.range_figures(one, MONDAY).measured_kwh_per_100km == 25.0
    vans = problem_vans(MONDAY)
    assert vans["E1"].usable_range_km == pytest.approx(MEASURED)  # measured, not 187 from the rating
    assert vans["E2"].usable_range_km == pytest.approx(RATED_SUMMER)  # no tours of its own: the rating
    assert dispatch.usable_range_km(one, MONDAY) == pytest.approx(MEASURED)
    # in winter the summer tours say nothing: rated range x winter factor (0.8), less the reserve
    assert dispatch.usable_range_km(one, date(2025, 12, 1)) == pytest.approx(220 * 0.8 * 0.85)


def test_a_planned_tour_carries_the_measured_range(day):
    one, two = day
    fleet.add_workshop_period(two, starts_on=MONDAY, ends_on=MONDAY, note="Reifenwechsel", user=None)
    db.session.commit()
    dispatch.plan_day(MONDAY, time_limit_s=1.0)
    db.session.commit()
    tours = list(db.session.scalars(db.select(Tour).where(Tour.service_date == MONDAY)))
    assert tours and {t.vehicle_id for t in tours} == {one.id}
    assert tours[0].range_km == pytest.approx(MEASURED, abs=0.01)


def test_workshop_days_make_a_van_unavailable_to_the_planner(day):
    one, two = day
    fleet.add_workshop_period(two, starts_on=MONDAY, ends_on=MONDAY, note="Inspektion", user=None)
    db.session.commit()
    assert [v.code for v in dispatch.available_vehicles(MONDAY)] == ["E1"]
    assert set(problem_vans(MONDAY)) == {"E1"}
    assert set(problem_vans(TUESDAY)) == {"E1", "E2"}  # back from the workshop the next day
    fleet.add_workshop_period(one, starts_on=MONDAY, ends_on=TUESDAY, note="Unfall", user=None)
    db.session.commit()
    with pytest.raises(PlanningFailed) as refused:
        dispatch.plan_day(MONDAY, time_limit_s=1.0)
    assert refused.value.code == "no_vehicle"
    assert "kein Fahrzeug verfügbar (alle in der Werkstatt oder außer Dienst)" in refused.value.message
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Tour.id)).where(Tour.service_date == MONDAY)) == 0
    assert set(problem_vans(TUESDAY)) == {"E2"}


def test_too_few_km_measured_keep_the_rated_range(app):
    app.config["CLOCK_NOW"] = "2025-07-07T06:30:00+02:00"
    van = add_van("E1", battery_kwh=50, battery_range_km=220)
    km = 500.0
    for n in range(6):  # six tours but only 60 km: less than FLEET_RANGE_MIN_KM
        driven_tour(van, date(2025, 6, 2) + timedelta(days=n), km, km + 10, planned_km=10, soc=(90, 86))
        km += 10
    db.session.commit()
    figures = fleet.range_figures(van, MONDAY)
    assert (figures.tours_measured, figures.measured_km) == (6, None)
    assert dispatch.usable_range_km(van, MONDAY) == pytest.approx(RATED_SUMMER)


def test_the_fleet_pages_show_the_measured_range_beside_the_rated_one(day):
    one, _two = day
    add_user("fuhrpark", Role.FLEET)
    db.session.commit()
    client = current_app.test_client()
    assert client.post("/login", data={"username": "fuhrpark", "password": PASSWORD}).status_code == 302
    page = client.get("/fleet/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    row = html[html.index('data-testid="van-E1"') :]
    row = row[: row.index("</tr>")]
    assert "220 km" in row and "200 km" in row and "25 kWh/100 km, 6 Touren" in row  # rated, measured
    assert 'data-testid="planning-range-E1">170 km<' in row
    assert "zu wenige Touren" in html[html.index('data-testid="van-E2"') :]
    van_page = client.get(f"/fleet/vehicles/{one.id}").get_data(as_text=True)
    assert "Reichweite Nennwert 220 km · gemessen 200 km · Planung" in van_page
    assert 'data-testid="planning-range">170 km<' in van_page

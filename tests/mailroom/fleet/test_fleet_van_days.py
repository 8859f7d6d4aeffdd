"""The per-van, per-day figures (`van_days`) stay what the logbook, the tours and the charging log say, after
every kind of write, in the same transaction; a rebuild makes the same rows."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from mailroom.extensions import db
from mailroom.models import ChargeLocation, Tour, TourStatus, VanDay
from mailroom.services import fleet
from mailroom.services.fleet import van_days
from tests.builders import add_van
from tests.mailroom.fleet.builders import at, driven_tour, end_reading

MONDAY = date(2025, 3, 3)
TUESDAY = MONDAY + timedelta(days=1)


def stored() -> list[dict]:
    columns = [c.key for c in VanDay.__table__.columns]
    rows = db.session.execute(select(*VanDay.__table__.columns).order_by(VanDay.vehicle_id, VanDay.day)).all()
    return [dict(zip(columns, row, strict=True)) for row in rows]


def same_as_the_rows() -> None:
    """The kept rows equal the rows computed from scratch (floats to a millionth)."""

    def rounded(rows):
        return [{k: round(v, 6) if isinstance(v, float) else v for k, v in row.items()} for row in rows]

    assert rounded(stored()) == rounded(van_days.compute(db.session.connection(), None))


def day_row(van, day) -> VanDay:
    db.session.expire_all()
    return db.session.get(VanDay, (van.id, day))


def test_every_write_keeps_the_day_figures(app):
    one, two = add_van("E1", battery_kwh=50, battery_range_km=150), add_van("E2", battery_kwh=50)
    db.session.commit()
    monday = driven_tour(one, MONDAY, 1_000, 1_042, planned_km=40, soc=(90, 70))
    db.session.commit()
    row = day_row(one, MONDAY)
    assert (row.high_km, row.low_km, row.tours, row.planned_km, row.tour_km, row.soc_used) == (
        1042,
        1000,
        1,
        40,
        42,
        20,
    )
    assert (row.complete_tours, row.incomplete_tour_id, row.charged_kwh) == (1, None, None)
    same_as_the_rows()

    fleet.record_trip(one, at=at(MONDAY, 15), start_km=1_042, end_km=1_050, destination="Postfiliale", purpose="other")
    tuesday = driven_tour(one, TUESDAY, 1_050, None, planned_km=45)  # started, no end yet
    db.session.commit()
    assert (day_row(one, MONDAY).high_km, day_row(one, TUESDAY).incomplete_tour_id) == (1050, tuesday.id)
    same_as_the_rows()

    fleet.record_reading(one, km=1_150, kind="tour_end", at=at(TUESDAY, 12), tour=tuesday, soc_percent=70)
    charge = fleet.record_charge(one, day=TUESDAY, kwh="12", location=ChargeLocation.DEPOT, cost_cents=360)
    db.session.commit()
    row = day_row(one, TUESDAY)
    assert (row.tour_km, row.incomplete_tour_id, row.charged_kwh, row.cost_cents) == (100, None, 12, 360)
    same_as_the_rows()

    # corrections replace what they correct: the end reading and the charge
    fleet.record_correction(end_reading(tuesday), km=1_095, note="Tippfehler")
    fleet.record_charge(one, day=TUESDAY, kwh="14", location=ChargeLocation.DEPOT, cost_cents=420, corrects=charge,
                        note="Zähler falsch abgelesen")  # fmt: skip
    db.session.commit()
    row = day_row(one, TUESDAY)
    assert (row.high_km, row.tour_km, row.charged_kwh, row.cost_cents) == (1095, 45, 14, 420)
    same_as_the_rows()

    # a tour changed by the planner: cancelled, moved to another van and day, re-planned
    monday.status = TourStatus.CANCELLED
    db.session.commit()
    assert (day_row(one, MONDAY).tours, day_row(one, MONDAY).tour_km) == (0, 0)
    same_as_the_rows()
    wednesday = TUESDAY + timedelta(days=1)
    moved = Tour(service_date=wednesday, vehicle_id=one.id, status=TourStatus.STARTED, planned_km=30)
    db.session.add(moved)
    db.session.commit()
    assert day_row(one, wednesday).incomplete_tour_id == moved.id
    moved.vehicle_id, moved.service_date, moved.planned_km = two.id, TUESDAY, 33
    db.session.commit()
    assert day_row(one, wednesday) is None
    assert (day_row(two, TUESDAY).tours, day_row(two, TUESDAY).planned_km) == (1, 33)
    same_as_the_rows()
    db.session.delete(moved)
    db.session.commit()
    assert day_row(two, TUESDAY) is None
    same_as_the_rows()

    # nothing half-stored: a refused write leaves the figures as they were
    before = stored()
    with pytest.raises(Exception, match="kleiner als der letzte Stand"):
        fleet.record_reading(one, km=900, at=at(TUESDAY, 18))
    db.session.rollback()
    assert stored() == before

    # a rebuild (after bulk rows) makes the same rows
    db.session.execute(VanDay.__table__.delete())
    assert fleet.rebuild_van_days(db.session) == len(before)
    db.session.commit()
    assert stored() == before

"""The vehicle logbook: readings never go down, corrections are new entries, figures per day and month."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from mailroom.errors import ValidationFailed
from mailroom.extensions import db
from mailroom.models import AppendOnlyViolation, OdometerReading, ReadingKind, Role, Tour, TourStatus
from mailroom.services import fleet
from mailroom.services.clock import LOCAL_TZ, local_today
from tests.mailroom.courier.builders import PASSWORD, add_user, make_world


def _at(day, hour, minute=0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL_TZ)


@pytest.fixture
def van(sqlite_app):
    return make_world(sites=1, users=()).van


def _count() -> int:
    return db.session.scalar(select(func.count(OdometerReading.id))) or 0


def test_reading_lower_than_the_last_is_refused_with_a_clear_message(van):
    day = local_today() - timedelta(days=1)
    fleet.record_reading(van, km=12_410, soc_percent=90, kind=ReadingKind.TOUR_START, at=_at(day, 9, 5))
    db.session.commit()
    with pytest.raises(ValidationFailed) as refused:
        fleet.record_reading(van, km=12_340, at=_at(day, 12))
    assert refused.value.message.startswith(
        f"Kilometerstand 12.340 km ist kleiner als der letzte Stand 12.410 km (Tourbeginn, {day:%d.%m.%Y} 09:05)"
    )
    assert refused.value.code == "odometer_decreasing"
    db.session.rollback()
    assert _count() == 1
    # equal is fine (the van did not move), so is more
    fleet.record_reading(van, km=12_410, at=_at(day, 12))
    fleet.record_reading(van, km=12_455.5, at=_at(day, 15))
    db.session.commit()
    assert fleet.last_reading(van).km == 12_455.5


def test_late_reading_must_fit_between_its_neighbours(van):
    day = local_today() - timedelta(days=1)
    fleet.record_reading(van, km=100, at=_at(day, 8))
    fleet.record_reading(van, km=140, at=_at(day, 16))
    db.session.commit()
    with pytest.raises(ValidationFailed, match=r"Kilometerstand 150 km ist größer als der spätere Stand 140 km"):
        fleet.record_reading(van, km=150, at=_at(day, 12))
    db.session.rollback()
    fleet.record_reading(van, km=120, at=_at(day, 12))  # a phone's tour end sent late
    db.session.commit()
    assert [r.km for r in fleet.effective(fleet.readings(van))] == [100, 120, 140]


def test_values_are_checked(van):
    for kwargs, message in [
        ({"km": None}, "Kilometerstand angeben"),
        ({"km": -5}, "zwischen 0"),
        ({"km": "abc"}, "Zahl"),
        ({"km": 10, "soc_percent": 101}, "Ladezustand"),
        ({"km": 10, "soc_percent": -1}, "Ladezustand"),
        ({"km": 10, "soc_percent": 50.5}, "Ladezustand"),
        ({"km": 10, "at": datetime.now(LOCAL_TZ) + timedelta(days=1)}, "Zukunft"),
        ({"km": 10, "note": "x" * 201}, "200 Zeichen"),
    ]:
        with pytest.raises(ValidationFailed, match=message):
            fleet.record_reading(van, **kwargs)
        db.session.rollback()
    assert _count() == 0


def test_correction_is_a_new_entry_naming_the_corrected_one(van):
    day = local_today() - timedelta(days=2)
    typo = fleet.record_reading(van, km=124_100, at=_at(day, 9))  # should have been 12,410
    db.session.commit()
    with pytest.raises(ValidationFailed, match=r"kleiner als der letzte Stand 124\.100 km"):
        fleet.record_reading(van, km=12_450, at=_at(day, 14))
    db.session.rollback()
    with pytest.raises(ValidationFailed, match="Begründung"):
        fleet.record_correction(typo, km=12_410, note="  ")
    db.session.rollback()
    correction = fleet.record_correction(typo, km=12_410, note="Ziffer zu viel getippt")
    db.session.commit()
    assert (correction.kind, correction.corrects_id, correction.at) == (ReadingKind.CORRECTION, typo.id, typo.at)
    assert db.session.get(OdometerReading, typo.id).km == 124_100  # the wrong entry stays, unchanged
    assert fleet.last_reading(van).id == correction.id
    fleet.record_reading(van, km=12_450, at=_at(day, 14))
    db.session.commit()
    with pytest.raises(ValidationFailed, match="bereits korrigiert"):
        fleet.record_correction(typo, km=12_400, note="nochmal")
    db.session.rollback()


def test_logbook_rows_cannot_be_changed_or_deleted(van):
    reading = fleet.record_reading(van, km=10)
    db.session.commit()
    reading.km = 5
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(OdometerReading, reading.id))
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()


def _finished_tour(van, day, start_km, end_km, planned_km) -> Tour:
    tour = Tour(service_date=day, vehicle_id=van.id, status=TourStatus.FINISHED, planned_km=planned_km)
    db.session.add(tour)
    db.session.flush()
    fleet.record_reading(van, km=start_km, soc_percent=95, kind=ReadingKind.TOUR_START, at=_at(day, 9), tour=tour)
    fleet.record_reading(van, km=end_km, soc_percent=70, kind=ReadingKind.TOUR_END, at=_at(day, 12), tour=tour)
    return tour


def test_figures_per_day_and_month_planned_vs_driven(van, sqlite_app):
    sqlite_app.config["CO2_G_PER_KWH"] = 400
    first = local_today().replace(day=1)
    days = [first + timedelta(days=n) for n in range(3) if first + timedelta(days=n) <= local_today()]
    if len(days) < 2:  # early on the 1st: use last month
        first = (first - timedelta(days=1)).replace(day=1)
        days = [first, first + timedelta(days=1)]
    one = _finished_tour(van, days[0], 1_000, 1_050, 48.0)
    fleet.record_reading(van, km=1_060, at=_at(days[0], 16))  # an errand in the afternoon
    two = _finished_tour(van, days[1], 1_060, 1_100, 45.0)
    db.session.commit()
    assert fleet.tour_driven_km(one) == 50 and fleet.tour_driven_km(two) == 40
    report = fleet.van_report(van, first)
    by_label = {d.label: d for d in report.days}
    d0 = by_label[days[0].strftime("%d.%m.%Y")]
    assert (d0.tours, d0.planned_km, d0.tour_km, d0.difference_km, d0.driven_km) == (1, 48.0, 50.0, 2.0, 60.0)
    assert d0.kwh == 14.4  # 60 km x 24 kWh/100 km
    assert d0.co2_kg == 5.8  # 14.4 kWh x 400 g
    month = next(m for m in report.months if m.start == first)
    assert (month.tours, month.planned_km, month.tour_km, month.driven_km) == (2, 93.0, 90.0, 100.0)
    # a correction of a tour's end reading changes its driven km
    end_two = fleet.tour_readings(two)[1]
    fleet.record_correction(end_two, km=1_090, note="falsch abgelesen")
    db.session.commit()
    assert fleet.tour_driven_km(two) == 30
    assert next(m for m in fleet.van_report(van, first).months if m.start == first).tour_km == 80.0


def test_logbook_csv_for_german_excel(van):
    user = add_user("fuhrpark", Role.FLEET)
    reading = fleet.record_reading(van, km=12_410.5, soc_percent=88, note="=HYPERLINK(1)", user=user)
    db.session.commit()
    fleet.record_correction(reading, km=12_401, note="Zahlendreher")
    db.session.commit()
    data = fleet.logbook_csv(van)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == fleet.CSV_HEADER
    assert len(rows) == 3
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["Kilometerstand"] == "12410,5" and first["Ladezustand %"] == "88"
    assert first["Notiz"] == "'=HYPERLINK(1)"
    assert first["Korrigiert durch"] == rows[2][2] and first["Erfasst von"] == "fuhrpark"
    assert dict(zip(rows[0], rows[2], strict=True))["Art"] == "Korrektur"


def test_month_parameter(sqlite_app):
    assert fleet.parse_month("2026-03").isoformat() == "2026-03-01"
    assert fleet.shift_month(fleet.parse_month("2026-01"), -1) == "2025-12"
    for bad in ("2026-13", "März", "9999-12", "2026"):
        with pytest.raises(ValidationFailed):
            fleet.parse_month(bad)
    assert PASSWORD  # builders share the test password with the view tests

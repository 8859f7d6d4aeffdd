"""The vehicle logbook: readings never go down, implausible jumps and trips ending before they start are
refused, corrections are new entries (and an entry that no longer counts cannot be corrected again)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from mailroom.errors import ValidationFailed
from mailroom.extensions import db
from mailroom.models import AppendOnlyViolation, OdometerReading, ReadingKind, Role, TripPurpose
from mailroom.services import fleet
from mailroom.services.clock import LOCAL_TZ
from tests.builders import add_user, add_van
from tests.mailroom.fleet.builders import at, driven_tour, end_reading

MONDAY = date(2025, 3, 3)


@pytest.fixture
def van(app):
    van = add_van("E1", battery_kwh=50, battery_range_km=150)
    db.session.commit()
    return van


def _count() -> int:
    return db.session.scalar(select(func.count(OdometerReading.id))) or 0


def test_reading_lower_than_the_last_is_refused_with_a_clear_message(van):
    fleet.record_reading(van, km=12_410, soc_percent=90, kind=ReadingKind.TOUR_START, at=at(MONDAY, 9, 5))
    db.session.commit()
    with pytest.raises(ValidationFailed) as refused:
        fleet.record_reading(van, km=12_340, at=at(MONDAY, 12))
    assert refused.value.message.startswith(
        "Kilometerstand 12.340 km ist kleiner als der letzte Stand 12.410 km (Tourbeginn, 03.03.2025 09:05)"
    )
    assert refused.value.code == "odometer_decreasing"
    db.session.rollback()
    assert _count() == 1
    fleet.record_reading(van, km=12_410, at=at(MONDAY, 12))  # equal is fine: the van did not move
    fleet.record_reading(van, km=12_455.5, at=at(MONDAY, 15))
    db.session.commit()
    assert fleet.last_reading(van).km == 12_455.5
    assert fleet.last_reading(van).day == MONDAY


def test_late_reading_must_fit_between_its_neighbours(van):
    fleet.record_reading(van, km=100, at=at(MONDAY, 8))
    fleet.record_reading(van, km=140, at=at(MONDAY, 16))
    db.session.commit()
    with pytest.raises(ValidationFailed, match=r"Kilometerstand 150 km ist größer als der spätere Stand 140 km"):
        fleet.record_reading(van, km=150, at=at(MONDAY, 12))
    db.session.rollback()
    fleet.record_reading(van, km=120, at=at(MONDAY, 12))  # a phone's tour end sent late
    db.session.commit()
    assert [r.km for r in fleet.effective(fleet.readings(van))] == [100, 120, 140]


def test_900_km_in_a_day_is_refused(van):
    fleet.record_reading(van, km=20_000, at=at(MONDAY, 9))
    db.session.commit()
    with pytest.raises(ValidationFailed) as refused:
        fleet.record_reading(van, km=20_900, at=at(MONDAY, 17))
    assert refused.value.code == "odometer_jump"
    assert "wären 900 km an einem Tag" in refused.value.message
    assert "mehr als 600 km am Tag sind für E-Transporter 1 nicht plausibel" in refused.value.message
    db.session.rollback()
    # the same distance over two days is plausible
    fleet.record_reading(van, km=20_900, at=at(MONDAY + timedelta(days=2), 17))
    db.session.commit()
    assert _count() == 2


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


def test_trip_outside_a_tour(van):
    driver = add_user("bote", Role.COURIER, "Bernd Bote")
    fleet.record_reading(van, km=5_000, at=at(MONDAY, 8))
    db.session.commit()
    for start, end, destination, purpose, message in [
        (5_020, 5_010, "Werkstatt", "workshop", "kleiner als bei Abfahrt"),
        (5_000, 5_010, "  ", "workshop", "Ziel der Fahrt"),
        (5_000, 5_010, "Werkstatt", "tour", "Zweck"),
        (4_990, 5_010, "Werkstatt", "workshop", "kleiner als der letzte Stand 5.000 km"),
    ]:
        with pytest.raises(ValidationFailed, match=message):
            fleet.record_trip(
                van,
                at=at(MONDAY, 14),
                start_km=start,
                end_km=end,
                destination=destination,
                purpose=purpose,
                driver=driver,
            )
        db.session.rollback()
    with pytest.raises(ValidationFailed) as refused:
        fleet.record_trip(van, at=at(MONDAY, 14), start_km=5_020, end_km=5_010, destination="W", purpose="workshop")
    assert refused.value.code == "end_before_start"
    db.session.rollback()
    trip = fleet.record_trip(
        van,
        at=at(MONDAY, 14),
        start_km=5_000,
        end_km=5_012.5,
        destination="Autohaus, Bremer Heerstraße 120, 26135 Oldenburg",
        purpose=TripPurpose.WORKSHOP,
        driver=driver,
    )
    db.session.commit()
    (line,) = fleet.logbook_lines(van, MONDAY, MONDAY)[1:]
    assert (line.kind, line.purpose, line.driver, line.start_km, line.end_km, line.km) == (
        "Fahrt",
        "Werkstatt",
        "Bernd Bote",
        5_000,
        5_012.5,
        12.5,
    )
    assert line.number == trip.id and line.route.startswith("Autohaus")
    with pytest.raises(ValidationFailed, match=r"kleiner als der letzte Stand 5\.012,5 km"):
        fleet.record_reading(van, km=5_010, at=at(MONDAY, 16))


def test_correction_is_a_new_entry_naming_the_corrected_one(van):
    user = add_user("fuhrpark", Role.FLEET)
    typo = fleet.record_reading(van, km=124_100, at=at(MONDAY, 9))  # should have been 12,410
    db.session.commit()
    with pytest.raises(ValidationFailed, match=r"kleiner als der letzte Stand 124\.100 km"):
        fleet.record_reading(van, km=12_450, at=at(MONDAY, 14))
    db.session.rollback()
    with pytest.raises(ValidationFailed, match="Begründung"):
        fleet.record_correction(typo, km=12_410, note="  ")
    db.session.rollback()
    correction = fleet.record_correction(typo, km=12_410, note="Ziffer zu viel getippt", user=user)
    db.session.commit()
    assert (correction.kind, correction.corrects_id, correction.at) == (ReadingKind.CORRECTION, typo.id, typo.at)
    assert db.session.get(OdometerReading, typo.id).km == 124_100  # the wrong entry stays, unchanged
    assert fleet.last_reading(van).id == correction.id
    fleet.record_reading(van, km=12_450, at=at(MONDAY, 14))
    db.session.commit()
    # the corrected entry no longer counts: it cannot be corrected again, its correction can
    with pytest.raises(ValidationFailed) as refused:
        fleet.record_correction(typo, km=12_400, note="nochmal")
    assert refused.value.code == "already_corrected"
    assert refused.value.message.startswith(f"Eintrag Nr. {typo.id} zählt nicht mehr: er wurde am ")
    assert refused.value.message.endswith(
        f"durch Nr. {correction.id} korrigiert. Bitte Nr. {correction.id} korrigieren."
    )
    db.session.rollback()
    # a correction must fit between its neighbours like any reading
    with pytest.raises(ValidationFailed, match=r"größer als der spätere Stand 12\.450 km"):
        fleet.record_correction(correction, km=12_460, note="zu hoch")
    db.session.rollback()
    second = fleet.record_correction(correction, km=12_405, note="doch 12.405")
    db.session.commit()
    assert [r.km for r in fleet.effective(fleet.readings(van))] == [12_405, 12_450]
    (line, _later) = fleet.logbook_lines(van, MONDAY, MONDAY)
    assert line.end_km == 12_405
    assert line.corrections[0].startswith(f"Kilometerstand korrigiert: 124.100 → 12.410 km (Nr. {correction.id}")
    assert "fuhrpark" in line.corrections[0] and "Ziffer zu viel getippt" in line.corrections[0]
    assert f"Nr. {second.id} ersetzt Nr. {correction.id}" in line.corrections[1]


def test_tour_correction_changes_driven_km_and_the_line_shows_both_values(van):
    tour = driven_tour(van, MONDAY, 1_000, 1_100, planned_km=45)
    db.session.commit()
    fleet.record_correction(end_reading(tour), km=1_045, note="falsch abgelesen")
    db.session.commit()
    assert fleet.tour_driven_km(tour) == 45
    (line,) = fleet.logbook_lines(van, MONDAY, MONDAY)
    assert (line.kind, line.start_km, line.end_km, line.km) == ("Botentour", 1_000, 1_045, 45)
    assert line.corrections[0].startswith("Tourende korrigiert: 1.100 → 1.045 km")


def test_logbook_rows_cannot_be_changed_or_deleted(van):
    reading = fleet.record_reading(van, km=10, at=at(MONDAY, 9))
    db.session.commit()
    reading.km = 5
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(OdometerReading, reading.id))
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()


def test_incomplete_tours_are_listed_after_seven_days(van):
    open_tour = driven_tour(van, MONDAY, 1_000, None, planned_km=40)
    corrected = driven_tour(van, MONDAY + timedelta(days=1), 1_040, 1_080, planned_km=40)
    db.session.commit()
    fleet.record_correction(end_reading(corrected), km=1_078, note="Tippfehler")  # its end is the correction now
    db.session.commit()
    assert fleet.incomplete_tours(today=MONDAY + timedelta(days=7)) == []
    (found,) = fleet.incomplete_tours(today=MONDAY + timedelta(days=8))
    assert (found.tour.id, found.missing) == (open_tour.id, "Tourende")
    (line, _second) = fleet.logbook_lines(van, MONDAY, MONDAY + timedelta(days=1))
    assert line.remarks == ["unvollständig: Tourende fehlt"]


def test_a_tour_line_lists_its_stops_in_the_order_driven_with_full_addresses(van):
    from mailroom.models import StopStatus, TourStop
    from tests.builders import add_site, depot

    home = depot()
    town_hall = add_site("RH", "Rathaus", street="Markt 1", postcode="26122")
    school = add_site("GS", "Grundschule Nord", street="Schulweg 3", postcode="26125")
    library = add_site("BIB", "Stadtbibliothek", street="Peterstraße 3", postcode="26121")
    driver = add_user("bote", Role.COURIER, "Bernd Bote")
    tour = driven_tour(van, MONDAY, 1_000, 1_038, planned_km=35, driver=driver)
    planned = [
        (town_hall, 1, StopStatus.DONE, 11),
        (school, 2, StopStatus.DONE, 10),
        (library, 3, StopStatus.SKIPPED, None),
    ]
    tour.stops.append(TourStop(site=home, position=0, is_depot=True))
    for site, position, status, hour in planned:  # the courier did the school first, the library not at all
        tour.stops.append(
            TourStop(site=site, position=position, status=status, done_at=at(MONDAY, hour) if hour else None)
        )
    db.session.commit()
    (line,) = fleet.logbook_lines(van, MONDAY, MONDAY)
    assert (line.kind, line.purpose, line.driver, line.km) == ("Botentour", "Botentour", "Bernd Bote", 38.0)
    route = "Grundschule Nord, Schulweg 3, 26125 Oldenburg → Rathaus, Markt 1, 26122 Oldenburg"
    assert line.route == route
    csv_text = fleet.logbook_csv([van], MONDAY, MONDAY).decode("utf-8-sig")
    assert route in csv_text and "Stadtbibliothek" not in csv_text

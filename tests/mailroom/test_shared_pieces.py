"""The shared building blocks: German formatting, the dates parser, the clock (zone and pinned time),
status columns that load their enum, LIKE searches with user text, the one default-driver rule and the
atomic file writer."""

from __future__ import annotations

import stat
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select, text

from mailroom import create_app
from mailroom.errors import ValidationFailed
from mailroom.extensions import db
from mailroom.models import PlanRun, PlanRunKind, PlanRunStatus, Role, Tour, TourStatus
from mailroom.services import clock, dates, dispatch, formatting, intake, storage
from tests.builders import add_user, add_van, town
from tests.conftest import make_test_config

# --- formatting ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "fixed", "expected"),
    [(12340, False, "12.340"), (12340.5, False, "12.340,5"), (12340, True, "12.340,0"), (0.04, True, "0,0")],
)
def test_format_km_german(value, fixed, expected):
    assert formatting.format_km(value, fixed=fixed) == expected


def test_format_number_and_day():
    assert formatting.format_number(1234567.891, 2) == "1.234.567,89"
    assert formatting.format_number(None) == ""
    assert formatting.format_day(date(2026, 3, 2)) == "02.03.2026"
    assert formatting.format_day(date(2026, 3, 2), weekday=True) == "Montag, 02.03.2026"


def test_template_filters_use_the_german_formatting(sqlite_app):
    template = sqlite_app.jinja_env.from_string("{{ a | km }} km · {{ b | number(2) }} · {{ d | german_date }}")
    assert template.render(a=1234.5, b=0.5, d=date(2026, 12, 24)) == "1.234,5 km · 0,5 · 24.12.2026"


# --- dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["2026-03-02", "02.03.2026", " 2.3.2026 "])
def test_parse_day_accepts_iso_and_german(value):
    assert dates.parse_day(value) == date(2026, 3, 2)


@pytest.mark.parametrize("value", ["31.02.2026", "2026-13-01", "morgen", ""])
def test_parse_day_refuses_in_german(value):
    with pytest.raises(ValidationFailed, match="kein gültiges Datum"):
        dates.parse_day(value, what="Zustelldatum")


def test_parse_optional_day_and_times():
    assert dates.parse_optional_day("  ") is None
    assert dates.parse_hhmm("9:30") == time(9, 30)
    assert dates.hhmm_minutes("15:30") == 930
    assert dates.format_hhmm(time(7, 5)) == "07:05"
    for bad in ("25:00", "12.30", "mittags"):
        with pytest.raises(ValidationFailed, match="keine gültige Uhrzeit"):
            dates.parse_hhmm(bad)


# --- the clock -----------------------------------------------------------------------------------


def _app(tmp_path, monkeypatch, **config):
    monkeypatch.setenv("MAILROOM_INSTANCE_PATH", str(tmp_path))
    return create_app({**make_test_config(f"sqlite:///{tmp_path / 'clock.sqlite'}", tmp_path), **config})


def test_pinned_clock_starts_at_clock_now_and_runs_on(tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch, CLOCK_NOW="2026-03-03T07:30:00+01:00")
    with app.app_context():
        assert clock.local_today() == date(2026, 3, 3)
        first = clock.now_utc()
        assert abs(first - datetime(2026, 3, 3, 6, 30, tzinfo=UTC)) < timedelta(seconds=5)
        assert clock.now_utc() >= first  # it runs on


def test_timezone_setting_drives_day_bounds(tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch, TIMEZONE="America/New_York", CLOCK_NOW="2026-07-01T23:30:00-04:00")
    with app.app_context():
        start, end = clock.day_bounds_utc(date(2026, 7, 1))
        assert start == datetime(2026, 7, 1, 4, 0, tzinfo=UTC) and end == datetime(2026, 7, 2, 4, 0, tzinfo=UTC)
        assert clock.local_today() == date(2026, 7, 1)  # 03:30 UTC on 2 July is still 1 July there
        assert datetime(2026, 7, 2, 3, 30, tzinfo=UTC).astimezone(clock.LOCAL_TZ).day == 1
    berlin = _app(tmp_path, monkeypatch)
    with berlin.app_context():
        start, _ = clock.day_bounds_utc(date(2026, 7, 1))
        assert start == datetime(2026, 6, 30, 22, 0, tzinfo=UTC)


# --- status columns load their enum ---------------------------------------------------------------


def test_status_columns_load_the_enum(app):
    van = add_van("E1")
    tour = Tour(service_date=date(2026, 3, 2), vehicle_id=van.id, status="started")
    run = PlanRun(service_date=date(2026, 3, 2), status="running", kind="plan")
    db.session.add_all([tour, run])
    db.session.commit()
    db.session.expire_all()
    loaded = db.session.scalar(select(Tour))
    assert type(loaded.status) is TourStatus and loaded.status is TourStatus.STARTED
    loaded_run = db.session.scalar(select(PlanRun))
    assert loaded_run.status is PlanRunStatus.RUNNING and loaded_run.kind is PlanRunKind.PLAN
    # Stored as the plain text value (no database enum type).
    assert db.session.execute(text("SELECT status FROM tours")).scalar_one() == "started"
    db.session.add(Tour(service_date=date(2026, 3, 3), vehicle_id=van.id, status="flying"))
    with pytest.raises(Exception, match="flying"):
        db.session.flush()
    db.session.rollback()


# --- LIKE with user text ------------------------------------------------------------------------------


def test_org_unit_search_takes_percent_and_underscore_literally(app):
    town()
    assert intake.resolve_org_unit("fd20").short_name == "FD20"  # case-insensitive
    for wildcard in ("FD%", "FD_0", "%"):
        with pytest.raises(ValidationFailed, match="Unbekannter Fachdienst"):
            intake.resolve_org_unit(wildcard)


# --- the default-driver rule ----------------------------------------------------------------------------


def test_drivers_for_day_never_puts_one_courier_on_two_vans(app):
    e1, e2 = add_van("E1"), add_van("E2", name="E-Transporter 2")
    anna, bert = add_user("anna", Role.COURIER, "Anna"), add_user("bert", Role.COURIER, "Bert")
    monday = date(2026, 3, 2)
    db.session.add(Tour(service_date=monday - timedelta(days=3), vehicle_id=e1.id, driver_id=anna.id))
    db.session.commit()
    assert dispatch.drivers_for_day(monday, [e1, e2]) == {e1.id: anna.id, e2.id: bert.id}
    # Anna chosen for E2 on the form: E1 does not keep her as its usual driver but gets the free one.
    assert dispatch.drivers_for_day(monday, [e1, e2], {e2.id: anna.id}) == {e1.id: bert.id, e2.id: anna.id}
    # "Nobody" chosen stays nobody.
    assert dispatch.drivers_for_day(monday, [e1, e2], {e1.id: None}) == {e1.id: None, e2.id: anna.id}
    with pytest.raises(ValidationFailed, match="zwei Fahrzeuge"):
        dispatch.check_driver_choice({e1.id: anna.id, e2.id: anna.id})
    post = add_user("post2", Role.MAILROOM)
    with pytest.raises(ValidationFailed, match="Botendienst"):
        dispatch.check_driver_choice({e1.id: post.id})


# --- the atomic writer ----------------------------------------------------------------------------------


def test_write_atomically_replaces_whole_files_with_the_mode(tmp_path):
    target = tmp_path / "sub" / "secret"
    storage.write_atomically(target, "eins", mode=0o600)
    storage.write_atomically(target, b"zwei", mode=0o600)
    assert target.read_bytes() == b"zwei"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["secret"]  # no temp files left

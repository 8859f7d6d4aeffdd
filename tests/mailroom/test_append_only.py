"""The custody log and the vehicle logbook are append-only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailroom.extensions import db
from mailroom.models import (
    AppendOnlyViolation,
    EventKind,
    HandoverProof,
    IncomingCounter,
    MailEvent,
    MailItem,
    OdometerReading,
    ReadingKind,
    Vehicle,
)
from mailroom.services import custody


@pytest.fixture
def item(app):
    item = MailItem(code="PS26-0000017", incoming_number="E-2026-000001")
    db.session.add_all([item, IncomingCounter(year=2026, last_number=1)])
    custody.record_event(item, EventKind.RECEIVED, user=None)
    db.session.commit()
    return item


def test_events_cannot_be_changed_or_deleted(item):
    event = db.session.query(MailEvent).one()
    event.note = "nachträglich geändert"
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.query(MailEvent).one())
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()
    assert db.session.query(MailEvent).one().note is None


def test_a_proof_can_be_attached_to_an_event_without_changing_it(item):
    event = db.session.query(MailEvent).one()
    db.session.add(HandoverProof(event=event, receiver_name="K. Janssen"))
    db.session.commit()
    assert db.session.query(MailEvent).one().proof.receiver_name == "K. Janssen"


def test_odometer_readings_cannot_be_edited(app):
    van = Vehicle(code="E9", name="Test")
    db.session.add(van)
    db.session.flush()
    reading = OdometerReading(vehicle_id=van.id, at=datetime.now(UTC), km=100.0, kind=ReadingKind.MANUAL)
    db.session.add(reading)
    db.session.commit()
    reading.km = 90.0
    with pytest.raises(AppendOnlyViolation):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(OdometerReading, reading.id).km == 100.0

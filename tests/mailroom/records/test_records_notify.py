"""E-mail notification of registered items and PZUs, against a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import email
import email.policy
import logging
import socket
from datetime import date, datetime, time

import pytest
from aiosmtpd.controller import Controller

from mailroom.extensions import db
from mailroom.models import EventKind, ItemKind
from mailroom.services.clock import LOCAL_TZ
from mailroom.services.custody import record_event
from mailroom.services.notify import expected_delivery, notify_registered_item
from tests.builders import FD20_EMAIL


class Inbox:
    def __init__(self) -> None:
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(world):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    world.app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port, MAIL_FROM="poststelle@example.org")
    yield inbox
    controller.stop()


def _received(envelope):
    return email.message_from_bytes(envelope.content, policy=email.policy.default)


def _monday(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(date(2026, 11, 23), time(hour, minute), tzinfo=LOCAL_TZ)


def test_pzu_notification_reaches_the_org_unit(world, smtp):
    item = world.item(
        ItemKind.PZU,
        received_at=_monday(7, 42),
        carrier_code="RR123456785DE",
        file_number="3 C 12/26",
        delivery_date=date(2026, 11, 23),
        sender="Amtsgericht Oldenburg",
    )
    assert notify_registered_item(item) is True
    (envelope,) = smtp.envelopes
    assert envelope.mail_from == "poststelle@example.org"
    assert envelope.rcpt_tos == [FD20_EMAIL]
    message = _received(envelope)
    assert message["Subject"] == f"PZU eingegangen: {item.incoming_number} (RR123456785DE)"
    body = message.get_content()
    assert item.incoming_number in body
    assert "Postzustellungsurkunde (PZU)" in body
    assert "RR123456785DE" in body
    assert "23.11.2026 um 07:42 Uhr" in body
    assert "3 C 12/26" in body
    assert "voraussichtlich mit der Botentour am Montag, 23.11.2026" in body
    assert "Fristen" in body
    assert "Amtsgericht" not in body  # the sender (personal data) stays out of the mail


def test_late_or_weekend_items_are_expected_on_the_next_working_day(world):
    friday_noon = datetime.combine(date(2026, 11, 27), time(12), tzinfo=LOCAL_TZ)
    saturday = datetime.combine(date(2026, 11, 28), time(8), tzinfo=LOCAL_TZ)
    early = world.item(ItemKind.EINSCHREIBEN_EINWURF, received_at=_monday(8, 0))
    late = world.item(ItemKind.EINSCHREIBEN_EINWURF, received_at=friday_noon)
    weekend = world.item(ItemKind.EINSCHREIBEN_EINWURF, received_at=saturday)
    assert expected_delivery(early).endswith("Montag, 23.11.2026")
    assert expected_delivery(late).endswith("Montag, 30.11.2026")
    assert expected_delivery(weekend).endswith("Montag, 30.11.2026")


def test_holidays_and_closed_days_are_skipped(world):
    """Maundy Thursday after the tour: Good Friday and Easter Monday are public holidays in Lower Saxony;
    Christmas Eve is a closed day of the administration (CLOSED_DAYS)."""
    thursday = datetime.combine(date(2026, 4, 2), time(10), tzinfo=LOCAL_TZ)
    item = world.item(ItemKind.EINSCHREIBEN_EINWURF, received_at=thursday)
    assert expected_delivery(item).endswith("Dienstag, 07.04.2026")
    on_christmas_eve = datetime.combine(date(2026, 12, 24), time(8), tzinfo=LOCAL_TZ)
    item = world.item(ItemKind.EINSCHREIBEN_EINWURF, received_at=on_christmas_eve)
    assert expected_delivery(item).endswith("Montag, 28.12.2026")
    world.app.config.update(CLOSED_DAYS={})
    assert expected_delivery(item).endswith("Donnerstag, 24.12.2026")


def test_registered_letter_and_no_second_message(world, smtp):
    item = world.item(ItemKind.EINSCHREIBEN_UEBERGABE, carrier_code="RR987654321DE", confidential=True)
    assert notify_registered_item(item) is True
    record_event(item, EventKind.NOTIFIED, user=None)
    db.session.commit()
    assert notify_registered_item(item) is False  # already notified
    (envelope,) = smtp.envelopes
    message = _received(envelope)
    assert message["Subject"].startswith("Einschreiben eingegangen:")
    assert "Einschreiben Übergabe" in message.get_content()
    assert "verschlossen" in message.get_content()  # confidential: delivered closed


def test_nothing_is_sent_without_reason(world, smtp):
    plain = world.item(ItemKind.BRIEF)
    assert notify_registered_item(plain) is False
    no_unit = world.item(ItemKind.PZU, commit=False)
    no_unit.org_unit_id = None
    db.session.flush()
    db.session.expire(no_unit, ["org_unit"])
    assert notify_registered_item(no_unit) is False
    world.unit.email = None
    db.session.commit()
    assert notify_registered_item(world.item(ItemKind.PZU)) is False
    assert smtp.envelopes == []


def test_no_smtp_host_sends_nothing(world):
    world.app.config["SMTP_HOST"] = None
    assert notify_registered_item(world.item(ItemKind.PZU)) is False


def test_smtp_failure_is_logged_and_never_raises(world, caplog):
    world.app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=_free_port(), SMTP_TIMEOUT=2)  # nobody listens
    item = world.item(ItemKind.PZU)
    with caplog.at_level(logging.WARNING):
        assert notify_registered_item(item) is False
    assert any(item.incoming_number in record.getMessage() for record in caplog.records)


def test_smtp_server_refusing_the_recipient_is_logged(world, smtp, caplog):
    class Refusing(Inbox):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            return "550 no such user"

    controller = Controller(Refusing(), hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        world.app.config["SMTP_PORT"] = controller.port
        with caplog.at_level(logging.WARNING):
            assert notify_registered_item(world.item(ItemKind.PZU)) is False
    finally:
        controller.stop()
    assert any("failed" in record.getMessage() for record in caplog.records)

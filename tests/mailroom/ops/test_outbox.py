"""The e-mail outbox: rows written with the item, sent after the commit, retried when the mail server is
down, visible on a page; and one test with a real `mailroom worker` process doing the sending."""

from __future__ import annotations

import email
import email.policy

import pytest
from sqlalchemy import func, select

from mailroom.extensions import db
from mailroom.models import EventKind, MailEvent, MailItem, OrgUnit, OutboxMessage, OutboxStatus, Role, Site, User
from mailroom.services import intake, outbox
from mailroom.services.auth import create_user
from tests.conftest import TEST_PASSWORD
from tests.mailroom.ops.conftest import api_token, seed_demo, wait_until

S10 = "RR123456785DE"  # a valid S10 code (check digit 5)


@pytest.fixture
def desk(app, smtp_port):
    """A site, an org unit with an e-mail address, a mail room user and their logged-in client."""
    site = Site(code="RH", name="Rathaus")
    db.session.add(site)
    db.session.flush()
    unit = OrgUnit(short_name="FD20", name="Finanzen", cost_centre="1", site_id=site.id, email="fd20@x.example")
    db.session.add(unit)
    create_user("post", TEST_PASSWORD, Role.MAILROOM, "Paula Post")
    db.session.commit()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_port, SMTP_TIMEOUT=2, MAIL_FROM="poststelle@x.example")
    client = app.test_client()
    assert client.post("/login", data={"username": "post", "password": TEST_PASSWORD}).status_code == 302
    return client


def _events(item_id: int) -> list[str]:
    return [e.kind for e in db.session.scalars(select(MailEvent).where(MailEvent.item_id == item_id))]


def test_smtp_down_during_scan_in_stores_the_item_and_mails_later(app, desk, smtp_server):
    # The mail server is down (nothing listens on the port): the scan-in still succeeds at once.
    response = desk.post("/intake/scan", json={"code": S10, "kind": "pzu", "org_unit": "FD20"})
    assert response.status_code == 201, response.get_data(as_text=True)
    item_id = response.get_json()["item"]["id"]
    assert response.get_json()["notified"] is True  # queued in the outbox with the item
    db.session.expire_all()
    assert db.session.get(MailItem, item_id).incoming_number.startswith("E-")
    row = db.session.scalars(select(OutboxMessage)).one()
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert "Connection" in (row.last_error or "") or "refused" in (row.last_error or "").lower()
    assert row.next_attempt_at > row.created_at  # retried later, not in a tight loop
    assert EventKind.NOTIFIED not in _events(item_id)

    page = desk.get("/ops/outbox").get_data(as_text=True)
    assert "wartet" in page and row.subject in page and "fd20@x.example" in page

    # The server is back; staff asks for another try (the worker's minute sweep would do the same).
    smtp_server.start()
    assert desk.post(f"/ops/outbox/{row.id}/retry").status_code == 302
    (envelope,) = smtp_server.inbox.envelopes
    assert envelope.rcpt_tos == ["fd20@x.example"]
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert S10 in message["Subject"] and message["Subject"].startswith("PZU eingegangen")
    db.session.expire_all()
    row = db.session.get(OutboxMessage, row.id)
    assert row.status == OutboxStatus.SENT and row.attempts == 2 and row.sent_at is not None
    assert _events(item_id).count(EventKind.NOTIFIED) == 1
    assert "gesendet" in desk.get("/ops/outbox?status=sent").get_data(as_text=True)
    # A sent row cannot be sent again by a stray click.
    desk.post(f"/ops/outbox/{row.id}/retry")
    assert len(smtp_server.inbox.envelopes) == 1


def test_a_rolled_back_scan_leaves_no_mail_behind(app, desk, smtp_server):
    smtp_server.start()
    user = db.session.scalar(select(User).where(User.username == "post"))
    result = intake.log_item(S10, user=user, kind="pzu", org_unit="FD20")
    assert result.notified is True
    db.session.rollback()  # e.g. the commit failed
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert db.session.scalar(select(func.count()).select_from(MailItem)) == 0
    assert outbox.send_due() == 0
    assert smtp_server.inbox.envelopes == []


def test_one_message_per_item_even_when_details_change_again(app, desk, smtp_server):
    smtp_server.start()
    item_id = desk.post("/intake/scan", json={"code": S10}).get_json()["item"]["id"]
    desk.post(f"/intake/items/{item_id}/details", json={"kind": "einschreiben_uebergabe", "org_unit": "FD20"})
    desk.post(f"/intake/items/{item_id}/details", json={"kind": "pzu"})
    assert len(smtp_server.inbox.envelopes) == 1
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_gives_up_after_the_configured_attempts_and_shows_it(app, desk):
    app.config["OUTBOX_MAX_ATTEMPTS"] = 2
    desk.post("/intake/scan", json={"code": S10, "kind": "pzu", "org_unit": "FD20"})
    row = db.session.scalars(select(OutboxMessage)).one()
    outbox.retry(row.id)
    db.session.commit()  # the after-commit send fails again (server still down)
    db.session.expire_all()
    row = db.session.get(OutboxMessage, row.id)
    assert row.status == OutboxStatus.FAILED and row.attempts == 2
    page = desk.get("/ops/outbox?status=failed").get_data(as_text=True)
    assert "fehlgeschlagen" in page and "Jetzt erneut senden" in page


def test_outbox_page_is_for_mail_room_and_admin_only(app, desk):
    create_user("bote", TEST_PASSWORD, Role.COURIER, "Bernd Bote")
    db.session.commit()
    courier = app.test_client()
    courier.post("/login", data={"username": "bote", "password": TEST_PASSWORD})
    assert courier.get("/ops/outbox").status_code == 403
    assert desk.get("/ops/outbox").status_code == 200


def test_a_real_worker_process_sends_after_the_commit(instance, smtp_server):
    """The API logs a PZU in the web process; a separate `mailroom worker` process sends the mail."""
    seed_demo(instance)
    token = api_token(instance)
    smtp_server.start()
    smtp_env = {"MAILROOM_SMTP_HOST": "127.0.0.1", "MAILROOM_SMTP_PORT": str(smtp_server.port)}
    instance.extra_env.update(smtp_env)
    instance.start_worker()
    app = instance.make_app()
    client = app.test_client()
    with app.app_context():
        response = client.post(
            "/api/v1/items",
            json={"code": S10, "kind": "pzu", "org_unit": "FD20"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        item_id = response.get_json()["item"]["id"]
        wait_until(lambda: smtp_server.inbox.envelopes, 30, "the worker's e-mail")
        assert smtp_server.inbox.envelopes[0].rcpt_tos == ["fd20@stadt-oldenburg.example"]

        def sent() -> bool:
            db.session.rollback()
            row = db.session.scalars(select(OutboxMessage)).one()
            return row.status == OutboxStatus.SENT

        wait_until(sent, 10, "the outbox row marked sent")
        assert _events(item_id).count(EventKind.NOTIFIED) == 1
        db.session.remove()
        db.engine.dispose()

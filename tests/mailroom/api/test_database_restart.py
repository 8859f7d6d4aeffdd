"""The database server drops every connection (a restart): the request on a stale pooled connection gets
503 with Retry-After and stores nothing; the retry with the same Idempotency-Key logs the item once.
(No pool pre-ping: a scan-in would pay a round trip per connection checkout for this rare case.)"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select, text

from labels import codes as carrier_codes
from mailroom.extensions import db
from mailroom.models import MailItem
from mailroom.services import tokens
from tests.mailroom.intake.conftest import _seed


def _drop_all_connections(url: str) -> int:
    """What a restart does to the app's pool: every other backend of the database is terminated."""
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            return len(
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).all()
            )
    finally:
        admin.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("app", ["postgresql"], indirect=True)
def test_lost_connections_answer_503_then_the_retry_is_stored_once(app):
    intake = _seed(app)
    _token, plaintext = tokens.create_token(intake.staff, "Handscanner")
    db.session.commit()
    client = app.test_client()
    code = carrier_codes.make_s10("RR", 12_345_670)
    headers = {"Authorization": f"Bearer {plaintext}", "Idempotency-Key": "restart-1"}
    warm = client.post(
        "/api/v1/items",
        json={"code": carrier_codes.make_s10("RR", 22_222_220)},
        headers={**headers, "Idempotency-Key": "warm"},
    )
    assert warm.status_code == 201  # the pool now holds connections of the old server
    db.session.remove()

    assert _drop_all_connections(app.config["SQLALCHEMY_DATABASE_URI"]) >= 1

    lost = client.post("/api/v1/items", json={"code": code}, headers=headers)
    assert lost.status_code == 503
    assert lost.headers["Retry-After"] == "1"
    assert lost.get_json()["error"]["code"] == "database_unavailable"

    retried = client.post("/api/v1/items", json={"code": code}, headers=headers)
    assert retried.status_code == 201, retried.get_data(as_text=True)
    again = client.post("/api/v1/items", json={"code": code}, headers=headers)
    assert again.status_code == 201
    assert again.get_json()["item"]["id"] == retried.get_json()["item"]["id"]
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(MailItem).where(MailItem.code == code)) == 1

    page = client.get("/login")
    assert page.status_code == 200  # the pages work again too

"""Claiming an Idempotency-Key (services/idempotency.py) on SQLite and PostgreSQL, where the two databases
take different statements: a claim, a retry finding the stored answer, a key still running, a key reused for
another request, a dead request's claim taken over, and a released key claimed again."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from mailroom.extensions import db
from mailroom.models import IdempotencyKey
from mailroom.services import idempotency


def _claim(user_id: int, key: str = "k-1", fingerprint: str = "f-1", **kwargs):
    return idempotency.claim(
        user_id=user_id, key=key, method="POST", path="/api/v1/items?", fingerprint=fingerprint, **kwargs
    )


def test_a_claim_then_its_stored_answer(app, make_user):
    user = make_user()
    first = _claim(user.id)
    assert isinstance(first, idempotency.Claim)
    idempotency.record(first, status_code=201, mimetype="application/json", body=b'{"id": 7}', location="/x/7")
    db.session.commit()
    again = _claim(user.id)
    assert again == idempotency.StoredResponse(201, "application/json", b'{"id": 7}', "/x/7")
    assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 1


def test_a_key_without_answer_is_still_running_and_another_request_under_it_is_refused(app, make_user):
    user = make_user()
    assert isinstance(_claim(user.id), idempotency.Claim)
    with pytest.raises(idempotency.StillRunning):
        _claim(user.id, wait_seconds=0.2)
    with pytest.raises(idempotency.KeyReused):
        _claim(user.id, fingerprint="another body")
    other = make_user("post2")
    assert isinstance(_claim(other.id), idempotency.Claim)  # keys belong to their user


def test_a_dead_requests_claim_is_taken_over_and_a_released_key_claimed_anew(app, make_user):
    user = make_user()
    dead = _claim(user.id)
    assert isinstance(dead, idempotency.Claim)
    row = db.session.get(IdempotencyKey, dead.id)
    db.session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == dead.id)
        .values(created_at=row.created_at - idempotency.ABANDONED_AFTER * 2)
    )
    db.session.commit()
    taken = _claim(user.id, wait_seconds=0.2)
    assert isinstance(taken, idempotency.Claim) and taken.id == dead.id
    idempotency.release(taken)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0
    again = _claim(user.id, wait_seconds=0.2)  # a new row (SQLite may give it the freed id again)
    assert isinstance(again, idempotency.Claim)
    assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 1

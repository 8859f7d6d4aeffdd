"""mailroom/web/read_only.py: a request that only read ends its transaction with COMMIT (psycopg keeps its
prepared statements); one that wrote without committing keeps nothing, as before."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import event, func, insert, select

from labels import codes as carrier_codes
from mailroom.extensions import db
from mailroom.models import Site
from mailroom.services import intake, tokens
from mailroom.web.access import public
from tests.mailroom.intake.conftest import _seed


def _uncommitted_core_write():
    db.session.execute(insert(Site.__table__).values(code="CORE", name="Core-Schreibzugriff"))
    return "ok"


def _uncommitted_orm_flush():
    db.session.add(Site(code="FLUSH", name="Flush"))
    db.session.flush()
    return "ok"


def _pending_object():
    db.session.add(Site(code="PENDING", name="Nie geflusht"))
    return "ok"


def _add_test_views(app) -> None:
    for name, view in (
        ("core", _uncommitted_core_write),
        ("flush", _uncommitted_orm_flush),
        ("pending", _pending_object),
    ):
        app.add_url_rule(f"/_test/{name}", f"test_{name}", public(view))


def _transaction_ends(engine) -> Counter:
    ends: Counter = Counter()
    event.listen(engine, "commit", lambda _conn: ends.update(["commit"]))
    event.listen(engine, "rollback", lambda _conn: ends.update(["rollback"]))
    return ends


def test_a_read_only_request_commits_and_one_that_wrote_keeps_nothing(app):
    _add_test_views(app)
    town = _seed(app)
    item = intake.log_item(carrier_codes.make_s10("RR", 10_000_010), user=town.staff)
    _token, plaintext = tokens.create_token(town.staff, "Handscanner")
    db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {plaintext}"}
    code = item.item.code
    assert client.get(f"/api/v1/items/{code}", headers=headers).status_code == 200  # stamps the token's use
    db.session.remove()

    ends = _transaction_ends(db.engine)
    answer = client.get(f"/api/v1/items/{code}", headers=headers)
    assert answer.status_code == 200
    assert ends == Counter({"commit": 1})  # the request's one read-only transaction, not rolled back

    ends.clear()
    assert client.get("/api/v1/items/RR000000000DE", headers=headers).status_code == 404
    assert ends["rollback"] == 1 and ends["commit"] == 0  # a refused request is rolled back as before

    sites_before = db.session.scalar(select(func.count()).select_from(Site))
    db.session.remove()
    for name in ("core", "flush", "pending"):
        ends.clear()
        assert client.get(f"/_test/{name}").status_code == 200
        assert ends["commit"] == 0, name  # it wrote (or holds a new object): rolled back at teardown
    with db.engine.connect() as other:  # what is stored, seen from outside this test's shared session
        assert other.scalar(select(func.count()).select_from(Site)) == sites_before
    db.session.rollback()

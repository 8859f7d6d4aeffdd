"""The scanner API under hostile, retried and concurrent input, against a real server (waitress) on SQLite
and PostgreSQL: strict types, bounded integers, a JSON depth limit, control characters refused, the same
code from eight scanners at once, Idempotency-Key retries (also at once), repeated custody steps."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select

from labels import codes as carrier_codes
from mailroom.extensions import db
from mailroom.models import IdempotencyKey, MailEvent, MailItem
from mailroom.services.clock import local_today
from tests.mailroom.intake.intake_files import barcode_image

SCANNERS = 8


def _post(server, path: str, **kwargs) -> requests.Response:
    headers = {**server.headers, **kwargs.pop("headers", {})}
    return requests.post(f"{server.url}/api/v1{path}", headers=headers, timeout=60, **kwargs)


def _error(response: requests.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text[:400]
    error = response.json()["error"]
    assert error["message"]
    if code is not None:
        assert error["code"] == code, error
    return error


def _count(model) -> int:
    db.session.rollback()  # see what the server committed
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def _at_once(count: int, send) -> list[requests.Response]:
    """Run `send(i)` in `count` threads released together (a barrier), so the requests really overlap."""
    barrier = threading.Barrier(count)
    results: list[requests.Response | BaseException] = [None] * count  # type: ignore[list-item]

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = send(index)
        except BaseException as exc:  # reported below, not swallowed
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    return results  # type: ignore[return-value]


# --- strict types, bounds, depth, control characters -------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"confidential": "false"}, "confidential"),
        ({"confidential": 0}, "confidential"),
        ({"code": False}, "code"),
        ({"code": {"a": 1}}, "code"),
        ({"code": 12345}, "code"),
        ({"org_unit": 3000000000}, "org_unit"),
        ({"org_unit": 99999999999999999999}, "org_unit"),
        ({"org_unit": 2.5}, "org_unit"),
        ({"org_unit": True}, "org_unit"),
        ({"kind": "brief", "unknown": 1}, "unknown"),
        ({"sender": "Stadt\x00werke"}, "sender"),
        ({"code": "RR12\x1b3"}, "code"),
        ({"remarks": "Zeile\x07"}, "remarks"),
        ({"delivery_date": "03.12.2026"}, "delivery_date"),
        ({"kind": "telegramm"}, "kind"),
    ],
)
def test_wrong_types_and_values_are_refused_and_nothing_is_stored(api_server, body, field):
    response = _post(api_server, "/items", json=body)
    error = _error(response, 422)
    assert field in error["message"] or error.get("field") == field, error
    assert _count(MailItem) == 0


def test_control_characters_are_named_not_dropped(api_server):
    error = _error(_post(api_server, "/items", json={"sender": "Stadt\x00werke"}), 422, "control_characters")
    assert "Steuerzeichen" in error["message"] and error["field"] == "sender"
    ok = _post(api_server, "/items", json={"remarks": "Zeile 1\nZeile 2\tEnde"})  # line breaks are text
    assert ok.status_code == 201, ok.text


def test_nested_json_is_refused_before_parsing(api_server):
    deep = "[" * 100_000 + "]" * 100_000
    response = _post(api_server, "/items", data=deep, headers={"Content-Type": "application/json"})
    _error(response, 400, "json_too_deep")
    _error(_post(api_server, "/items", data="{", headers={"Content-Type": "application/json"}), 400, "bad_json")
    _error(_post(api_server, "/items", data="NaN", headers={"Content-Type": "application/json"}), 400, "bad_json")
    _error(_post(api_server, "/items", data="[1]", headers={"Content-Type": "application/json"}), 422, "not_an_object")
    _error(_post(api_server, "/items", data="x=1", headers={"Content-Type": "text/plain"}), 415)
    big = {"remarks": "x" * 70_000}
    _error(_post(api_server, "/items", json=big), 413)
    assert requests.get(f"{api_server.url}/health", timeout=5).status_code == 200


def test_an_integral_float_is_an_integer_and_unknown_ids_are_404(api_server):
    unit = api_server.intake.units["FD20"]
    response = _post(api_server, "/items", json={"org_unit": float(unit.id), "kind": "brief"})
    assert response.status_code == 201, response.text
    assert response.json()["item"]["org_unit_short"] == "FD20"
    _error(_post(api_server, "/items", json={"org_unit": 2_000_000_000}), 404, "unknown_org_unit")


def test_future_date_of_service_is_refused(api_server):
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    _error(_post(api_server, "/items", json={"kind": "pzu", "delivery_date": tomorrow}), 422)
    assert _count(MailItem) == 0


# --- the same code from eight scanners at once ------------------------------------------------------------


def test_same_code_from_eight_scanners_at_once_on_items(api_server):
    code = carrier_codes.make_s10("RR", 27182818)
    responses = _at_once(SCANNERS, lambda _i: _post(api_server, "/items", json={"code": code}))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 200: SCANNERS - 1}, statuses
    assert {r.json()["item"]["id"] for r in responses} == {responses[0].json()["item"]["id"]}
    assert _count(MailItem) == 1
    assert _count(MailEvent) == 1  # one RECEIVED event


def test_same_code_from_eight_scanners_at_once_on_scans(api_server):
    code = carrier_codes.make_s10("RR", 16180339)
    image = barcode_image(code)
    # Eight uploads at once: two are read, the other six wait for a slot (by default only two wait and the
    # rest get 503 at once, see UPLOAD_DECODE_QUEUE; eight server threads need six waiting places).
    api_server.intake.app.config["UPLOAD_DECODE_QUEUE"] = SCANNERS

    def send(index: int) -> requests.Response:
        return _post(api_server, "/scans", files={"image": (f"scan-{index}.png", image, "image/png")})

    responses = _at_once(SCANNERS, send)
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 200: SCANNERS - 1}, [(r.status_code, r.text[:200]) for r in responses]
    assert _count(MailItem) == 1
    item = db.session.scalar(select(MailItem))
    assert item.envelope_sha256 is not None  # the scan kept with the item


def test_a_new_items_answer_shows_the_custody_log_as_stored(api_server):
    """The answer of a create is built from the events just recorded, without reading them back: it must
    say what a later read of the stored log says (a RECEIVED event, and a DETAILS event for the details)."""
    plain = _post(api_server, "/items", json={"code": carrier_codes.make_s10("RR", 51_000_001)})
    detailed = _post(
        api_server,
        "/items",
        json={"kind": "pzu", "org_unit": "FD32", "file_number": "32-9/26", "sender": "Amtsgericht Oldenburg"},
    )
    for created, kinds in ((plain, ["received"]), (detailed, ["received", "details"])):
        assert created.status_code == 201, created.text[:400]
        item = created.json()["item"]
        stored = requests.get(f"{api_server.url}/api/v1/items/{item['code']}", headers=api_server.headers, timeout=60)
        assert stored.status_code == 200
        assert [event["kind"] for event in item["events"]] == kinds
        assert item["events"] == stored.json()["events"]
        assert {key: value for key, value in item.items() if key != "events"} == {
            key: value for key, value in stored.json().items() if key != "events"
        }


# --- Idempotency-Key ------------------------------------------------------------------------------


def test_a_retried_create_without_code_returns_the_first_answer_with_its_details(api_server):
    key = str(uuid.uuid4())
    body = {"kind": "pzu", "org_unit": "FD32", "file_number": "32-7/26", "sender": "Amtsgericht Oldenburg"}
    first = _post(api_server, "/items", json=body, headers={"Idempotency-Key": key})
    again = _post(api_server, "/items", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert again.json()["item"]["file_number"] == "32-7/26"
    assert _count(MailItem) == 1
    other = _post(api_server, "/items", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert other.status_code == 201 and _count(MailItem) == 2  # without the key it is a second item


def test_a_key_reused_for_another_request_is_refused(api_server):
    key = str(uuid.uuid4())
    assert _post(api_server, "/items", json={"kind": "brief"}, headers={"Idempotency-Key": key}).status_code == 201
    _error(_post(api_server, "/items", json={"kind": "paket"}, headers={"Idempotency-Key": key}), 422,
           "idempotency_key_reused")  # fmt: skip
    _error(_post(api_server, "/items", json={}, headers={"Idempotency-Key": "mit leerzeichen"}), 422,
           "invalid_idempotency_key")  # fmt: skip
    assert _count(MailItem) == 1


def test_the_same_key_eight_times_at_once_creates_one_item(api_server):
    key = str(uuid.uuid4())
    body = {"kind": "brief", "org_unit": "FD20", "remarks": "Eilt"}
    responses = _at_once(SCANNERS, lambda _i: _post(api_server, "/items", json=body, headers={"Idempotency-Key": key}))
    assert [r.status_code for r in responses] == [201] * SCANNERS, [r.text[:200] for r in responses]
    assert len({r.json()["item"]["id"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == SCANNERS - 1
    assert _count(MailItem) == 1
    assert _count(IdempotencyKey) == 1


def test_a_refused_request_is_answered_the_same_on_retry(api_server):
    key = str(uuid.uuid4())
    first = _post(api_server, "/items", json={"org_unit": "FD404"}, headers={"Idempotency-Key": key})
    again = _post(api_server, "/items", json={"org_unit": "FD404"}, headers={"Idempotency-Key": key})
    _error(first, 404, "unknown_org_unit")
    assert again.status_code == 404 and again.json() == first.json()
    assert _count(MailItem) == 0


# --- repeated custody steps ---------------------------------------------------------------------------


def test_a_repeated_step_returns_the_existing_event(api_server):
    code = carrier_codes.make_s10("RR", 14142135)
    assert _post(api_server, "/items", json={"code": code, "kind": "brief", "org_unit": "FD20"}).status_code == 201
    events_before = _count(MailEvent)
    answers = [_post(api_server, f"/items/{code}/events", json={"kind": "sorted"}) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 200, 200]
    assert {a.json()["event_id"] for a in answers} == {answers[0].json()["event_id"]}
    assert [a.json()["repeated"] for a in answers] == [False, True, True]
    assert _count(MailEvent) == events_before + 1
    moved = _post(api_server, f"/items/{code}/events", json={"kind": "sorted", "site": "SH"})
    assert moved.status_code == 201 and moved.json()["event_id"] != answers[0].json()["event_id"]
    returned = [_post(api_server, f"/items/{code}/events", json={"kind": "returned"}) for _ in range(2)]
    assert [r.status_code for r in returned] == [201, 200]
    assert _count(MailEvent) == events_before + 3
    _error(_post(api_server, f"/items/{code}/events", json={"kind": "forwarded", "note": "An X"}), 409)


def test_repeated_steps_at_once_record_one_event(api_server):
    code = carrier_codes.make_s10("RR", 17320508)
    assert _post(api_server, "/items", json={"code": code, "kind": "brief", "org_unit": "FD20"}).status_code == 201
    events_before = _count(MailEvent)
    key = str(uuid.uuid4())
    responses = _at_once(
        SCANNERS,
        lambda _i: _post(
            api_server, f"/items/{code}/events", json={"kind": "sorted"}, headers={"Idempotency-Key": key}
        ),
    )
    assert [r.status_code for r in responses] == [201] * SCANNERS
    assert _count(MailEvent) == events_before + 1

"""The scanner JSON API: token auth, items, events, scans, errors, the OpenAPI document; tokens on the CLI."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from labels import codes as carrier_codes
from mailroom.extensions import db
from mailroom.models import ApiToken, ItemStatus, MailItem, Role
from mailroom.services import tokens
from tests.mailroom.intake.intake_files import barcode_image, blank_image, png_bomb

S10 = carrier_codes.make_s10("RR", 31415926)


@pytest.fixture
def api(w):
    _token, plaintext = tokens.create_token(w.staff, "Handscanner 1")
    db.session.commit()
    client = w.app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {plaintext}"
    client.w = w
    client.plaintext = plaintext
    return client


def _error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.is_json
    error = response.get_json()["error"]
    assert error["message"]
    if code:
        assert error["code"] == code
    return error


def test_tokens_are_stored_as_hashes_only(w):
    token, plaintext = tokens.create_token(w.staff, "Gerät")
    db.session.commit()
    assert plaintext.startswith("mr_") and len(plaintext) > 40
    assert token.token_hash != plaintext and plaintext not in token.token_hash
    assert tokens.authenticate(plaintext).id == w.staff.id
    assert tokens.authenticate(plaintext + "x") is None
    tokens.revoke(token.id)
    db.session.commit()
    assert tokens.authenticate(plaintext) is None


def test_missing_bad_and_revoked_tokens_get_401(api):
    anonymous = api.w.app.test_client()
    _error(anonymous.get(f"/api/v1/items/{S10}"), 401, "unauthorized")
    _error(anonymous.get(f"/api/v1/items/{S10}", headers={"Authorization": "Bearer mr_falsch"}), 401)
    _error(anonymous.get(f"/api/v1/items/{S10}", headers={"Authorization": "Basic dXNlcjpwdw=="}), 401)
    token = db.session.scalar(select(ApiToken))
    tokens.revoke(token.id)
    db.session.commit()
    response = api.get(f"/api/v1/items/{S10}")
    assert _error(response, 401)["message"] == "API-Schlüssel ungültig oder gesperrt."
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_session_login_is_not_enough_for_the_api(w):
    response = w.client().post("/api/v1/items", json={"code": S10})
    _error(response, 401)
    assert w.count_items() == 0


def test_token_of_a_courier_is_refused(w):
    courier = w.user("bote", Role.COURIER)
    _token, plaintext = tokens.create_token(courier, "Telefon")
    db.session.commit()
    client = w.app.test_client()
    response = client.post("/api/v1/items", json={"code": S10}, headers={"Authorization": f"Bearer {plaintext}"})
    _error(response, 403, "forbidden")


def test_create_get_and_move_an_item(api):
    created = api.post("/api/v1/items", json={"code": S10, "kind": "einschreiben_einwurf", "org_unit": "FD20"})
    assert created.status_code == 201
    data = created.get_json()
    assert data["created"] is True and data["item"]["code"] == S10 and data["item"]["site_code"] == "RH"
    assert [e["kind"] for e in data["item"]["events"]] == ["received"]
    again = api.post("/api/v1/items", json={"code": S10})
    assert again.status_code == 200 and again.get_json()["created"] is False
    got = api.get(f"/api/v1/items/{S10}")
    assert got.status_code == 200 and got.get_json()["incoming_number"] == data["item"]["incoming_number"]
    assert got.get_json()["events"][0]["user"] == "Paula Post"
    sorted_ = api.post(f"/api/v1/items/{S10}/events", json={"kind": "sorted"})
    assert sorted_.status_code == 201
    body = sorted_.get_json()
    assert body["status"] == "sorted" and body["events"][-1]["kind"] == "sorted"
    assert body["events"][-1]["where"] == "Rathaus (RH)" and body["event_id"] == body["events"][-1]["id"]
    token = db.session.scalar(select(ApiToken))
    assert token.last_used_at is not None


def test_api_manual_item_gets_our_code_and_details(api):
    response = api.post("/api/v1/items", json={"kind": "pzu", "org_unit": "FD32", "file_number": "32-1/26"})
    assert response.status_code == 201
    item = response.get_json()["item"]
    assert carrier_codes.classify(item["code"]).format == "internal"
    assert item["file_number"] == "32-1/26" and item["kind"] == "pzu"


def test_api_errors(api):
    w = api.w
    _error(api.get("/api/v1/items/RR000000000DE"), 404, "unknown_code")
    _error(api.post(f"/api/v1/items/{S10}/events", json={"kind": "sorted"}), 404)
    _error(api.post("/api/v1/items", json={"code": S10, "org_unit": "FD404"}), 404, "unknown_org_unit")
    _error(api.post("/api/v1/items", data="kein json", content_type="text/plain"), 415, "unsupported_media_type")
    _error(api.post("/api/v1/items", data="{kein json", content_type="application/json"), 400, "bad_json")
    api.post("/api/v1/items", json={"code": S10})
    _error(api.post(f"/api/v1/items/{S10}/events", json={"kind": "sorted"}), 409, "details_missing")  # no details yet
    _error(api.post(f"/api/v1/items/{S10}/events", json={"kind": "beamed"}), 422, "unknown_event")
    _error(api.post(f"/api/v1/items/{S10}/events", json={"kind": "forwarded"}), 422, "note_required")
    delivered = w.delivered(carrier_codes.make_s10("RR", 4))
    error = _error(api.post(f"/api/v1/items/{delivered.code}/events", json={"kind": "returned"}), 409)
    assert error["code"] == "invalid_transition" and "bereits zugestellt" in error["message"]
    assert db.session.get(MailItem, delivered.id).status == ItemStatus.DELIVERED


def _scan(api, content: bytes, name: str = "scan.png"):
    return api.post("/api/v1/scans", data={"image": (io.BytesIO(content), name)}, content_type="multipart/form-data")


def test_scan_upload_through_the_api(api):
    response = _scan(api, barcode_image(S10))
    assert response.status_code == 201, response.get_data(as_text=True)
    data = response.get_json()
    assert [c["value"] for c in data["codes"]] == [S10]
    assert data["codes"][0]["created"] is True and data["codes"][0]["format"] == "s10"
    assert data["codes"][0]["item"]["code"] == S10
    again = _scan(api, barcode_image(S10))
    assert again.status_code == 200 and again.get_json()["codes"][0]["created"] is False


def test_bad_scan_uploads_through_the_api(api):
    api.w.app.config["UPLOAD_MAX_BYTES"] = 100_000
    _error(_scan(api, b"hello"), 422, "unsupported_type")
    _error(_scan(api, png_bomb()), 422, "too_many_pixels")
    _error(_scan(api, blank_image()), 422, "no_barcode")
    _error(_scan(api, b"\xff\xd8\xff" + b"\x00" * 120_000), 413, "too_large")
    _error(api.post("/api/v1/scans", data={}, content_type="multipart/form-data"), 422, "no_file")
    api.w.app.config["MAX_CONTENT_LENGTH"] = 50_000
    _error(_scan(api, b"\xff\xd8\xff" + b"\x00" * 60_000), 413)
    assert api.w.count_items() == 0


def test_openapi_document_is_valid_and_every_path_exists(w):
    from openapi_spec_validator import validate

    response = w.app.test_client().get("/api/v1/openapi.json")  # public
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    rules = {}
    for rule in w.app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            if path == "/api/v1/openapi.json":
                continue
            rules.setdefault(path, set()).update(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    assert set(document["paths"]) == set(rules)
    for path, operations in document["paths"].items():
        assert set(operations) == rules[path], path


def test_create_token_on_the_command_line(w):
    runner = w.app.test_cli_runner()
    result = runner.invoke(args=["create-token", "post", "--name", "Handscanner 2"])
    assert result.exit_code == 0, result.output
    plaintext = result.output.strip().splitlines()[-1]
    assert tokens.authenticate(plaintext).username == "post"
    token = db.session.scalar(select(ApiToken).where(ApiToken.name == "Handscanner 2"))
    assert plaintext not in token.token_hash
    unknown = runner.invoke(args=["create-token", "niemand", "--name", "X"])
    assert unknown.exit_code != 0 and "gibt es nicht" in unknown.output
    revoked = runner.invoke(args=["revoke-token", str(token.id)])
    assert revoked.exit_code == 0 and "gesperrt" in revoked.output
    db.session.expire_all()
    assert tokens.authenticate(plaintext) is None
    missing = runner.invoke(args=["revoke-token", "999"])
    assert missing.exit_code != 0

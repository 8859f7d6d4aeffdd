"""The courier blueprint over HTTP: pages, JSON actions, errors as JSON, CSRF, who may do what."""

from __future__ import annotations

import json
import re

from sqlalchemy import func, select

from mailroom.extensions import db
from mailroom.models import MailEvent, Role, TourStatus
from tests.mailroom.courier.builders import PASSWORD, add_user, make_tour, new_action_id, signature_data_url, stop_items

JSON_HEADERS = {"Accept": "application/json"}


def _client(app, username):
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    return client


def _embedded(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="tour-data">(.*?)</script>', html, re.S)
    return json.loads(match.group(1))


def test_today_and_tour_page_embed_the_tour(world, app):
    bote = world.couriers["bote"]
    world.sites[0].name = 'Schule <script>alert("x")</script>'
    tour = make_tour(world, bote)
    client = _client(app, "bote")
    today = client.get("/courier/")
    assert today.status_code == 200
    assert f"/courier/tour/{tour.id}" in today.get_data(as_text=True)
    page = client.get(f"/courier/tour/{tour.id}")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "private, no-store"
    html = page.get_data(as_text=True)
    assert "<script>alert" not in html  # the site name is escaped inside the embedded JSON
    data = _embedded(html)
    assert data["id"] == tour.id and len(data["stops"]) == 3
    assert data["stops"][0]["site"]["name"] == 'Schule <script>alert("x")</script>'
    assert "js/courier.js" in html and "js/signature-pad.js" in html
    fresh = client.get(f"/courier/tour/{tour.id}/data")
    assert fresh.get_json()["id"] == tour.id


def test_json_actions_and_their_errors(world, app):
    bote = world.couriers["bote"]
    tour = make_tour(world, bote)
    client = _client(app, "bote")
    base = f"/courier/tour/{tour.id}"
    not_json = client.post(f"{base}/start", data="km=5", headers=JSON_HEADERS)
    assert not_json.status_code == 422
    assert not_json.get_json()["error"]["code"] == "invalid_json"
    start = {"client_action_id": new_action_id(), "km": 100, "soc": 90}
    ok = client.post(f"{base}/start", json=start, headers=JSON_HEADERS)
    assert ok.status_code == 200 and ok.get_json()["ok"] is True and "X-Replayed" not in ok.headers
    again = client.post(f"{base}/start", json=start, headers=JSON_HEADERS)
    assert again.status_code == 200 and again.headers["X-Replayed"] == "1"
    assert again.get_json() == ok.get_json()

    stop = tour.stops[0]
    letter, registered = stop_items(stop)
    missing = client.post(
        f"{base}/stops/{stop.id}/done",
        json={"client_action_id": new_action_id(), "items": [registered.id], "receiver_name": "K. Janssen"},
        headers=JSON_HEADERS,
    )
    assert missing.status_code == 422
    error = missing.get_json()["error"]
    assert error["code"] == "signature_missing" and registered.code in error["message"]
    done = client.post(
        f"{base}/stops/{stop.id}/done",
        json={
            "client_action_id": new_action_id(),
            "items": [letter.id, registered.id],
            "receiver_name": "K. Janssen",
            "signature": signature_data_url(),
            "pickups": "3",
        },
        headers=JSON_HEADERS,
    )
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["pickups"] == 3
    assert client.post(f"{base}/stops/999999/skip", json={"client_action_id": new_action_id(), "reason": "x"},
                       headers=JSON_HEADERS).status_code == 404  # fmt: skip
    end = client.post(
        f"{base}/end", json={"client_action_id": new_action_id(), "km": 90, "soc": 50}, headers=JSON_HEADERS
    )
    assert end.status_code == 422 and "kleiner als der letzte Stand 100 km" in end.get_json()["error"]["message"]
    end = client.post(
        f"{base}/end", json={"client_action_id": new_action_id(), "km": 125, "soc": 50}, headers=JSON_HEADERS
    )
    assert end.status_code == 200 and end.get_json()["driven_km"] == 25
    finished = client.post(
        f"{base}/stops/{tour.stops[1].id}/skip",
        json={"client_action_id": new_action_id(), "reason": "zu"},
        headers=JSON_HEADERS,
    )
    assert finished.status_code == 409 and finished.get_json()["error"]["code"] == "tour_finished"
    page = client.get(base)
    assert page.status_code == 200 and _embedded(page.get_data(as_text=True))["status"] == TourStatus.FINISHED


def test_other_couriers_tour_is_refused_staff_may_act(world, app):
    botin = world.couriers["botin"]
    tour = make_tour(world, botin)
    add_user("post", Role.MAILROOM)
    db.session.commit()
    bote = _client(app, "bote")
    page = bote.get(f"/courier/tour/{tour.id}")
    assert page.status_code == 403 and "nicht Ihnen zugeteilt" in page.get_data(as_text=True)
    refused = bote.post(
        f"/courier/tour/{tour.id}/start",
        json={"client_action_id": new_action_id(), "km": 1, "soc": 50},
        headers=JSON_HEADERS,
    )
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    assert f"/courier/tour/{tour.id}" not in bote.get("/courier/").get_data(as_text=True)
    assert db.session.scalar(select(func.count(MailEvent.id))) == 0
    staff = _client(app, "post")
    assert staff.get(f"/courier/tour/{tour.id}").status_code == 200
    assert f"/courier/tour/{tour.id}" in staff.get("/courier/").get_data(as_text=True)
    assert bote.get("/courier/tour/999999").status_code == 404


def test_actions_need_the_csrf_header(world, app):
    app.config["WTF_CSRF_ENABLED"] = True
    bote = world.couriers["bote"]
    tour = make_tour(world, bote)
    client = app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', login_page).group(1)
    client.post("/login", data={"username": "bote", "password": PASSWORD, "csrf_token": token})
    page = client.get(f"/courier/tour/{tour.id}").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    payload = {"client_action_id": new_action_id(), "km": 10, "soc": 90}
    refused = client.post(f"/courier/tour/{tour.id}/start", json=payload, headers=JSON_HEADERS)
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "csrf_failed"
    ok = client.post(f"/courier/tour/{tour.id}/start", json=payload, headers={**JSON_HEADERS, "X-CSRFToken": token})
    assert ok.status_code == 200

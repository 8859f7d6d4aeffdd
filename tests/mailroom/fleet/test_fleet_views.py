"""The fleet page: the logbook per van, a form to append a reading or a correction, CSV export."""

from __future__ import annotations

from sqlalchemy import func, select

from mailroom.extensions import db
from mailroom.models import OdometerReading, Role
from mailroom.services import fleet
from tests.mailroom.courier.builders import PASSWORD, add_user, make_world


def _client(app, username, role):
    add_user(username, role)
    db.session.commit()
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    return client


def _count() -> int:
    return db.session.scalar(select(func.count(OdometerReading.id))) or 0


def test_fleet_page_append_reading_and_correction(sqlite_app):
    van = make_world(sites=1, users=()).van
    client = _client(sqlite_app, "fuhrpark", Role.FLEET)
    page = client.get("/fleet/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Fahrtenbuch" in html and van.name in html and "Noch keine Einträge." in html

    response = client.post(f"/fleet/vehicles/{van.id}/readings", data={"km": "12.410", "soc": "90", "note": ""})
    assert response.status_code == 302
    assert fleet.last_reading(van).km == 12_410
    assert "Kilometerstand 12.410 km für E-Transporter 1 eingetragen." in client.get("/fleet/").get_data(as_text=True)

    refused = client.post(f"/fleet/vehicles/{van.id}/readings", data={"km": "12340", "soc": "80"})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "Kilometerstand 12.340 km ist kleiner als der letzte Stand 12.410 km" in text
    assert 'value="12340"' in text  # the form keeps what was typed
    assert _count() == 1

    wrong = fleet.last_reading(van)
    no_note = client.post(f"/fleet/vehicles/{van.id}/readings", data={"km": "12340", "corrects_id": str(wrong.id)})
    assert no_note.status_code == 422 and "Begründung" in no_note.get_data(as_text=True)
    fixed = client.post(
        f"/fleet/vehicles/{van.id}/readings",
        data={"km": "12340", "corrects_id": str(wrong.id), "note": "Tippfehler"},
    )
    assert fixed.status_code == 302
    assert fleet.last_reading(van).corrects_id == wrong.id
    html = client.get("/fleet/").get_data(as_text=True)
    assert "Korrektur zu Nr." in html and "(korrigiert)" in html

    for data, message in [({"km": "viel"}, "Zahl"), ({"km": "10", "soc": "x"}, "ganze Zahl"), ({}, "angeben")]:
        bad = client.post(f"/fleet/vehicles/{van.id}/readings", data=data)
        assert bad.status_code == 422 and message in bad.get_data(as_text=True)
    assert client.post("/fleet/vehicles/999999/readings", data={"km": "1"}).status_code == 404
    assert client.get("/fleet/?month=2026-13").status_code == 200


def test_correction_of_another_vans_reading_is_refused(sqlite_app):
    world = make_world(sites=1, users=())
    other = make_world(sites=1, users=()).van
    reading = fleet.record_reading(other, km=500)
    db.session.commit()
    client = _client(sqlite_app, "fuhrpark", Role.FLEET)
    response = client.post(
        f"/fleet/vehicles/{world.van.id}/readings", data={"km": "400", "corrects_id": str(reading.id), "note": "x"}
    )
    assert response.status_code == 422
    assert "anderen Fahrzeug" in response.get_data(as_text=True)


def test_csv_export_and_access(sqlite_app):
    van = make_world(sites=1, users=()).van
    fleet.record_reading(van, km=100)
    db.session.commit()
    client = _client(sqlite_app, "fuhrpark", Role.FLEET)
    response = client.get(f"/fleet/logbook.csv?vehicle={van.id}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert f"fahrtenbuch-{van.code.lower()}-" in response.headers["Content-Disposition"]
    assert response.get_data().decode("utf-8-sig").splitlines()[1].startswith(f"{van.code};")
    assert client.get("/fleet/logbook.csv").status_code == 200
    courier = _client(sqlite_app, "bote", Role.COURIER)
    assert courier.get("/fleet/").status_code == 403
    assert courier.post(f"/fleet/vehicles/{van.id}/readings", data={"km": "1000"}).status_code == 403
    assert _count() == 1

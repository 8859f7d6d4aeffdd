"""The fleet pages: roles, the logbook forms (reading, correction, trip, charge, workshop), German 422 answers
that keep what was typed, the report with its charts, and the downloads (CSV and PDF, text checked)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pypdfium2
import pytest
from sqlalchemy import func, select

from mailroom.extensions import db
from mailroom.models import ChargingSession, OdometerReading, Role
from mailroom.services import fleet, overview
from tests.builders import PASSWORD, add_user, add_van
from tests.mailroom.fleet.builders import driven_tour, end_reading

MONDAY = date(2025, 3, 3)


def _client(app, username, role):
    add_user(username, role)
    db.session.commit()
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    return client


def _count(model=OdometerReading) -> int:
    return db.session.scalar(select(func.count(model.id))) or 0


def pdf_text(data: bytes) -> str:
    document = pypdfium2.PdfDocument(data)
    text = " ".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    return " ".join(text.split())  # table cells wrap: compare words, not lines


@pytest.fixture
def van(app):
    van = add_van("E1", battery_kwh=50, battery_range_km=150)
    db.session.commit()
    return van


def test_reading_and_correction_forms(app, van):
    client = _client(app, "fuhrpark", Role.FLEET)
    page = client.get(f"/fleet/vehicles/{van.id}")
    assert page.status_code == 200 and "Noch keine Einträge." in page.get_data(as_text=True)
    url = f"/fleet/vehicles/{van.id}/readings"
    assert client.post(url, data={"km": "12.410", "soc": "90"}).status_code == 302
    assert fleet.last_reading(van).km == 12_410
    assert "Kilometerstand 12.410 km für E-Transporter 1 eingetragen." in client.get("/fleet/").get_data(as_text=True)

    refused = client.post(url, data={"km": "12340", "soc": "80"})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "Kilometerstand 12.340 km ist kleiner als der letzte Stand 12.410 km" in text
    assert 'value="12340"' in text  # the form keeps what was typed
    assert _count() == 1

    wrong = fleet.last_reading(van)
    no_note = client.post(url, data={"km": "12340", "corrects_id": str(wrong.id)})
    assert no_note.status_code == 422 and "Begründung" in no_note.get_data(as_text=True)
    assert client.post(url, data={"km": "12340", "corrects_id": str(wrong.id), "note": "Tippfehler"}).status_code == 302
    assert fleet.last_reading(van).corrects_id == wrong.id
    again = client.post(url, data={"km": "12300", "corrects_id": str(wrong.id), "note": "nochmal"})
    assert again.status_code == 422 and "zählt nicht mehr" in again.get_data(as_text=True)
    html = client.get(f"/fleet/vehicles/{van.id}").get_data(as_text=True)
    assert "Korrektur zu Nr." in html and "(korrigiert)" in html and "12.410 → 12.340 km" in html

    for data, message in [({"km": "viel"}, "Zahl"), ({"km": "10", "soc": "x"}, "ganze Zahl"), ({}, "angeben")]:
        bad = client.post(url, data=data)
        assert bad.status_code == 422 and message in bad.get_data(as_text=True)
    assert client.post("/fleet/vehicles/999999/readings", data={"km": "1"}).status_code == 404
    other = add_van("E2", name="E-Transporter 2")
    db.session.commit()
    foreign = client.post(
        f"/fleet/vehicles/{other.id}/readings", data={"km": "1", "corrects_id": str(wrong.id), "note": "x"}
    )
    assert foreign.status_code == 422 and "anderen Fahrzeug" in foreign.get_data(as_text=True)


def test_trip_charge_and_workshop_forms(app, van):
    client = _client(app, "fuhrpark", Role.FLEET)
    base = f"/fleet/vehicles/{van.id}"
    trip = {
        "day": "2025-03-03",
        "purpose": "workshop",
        "destination": "Autohaus, Bremer Heerstraße 120",
        "start_km": "1.000",
        "end_km": "990",
    }
    refused = client.post(f"{base}/trips", data=trip)
    assert refused.status_code == 422 and "kleiner als bei Abfahrt" in refused.get_data(as_text=True)
    assert client.post(f"{base}/trips", data={**trip, "end_km": "1.012,5"}).status_code == 302
    assert fleet.last_reading(van).km == 1_012.5

    charge = {"day": "2025-03-03", "kwh": "70", "location": "depot", "cost": "3,60"}
    refused = client.post(f"{base}/charges", data=charge)
    assert refused.status_code == 422 and "passen nicht in die Batterie" in refused.get_data(as_text=True)
    assert client.post(f"{base}/charges", data={**charge, "kwh": "12,5"}).status_code == 302
    saved = db.session.scalar(select(ChargingSession))
    assert (saved.kwh, saved.cost_cents) == (12.5, 360)

    period = {"starts_on": "2025-03-10", "ends_on": "2025-03-07"}
    refused = client.post(f"{base}/workshop", data=period)
    assert refused.status_code == 422 and "liegt vor ihrem Beginn" in refused.get_data(as_text=True)
    assert client.post(f"{base}/workshop", data={**period, "ends_on": "2025-03-12", "note": "TÜV"}).status_code == 302
    assert not fleet.vehicle_available_on(van, date(2025, 3, 11))
    assert client.post(f"{base}/commissioning", data={"commissioned_on": "2022-03-01"}).status_code == 302
    assert van.commissioned_on == date(2022, 3, 1)
    html = client.get(f"{base}?month=2025-03").get_data(as_text=True)
    assert "10.03.2025 – 12.03.2025: TÜV" in html and "Autohaus, Bremer Heerstraße 120" in html


def test_report_page_and_downloads(app, van):
    tour = driven_tour(van, MONDAY, 1_000, 1_100, planned_km=45)
    db.session.commit()
    fleet.record_correction(end_reading(tour), km=1_045, note="Tippfehler")
    db.session.commit()
    client = _client(app, "fuhrpark", Role.FLEET)
    page = client.get("/fleet/report?year=2025")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Fuhrpark-Bericht 01.01.2025 – 31.12.2025" in html
    assert html.count("<svg") == 3 and "Gefahrene Kilometer je Monat" in html
    assert 'data-testid="km-E1">45<' in html
    csv_response = client.get("/fleet/report.csv?year=2025")
    assert csv_response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "fuhrpark-bericht-2025-01-01-2025-12-31.csv" in csv_response.headers["Content-Disposition"]
    pdf = client.get("/fleet/report.pdf?year=2025")
    assert pdf.headers["Content-Type"] == "application/pdf"
    text = pdf_text(pdf.data)
    assert "Fuhrpark-Bericht 01.01.2025 – 31.12.2025" in text and "Gefahrene Kilometer je Monat" in text
    assert client.get("/fleet/report?from=2025-03-04&to=2025-03-01").status_code == 422
    assert client.get("/fleet/report?from=2025-02-30&to=2025-03-01").status_code == 422
    assert client.get("/fleet/report.xls?year=2025").status_code == 422


def test_tax_audit_export_shows_corrections(app, van):
    tour = driven_tour(van, MONDAY, 1_000, 1_100, planned_km=45)
    db.session.commit()
    fleet.record_correction(end_reading(tour), km=1_045, note="=Tippfehler")
    db.session.commit()
    client = _client(app, "fuhrpark", Role.FLEET)
    response = client.get(f"/fleet/vehicles/{van.id}/logbook.csv?from=2025-03-01&to=2025-03-31")
    assert response.status_code == 200
    assert "fahrtenbuch-e1-2025-03-01-2025-03-31.csv" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == fleet.LOGBOOK_CSV_HEADER and len(rows) == 2
    line = dict(zip(rows[0], rows[1], strict=True))
    assert (line["km Beginn"], line["km Ende"], line["gefahren km"], line["Zweck"]) == (
        "1000,0",
        "1045,0",
        "45,0",
        "Botentour",
    )
    assert line["Korrekturen"].startswith("Tourende korrigiert: 1.100 → 1.045 km")
    assert "=Tippfehler" in line["Korrekturen"]
    pdf = client.get(f"/fleet/vehicles/{van.id}/logbook.pdf?from=2025-03-01&to=2025-03-31")
    text = pdf_text(pdf.data)
    assert "Fahrtenbuch E-Transporter 1" in text and "Tourende korrigiert: 1.100 → 1.045 km" in text
    assert client.get(f"/fleet/vehicles/{van.id}/logbook.csv?from=2025-03-31&to=2025-03-01").status_code == 422
    assert client.get("/fleet/logbook.csv?from=2025-03-01&to=2025-03-31").status_code == 200


def test_settings_grid_factor(app):
    client = _client(app, "fuhrpark", Role.FLEET)
    refused = client.post("/fleet/settings", data={"year": "2025", "g_per_kwh": "363", "source": ""})
    assert refused.status_code == 422 and "Quelle" in refused.get_data(as_text=True)
    assert client.post("/fleet/settings", data={"year": "2025", "g_per_kwh": "363", "source": "UBA"}).status_code == 302
    assert fleet.grid_factor(2025) == (363.0, "UBA")
    assert "UBA" in client.get("/fleet/settings").get_data(as_text=True)


def test_only_fleet_managers_and_admins(app, van):
    courier = _client(app, "bote", Role.COURIER)
    for url in [
        "/fleet/",
        f"/fleet/vehicles/{van.id}",
        "/fleet/report",
        "/fleet/report.csv",
        "/fleet/settings",
        f"/fleet/vehicles/{van.id}/logbook.pdf",
    ]:
        assert courier.get(url).status_code == 403
    assert courier.post(f"/fleet/vehicles/{van.id}/readings", data={"km": "1000"}).status_code == 403
    assert _count() == 0
    admin = _client(app, "chefin", Role.ADMIN)
    assert admin.get("/fleet/report").status_code == 200


def test_vans_in_natural_order_and_incomplete_tours_by_van_and_day(app):
    """E1, E2, E10 (not E1, E10, E2) on the page, in the CSV and the JSON; an incomplete tour is named
    "Tour E1 vom 03.03.2025", not by its id."""
    app.config["CLOCK_NOW"] = "2025-03-14T09:00:00+01:00"  # before the first write reads the clock
    van = add_van("E1", battery_kwh=50, battery_range_km=150)
    for code in ("E10", "E2"):
        add_van(code, name=f"E-Transporter {code[1:]}")
    open_tour = driven_tour(van, MONDAY, 1_000, None, planned_km=40)
    db.session.commit()
    client = _client(app, "fuhrpark", Role.FLEET)
    page = client.get("/fleet/").get_data(as_text=True)
    assert page.index("E-Transporter 1<") < page.index("E-Transporter 2<") < page.index("E-Transporter 10<")
    assert "Tour E1 vom 03.03.2025: Tourende fehlt" in page and f"Tour {open_tour.id}" not in page
    report = client.get("/fleet/report.csv?from=2025-03-01&to=2025-03-31&grain=month")
    assert report.status_code == 200
    rows = list(csv.reader(io.StringIO(report.data.decode("utf-8-sig")), delimiter=";"))
    assert [r[0] for r in rows[1:4]] == ["E1", "E2", "E10"]
    result = app.test_cli_runner().invoke(
        args=["fleet", "report", "--from", "2025-03-01", "--to", "2025-03-31", "--json"]
    )
    assert [v["vehicle"] for v in json.loads(result.output)["vehicles"]] == ["E1", "E2", "E10"]
    assert [v.vehicle.code for v in overview.fleet_start().vehicles] == ["E1", "E2", "E10"]  # the start page too

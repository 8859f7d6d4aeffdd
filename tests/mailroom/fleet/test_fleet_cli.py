"""`mailroom fleet report --json` (the exact contract) and `mailroom fleet export` (CSV and PDF)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pypdfium2

from mailroom.extensions import db
from mailroom.services import fleet
from tests.builders import add_van
from tests.mailroom.fleet.builders import at, driven_tour, end_reading

MONDAY = date(2025, 3, 3)


def _logbook(app):
    van = add_van("E1", battery_kwh=50, battery_range_km=150)
    tour = driven_tour(van, MONDAY, 1_000, 1_100, planned_km=45, soc=(90, 70))
    db.session.commit()
    fleet.record_correction(end_reading(tour), km=1_045, note="Tippfehler")
    db.session.commit()
    return van


def test_report_json_contract(app):
    _logbook(app)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["fleet", "report", "--from", "2025-03-01", "--to", "2025-03-31", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert list(data) == ["from", "to", "vehicles"] and (data["from"], data["to"]) == ("2025-03-01", "2025-03-31")
    # 45 km (the corrected end), 20 % of 50 kWh x 1.08 = 10.8 kWh, 24 kWh/100 km, 10.8 x 380 g = 4.1 kg
    assert data["vehicles"] == [
        {
            "vehicle": "E1",
            "km_driven": 45.0,
            "km_planned": 45.0,
            "tours": 1,
            "kwh": 10.8,
            "kwh_per_100km": 24.0,
            "co2_kg": 4.1,
        }
    ]
    text = runner.invoke(args=["fleet", "report", "--from", "2025-03-01", "--to", "2025-03-31"])
    assert "E1: 45 km gefahren, 45 km geplant, 1 Touren" in text.output
    bad = runner.invoke(args=["fleet", "report", "--from", "2025-03-31", "--to", "2025-03-01", "--json"])
    assert bad.exit_code != 0 and "liegt vor seinem Anfang" in bad.output
    bad = runner.invoke(args=["fleet", "report", "--from", "gestern", "--to", "2025-03-01"])
    assert bad.exit_code == 2 and "gestern" in bad.output


def test_export_csv_and_pdf(app, tmp_path):
    _logbook(app)
    runner = app.test_cli_runner()
    target = tmp_path / "e1.csv"
    args = ["fleet", "export", "--vehicle", "E1", "--from", "2025-03-01", "--to", "2025-03-31"]
    result = runner.invoke(args=[*args, "--format", "csv", "--out", str(target)])
    assert result.exit_code == 0, result.output
    lines = target.read_bytes().decode("utf-8-sig").splitlines()
    assert lines[0].split(";") == fleet.LOGBOOK_CSV_HEADER and len(lines) == 2
    assert "Tourende korrigiert: 1.100 → 1.045 km" in lines[1]
    pdf_path = tmp_path / "e1.pdf"
    assert runner.invoke(args=[*args, "--format", "pdf", "--out", str(pdf_path)]).exit_code == 0
    document = pypdfium2.PdfDocument(pdf_path.read_bytes())
    text = " ".join(document[0].get_textpage().get_text_range().split())
    assert "Fahrtenbuch E-Transporter 1 (OL-PS 101E)" in text and "1.100 → 1.045 km" in text
    missing = runner.invoke(
        args=[
            "fleet",
            "export",
            "--vehicle",
            "E9",
            "--from",
            "2025-03-01",
            "--to",
            "2025-03-31",
            "--format",
            "csv",
            "--out",
            str(target),
        ]
    )
    assert missing.exit_code != 0 and "Fahrzeug E9 gibt es nicht." in missing.output


def test_rebuild_days_after_rows_written_past_the_app(app):
    """Bulk rows (a restore) bypass the flush that keeps van_days; `fleet rebuild-days` makes them again."""
    from sqlalchemy import insert

    from mailroom.models import OdometerReading, VanDay

    van = _logbook(app)
    db.session.execute(
        insert(OdometerReading),
        [{"vehicle_id": van.id, "at": at(MONDAY + timedelta(days=1), 9), "day": MONDAY + timedelta(days=1),
          "km": 1_080, "kind": "manual"}],
    )  # fmt: skip
    db.session.commit()
    assert fleet.km_driven([van.id], MONDAY, MONDAY + timedelta(days=1)) == {van.id: 45.0}  # not seen yet
    result = app.test_cli_runner().invoke(args=["fleet", "rebuild-days"])
    assert result.exit_code == 0 and "2 Zeilen" in result.output, result.output
    assert db.session.get(VanDay, (van.id, MONDAY + timedelta(days=1))).high_km == 1_080
    assert fleet.km_driven([van.id], MONDAY, MONDAY + timedelta(days=1)) == {van.id: 80.0}

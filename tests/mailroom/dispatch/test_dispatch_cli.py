"""The CLI contracts: `mailroom dispatch plan --date D [--json]` and `mailroom dispatch sheets --date D --out F`."""

from __future__ import annotations

import json
from collections import Counter

from sqlalchemy import select

from mailroom.extensions import db
from mailroom.models import StopTemplate, Tour
from tests.mailroom.dispatch.conftest import MONDAY, SATURDAY, add_sorted_items


def test_plan_json_contract(app, demo, runner):
    add_sorted_items(per_site=1)
    result = runner.invoke(args=["dispatch", "plan", "--date", MONDAY.isoformat(), "--json", "--time-limit", "1"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"date", "tours", "unserved"}
    assert data["date"] == "2026-03-02" and data["unserved"] == []
    for tour in data["tours"]:
        assert set(tour) == {"vehicle", "km", "stops"}
        assert tour["vehicle"] in {"E1", "E2"} and tour["km"] > 0
    served = Counter(code for tour in data["tours"] for code in tour["stops"])
    template = db.session.scalar(select(StopTemplate))
    assert set(served) == {e.site.code for e in template.entries} and set(served.values()) == {1}
    db.session.expire_all()
    assert len(db.session.scalars(select(Tour).where(Tour.service_date == MONDAY)).all()) == len(data["tours"])


def test_plan_text_and_bad_input(demo_app):
    runner = demo_app.test_cli_runner()
    result = runner.invoke(args=["dispatch", "plan", "--date", MONDAY.isoformat(), "--time-limit", "0.5"])
    assert result.exit_code == 0, result.output
    assert "Touren für Montag, 02.03.2026" in result.output and "E1:" in result.output

    result = runner.invoke(args=["dispatch", "plan", "--date", MONDAY.isoformat(), "--return-by", "12:00", "--json"])
    assert result.exit_code == 0, result.output
    assert {t["vehicle"] for t in json.loads(result.output)["tours"]} == {"E1", "E2"}
    result = runner.invoke(args=["dispatch", "plan", "--date", MONDAY.isoformat(), "--return-by", "mittags"])
    assert result.exit_code == 1 and "keine gültige Uhrzeit" in result.output

    result = runner.invoke(args=["dispatch", "plan", "--date", "02/03/2026"])
    assert result.exit_code == 2 and "kein gültiges Datum" in result.output

    result = runner.invoke(args=["dispatch", "plan", "--date", SATURDAY.isoformat()])
    assert result.exit_code == 1 and "keine Stoppvorlage" in result.output


def test_sheets_writes_a_pdf_atomically(planned_app, tmp_path):
    runner = planned_app.test_cli_runner()
    out = tmp_path / "out" / "laufzettel.pdf"
    result = runner.invoke(args=["dispatch", "sheets", "--date", MONDAY.isoformat(), "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")
    assert [p.name for p in out.parent.iterdir()] == ["laufzettel.pdf"]  # no temp file left behind

    empty = tmp_path / "leer.pdf"
    result = runner.invoke(args=["dispatch", "sheets", "--date", SATURDAY.isoformat(), "--out", str(empty)])
    assert result.exit_code == 1 and "keine Touren geplant" in result.output
    assert not empty.exists()

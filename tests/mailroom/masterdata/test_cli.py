"""The command-line contracts: `mailroom import KIND FILE.csv [--dry-run]`, `mailroom export KIND`;
a fresh installation filled from CSV files plans its first working day (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from mailroom.extensions import db
from mailroom.models import OrgUnit, Role, Site, StopTemplate, StopTemplateEntry, Vehicle
from mailroom.services.auth import create_user
from mailroom.services.setup import missing_for_planning
from tests.mailroom.masterdata.conftest import KINDS, csv_file

WEDNESDAY = date(2026, 6, 10)  # a working day in Lower Saxony: both templates of the file (Mo-Fr; Mo,Mi,Fr) run


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_import_four_files_into_an_empty_installation_and_plan(app, runner, leer_files, tmp_path):
    assert len(missing_for_planning()) == 6
    for kind in KINDS:
        result = runner.invoke(args=["import", kind, str(leer_files[kind])])
        assert result.exit_code == 0, result.output
        assert "angelegt" in result.output and "0 geändert, 0 unverändert" in result.output
    assert (_count(Site), _count(OrgUnit), _count(Vehicle), _count(StopTemplateEntry)) == (8, 8, 1, 7)
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.short_name == "BUE"))
    assert unit.name == "Bürgerbüro" and unit.email is None and unit.site.code == "BB"  # Windows-1252 read right
    assert db.session.scalar(select(OrgUnit).where(OrgUnit.short_name == "SCH1")).name.endswith("– Sekretariat")
    schools = db.session.scalar(select(StopTemplate).where(StopTemplate.name == "Schulen"))
    assert schools.weekdays == "0,2,4"
    depot = db.session.scalar(select(Site).where(Site.is_depot))
    assert depot.code == "POST" and depot.city == "Leer"
    assert missing_for_planning() == [
        "Es ist noch keine Botin und kein Bote angelegt (Verwaltung → Benutzer, Rolle Botendienst)."
    ]
    create_user("bote", "geheim-genug-123", Role.COURIER)
    db.session.commit()
    assert missing_for_planning() == []

    result = runner.invoke(args=["dispatch", "plan", "--date", WEDNESDAY.isoformat(), "--json", "--time-limit", "1"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    served = [code for tour in plan["tours"] for code in tour["stops"]]
    unserved = {u["site"]: u["reason"] for u in plan["unserved"]}
    assert all(reason for reason in unserved.values())
    must_visit = {e.site.code for e in db.session.scalars(select(StopTemplateEntry)) if e.must_visit}
    assert must_visit == {"BA", "BB", "KITA", "FW", "GS1", "GS2"}
    for code in must_visit:
        assert (code in served) != (code in unserved), code
    assert len(served) == len(set(served))  # no site twice
    assert {t["vehicle"] for t in plan["tours"]} <= {"V1"}

    # Export then import gives no change, for every kind.
    for kind in KINDS:
        exported = runner.invoke(args=["export", kind])
        assert exported.exit_code == 0
        path = tmp_path / f"{kind}-export.csv"
        path.write_bytes(exported.stdout_bytes)
        again = runner.invoke(args=["import", kind, str(path)])
        assert again.exit_code == 0, again.output
        assert "0 angelegt, 0 geändert" in again.output, again.output


def test_dry_run_stores_nothing_and_an_update_is_reported(app, runner, leer_files, tmp_path):
    result = runner.invoke(args=["import", "sites", str(leer_files["sites"]), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Probelauf" in result.output and "8 angelegt" in result.output
    assert _count(Site) == 0
    assert runner.invoke(args=["import", "sites", str(leer_files["sites"])]).exit_code == 0
    changed = leer_files["sites"].read_text(encoding="utf-8").replace("Bauamt am Hafen", "Bauamt Hafenkante")
    path = csv_file(tmp_path, changed.replace(",", ";"))  # the other separator
    result = runner.invoke(args=["import", "sites", str(path)])
    assert result.exit_code == 0, result.output
    assert "0 angelegt, 1 geändert, 7 unverändert" in result.output
    assert "Name: Bauamt am Hafen → Bauamt Hafenkante" in result.output
    assert db.session.scalar(select(Site.name).where(Site.code == "BA")) == "Bauamt Hafenkante"


def test_bad_file_exits_2_with_every_error_and_stores_nothing(app, runner, tmp_path):
    path = csv_file(
        tmp_path,
        "code,name,kind,district,street,lat,lon,opens,closes,service_min\n"
        "D,Poststelle,depot,,,53.2,7.4,06:30,16:00,0\n"
        "A,Amt,administration,,,53.2,7.4,16:00,08:00,3\n"
        "A,Amt doppelt,administration,,,53.2,7.4,08:00,16:00,3\n",
    )
    result = runner.invoke(args=["import", "sites", str(path)])
    assert result.exit_code == 2
    assert "Zeile 3: Öffnet um 16:00, schließt aber schon um 08:00" in result.output
    assert "Zeile 4: Der Code „A“ steht schon in Zeile 3" in result.output
    assert "nichts gespeichert" in result.output
    assert _count(Site) == 0
    result = runner.invoke(args=["import", "buildings", str(path)])
    assert result.exit_code == 2 and "buildings" in result.output  # click: not one of the kinds


def test_init_without_demo_prints_the_next_steps(tmp_path):
    """`mailroom init` (no demo), run as a user runs it: an empty installation and what to do next."""
    env = {**os.environ, "MAILROOM_INSTANCE_PATH": str(tmp_path)}
    env.pop("MAILROOM_DATABASE_URL", None)
    mailroom = str(Path(sys.executable).with_name("mailroom"))
    result = subprocess.run([mailroom, "init"], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert "Nächste Schritte:" in result.stdout
    assert "1. Einen Administrator anlegen: mailroom create-user NAME --role admin" in result.stdout
    assert "mailroom import stop-templates DATEI.csv [--dry-run]" in result.stdout
    missing = result.stdout.split("Noch fehlt:\n", 1)[1].strip().splitlines()
    assert len(missing) == 6 and missing[0].startswith("- Es ist noch keine Poststelle (Depot) angelegt")


def test_stop_template_rows_are_matched_by_template_and_site(app, runner, leer_files, tmp_path):
    for kind in ("sites", "stop-templates"):
        assert runner.invoke(args=["import", kind, str(leer_files[kind])]).exit_code == 0
    changed = (
        "template;weekdays;site;must_visit;priority\n"
        "Schulen;Mo–Fr;GS1;ja;1\n"  # en dash as Word writes it
        "Schulen;Mo–Fr;GS2;ja;1\n"
        "Werktagstour;Mo-Fr;BIB;nein;7\n"
        "Werktagstour;Mo-Fr;BA;ja;1\n"
        "Werktagstour;Mo-Fr;GS1;nein;2\n"
    )
    path = csv_file(tmp_path, changed, encoding="cp1252")
    result = runner.invoke(args=["import", "stop-templates", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 angelegt, 3 geändert, 1 unverändert" in result.output
    assert "Schulen / GS1: Wochentage: Mo,Mi,Fr → Mo-Fr" in result.output
    assert "Werktagstour / BIB: Priorität: 1 → 7" in result.output
    templates = {t.name: t for t in db.session.scalars(select(StopTemplate))}
    assert templates["Schulen"].weekdays == "0,1,2,3,4"
    entries = {e.site.code: e for e in templates["Werktagstour"].entries}
    assert len(entries) == 6 and (entries["GS1"].must_visit, entries["GS1"].priority) == (False, 2)
    assert [e.site.code for e in templates["Werktagstour"].entries][-1] == "GS1"  # new rows go last

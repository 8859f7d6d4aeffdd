"""Franking-machine import: the documented format, a column mapping, all or nothing, warnings on
deviations from the tariff, duplicate files refused; the CLI contract `mailroom outgoing import`."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from mailroom.extensions import db
from mailroom.models.outgoing import FrankingBatch, LetterCount
from mailroom.services.outgoing import importer
from tests.mailroom.outgoing.conftest import csv_file


def _stored() -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count(LetterCount.id))) or 0,
        db.session.scalar(select(func.count(FrankingBatch.id))) or 0,
    )


def _cli(runner, tmp_path, data: bytes, name: str = "frankit.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    result = runner.invoke(args=["outgoing", "import", str(path), "--json"])
    return result.exit_code, json.loads(result.output)


GOOD = csv_file(
    "20.11.2026;08:15;10100;standardbrief;18;120;114,00",
    "20.11.2026;;10200;standardbrief+einschreiben_einwurf;19;2;6,60",
    "19.11.2026;16:59;10100;grossbrief;480;3;5,00",  # tariff: 3 x 1,80 = 5,40 -> a warning, 5,00 is booked
    "03.06.2024;09:00;10300;kompaktbrief;;4;4,00",  # the 2022 list: 4 x 1,00
)


def test_cli_import_contract(world, runner, tmp_path):
    code, answer = _cli(runner, tmp_path, GOOD)
    assert code == 0, answer
    assert answer == {
        "file": "frankit.csv",
        "lines": 4,
        "pieces": 129,
        "postage_cents": 11_400 + 660 + 500 + 400,
        "warnings": ["Zeile 4: Porto 5,00 € weicht vom Tarif vom 19.11.2026 ab (3 × 1,80 € = 5,40 €)."],
    }
    lines = db.session.scalars(select(LetterCount).order_by(LetterCount.id)).all()
    assert [(r.cost_centre, r.product, r.add_on, r.count, r.postage_cents, r.tariff_cents) for r in lines] == [
        ("10100", "standardbrief", None, 120, 11_400, 11_400),
        ("10200", "standardbrief", "einschreiben_einwurf", 2, 660, 660),
        ("10100", "grossbrief", None, 3, 500, 540),
        ("10300", "kompaktbrief", None, 4, 400, 400),
    ]
    assert lines[0].service_time.strftime("%H:%M") == "08:15" and lines[1].service_time is None

    code, again = _cli(runner, tmp_path, GOOD, name="renamed.csv")  # the same bytes under another name
    assert code == 2
    assert again["errors"][0]["line"] == 0 and "bereits eingelesen" in again["errors"][0]["message"]
    assert _stored() == (4, 1)


def test_windows_1252_and_bom_are_read(world):
    cp1252 = csv_file("20.11.2026;;10100;postkarte;;1;0,95", encoding="cp1252") + "; Grüße".encode("cp1252")[:0]
    assert importer.import_file(cp1252, "a.csv").pieces == 1
    bom = "\ufeff".encode() + csv_file("20.11.2026;;10100;postkarte;;2;1,90")
    assert importer.import_file(bom, "b.csv").pieces == 2


@pytest.mark.parametrize(
    ("data", "line", "message"),
    [
        (csv_file("20.11.2026;;99999;standardbrief;;1;0,95"), 2, "Zeile 2: Unbekannte Kostenstelle „99999“."),
        (csv_file("20.11.2026;;10100;standardbrief;;0;0,00"), 2, "Zeile 2: Stückzahl muss mindestens 1 sein"),
        (csv_file("20.11.2026;;10100;standardbrief;;-3;0,95"), 2, "mindestens 1"),
        (
            csv_file("20.11.2026;;10100;standardbrief;35;1;0,95"),
            2,
            "Zeile 2: 35 g überschreitet das Höchstgewicht von Standardbrief (20 g); passend: Kompaktbrief (bis 50 g).",
        ),
        (csv_file("20.11.2026;;10100;grossbrief;800;1;1,80"), 2, "passend: Maxibrief (bis 1000 g)"),
        (csv_file("20.11.2021;;10100;standardbrief;;1;0,80"), 2, "am 20.11.2021 keinen gültigen Tarif"),
        (csv_file("20.11.2026;;10100;luftpost;;1;0,95"), 2, "Unbekanntes Produkt „luftpost“"),
        (csv_file("20.11.2026;;10100;standardbrief+express;;1;0,95"), 2, "Unbekannte Zusatzleistung „express“"),
        (csv_file("20.11.2026;;10100;standardbrief+prio+einschreiben;;1;0,95"), 2, "höchstens eine Zusatzleistung"),
        (
            csv_file("2026-11-20;;10100;standardbrief;;1;0,95"),
            2,
            "Datum „2026-11-20“ ist ungültig (erwartet TT.MM.JJJJ)",
        ),
        (csv_file("20.11.2026;25:00;10100;standardbrief;;1;0,95"), 2, "Uhrzeit „25:00“"),
        (csv_file("20.11.2026;;10100;standardbrief;;1;9.5.0"), 2, "Porto „9.5.0“ ist kein Euro-Betrag"),
        (
            csv_file("20.11.2026;;10100;standardbrief;;1;0,95", header="Datum;Kostenstelle;Produkt;Stueck;Porto_EUR"),
            1,
            "Zeile 1: Die Kopfzeile muss genau „Datum;Uhrzeit;Kostenstelle;Produkt;Gewicht_g;Stueck;Porto_EUR“ lauten",
        ),
        (
            csv_file(
                "20.11.2026,,10100,standardbrief,,1,95",
                header="Datum,Uhrzeit,Kostenstelle,Produkt,Gewicht_g,Stueck,Porto_EUR",
            ),
            1,
            "Die Kopfzeile muss genau",
        ),
        ("Datum;Uhrzeit;Kostenstelle;Produkt;Gewicht_g;Stueck;Porto_EUR\r\n".encode("utf-16"), 0, "UTF-16"),
        (csv_file("20.11.2026;;10100;standardbrief;;1;0,95") + b"\x81\x8d\r\n", 0, "weder UTF-8 noch Windows-1252"),
        (csv_file(), 2, "keine Buchungszeilen"),
    ],
)
def test_bad_files_name_the_line_and_store_nothing(world, runner, tmp_path, data, line, message):
    code, answer = _cli(runner, tmp_path, data)
    assert code == 2
    assert answer["errors"][0]["line"] == line
    assert message.lower() in answer["errors"][0]["message"].lower()
    assert _stored() == (0, 0)


def test_one_bad_line_among_good_ones_stores_nothing_and_all_errors_are_listed(world):
    data = csv_file(
        "20.11.2026;;10100;standardbrief;;5;4,75",
        "20.11.2026;;10999;standardbrief;;5;4,75",
        "20.11.2026;;10100;standardbrief;;5;4,75",
        "20.11.2026;;10100;standardbrief;;x;4,75",
    )
    with pytest.raises(importer.ImportFailed) as refused:
        importer.import_file(data, "mixed.csv")
    db.session.rollback()
    assert [e["line"] for e in refused.value.errors] == [3, 5]
    assert "Stückzahl „x“ ist keine ganze Zahl" in refused.value.errors[1]["message"]
    assert _stored() == (0, 0)


def test_a_column_mapping_reads_another_layout(world):
    importer.save_mapping(
        "pitney",
        {
            "columns": {
                "date": "Date",
                "cost_centre": "Account",
                "product": "Class",
                "add_on": "Special",
                "pieces": "Qty",
                "postage": "Unit postage",
                "weight_g": "Weight",
            },
            "date_format": "%Y-%m-%d",
            "postage_unit": "cents",
            "postage_per_piece": True,
            "products": {"STD": "standardbrief", "GB": "grossbrief", "EWE": "einschreiben_einwurf"},
        },
    )
    data = (
        b"Account,Date,Class,Special,Qty,Weight,Unit postage,Operator\r\n"
        b"10100,2026-11-20,STD,,10,18,95,anna\r\n"
        b"10200,2026-11-20,GB,EWE,2,300,415,anna\r\n"
    )
    result = importer.import_file(data, "pb.csv", mapping_name="pitney")
    assert (result.lines, result.pieces, result.postage_cents, result.warnings) == (2, 12, 950 + 830, [])
    with pytest.raises(importer.ImportFailed) as missing:
        importer.import_file(b"Account,Date,Qty\r\n10100,2026-11-20,1\r\n", "x.csv", mapping_name="pitney")
    assert missing.value.errors[0]["line"] == 1 and "„Class“" in missing.value.errors[0]["message"]
    with pytest.raises(importer.ImportFailed, match="Unbekannte Spaltenzuordnung"):
        importer.import_file(data + b"10100,2026-11-21,STD,,1,18,95,x\r\n", "y.csv", mapping_name="nope")
    from mailroom.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="keine Spalte für: pieces"):
        importer.save_mapping("broken", {"columns": {"date": "D", "cost_centre": "K", "product": "P", "postage": "E"}})

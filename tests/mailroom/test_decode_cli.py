"""`mailroom decode FILE ... [--json]`: the contract other tools depend on, and no database needed."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from labels import codes as carrier_codes
from mailroom import create_app
from tests.mailroom.test_barcodes import INTERNAL, LEITCODE, S10, label, png


@pytest.fixture
def files(tmp_path):
    good = tmp_path / "einschreiben.png"
    good.write_bytes(png(label(("code128", S10))))
    own = tmp_path / "etikett.png"
    own.write_bytes(png(label(("code128", INTERNAL), ("qr", INTERNAL))))
    wrong = carrier_codes.make_leitcode(2612201200100)[:13] + str((int(LEITCODE[13]) + 1) % 10)
    bad_check = tmp_path / "leitcode.png"
    bad_check.write_bytes(png(label(("i25", wrong))))
    blank = tmp_path / "leer.png"
    blank.write_bytes(png(Image.new("L", (300, 200), 255)))
    text = tmp_path / "brief.png"
    text.write_text("kein Bild\n", encoding="utf-8")
    truncated = tmp_path / "halb.png"
    truncated.write_bytes(png(label(("code128", S10)))[:300])
    return {"good": good, "own": own, "bad_check": bad_check, "blank": blank, "text": text, "truncated": truncated,
            "wrong": wrong}  # fmt: skip


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """The app with a database that does not exist: decode must not touch it."""
    monkeypatch.setenv("MAILROOM_INSTANCE_PATH", str(tmp_path))
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    return app.test_cli_runner()


def test_json_contract(cli, files):
    paths = [str(files[k]) for k in ("good", "own", "blank", "text", "truncated")] + ["fehlt.png"]
    result = cli.invoke(args=["decode", *paths, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [entry["file"] for entry in data] == paths
    assert all(set(entry) == {"file", "codes", "error"} for entry in data)
    good, own, blank, text, truncated, missing = data
    assert good == {"file": paths[0], "codes": [{"symbology": "CODE128", "value": S10}], "error": None}
    assert sorted((c["symbology"], c["value"]) for c in own["codes"]) == [("CODE128", INTERNAL), ("QRCODE", INTERNAL)]
    assert own["error"] is None
    assert blank == {"file": paths[2], "codes": [], "error": None}
    for entry in (text, truncated, missing):
        assert entry["codes"] == []
        assert isinstance(entry["error"], str) and entry["error"]
    assert "kein Bild" in text["error"]
    assert "unvollständig" in truncated["error"] or "beschädigt" in truncated["error"]
    assert missing["error"] == "Datei nicht gefunden."


def test_table_output_classifies_and_flags(cli, files):
    result = cli.invoke(args=["decode", str(files["good"]), str(files["bad_check"]), str(files["blank"]),
                              str(files["text"])])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert S10 in result.output and "Einschreiben (S10)" in result.output
    assert (
        files["wrong"] in result.output and "DHL Leitcode" in result.output and "Prüfziffer ungültig" in result.output
    )
    assert "kein Barcode gefunden" in result.output
    assert "Fehler:" in result.output


def test_wrong_arguments_exit_non_zero(cli, files):
    assert cli.invoke(args=["decode"]).exit_code == 2
    assert cli.invoke(args=["decode", "--json"]).exit_code == 2
    assert cli.invoke(args=["decode", str(files["good"]), "--max-pixels", "0"]).exit_code == 2


def test_pixel_limit_option(cli, files):
    result = cli.invoke(args=["decode", str(files["good"]), "--json", "--max-pixels", "1000"])
    assert result.exit_code == 0
    (entry,) = json.loads(result.output)
    assert entry["codes"] == [] and "zu groß" in entry["error"]


def test_registered_on_the_real_app(sqlite_app):
    assert "decode" in sqlite_app.cli.commands

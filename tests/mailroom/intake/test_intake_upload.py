"""Uploads of envelope and label scans: every barcode decoded, matched or logged; bad files refused whole."""

from __future__ import annotations

import io
from pathlib import Path

from sqlalchemy import select

from labels import codes as carrier_codes
from mailroom.extensions import db
from mailroom.models import MailItem
from mailroom.services import intake, storage
from tests.mailroom.intake.intake_files import barcode_image, blank_image, png_bomb

S10 = carrier_codes.make_s10("RR", 87654321)
S10_BAD = S10[:10] + str((int(S10[10]) + 1) % 10) + "DE"
IDENT = carrier_codes.make_identcode(21580400100)


def _upload(client, *files: tuple[bytes, str]):
    data = {"files": [(io.BytesIO(content), name) for content, name in files]}
    return client.post("/intake/upload", data=data, content_type="multipart/form-data")


def _stored_files(app) -> list[Path]:
    root = Path(app.config["SCAN_DIR"]) / "uploads"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_upload_logs_every_code_and_keeps_the_scan_with_the_items(w):
    known = w.item(IDENT)
    image = barcode_image(S10, IDENT)
    response = _upload(w.client(), (image, "umschlag.png"))
    assert response.status_code == 200, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    assert S10 in html and IDENT in html and "neu" in html and "bekannt" in html
    new = db.session.scalar(select(MailItem).where(MailItem.code == S10))
    assert new is not None and new.carrier_format == "s10" and new.received_via == "upload"
    assert new.envelope_media_type == "image/png"
    assert storage.read("uploads", new.envelope_sha256, ".png") == image
    assert w.count_items() == 2
    db.session.refresh(known)
    assert known.envelope_sha256 == new.envelope_sha256  # the known item had no scan yet
    # the scan is shown from the item page
    view = w.client().get(f"/intake/items/{new.id}/envelope")
    assert view.status_code == 200 and view.data == image and view.mimetype == "image/png"
    # the same file again: nothing new
    again = _upload(w.client(), (image, "umschlag.png"))
    assert again.status_code == 200 and w.count_items() == 2
    assert len(_stored_files(w.app)) == 1


def test_wrong_check_digit_on_a_scan_is_flagged_and_shown(w):
    response = _upload(w.client(), (barcode_image(S10_BAD, fmt="JPEG"), "etikett.jpg"))
    assert response.status_code == 200
    assert "Prüfziffer ungültig" in response.get_data(as_text=True)
    item = db.session.scalar(select(MailItem))
    assert item.code == S10_BAD and item.check_digit_valid is False


def test_bad_files_get_a_clear_message_and_leave_nothing_behind(w):
    w.app.config["UPLOAD_MAX_BYTES"] = 200_000
    png = barcode_image(S10)
    cases = [
        (b"Dies ist ein Brief, kein Bild.\n" * 10, "brief.png", 422, "kein Bild und kein PDF"),
        (png[: len(png) // 2], "halb.png", 422, "unvollständig"),
        (png_bomb(), "bombe.png", 422, "zu groß"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 250_000, "riesig.png", 413, "Datei zu groß"),
        (blank_image(), "leer.png", 422, "kein Barcode"),
        (b"", "nichts.png", 422, "leer"),
    ]
    for content, name, status, text in cases:
        response = _upload(w.client(), (content, name))
        html = response.get_data(as_text=True)
        assert response.status_code == status, (name, html[:400])
        assert text in html, name
        assert name in html, name
    assert w.count_items() == 0 and w.count_events() == 0
    assert _stored_files(w.app) == []


def test_one_bad_file_does_not_stop_the_good_ones(w):
    response = _upload(w.client(), (b"not an image", "kaputt.jpg"), (barcode_image(S10), "gut.png"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "kaputt.jpg" in html and "kein Bild" in html and S10 in html
    assert w.count_items() == 1 and len(_stored_files(w.app)) == 1


def test_request_over_the_server_limit_is_refused_in_german(w):
    w.app.config["MAX_CONTENT_LENGTH"] = 50_000
    response = _upload(w.client(), (b"\xff\xd8\xff" + b"\x00" * 60_000, "gross.jpg"))
    assert response.status_code == 413
    assert "Datei zu groß" in response.get_data(as_text=True)
    assert w.count_items() == 0


def test_no_file_without_its_row_when_the_transaction_is_rolled_back(w):
    outcome = intake.process_upload(intake.Upload(barcode_image(S10), "scan.png"), user=w.staff)
    item = outcome.codes[0].result.item
    path = storage.path_for("uploads", item.envelope_sha256, ".png")
    assert path.exists()
    db.session.rollback()
    assert not path.exists()
    assert w.count_items() == 0


def test_upload_without_files_is_refused(w):
    response = w.client().post("/intake/upload", data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "mindestens eine Datei" in response.get_data(as_text=True)

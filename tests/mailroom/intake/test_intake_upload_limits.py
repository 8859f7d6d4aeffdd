"""Uploads that exhaust the server while staying inside the limits (issue 15): pixel budgets per page, file and
request, PDF pages rendered within the budget, a time budget per file, PDFium's lock per page, pages not read
reported, a bounded number of uploads read at once, polyglots and path names refused, and waitress refusing an
oversized body before reading it. Each test failed before the budgets existed."""

from __future__ import annotations

import http.client
import io
import threading

import numpy as np
import pytest
from PIL import Image

from benchmarks import uploads as hostile
from labels import codes as carrier_codes
from labels.reading import ReadLimits, decode_image_bytes, load_pages, read_codes
from mailroom.services import intake
from mailroom.services import uploads as upload_checks
from tests.mailroom.intake.intake_files import barcode_image, blank_image

S10 = carrier_codes.make_s10("RR", 13572468)


def _upload(client, *files: tuple[bytes, str]):
    data = {"files": [(io.BytesIO(content), name) for content, name in files]}
    return client.post("/intake/upload", data=data, content_type="multipart/form-data")


def _striped_png(side: int = 1600, seed: int = 5) -> bytes:
    """Bars everywhere (every row the same): zbar finds bar patterns on every pass and no code."""
    row = (np.random.default_rng(seed).random(side) < 0.5).astype(np.uint8) * 255
    buffer = io.BytesIO()
    Image.fromarray(np.tile(row, (side, 1)), "L").save(buffer, format="PNG")
    return buffer.getvalue()


def _pdf(pages: int, code_on: tuple[int, ...] = (1,)) -> bytes:
    from reportlab.graphics.barcode import code128
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, invariant=1)
    for number in range(1, pages + 1):
        c.drawString(72, 780, f"Seite {number}")
        if number in code_on:
            code128.Code128(S10, barWidth=0.4 * mm, barHeight=15 * mm).drawOn(c, 72, 600)
        c.showPage()
    c.save()
    return buffer.getvalue()


# --- pixels: per page, per file, per request ---------------------------------------------------------------


def test_a_60_megapixel_image_is_decoded_at_the_page_budget_and_its_code_still_read():
    """The 58 KB PNG of 60 megapixels was decoded at full size through every pass (32 s, +0.9 GB)."""
    (page,) = load_pages(hostile.png_blank())
    assert page.width * page.height <= ReadLimits().decode_pixels
    # A label scanned at a high resolution on a large page: reduced to the budget, the code still reads.
    label = Image.open(io.BytesIO(barcode_image(S10, module=9, height=300))).convert("L")
    large = Image.new("L", (6000, 3500), 255)
    large.paste(label, (400, 600))
    buffer = io.BytesIO()
    large.save(buffer, format="PNG")
    result = read_codes(buffer.getvalue())
    assert [c.value for c in result.codes] == [S10]
    assert result.pixels == 6000 * 3500 and result.unread_reason is None


def test_huge_pdf_pages_are_rendered_within_the_pixel_budget():
    """Three 200-inch pages (2 KB of PDF) were rendered at 40 megapixels each and decoded (48 s)."""
    budget = ReadLimits().decode_pixels
    pages = list(load_pages(hostile.pdf_huge_pages(pages=3)))
    assert len(pages) == 3
    assert all(page.width * page.height <= budget for page in pages)
    # An ordinary page keeps 250 dpi: A4 is 2067 x 2923 pixels.
    (a4,) = load_pages(_pdf(1))
    assert abs(a4.width - 2067) <= 2 and abs(a4.height - 2923) <= 2


def test_frames_beyond_the_file_pixel_budget_are_named_not_read(w):
    """A TIFF's frames were all decoded, however many pixels they held together (89 s for three)."""
    label = Image.open(io.BytesIO(barcode_image(S10))).convert("L")
    frames = [label, Image.new("L", label.size, 255), Image.new("L", label.size, 255)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="TIFF", save_all=True, append_images=frames[1:], compression="tiff_deflate")
    w.app.config["UPLOAD_FILE_PIXELS"] = 2 * label.width * label.height
    response = _upload(w.client(), (buffer.getvalue(), "stapel.tif"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:500]
    assert S10 in html
    assert "Seite 3 von 3 wurde nicht gelesen (das Pixelbudget der Datei ist ausgeschöpft)" in html


def test_files_beyond_the_request_pixel_budget_are_refused_by_name(w):
    first, second = barcode_image(S10), barcode_image(carrier_codes.make_s10("RR", 24681357))
    size = Image.open(io.BytesIO(first)).size
    w.app.config["UPLOAD_REQUEST_PIXELS"] = size[0] * size[1]  # room for one file
    response = _upload(w.client(), (first, "eins.png"), (second, "zwei.png"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert S10 in html
    assert "„zwei.png“ wurde nicht gelesen" in html and "Pixelbudget" in html
    assert w.count_items() == 1


# --- pages: never dropped silently ---------------------------------------------------------------------------


def test_pages_beyond_the_page_limit_are_reported_to_the_user(w):
    """A 500-page PDF answered 201 with pages 51-500 silently dropped."""
    w.app.config["UPLOAD_MAX_PAGES"] = 2
    data = _pdf(5)
    response = _upload(w.client(), (data, "stapel.pdf"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and S10 in html
    notice = "Seiten 3–5 von 5 wurden nicht gelesen (höchstens 2 Seiten je Datei werden gelesen)"
    assert notice in html
    outcome = intake.process_upload(intake.Upload(_pdf(4), "api.pdf"), user=w.staff)
    assert outcome.to_json()["notice"].startswith("Seiten 3–4 von 4 wurden nicht gelesen")


def test_a_file_without_code_names_its_unread_pages_too(w):
    w.app.config["UPLOAD_MAX_PAGES"] = 2
    response = _upload(w.client(), (_pdf(4, code_on=(4,)), "hinten.pdf"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "kein Barcode gefunden" in html and "Seiten 3–4 von 4 wurden nicht gelesen" in html


# --- time ---------------------------------------------------------------------------------------------------


def test_the_time_budget_ends_reading_with_a_german_answer(w):
    """Reading went on as long as the passes took (and after the client had gone)."""
    w.app.config["UPLOAD_FILE_SECONDS"] = 0.001
    response = _upload(w.client(), (_striped_png(), "streifen.png"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "„streifen.png“: Die Datei konnte nicht in der vorgesehenen Zeit (0.001 s) gelesen werden" in html
    assert w.count_items() == 0


def test_a_one_page_pdf_does_not_wait_for_another_pdf_being_read():
    """One lock was held around a whole PDF: a one-page PDF waited 50 s behind a hostile one. Now the lock
    is held per page: with another PDF stopped between two pages, a second PDF is read to its end."""
    other = load_pages(_pdf(3))
    next(other)  # the other PDF is open, between pages
    found: list[str] = []
    reader = threading.Thread(target=lambda: found.extend(c.value for c in decode_image_bytes(_pdf(1))), daemon=True)
    reader.start()
    reader.join(timeout=60)  # a deadlock guard, not a time limit: before, this thread never finished
    assert not reader.is_alive() and found == [S10]
    assert len(list(other)) == 2  # and the other one goes on


# --- a bounded number at once --------------------------------------------------------------------------------


def test_uploads_beyond_the_slots_are_answered_503_in_german_and_bombs_still_422(w):
    """Eight hostile uploads held all eight server threads: nothing else was answered."""
    w.app.config.update(UPLOAD_DECODE_SLOTS=1, UPLOAD_DECODE_QUEUE=0, UPLOAD_DECODE_WAIT_S=0.05)
    w.app.extensions.pop(upload_checks.GATE_EXTENSION, None)
    client = w.client()
    with w.app.app_context(), upload_checks.gate().slot():  # another upload is being read
        busy = _upload(client, (barcode_image(S10), "brief.png"))
        bomb = _upload(client, (hostile.png_bomb(), "bombe.png"))
    assert busy.status_code == 503
    assert "liest gerade andere Scans" in busy.get_data(as_text=True)
    assert bomb.status_code == 422 and "zu groß" in bomb.get_data(as_text=True)
    assert w.count_items() == 0
    after = _upload(client, (barcode_image(S10), "brief.png"))
    assert after.status_code == 200 and w.count_items() == 1


# --- polyglots, path names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "words"),
    [
        (hostile.polyglot(), "bild.png", "Daten eines anderen Formats"),
        (blank_image("JPEG") + b"<html><script>alert(1)</script></html>", "bild.jpg", "Daten eines anderen Formats"),
        (b"<html><body>x</body></html>\n" + _pdf(1), "brief.pdf", "Daten eines anderen Formats"),
        (barcode_image(S10), "../../etc/passwd.png", "Pfadangabe"),
        (barcode_image(S10), "scans/../../scan.png", "Pfadangabe"),
        (barcode_image(S10), "/etc/scan.png", "Pfadangabe"),
        (barcode_image(S10), "C:\\scan.png", "Pfadangabe"),
        (barcode_image(S10), "scan\x01.png", "Steuerzeichen"),
    ],
    ids=["png-with-pdf", "jpeg-with-html", "html-before-pdf", "dot-dot", "dot-dot-inside", "absolute",
         "drive", "control-character"],
)  # fmt: skip
def test_polyglots_and_path_names_are_refused(w, content, name, words):
    response = _upload(w.client(), (content, name))
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html[:400]
    assert words in html
    assert w.count_items() == 0 and w.count_events() == 0


def test_a_plain_folder_name_is_not_an_attack(w):
    response = _upload(w.client(), (barcode_image(S10), "scans/umschlag.png"))
    assert response.status_code == 200 and "umschlag.png" in response.get_data(as_text=True)


# --- the real server -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`mailroom serve` on a free loopback port (waitress, as in production), small budgets."""
    instance = tmp_path_factory.mktemp("serve")
    running = hostile.Server(
        instance, env={"MAILROOM_UPLOAD_FILE_SECONDS": "2", "MAILROOM_MAX_CONTENT_LENGTH": str(5 * 1024 * 1024)}
    )
    running.start()
    yield running
    running.stop()


def test_waitress_refuses_an_oversized_body_before_reading_it(server):
    """waitress accepted bodies up to 1 GB onto disk before the 413: now it answers from the header alone."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.putrequest("POST", "/api/v1/scans")
        connection.putheader("Authorization", f"Bearer {server.token}")
        connection.putheader("Content-Type", "multipart/form-data; boundary=x")
        connection.putheader("Content-Length", str(900 * 1024 * 1024))
        connection.endheaders()  # and no body at all: before, the server waited for it (here: a timeout)
        response = connection.getresponse()
        assert response.status == 413
    finally:
        connection.close()


@pytest.mark.slow
def test_eight_hostile_files_at_once_get_4xx_and_health_answers(server):
    result = hostile.hostile_round(server, hostile.hostile_files(), timeout=120)
    statuses = {name: status for name, (status, _seconds, _detail) in result.uploads.items()}
    assert len(statuses) == 8
    assert all(400 <= status < 500 or status == 503 for status in statuses.values()), statuses
    assert statuses["bombe.png"] == 422 and statuses["bild-und-pdf.png"] == 422
    assert result.health and result.health_failures == 0
    status, body, _seconds = hostile.get(server.port, "/health")
    assert status == 200 and b"ok" in body

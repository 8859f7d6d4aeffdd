"""Content scans: upload, list, view; TR-RESISCAN decision; confidential items; bad uploads;
no file without its row and no row without its file."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mailroom.errors import DuplicateItem, UploadRejected, ValidationFailed
from mailroom.extensions import db
from mailroom.models import ContentScan, EventKind, MailEvent, MailItem, Role, ScanDecision
from mailroom.services import scans, storage
from mailroom.services.clock import local_today
from tests.mailroom.records.conftest import stored_files
from tests.mailroom.records.files import image_bytes, pdf_bytes, png_bomb


def _upload(client, item, files, **form):
    data = {"decision": "copy", **form}
    data["files"] = [(io.BytesIO(content), name) for name, content in files]
    return client.post(f"/intake/items/{item.id}/scans", data=data, content_type="multipart/form-data")


def _scan_count() -> int:
    return db.session.scalar(select(func.count(ContentScan.id)))


def test_upload_list_and_view_a_scan(world):
    item = world.item()
    client = world.client()
    png = image_bytes("PNG")
    response = _upload(client, item, [("brief.png", png)])
    assert response.status_code == 302, response.get_data(as_text=True)[:500]

    scan = db.session.scalars(select(ContentScan)).one()
    assert scan.item_id == item.id
    assert scan.media_type == "image/png"
    assert scan.sha256 == hashlib.sha256(png).hexdigest()
    assert scan.decision == ScanDecision.COPY and scan.paper_destroy_on is None
    assert storage.read("content", scan.sha256) == png
    kinds = [e.kind for e in db.session.scalars(select(MailEvent).where(MailEvent.item_id == item.id))]
    assert kinds == [EventKind.RECEIVED, EventKind.SCAN_ATTACHED]

    page = client.get(f"/intake/items/{item.id}/scans").get_data(as_text=True)
    assert "brief.png" in page and "Nur Kopie" in page

    view = client.get(f"/intake/items/{item.id}/scans/{scan.id}")
    assert view.status_code == 200
    assert view.data == png
    assert view.mimetype == "image/png"
    assert view.headers["X-Content-Type-Options"] == "nosniff"
    assert view.headers["Content-Disposition"].startswith("inline;")
    assert item.incoming_number in view.headers["Content-Disposition"]


def test_type_is_taken_from_the_content_not_the_name(world):
    item = world.item()
    files = [
        ("a.txt", pdf_bytes()),
        ("b.png", image_bytes("JPEG")),
        ("c.pdf", image_bytes("TIFF")),
    ]
    assert _upload(world.client(), item, files).status_code == 302
    media = sorted(s.media_type for s in db.session.scalars(select(ContentScan)))
    assert media == ["application/pdf", "image/jpeg", "image/tiff"]
    pdf_scan = db.session.scalar(select(ContentScan).where(ContentScan.media_type == "application/pdf"))
    view = world.client().get(f"/intake/items/{item.id}/scans/{pdf_scan.id}")
    assert view.mimetype == "application/pdf"
    assert view.headers["Content-Disposition"].endswith('.pdf"')


def test_only_mailroom_staff_and_admins_see_scans(world):
    item = world.item()
    assert _upload(world.client(), item, [("a.png", image_bytes())]).status_code == 302
    scan = db.session.scalars(select(ContentScan)).one()
    world.user("bote", Role.COURIER)
    world.user("fuhrpark", Role.FLEET)
    world.user("chefin", Role.ADMIN)
    for username in ("bote", "fuhrpark"):
        assert world.client(username).get(f"/intake/items/{item.id}/scans/{scan.id}").status_code == 403
        assert world.client(username).get(f"/intake/items/{item.id}/scans").status_code == 403
    assert world.client("chefin").get(f"/intake/items/{item.id}/scans/{scan.id}").status_code == 200
    assert world.anonymous().get(f"/intake/items/{item.id}/scans/{scan.id}").status_code == 302  # to login


def test_confidential_item_gets_no_content_scan(world):
    item = world.item(confidential=True)
    client = world.client()
    page = client.get(f"/intake/items/{item.id}/scans").get_data(as_text=True)
    assert "nicht geöffnet" in page and 'type="file"' not in page

    response = _upload(client, item, [("brief.png", image_bytes())])
    assert response.status_code == 409
    assert "persönlich/vertraulich" in response.get_data(as_text=True)
    assert _scan_count() == 0
    assert stored_files(world.app) == []
    with pytest.raises(ValidationFailed):
        scans.attach_scans(
            item,
            [scans.Upload(image_bytes(), "x.png")],
            user=None,
            decision="copy",
            checked_against_original=False,
            paper_destroy_on=None,
        )


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("brief.png", b"Dies ist kein Bild, nur Text.\n" * 20),
        ("brief.png", image_bytes("PNG", (400, 300))[:300]),  # truncated
        ("bombe.png", png_bomb()),  # 10^10 pixels claimed in the header
        ("leer.pdf", b""),
    ],
    ids=["not-an-image", "truncated", "decompression-bomb", "empty"],
)
def test_bad_uploads_are_refused_and_nothing_is_stored(world, name, content):
    item = world.item()
    response = _upload(world.client(), item, [(name, content)])
    if not content:
        # The browser sends no empty file, the form asks for one.
        assert response.status_code == 422
    else:
        assert response.status_code == 422, response.get_data(as_text=True)[:300]
    html = response.get_data(as_text=True)
    assert 'class="flash flash-error"' in html
    assert _scan_count() == 0
    assert stored_files(world.app) == []
    assert db.session.scalar(select(func.count(MailEvent.id)).where(MailEvent.kind == EventKind.SCAN_ATTACHED)) == 0


def test_one_bad_file_in_a_batch_stores_none_of_them(world):
    item = world.item()
    files = [("gut.png", image_bytes()), ("schlecht.png", b"kaputt")]
    assert _upload(world.client(), item, files).status_code == 422
    assert _scan_count() == 0
    assert stored_files(world.app) == []


def test_pixel_limit_from_config(world):
    world.app.config["MAX_IMAGE_PIXELS"] = 100_000
    item = world.item()
    response = _upload(world.client(), item, [("gross.png", image_bytes("PNG", (400, 300)))])
    assert response.status_code == 422
    assert _scan_count() == 0


def test_upload_over_the_size_limit_gets_a_german_413(world):
    world.app.config["MAX_CONTENT_LENGTH"] = 20_000
    item = world.item()
    big = image_bytes("PNG", (300, 300)) + b"\0" * 30_000
    response = _upload(world.client(), item, [("gross.png", big)])
    assert response.status_code == 413
    assert "Datei zu groß" in response.get_data(as_text=True)
    assert _scan_count() == 0
    assert stored_files(world.app) == []


def test_replacing_scan_needs_check_and_destroy_date(world):
    item = world.item()
    client = world.client()
    later = (local_today() + timedelta(days=30)).isoformat()
    cases = [
        ({"decision": "replace", "paper_destroy_on": later}, "abgeglichen"),
        ({"decision": "replace", "checked": "1"}, "Datum"),
        ({"decision": "replace", "checked": "1", "paper_destroy_on": "2001-01-01"}, "Vergangenheit"),
        ({"decision": "copy", "paper_destroy_on": later}, "Nur Kopie"),
        ({"decision": "shred"}, "Ersetzt Papier"),
        ({"decision": "replace", "checked": "1", "paper_destroy_on": "31.02.2026"}, "kein gültiges Datum"),
    ]
    for form, message in cases:
        response = _upload(client, item, [("a.png", image_bytes())], **form)
        assert response.status_code == 422, form
        assert message in response.get_data(as_text=True), form
    assert _scan_count() == 0 and stored_files(world.app) == []

    form = {"decision": "replace", "checked": "1", "paper_destroy_on": later}
    response = _upload(client, item, [("a.png", image_bytes())], **form)
    assert response.status_code == 302
    scan = db.session.scalars(select(ContentScan)).one()
    assert scan.decision == ScanDecision.REPLACE
    assert scan.checked_against_original is True
    assert scan.paper_destroy_on.isoformat() == later


def test_decision_can_be_recorded_later(world):
    item = world.item()
    client = world.client()
    assert _upload(client, item, [("a.png", image_bytes())]).status_code == 302
    scan = db.session.scalars(select(ContentScan)).one()
    later = (local_today() + timedelta(days=10)).isoformat()
    url = f"/intake/items/{item.id}/scans/{scan.id}/decision"
    assert client.post(url, data={"decision": "replace", "paper_destroy_on": later}).status_code == 422
    db.session.expire_all()
    assert db.session.get(ContentScan, scan.id).decision == ScanDecision.COPY
    assert client.post(url, data={"decision": "replace", "checked": "1", "paper_destroy_on": later}).status_code == 302
    db.session.expire_all()
    scan = db.session.get(ContentScan, scan.id)
    assert (scan.decision, scan.checked_against_original, scan.paper_destroy_on.isoformat()) == ("replace", True, later)


def test_the_same_file_twice_on_one_item_is_refused(world):
    item = world.item()
    png = image_bytes()
    assert _upload(world.client(), item, [("a.png", png)]).status_code == 302
    response = _upload(world.client(), item, [("nochmal.png", png)])
    assert response.status_code == 409
    assert "bereits angehängt" in response.get_data(as_text=True)
    assert _scan_count() == 1 and len(stored_files(world.app)) == 1


def test_unknown_item_and_scan_of_another_item_are_404(world):
    item, other = world.item(), world.item()
    assert _upload(world.client(), item, [("a.png", image_bytes())]).status_code == 302
    scan = db.session.scalars(select(ContentScan)).one()
    client = world.client()
    assert client.get("/intake/items/999999/scans").status_code == 404
    assert client.get(f"/intake/items/{other.id}/scans/{scan.id}").status_code == 404


# --- transactions: file and row together or not at all (SQLite and PostgreSQL) -------------------


def _attach(world, item, data: bytes):
    return scans.attach_scans(
        item,
        [scans.Upload(data, "scan.png")],
        user=world.staff,
        decision="copy",
        checked_against_original=False,
        paper_destroy_on=None,
    )


def test_rollback_after_storing_leaves_no_orphan_file(world_db):
    item = world_db.item()
    data = image_bytes(text=7)
    (scan,) = _attach(world_db, item, data)
    sha = scan.sha256
    assert storage.exists("content", sha)  # stored after the flush, before the commit
    db.session.rollback()
    assert not storage.exists("content", sha)
    assert _scan_count() == 0


def test_failing_commit_leaves_no_orphan_file(world_db):
    item = world_db.item()
    (scan,) = _attach(world_db, item, image_bytes(text=8))
    sha = scan.sha256
    # Something else in the same transaction breaks the commit (a duplicate incoming number).
    db.session.add(MailItem(code="X-DUP", incoming_number=item.incoming_number, kind="brief"))
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        db.session.commit()
    db.session.rollback()
    assert not storage.exists("content", sha)
    assert _scan_count() == 0


def test_rollback_keeps_a_file_that_a_committed_row_uses(world_db):
    first, second = world_db.item(), world_db.item()
    data = image_bytes(text=9)
    (scan,) = _attach(world_db, first, data)
    db.session.commit()
    _attach(world_db, second, data)  # the same content for another item: file already there
    db.session.rollback()
    assert storage.exists("content", scan.sha256)
    assert _scan_count() == 1


def test_committed_scan_keeps_its_file(world_db):
    item = world_db.item()
    (scan,) = _attach(world_db, item, image_bytes(text=10))
    sha = scan.sha256
    db.session.commit()
    db.session.close()
    assert storage.exists("content", sha)


def test_service_rejects_bad_upload_before_storing(world):
    item = world.item()
    with pytest.raises(UploadRejected):
        _attach(world, item, b"GIF89a nope")
    with pytest.raises(DuplicateItem):
        scans.attach_scans(
            item,
            [scans.Upload(image_bytes(text=3), "a.png"), scans.Upload(image_bytes(text=3), "b.png")],
            user=None,
            decision="copy",
            checked_against_original=False,
            paper_destroy_on=None,
        )
    db.session.rollback()
    assert stored_files(world.app) == []


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("brief.png", image_bytes("PNG") + pdf_bytes(), "Daten eines anderen Formats"),
        ("brief.pdf", b"<html><script>x</script></html>\n" + pdf_bytes(), "Daten eines anderen Formats"),
        ("../../brief.png", image_bytes("PNG"), "Pfadangabe"),
        ("/etc/brief.png", image_bytes("PNG"), "Pfadangabe"),
    ],
    ids=["png-with-pdf", "html-before-pdf", "dot-dot", "absolute"],
)
def test_polyglots_and_path_names_are_refused_for_content_scans(world, name, content, words):
    item = world.item()
    response = _upload(world.client(), item, [(name, content)])
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert words in response.get_data(as_text=True)
    assert _scan_count() == 0
    assert stored_files(world.app) == []


def test_frames_over_the_request_pixel_budget_are_refused_for_content_scans(world):
    world.app.config["UPLOAD_REQUEST_PIXELS"] = 150_000
    item = world.item()
    files = [("eins.png", image_bytes("PNG", (300, 300), text=1)), ("zwei.png", image_bytes("PNG", (300, 300), text=2))]
    response = _upload(world.client(), item, files)
    assert response.status_code == 422
    assert "„zwei.png“" in response.get_data(as_text=True) and "Bildpunkte" in response.get_data(as_text=True)
    assert _scan_count() == 0


def test_scan_size_is_shown_the_german_way(world):
    """Issue 16: "0.8" with a decimal point; German pages write "0,8 KB"."""
    import re

    item = world.item()
    client = world.client()
    png = image_bytes("PNG")
    assert _upload(client, item, [("brief.png", png)]).status_code == 302
    size = db.session.scalars(select(ContentScan)).one().size_bytes
    page = client.get(f"/intake/items/{item.id}/scans").get_data(as_text=True)
    from mailroom.services.formatting import format_number

    shown = format_number(size / 1024, 1, fixed=True)
    assert "," in shown and f"{shown} KB" in page
    assert not re.search(r"\d\.\d KB", page)

"""Retention and `mailroom purge`: what is due goes (rows, fields, files), everything is logged without
personal data, the custody log is never touched, files go only after the commit."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mailroom.extensions import db
from mailroom.models import ContentScan, EventKind, HandoverProof, ItemKind, MailEvent, MailItem, PurgeLog, User
from mailroom.services import retention, storage
from mailroom.services.clock import now_utc
from mailroom.services.custody import record_event
from tests.mailroom.records.files import image_bytes

OLD = timedelta(days=4 * 365)


def _scan(item, data: bytes, *, age: timedelta) -> ContentScan:
    sha = storage.store("content", data)
    scan = ContentScan(item=item, sha256=sha, media_type="image/png", size_bytes=len(data), created_at=now_utc() - age)
    db.session.add(scan)
    db.session.flush()
    return scan


def _proof(world, item, data: bytes | None, *, age: timedelta) -> HandoverProof:
    event = record_event(item, EventKind.NOTIFIED, user=world.staff, note="Übergabe")
    sha = storage.store("signatures", data, ".png") if data else None
    proof = HandoverProof(
        event_id=event.id, receiver_name="K. Janssen", signature_sha256=sha, created_at=now_utc() - age
    )
    db.session.add(proof)
    db.session.flush()
    return proof


@pytest.fixture
def aged(world_db):
    """Old and young data of every category."""
    w = world_db
    old_item = w.item(
        ItemKind.PZU, received_at=now_utc() - OLD, sender="Erika Mustermann", recipient_name="Max Meyer", commit=False
    )
    young_item = w.item(ItemKind.PZU, sender="Hans Hansen", recipient_name="Frieda F.", commit=False)
    shared = image_bytes(text=1)
    objects = {
        "old_item": old_item,
        "young_item": young_item,
        "old_scan": _scan(old_item, image_bytes(text=2), age=timedelta(days=400)),
        "old_shared_scan": _scan(old_item, shared, age=timedelta(days=400)),
        "young_shared_scan": _scan(young_item, shared, age=timedelta(days=3)),
        "old_proof": _proof(w, old_item, image_bytes("PNG", text=4), age=OLD),
        "old_proof_no_signature": _proof(w, old_item, None, age=OLD),
        "young_proof": _proof(w, young_item, image_bytes("PNG", text=5), age=timedelta(days=10)),
    }
    w.staff.last_login_at = now_utc() - timedelta(days=200)
    db.session.commit()
    ids = {name: obj.id for name, obj in objects.items()}
    hashes = {
        "old_scan": objects["old_scan"].sha256,
        "shared": objects["old_shared_scan"].sha256,
        "old_signature": objects["old_proof"].signature_sha256,
        "young_signature": objects["young_proof"].signature_sha256,
    }
    return w, ids, hashes


def _event_rows():
    return [
        (e.id, e.item_id, e.kind, e.at, e.note)
        for e in db.session.scalars(select(MailEvent).order_by(MailEvent.id)).all()
    ]


def test_dry_run_shows_what_would_go_and_changes_nothing(aged):
    w, ids, hashes = aged
    result = w.app.test_cli_runner().invoke(args=["purge", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Probelauf" in result.output
    assert "Inhaltsscans (älter als 365 Tage): 2 würden gelöscht" in result.output
    assert "Absender-/Empfängerdaten (älter als 1095 Tage): 1 würden gelöscht" in result.output
    assert "Zustellnachweise (Name, Unterschrift) (älter als 1095 Tage): 2 würden gelöscht" in result.output
    assert "Anmeldedaten (älter als 90 Tage): 1 würden gelöscht" in result.output
    assert f"content_scan #{ids['old_scan']}" in result.output
    assert "Mustermann" not in result.output and "Janssen" not in result.output
    db.session.expire_all()
    assert db.session.scalar(select(func.count(PurgeLog.id))) == 0
    assert db.session.get(MailItem, ids["old_item"]).sender == "Erika Mustermann"
    assert db.session.get(ContentScan, ids["old_scan"]).purged_at is None
    assert db.session.get(HandoverProof, ids["old_proof"]) is not None
    assert storage.exists("content", hashes["old_scan"])
    assert storage.exists("signatures", hashes["old_signature"], ".png")


def test_apply_deletes_what_is_due_and_logs_it(aged):
    w, ids, hashes = aged
    events_before = _event_rows()
    result = w.app.test_cli_runner().invoke(args=["purge", "--apply"])
    assert result.exit_code == 0, result.output
    assert "6 Objekte gelöscht" in result.output
    db.session.expire_all()

    # content scans: rows kept and marked, the old file gone, the shared file kept for the young scan
    assert db.session.get(ContentScan, ids["old_scan"]).purged_at is not None
    assert not storage.exists("content", hashes["old_scan"])
    assert db.session.get(ContentScan, ids["old_shared_scan"]).purged_at is not None
    assert db.session.get(ContentScan, ids["young_shared_scan"]).purged_at is None
    assert storage.exists("content", hashes["shared"])
    # personal fields of old items
    old_item = db.session.get(MailItem, ids["old_item"])
    assert (old_item.sender, old_item.recipient_name) == (None, None)
    assert old_item.personal_data_purged_at is not None
    assert old_item.incoming_number and old_item.kind == ItemKind.PZU  # the item itself stays
    young_item = db.session.get(MailItem, ids["young_item"])
    assert young_item.sender == "Hans Hansen" and young_item.personal_data_purged_at is None
    # hand-over proofs and their signature files
    assert db.session.get(HandoverProof, ids["old_proof"]) is None
    assert db.session.get(HandoverProof, ids["old_proof_no_signature"]) is None
    assert not storage.exists("signatures", hashes["old_signature"], ".png")
    assert db.session.get(HandoverProof, ids["young_proof"]) is not None
    assert storage.exists("signatures", hashes["young_signature"], ".png")
    # login data
    assert db.session.get(User, w.staff.id).last_login_at is None
    # the chain of custody is untouched
    assert _event_rows() == events_before
    # the log: one line per object, no personal data
    log = db.session.scalars(select(PurgeLog).order_by(PurgeLog.id)).all()
    assert sorted((entry.category, entry.object_type, entry.object_id) for entry in log) == sorted(
        [
            ("content_scans", "content_scan", ids["old_scan"]),
            ("content_scans", "content_scan", ids["old_shared_scan"]),
            ("recipient_data", "mail_item", ids["old_item"]),
            ("signatures", "handover_proof", ids["old_proof"]),
            ("signatures", "handover_proof", ids["old_proof_no_signature"]),
            ("login_data", "user", w.staff.id),
        ]
    )
    for entry in log:
        for personal in ("Mustermann", "Meyer", "Janssen", "Erika"):
            assert personal not in entry.detail

    again = w.app.test_cli_runner().invoke(args=["purge", "--apply"])
    assert again.exit_code == 0 and "Insgesamt 0 Objekte" in again.output
    assert db.session.scalar(select(func.count(PurgeLog.id))) == 6


@pytest.mark.parametrize("args", [["purge"], ["purge", "--dry-run", "--apply"]], ids=["neither", "both"])
def test_purge_needs_exactly_one_flag(aged, args):
    w, ids, _hashes = aged
    result = w.app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 2
    assert "genau eine der Optionen --dry-run oder --apply" in result.output
    db.session.expire_all()
    assert db.session.get(ContentScan, ids["old_scan"]).purged_at is None
    assert db.session.scalar(select(func.count(PurgeLog.id))) == 0


def test_a_file_that_cannot_be_deleted_is_reported(world):
    item = world.item(ItemKind.BRIEF)
    data = image_bytes(text=11)
    scan = _scan(item, data, age=timedelta(days=400))
    db.session.commit()
    path = storage.path_for("content", scan.sha256)
    path.unlink()
    path.mkdir()  # a directory where the file was: unlink fails
    (path / "x").write_text("x")
    result = world.app.test_cli_runner().invoke(args=["purge", "--apply"])
    assert result.exit_code == 1
    assert "konnte nicht gelöscht werden" in result.output
    assert scan.sha256 in result.output
    db.session.expire_all()
    assert db.session.get(ContentScan, scan.id).purged_at is not None  # the database part is done


def test_bad_retention_config_is_refused(world):
    world.app.config["RETENTION_DAYS"] = {**world.app.config["RETENTION_DAYS"], "content_scans": 0}
    result = world.app.test_cli_runner().invoke(args=["purge", "--dry-run"])
    assert result.exit_code == 1
    assert "mindestens 1" in result.output


def test_plan_and_apply_as_services(world):
    item = world.item(ItemKind.BRIEF)
    data = image_bytes(text=12)
    _scan(item, data, age=timedelta(days=366))
    db.session.commit()
    plan = retention.plan_purge()
    assert plan.counts()["content_scans"] == 1
    files = retention.apply_purge(plan)
    assert [f.sha256 for f in files] == [hashlib.sha256(data).hexdigest()]
    db.session.rollback()  # not committed: nothing changed, the file stays
    assert storage.exists("content", files[0].sha256)
    assert db.session.scalar(select(func.count(PurgeLog.id))) == 0


def test_old_envelope_scans_go_with_the_content_scan_period(world_db):
    w = world_db
    old_item = w.item(ItemKind.BRIEF, received_at=now_utc() - timedelta(days=400), commit=False)
    young_item = w.item(ItemKind.BRIEF, commit=False)
    old_data, young_data = image_bytes(text=7), image_bytes(text=8)
    for item, data in ((old_item, old_data), (young_item, young_data)):
        item.envelope_sha256 = storage.store("uploads", data, ".png")
        item.envelope_media_type = "image/png"
    db.session.commit()
    old_sha, young_sha = old_item.envelope_sha256, young_item.envelope_sha256

    result = w.app.test_cli_runner().invoke(args=["purge", "--apply"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(MailItem, old_item.id).envelope_sha256 is None
    assert not storage.exists("uploads", old_sha, ".png")
    assert db.session.get(MailItem, young_item.id).envelope_sha256 == young_sha
    assert storage.exists("uploads", young_sha, ".png")
    assert db.session.scalar(select(PurgeLog.object_type).where(PurgeLog.object_id == old_item.id)) == "envelope_scan"


def test_old_login_sessions_go_with_the_login_data_period(world_db):
    from mailroom.models import LoginSession

    w = world_db
    db.session.add(LoginSession(id="alt", user_id=w.staff.id, created_at=now_utc() - timedelta(days=91)))
    db.session.add(LoginSession(id="neu", user_id=w.staff.id, created_at=now_utc() - timedelta(days=89)))
    db.session.commit()
    retention.apply_purge(retention.plan_purge())
    db.session.commit()
    assert list(db.session.scalars(select(LoginSession.id))) == ["neu"]
    log = db.session.scalar(select(PurgeLog).where(PurgeLog.object_type == "login_sessions"))
    assert log.category == "login_data" and log.detail == "1 Anmeldesitzungen gelöscht"

"""`mailroom check [--repair] [--json]`: orphans both ways, stray temp files, stale plan runs, unsent mail."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta

from sqlalchemy import select

from mailroom.extensions import db
from mailroom.models import MailItem, OutboxMessage, OutboxStatus, PlanRun
from mailroom.services import intake, storage
from mailroom.services.clock import now_utc
from tests.mailroom.intake.intake_files import barcode_image

OLD = 3600  # seconds: older than the check's grace period for files a running upload may still commit


def _age(path, seconds: int = OLD) -> None:
    stamp = now_utc().timestamp() - seconds
    os.utime(path, (stamp, stamp))


def _check(runner, *args: str) -> tuple[int, dict]:
    result = runner.invoke(args=["check", "--json", *args])
    return result.exit_code, json.loads(result.output)


def test_a_clean_instance_is_ok(app, runner):
    code, report = _check(runner)
    assert code == 0 and report["ok"] is True and report["findings"] == []


def test_finds_and_repairs_orphans_both_ways_and_temp_files(app, runner):
    # A good item with its envelope scan: neither reported nor touched.
    good = intake.process_upload(intake.Upload(barcode_image("RR123456785DE"), "a.png"), user=None)
    db.session.commit()
    good_item = good.codes[0].result.item
    good_file = storage.path_for("uploads", good_item.envelope_sha256, ".png")
    _age(good_file)
    # An item whose file is gone (e.g. a disk restored from an older copy).
    lost = intake.process_upload(intake.Upload(barcode_image("RR000000005DE"), "b.png"), user=None)
    db.session.commit()
    lost_item = lost.codes[0].result.item
    storage.path_for("uploads", lost_item.envelope_sha256, ".png").unlink()
    # A file whose transaction never committed (the server was killed), and a half-written temp file.
    orphan_sha = storage.store("uploads", b"no row names me", ".png")
    orphan = storage.path_for("uploads", orphan_sha, ".png")
    _age(orphan)
    temp = orphan.parent / ".tmp-abc123"
    temp.write_bytes(b"half")
    _age(temp)
    # A fresh orphan may belong to an upload committing right now: left alone.
    fresh_sha = storage.store("uploads", b"being committed", ".png")

    code, report = _check(runner)
    assert code == 1 and report["ok"] is False
    kinds = {(f["kind"], f["subject"]) for f in report["findings"]}
    assert ("orphan_file", f"uploads/{orphan_sha[:2]}/{orphan_sha}.png") in kinds
    assert ("missing_file", f"mail_item {lost_item.id}") in kinds
    assert ("temp_file", f"uploads/{orphan_sha[:2]}/.tmp-abc123") in kinds
    assert report["counts"] == {"orphan_file": 1, "missing_file": 1, "temp_file": 1}
    assert orphan.exists()  # a report changes nothing

    code, report = _check(runner, "--repair")
    assert code == 0 and report["ok"] is True and all(f["repaired"] for f in report["findings"])
    assert not orphan.exists() and not temp.exists()
    assert good_file.exists() and storage.exists("uploads", fresh_sha, ".png")
    db.session.expire_all()
    assert db.session.get(MailItem, lost_item.id).envelope_sha256 is None
    assert db.session.get(MailItem, good_item.id).envelope_sha256 == good_item.envelope_sha256
    code, report = _check(runner)
    assert code == 0 and report["findings"] == []


def test_stale_plan_runs_and_unsent_mail_are_reported_and_repaired(app, runner):
    now = now_utc()
    dead = PlanRun(
        service_date=date(2026, 11, 23),
        status="running",
        created_at=now - timedelta(minutes=5),
        claimed_at=now - timedelta(minutes=5),
        heartbeat_at=now - timedelta(minutes=4),
    )
    alive = PlanRun(
        service_date=date(2026, 11, 24),
        status="running",
        created_at=now - timedelta(seconds=30),
        claimed_at=now - timedelta(seconds=30),
        heartbeat_at=now,
    )
    stuck_mail = OutboxMessage(
        dedupe_key="registered-item:999",
        recipient="fd20@x.example",
        org_unit_short="FD20",
        subject="PZU eingegangen",
        body="…",
        status=OutboxStatus.FAILED,
        attempts=8,
        created_at=now - timedelta(hours=3),
        next_attempt_at=now - timedelta(hours=1),
    )
    db.session.add_all([dead, alive, stuck_mail])
    db.session.commit()
    code, report = _check(runner)
    assert code == 1
    assert {(f["kind"], f["subject"]) for f in report["findings"]} == {
        ("stale_plan_run", f"plan_run {dead.id}"),
        ("unsent_outbox", f"outbox {stuck_mail.id}"),
    }
    code, report = _check(runner, "--repair")
    assert code == 0
    db.session.expire_all()
    assert db.session.get(PlanRun, dead.id).status == "failed"
    assert "Bitte erneut planen" in db.session.get(PlanRun, dead.id).error
    assert db.session.get(PlanRun, alive.id).status == "running"
    row = db.session.get(OutboxMessage, stuck_mail.id)
    assert row.status == OutboxStatus.PENDING and row.attempts == 0  # queued for a fresh round of tries


def test_plain_text_report(app, runner):
    result = runner.invoke(args=["check"])
    assert result.exit_code == 0
    assert "Alles in Ordnung." in result.output
    assert db.session.scalars(select(MailItem)).first() is None

"""`mailroom backup FILE` while the demo instance serves requests, `mailroom restore FILE [--force]` into an
empty instance: every row and every scan file comes back (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import tarfile
import threading
import time

import requests
from sqlalchemy import func, select

from mailroom.extensions import db
from mailroom.models import MailItem
from tests.conftest import _free_port
from tests.mailroom.intake.intake_files import barcode_image
from tests.mailroom.ops.conftest import ProcessInstance, api_token, make_database, seed_demo


def _s10(serial: int) -> str:
    from labels.codes import make_s10

    return make_s10("RR", serial)


def _snapshot(inst: ProcessInstance) -> tuple[dict[str, int], dict[int, str | None], set[str]]:
    """Row counts per table, every item's envelope hash, every scan file (relative path)."""
    from mailroom.services.backup import table_counts

    app = inst.make_app()
    with app.app_context():
        counts = table_counts()
        envelopes = dict(db.session.execute(select(MailItem.id, MailItem.envelope_sha256)).all())
        db.session.remove()
        db.engine.dispose()
    scans = inst.path / "scans"
    files = {str(p.relative_to(scans)) for p in scans.rglob("*") if p.is_file() and not p.name.startswith(".tmp-")}
    return counts, envelopes, files


def test_backup_while_serving_then_restore_into_an_empty_instance(request, instance, db_kind, tmp_path):
    seed_demo(instance, history_days=3)
    token = api_token(instance)
    port = _free_port()
    instance.start_server(port)
    api = f"http://127.0.0.1:{port}/api/v1"
    headers = {"Authorization": f"Bearer {token}"}
    session = requests.Session()
    for serial in range(1, 6):  # some scan files before the backup
        files = {"image": (f"s{serial}.png", barcode_image(_s10(serial)), "image/png")}
        assert session.post(f"{api}/scans", files=files, headers=headers, timeout=30).status_code == 201

    # Requests keep coming while the backup runs.
    stop = threading.Event()
    written: list[int] = []
    failures: list[str] = []

    def traffic() -> None:
        serial = 100
        while not stop.is_set() and serial < 400:
            serial += 1
            response = session.post(f"{api}/items", json={"code": _s10(serial)}, headers=headers, timeout=30)
            if response.status_code == 201:
                written.append(serial)
            else:
                failures.append(f"{response.status_code} {response.text[:200]}")

    before_counts, before_envelopes, before_files = _snapshot(instance)
    worker = threading.Thread(target=traffic)
    worker.start()
    time.sleep(0.3)
    archive = tmp_path / "backup.tar.gz"
    try:
        result = instance.command("backup", str(archive), "--json")
    finally:
        time.sleep(0.2)
        stop.set()
        worker.join(timeout=60)
    assert failures == []
    assert written, "no request was served during the backup"
    summary = json.loads(result.stdout)
    assert summary["database"] == db_kind and summary["files"] >= len(before_files)
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "manifest.json" in names and not any(n.startswith(".tmp") for n in names)
    assert not list(tmp_path.glob(".tmp-*"))  # written atomically: no temp file left beside it

    # Restore into a new, empty instance (its own folder and database).
    target_path = tmp_path / "restored"
    target_path.mkdir()
    target = ProcessInstance(path=target_path, database_url=make_database(request, db_kind, target_path, "restore"))
    restored = target.command("restore", str(archive), "--json")
    restored_summary = json.loads(restored.stdout)
    counts, envelopes, files = _snapshot(target)
    assert counts == summary["tables"]  # every row of the snapshot, table by table
    for table, count in before_counts.items():  # at least everything committed before the backup began
        assert counts[table] >= count, table
    for item_id, sha in before_envelopes.items():
        assert envelopes[item_id] == sha
    assert before_files <= files  # every scan file
    assert restored_summary["files"] == len(files)
    check = target.command("check", "--json", check=False, MAILROOM_CHECK_GRACE_S="0")
    report = json.loads(check.stdout)
    assert [f for f in report["findings"] if f["kind"] == "missing_file"] == []  # no row without its file
    assert target.command("check", "--repair", "--json", MAILROOM_CHECK_GRACE_S="0").returncode == 0

    # The restored instance is a working instance: it logs the next item with the next number.
    target.start_server(port2 := _free_port())
    app = target.make_app()
    with app.app_context():
        count_before = db.session.scalar(select(func.count(MailItem.id)))
        db.session.remove()
        db.engine.dispose()
    response = requests.post(
        f"http://127.0.0.1:{port2}/api/v1/items", json={"code": _s10(999)}, headers=headers, timeout=30
    )
    assert response.status_code == 201, response.text
    target.stop_all()
    with app.app_context():
        assert db.session.scalar(select(func.count(MailItem.id))) == count_before + 1
        db.session.remove()
        db.engine.dispose()


def test_restore_refuses_a_non_empty_instance_without_force(instance, tmp_path):
    seed_demo(instance)
    archive = tmp_path / "b.tar.gz"
    instance.command("backup", str(archive))
    refused = instance.command("restore", str(archive), check=False)
    assert refused.returncode != 0
    assert "nicht leer" in refused.stderr and "--force" in refused.stderr
    # With --force it replaces the instance's data with the backup's.
    app = instance.make_app()
    with app.app_context():
        from mailroom.services import intake

        intake.log_item(_s10(4711), user=None)
        db.session.commit()
        assert db.session.scalar(select(func.count(MailItem.id))) == 1
        db.session.remove()
        db.engine.dispose()
    instance.command("restore", str(archive), "--force")
    with app.app_context():
        assert db.session.scalar(select(func.count(MailItem.id))) == 0  # the backup had no items
        db.session.remove()
        db.engine.dispose()


def test_restore_refuses_what_is_not_a_backup(instance, tmp_path):
    bogus = tmp_path / "not-a-backup.tar.gz"
    with tarfile.open(bogus, "w:gz") as tar:
        evil = tmp_path / "evil"
        evil.write_text("x")
        tar.add(evil, arcname="../../evil")
    result = instance.command("restore", str(bogus), check=False)
    assert result.returncode != 0 and "kein mailroom-Backup" in result.stderr
    assert not (tmp_path.parent / "evil").exists()

"""Faults with real processes: SIGKILL of the worker in the middle of a plan run, SIGKILL of the web server
in the middle of a stream of scan uploads (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import signal
import threading
import time
from datetime import date

import pytest
import requests
from sqlalchemy import func, select

from mailroom import worker
from mailroom.errors import InvalidTransition
from mailroom.extensions import db
from mailroom.models import MailItem, PlanRun, Tour
from mailroom.services import dispatch, plan_jobs, storage
from mailroom.services.intake import MEDIA_SUFFIXES
from tests.conftest import _free_port
from tests.mailroom.intake.intake_files import barcode_image
from tests.mailroom.ops.conftest import api_token, seed_demo, wait_until

pytestmark = pytest.mark.slow

MONDAY = date(2026, 3, 2)  # a working day with the demo's stop template
HEARTBEAT_ENV = {
    "MAILROOM_DISPATCH_HEARTBEAT_S": "0.5",
    "MAILROOM_DISPATCH_HEARTBEAT_TIMEOUT_S": "3",
}


def _run(run_id: int) -> PlanRun:
    db.session.rollback()  # a fresh look at what the other processes committed
    return db.session.get(PlanRun, run_id)


def test_sigkill_of_the_worker_during_a_plan_run(instance):
    seed_demo(instance)
    instance.extra_env.update(HEARTBEAT_ENV)
    first_worker = instance.start_worker()
    app = instance.make_app()
    with app.app_context():
        run = dispatch.start_plan_run(MONDAY, user=None, time_limit_s=60)  # long enough to be killed in it
        db.session.commit()
        run_id = run.id
        worker.plan_run(run_id)  # into the instance's queue; the worker process claims it
        wait_until(lambda: _run(run_id).heartbeat_at is not None, 30, "the worker to claim the run")
        first_beat = _run(run_id).heartbeat_at
        wait_until(lambda: _run(run_id).heartbeat_at > first_beat, 10, "a heartbeat")
        first_worker.send_signal(signal.SIGKILL)
        first_worker.wait(timeout=10)
        killed_at = time.monotonic()

        # While the heartbeat is fresh the day counts as being planned: a second plan is refused.
        assert _run(run_id).status == "running"
        with pytest.raises(InvalidTransition):
            dispatch.start_plan_run(MONDAY, user=None)
        db.session.rollback()

        # The minute sweep of any worker (here called directly) marks it failed once the heartbeat is stale.
        def swept() -> bool:
            worker.sweep.call_local()
            return _run(run_id).status == "failed"

        wait_until(swept, 60, "the stale run to be marked failed", interval=0.5)
        assert time.monotonic() - killed_at < 60  # within a minute
        assert _run(run_id).error == plan_jobs.STALE_MESSAGE
        assert db.session.scalar(select(func.count(Tour.id))) == 0  # no half tours

        # The day can be planned again, by a restarted worker.
        instance.start_worker()
        run = dispatch.start_plan_run(MONDAY, user=None, time_limit_s=1)
        db.session.commit()
        second_id = run.id
        worker.plan_run(second_id)
        wait_until(lambda: _run(second_id).status != "running", 60, "the second plan")
        assert _run(second_id).status == "done", _run(second_id).error
        vans = db.session.scalars(select(Tour.vehicle_id).where(Tour.service_date == MONDAY)).all()
        assert vans and len(vans) == len(set(vans))  # one tour per van and day
        db.session.remove()
        db.engine.dispose()


def test_a_second_running_plan_of_a_day_is_refused_by_the_database(instance):
    """The partial unique index, not only the check before it: a row inserted behind the service's back."""
    from sqlalchemy.exc import IntegrityError

    seed_demo(instance)
    app = instance.make_app()
    with app.app_context():
        dispatch.start_plan_run(MONDAY, user=None)
        db.session.commit()
        db.session.add(PlanRun(service_date=MONDAY, status="running", time_limit_s=1))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        db.session.add(PlanRun(service_date=MONDAY, status="failed", time_limit_s=1))  # finished runs: any number
        db.session.add(PlanRun(service_date=MONDAY, status="done", time_limit_s=1))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def _s10(serial: int) -> str:
    from labels.codes import make_s10

    return make_s10("RR", serial)


def test_sigkill_of_the_web_server_during_a_stream_of_scan_uploads(instance):
    seed_demo(instance)
    token = api_token(instance)
    port = _free_port()
    server = instance.start_server(port, threads=4)
    url = f"http://127.0.0.1:{port}/api/v1/scans"
    headers = {"Authorization": f"Bearer {token}"}
    acknowledged: dict[str, str] = {}  # code -> envelope sha256 the server answered with
    lock = threading.Lock()
    images = {serial: barcode_image(_s10(serial)) for serial in range(1, 121)}

    def upload(serials: range) -> None:
        session = requests.Session()
        for serial in serials:
            code = _s10(serial)
            try:
                response = session.post(
                    url, files={"image": (f"{code}.png", images[serial], "image/png")}, headers=headers, timeout=10
                )
            except requests.RequestException:
                return  # the server is gone: this upload was never acknowledged
            if response.status_code == 201:
                with lock:
                    acknowledged[code] = response.text

    clients = [threading.Thread(target=upload, args=(range(start, start + 40),)) for start in (1, 41, 81)]
    for client in clients:
        client.start()
    wait_until(lambda: len(acknowledged) >= 12, 60, "a dozen acknowledged uploads")
    server.send_signal(signal.SIGKILL)
    server.wait(timeout=10)
    for client in clients:
        client.join(timeout=30)
    assert 12 <= len(acknowledged) < 120

    # Restart: every acknowledged item is there with its file.
    instance.start_server(port)
    app = instance.make_app()
    with app.app_context():
        for code in acknowledged:
            item = db.session.scalar(select(MailItem).where(MailItem.code == code))
            assert item is not None, f"acknowledged {code} lost"
            assert item.envelope_sha256, code
            assert storage.exists("uploads", item.envelope_sha256, MEDIA_SUFFIXES[item.envelope_media_type]), code
        db.session.remove()
        db.engine.dispose()
    # Nothing orphaned once the check has repaired what the killed requests left (their files, temp files).
    repair = instance.command("check", "--repair", "--json", check=False, MAILROOM_CHECK_GRACE_S="0")
    assert repair.returncode == 0, repair.stdout + repair.stderr
    report = json.loads(instance.command("check", "--json", MAILROOM_CHECK_GRACE_S="0").stdout)
    assert report["ok"] is True and report["findings"] == []
    assert {f["kind"] for f in json.loads(repair.stdout)["findings"]} <= {"orphan_file", "temp_file"}
    # The restarted server keeps serving.
    response = requests.post(
        url, files={"image": ("x.png", barcode_image(_s10(500)), "image/png")}, headers=headers, timeout=30
    )
    assert response.status_code == 201, response.text

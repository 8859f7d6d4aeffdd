"""The job queue (Huey) and the jobs `mailroom worker` runs: tour planning, the e-mail outbox, slow upload
decoding and the nightly retention purge.

Storage: a SQLite file in the instance folder by default (`instance/queue.sqlite3`); Redis when
`MAILROOM_QUEUE_URL=redis://host:6379/0` (several workers on several machines). In tests (TESTING, or
QUEUE_IMMEDIATE=True) Huey's immediate mode runs a job inline when it is enqueued.

A job reads and writes the database like a view: its own app context and session, one transaction.
Jobs only get ids: the database is the truth, the queue only says "look at this now". Whatever a lost
queue message would have done is picked up again by the periodic sweeps (`sweep`, every minute).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_app_context
from huey import Huey, crontab
from huey.storage import MemoryStorage

QUEUE_FILE = "queue.sqlite3"

# Tasks are registered on this one instance at import time; init_app() points its storage at the app's
# queue (the instance folder's SQLite file, or Redis). Until then it holds tasks in memory.
huey = Huey("mailroom", storage_class=MemoryStorage, results=True, utc=True)

_state: dict[str, Flask] = {}
_state_lock = threading.Lock()


def init_app(app: Flask) -> None:
    """Configure the queue for `app` (called by create_app)."""
    immediate = app.config.get("QUEUE_IMMEDIATE")
    if immediate is None:
        immediate = bool(app.testing)
    with _state_lock:
        _state["app"] = app
        huey.immediate = bool(immediate)
        if not immediate:
            huey.storage = _storage_for(app)
    app.extensions["mailroom_queue"] = huey


def _storage_for(app: Flask):
    url = (app.config.get("QUEUE_URL") or "").strip()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from huey.storage import RedisStorage

        return RedisStorage(huey.name, url=url)
    if url and not url.startswith("sqlite:"):
        raise RuntimeError(f"QUEUE_URL must be redis://... or sqlite:///PATH, got {url!r}")
    from huey.storage import SqliteStorage

    path = url.removeprefix("sqlite:///") if url else str(Path(app.instance_path) / QUEUE_FILE)
    return SqliteStorage(huey.name, filename=path, timeout=15)


def describe_queue(app: Flask) -> str:
    if huey.immediate:
        return "sofort (Testmodus)"
    storage = huey.storage
    filename = getattr(storage, "filename", None)
    return f"SQLite {filename}" if filename else "Redis"


def _app() -> Flask:
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]
    return _state["app"]


def in_app_context(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run a job body in a fresh app context: its own database session, removed afterwards (also inline
    in immediate mode, so a job never sees or commits the caller's unfinished transaction)."""

    def wrapper(*args, **kwargs):
        with _app().app_context():
            return func(*args, **kwargs)

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    wrapper.__qualname__ = func.__qualname__
    return wrapper


# --- jobs ----------------------------------------------------------------------------------------


@huey.task(name="plan_run")
@in_app_context
def plan_run(run_id: int, drivers: dict | None = None) -> str:
    """Claim and execute one recorded plan run (see mailroom.services.dispatch.runs)."""
    from mailroom.services import plan_jobs

    return plan_jobs.work_on_run(run_id, drivers)


@huey.task(name="send_outbox")
@in_app_context
def send_outbox() -> int:
    """Send the outbox rows that are due; returns how many went out."""
    from mailroom.services import outbox

    return outbox.send_due()


@huey.task(name="decode_upload")
@in_app_context
def decode_upload(data: bytes, limits=None) -> dict:
    """Read the barcodes of one uploaded scan off the request thread with the pure reader
    (`labels.reading.read_codes`, limits a `ReadLimits`). Answers {"result": ReadResult} or, for a refused
    file, {"error": German message, "code": API code}. Wait for it with `.get(blocking=True, timeout=...)`."""
    from labels.reading import FileRejected, read_codes

    try:
        return {"result": read_codes(data, limits)}
    except FileRejected as exc:
        return {"error": exc.message, "code": exc.code}


@huey.task(name="retention_purge")
@in_app_context
def retention_purge() -> int:
    """Apply the retention periods (as `mailroom purge --apply`); files go after the commit."""
    from mailroom.extensions import db
    from mailroom.services import retention

    plan = retention.plan_purge()
    try:
        files = retention.apply_purge(plan)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    failures = retention.delete_files(files)
    for failure in failures:
        current_app.logger.warning("retention: could not delete %s: %s", failure.file.describe(), failure.error)
    current_app.logger.info("retention purge: %d objects", len(plan))
    return len(plan)


@huey.periodic_task(crontab(minute="*"), name="sweep")
@in_app_context
def sweep() -> dict:
    """Every minute: fail plan runs whose worker died, and send outbox rows a lost message left behind."""
    from mailroom.extensions import db
    from mailroom.services import outbox, plan_jobs

    failed = plan_jobs.fail_stale_runs()
    db.session.commit()
    sent = outbox.send_due()
    return {"stale_runs_failed": failed, "outbox_sent": sent}


# 01:30 UTC is 02:30 or 03:30 in Oldenburg: outside office hours all year.
@huey.periodic_task(crontab(minute="30", hour="1"), name="nightly_retention_purge")
def nightly_retention_purge() -> None:
    retention_purge.call_local()


def enqueue_after_commit(session, task_name: str, *args) -> None:
    """Enqueue a job once `session`'s transaction has committed (never for work that may roll back)."""
    pending: list = session.info.setdefault(_AFTER_COMMIT_KEY, [])
    if (task_name, args) not in pending:
        pending.append((task_name, args))


_AFTER_COMMIT_KEY = "queue_after_commit"
TASKS: dict[str, Any] = {"plan_run": plan_run, "send_outbox": send_outbox}


def _enqueue_pending(session) -> None:
    pending = session.info.pop(_AFTER_COMMIT_KEY, None)
    for task_name, args in pending or ():
        try:
            TASKS[task_name](*args)
        except Exception:  # the commit stands; the minute sweep picks the work up if the queue is down
            _app().logger.exception("could not enqueue %s%r", task_name, args)


def _drop_uncommitted(session, transaction) -> None:
    # after_commit has already taken what a commit queued; what is left here belonged to a rollback.
    if transaction.parent is None:
        session.info.pop(_AFTER_COMMIT_KEY, None)


def _install_listeners() -> None:
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    if not event.contains(Session, "after_commit", _enqueue_pending):
        event.listen(Session, "after_commit", _enqueue_pending)
        event.listen(Session, "after_transaction_end", _drop_uncommitted)


_install_listeners()


def run_consumer(workers: int) -> None:
    """Run the Huey consumer in this process until SIGINT/SIGTERM (graceful: running jobs finish)."""
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=True, check_worker_health=True)
    consumer.run()

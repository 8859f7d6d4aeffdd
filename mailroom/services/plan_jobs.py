"""Plan runs in the worker: claim, heartbeat, and the end of runs whose worker died.

A plan run is a `PlanRun` row with status "running", written by the page (one per day: a partial unique
index). The worker's `plan_run` job claims it (`claimed_at`, a conditional UPDATE: a redelivered message
finds it claimed and does nothing), beats `heartbeat_at` every DISPATCH_HEARTBEAT_S seconds from a side
thread while the optimiser works, and commits the tours and the finished run in one transaction, or marks
the run failed.

A run counts as stale (its worker died: SIGKILL, power, OOM) when its last heartbeat is older than
DISPATCH_HEARTBEAT_TIMEOUT_S, or when no worker claimed it within DISPATCH_CLAIM_TIMEOUT_S (is
`mailroom worker` running?). Stale runs are marked failed by the worker's minute sweep, by
`mailroom check --repair`, and before a new plan of the same day is started, so the day can be planned again.
"""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update

from mailroom.errors import DomainError
from mailroom.extensions import db
from mailroom.models import PlanRun
from mailroom.services.clock import now_utc

DEFAULT_HEARTBEAT_S = 5.0
DEFAULT_HEARTBEAT_TIMEOUT_S = 20.0
DEFAULT_CLAIM_TIMEOUT_S = 120.0
STALE_MESSAGE = "Die Planung wurde unterbrochen (der Worker hat sich nicht mehr gemeldet). Bitte erneut planen."
UNCLAIMED_MESSAGE = (
    "Kein Worker hat die Planung übernommen. Läuft `mailroom worker`? Bitte erneut planen, wenn er läuft."
)
RUNNING = "running"


def _seconds(name: str, default: float) -> timedelta:
    return timedelta(seconds=float(current_app.config.get(name, default)))


def _stale_condition(now: datetime):
    heartbeat_cutoff = now - _seconds("DISPATCH_HEARTBEAT_TIMEOUT_S", DEFAULT_HEARTBEAT_TIMEOUT_S)
    claim_cutoff = now - _seconds("DISPATCH_CLAIM_TIMEOUT_S", DEFAULT_CLAIM_TIMEOUT_S)
    return and_(
        PlanRun.status == RUNNING,
        or_(
            and_(PlanRun.heartbeat_at.is_not(None), PlanRun.heartbeat_at < heartbeat_cutoff),
            and_(PlanRun.heartbeat_at.is_(None), PlanRun.created_at < claim_cutoff),
        ),
    )


def is_stale(run: PlanRun, now: datetime | None = None) -> bool:
    if run.status != RUNNING:
        return False
    now = now or now_utc()
    if run.heartbeat_at is not None:
        return run.heartbeat_at < now - _seconds("DISPATCH_HEARTBEAT_TIMEOUT_S", DEFAULT_HEARTBEAT_TIMEOUT_S)
    return run.created_at < now - _seconds("DISPATCH_CLAIM_TIMEOUT_S", DEFAULT_CLAIM_TIMEOUT_S)


def stale_runs(day: date | None = None) -> list[PlanRun]:
    query = select(PlanRun).where(_stale_condition(now_utc())).order_by(PlanRun.id)
    if day is not None:
        query = query.where(PlanRun.service_date == day)
    return list(db.session.scalars(query))


def fail_run(run_id: int, message: str) -> bool:
    """Mark a running run failed (flushes); False when it had already ended."""
    result = db.session.execute(
        update(PlanRun)
        .where(PlanRun.id == run_id, PlanRun.status == RUNNING)
        .values(status="failed", error=message[:500], finished_at=now_utc())
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount == 1


def fail_stale_runs(day: date | None = None) -> int:
    """Mark every stale run (of `day`) failed; flushes, the caller commits. Returns how many."""
    failed = 0
    for run in stale_runs(day):
        message = STALE_MESSAGE if run.heartbeat_at is not None else UNCLAIMED_MESSAGE
        # The same condition again in the UPDATE: a heartbeat that came in meanwhile keeps the run alive.
        result = db.session.execute(
            update(PlanRun)
            .where(PlanRun.id == run.id, _stale_condition(now_utc()))
            .values(status="failed", error=message, finished_at=now_utc())
            .execution_options(synchronize_session="fetch")
        )
        failed += result.rowcount
    return failed


def claim(run_id: int) -> bool:
    """Take a recorded run for this worker (commits). False: unknown, already claimed or already ended."""
    now = now_utc()
    result = db.session.execute(
        update(PlanRun)
        .where(PlanRun.id == run_id, PlanRun.status == RUNNING, PlanRun.claimed_at.is_(None))
        .values(claimed_at=now, heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


class Heartbeat:
    """Beats `heartbeat_at` of one run from a side thread on its own connection, until stopped."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.app = current_app._get_current_object()  # type: ignore[attr-defined]
        self.interval = float(self.app.config.get("DISPATCH_HEARTBEAT_S", DEFAULT_HEARTBEAT_S))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"plan-heartbeat-{run_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)

    def _beat(self) -> None:
        with self.app.app_context():
            while not self._stop.wait(self.interval):
                try:
                    with db.engine.begin() as connection:
                        connection.execute(
                            update(PlanRun)
                            .where(PlanRun.id == self.run_id, PlanRun.status == RUNNING)
                            .values(heartbeat_at=now_utc())
                        )
                except Exception:  # a missed beat is not fatal; the timeout allows several
                    self.app.logger.warning("heartbeat of plan run %s failed", self.run_id, exc_info=True)


def work_on_run(run_id: int, drivers: dict[int, int | None] | None = None) -> str:
    """The worker's job body: claim the run, plan its day with a heartbeat, commit; or mark it failed.
    Returns the run's final status ("done", "failed") or "skipped" when it was not ours to run."""
    from mailroom.services import dispatch

    if not claim(run_id):
        db.session.rollback()
        return "skipped"
    try:
        with Heartbeat(run_id):
            dispatch.execute_plan_run(run_id, drivers=drivers)
            db.session.commit()
        return "done"
    except DomainError as exc:
        db.session.rollback()
        fail_run(run_id, exc.message)
        db.session.commit()
    except Exception:
        db.session.rollback()
        current_app.logger.exception("plan run %s failed", run_id)
        fail_run(run_id, "Interner Fehler beim Planen. Bitte erneut planen.")
        db.session.commit()
    return "failed"

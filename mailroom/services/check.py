"""`mailroom check [--repair] [--json]`: the instance's health, and repairs of what a crash can leave behind.

Findings:
- orphan_file: a scan file (content scan, signature, envelope upload) that no row names, e.g. written by a
  request killed before its commit. Repair: delete the file.
- missing_file: a row naming a file that is not there. Repair: the row stops naming it (the envelope or
  signature reference is cleared; a content scan row is marked purged), so pages no longer offer a download
  that cannot work. The chain of custody is never touched.
- temp_file: a `.tmp-*` file of an interrupted atomic write. Repair: delete it.
- stale_plan_run: a plan run still "running" whose worker stopped sending heartbeats. Repair: mark it failed
  (the day can be planned again).
- unsent_outbox: an e-mail not sent long after it was due, or given up. Repair: queue it for another try.

Files younger than CHECK_GRACE_S (default 10 minutes) are left alone: a running upload writes its file just
before its commit. With the server stopped, `MAILROOM_CHECK_GRACE_S=0` checks everything.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from mailroom.extensions import db
from mailroom.models import ContentScan, HandoverProof, MailItem, OutboxStatus
from mailroom.services import storage
from mailroom.services.clock import now_utc

DEFAULT_GRACE_S = 600.0
OUTBOX_OVERDUE = timedelta(minutes=10)


@dataclass
class Finding:
    kind: str  # orphan_file | missing_file | temp_file | stale_plan_run | unsent_outbox
    subject: str  # a path below the scan folder, or "plan_run 12", "outbox 7"
    detail: str  # German, for the report
    repaired: bool = False


@dataclass
class CheckReport:
    files_checked: int = 0
    rows_checked: int = 0
    findings: list[Finding] = field(default_factory=list)
    repaired: bool = False

    @property
    def ok(self) -> bool:
        return not [f for f in self.findings if not f.repaired]

    def counts(self) -> dict[str, int]:
        result: dict[str, int] = {}
        for finding in self.findings:
            result[finding.kind] = result.get(finding.kind, 0) + 1
        return result

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "repair": self.repaired,
            "files_checked": self.files_checked,
            "rows_checked": self.rows_checked,
            "counts": self.counts(),
            "findings": [asdict(f) for f in self.findings],
        }


def _scan_root() -> Path:
    return storage.path_for("content", "0" * 64).parents[2]  # <SCAN_DIR>/content/00/<sha>


def _stored_files() -> Iterator[tuple[str, Path]]:
    root = _scan_root()
    for kind in sorted(storage.KINDS):
        base = root / kind
        if base.is_dir():
            for path in sorted(base.rglob("*")):
                if path.is_file():
                    yield kind, path


def _referenced() -> tuple[dict[tuple[str, str], list[tuple[str, object]]], int]:
    """(kind, sha256) -> the rows naming that file: [(row type, row id)]; and the number of rows."""
    refs: dict[tuple[str, str], list[tuple[str, object]]] = {}
    rows = 0
    for scan_id, sha in db.session.execute(
        select(ContentScan.id, ContentScan.sha256).where(ContentScan.purged_at.is_(None))
    ):
        refs.setdefault(("content", sha), []).append(("content_scan", scan_id))
        rows += 1
    for proof_id, sha in db.session.execute(
        select(HandoverProof.id, HandoverProof.signature_sha256).where(HandoverProof.signature_sha256.is_not(None))
    ):
        refs.setdefault(("signatures", sha), []).append(("handover_proof", proof_id))
        rows += 1
    for item_id, sha in db.session.execute(
        select(MailItem.id, MailItem.envelope_sha256).where(MailItem.envelope_sha256.is_not(None))
    ):
        refs.setdefault(("uploads", sha), []).append(("mail_item", item_id))
        rows += 1
    return refs, rows


def run_check(*, repair: bool) -> CheckReport:
    """Check (and with `repair` fix) the instance. Repairs of rows are flushed; the caller commits."""
    report = CheckReport(repaired=repair)
    grace = float(current_app.config.get("CHECK_GRACE_S", DEFAULT_GRACE_S))
    young_after = now_utc().timestamp() - grace
    root = _scan_root()
    refs, report.rows_checked = _referenced()
    present: set[tuple[str, str]] = set()
    for kind, path in _stored_files():
        report.files_checked += 1
        relative = str(path.relative_to(root))
        if path.name.startswith(".tmp-"):
            if path.stat().st_mtime <= young_after:
                report.findings.append(Finding("temp_file", relative, "Rest eines abgebrochenen Schreibvorgangs"))
                if repair:
                    path.unlink(missing_ok=True)
                    report.findings[-1].repaired = True
            continue
        sha = path.name.split(".", 1)[0]
        present.add((kind, sha))
        if (kind, sha) in refs or path.stat().st_mtime > young_after:
            continue
        report.findings.append(Finding("orphan_file", relative, "Datei ohne zugehörigen Datensatz"))
        if repair:
            path.unlink(missing_ok=True)
            report.findings[-1].repaired = True
    for (kind, sha), owners in sorted(refs.items()):
        if (kind, sha) in present:
            continue
        for row_type, row_id in owners:
            finding = Finding("missing_file", f"{row_type} {row_id}", f"Datei {kind}/{sha[:2]}/{sha} fehlt")
            report.findings.append(finding)
            if repair:
                _forget_missing_file(row_type, int(row_id))
                finding.repaired = True
    _check_plan_runs(report, repair)
    _check_outbox(report, repair)
    if repair:
        db.session.flush()
    return report


def _forget_missing_file(row_type: str, row_id: int) -> None:
    if row_type == "mail_item":
        item = db.session.get(MailItem, row_id)
        item.envelope_sha256 = None
        item.envelope_media_type = None
    elif row_type == "handover_proof":
        db.session.get(HandoverProof, row_id).signature_sha256 = None
    else:
        db.session.get(ContentScan, row_id).purged_at = now_utc()


def _check_plan_runs(report: CheckReport, repair: bool) -> None:
    from mailroom.services import plan_jobs

    for run in plan_jobs.stale_runs():
        finding = Finding("stale_plan_run", f"plan_run {run.id}", f"Planung für {run.service_date:%d.%m.%Y} hängt")
        report.findings.append(finding)
        if repair:
            plan_jobs.fail_run(run.id, plan_jobs.STALE_MESSAGE)
            finding.repaired = True


def _check_outbox(report: CheckReport, repair: bool) -> None:
    from mailroom.services import outbox

    overdue = now_utc() - OUTBOX_OVERDUE
    for row in outbox.unsent():
        if row.status == OutboxStatus.PENDING and row.next_attempt_at > overdue:
            continue  # due soon or just now: the worker's business
        state = "aufgegeben" if row.status == OutboxStatus.FAILED else "überfällig"
        detail = f"E-Mail an {row.org_unit_short or row.recipient} {state} ({row.attempts} Versuche)"
        finding = Finding("unsent_outbox", f"outbox {row.id}", detail)
        report.findings.append(finding)
        if repair:
            outbox.retry(row.id)
            finding.repaired = True

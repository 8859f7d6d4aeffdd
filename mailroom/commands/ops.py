"""Operations: `mailroom worker`, `mailroom backup FILE`, `mailroom restore FILE [--force]`,
`mailroom check [--repair] [--json]`."""

from __future__ import annotations

import json
import sys

import click
from flask import Flask, current_app
from flask.cli import with_appcontext


def register(app: Flask) -> None:
    app.cli.add_command(worker_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(check_command)


@click.command("worker")
@click.option("--threads", type=int, default=None, help="Parallel jobs (default: WORKER_THREADS, 2).")
@with_appcontext
def worker_command(threads: int | None) -> None:
    """Run the job worker: tour planning, e-mail outbox, upload decoding, nightly retention purge."""
    from mailroom import worker

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if worker.huey.immediate:
        raise click.ClickException("QUEUE_IMMEDIATE ist gesetzt: Aufträge laufen sofort, ein Worker ist unnötig.")
    count = threads or int(app.config.get("WORKER_THREADS", 2))
    click.echo(f"mailroom-Worker: {count} Threads, Warteschlange {worker.describe_queue(app)} (Strg+C beendet)")
    sys.stdout.flush()
    worker.run_consumer(count)


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@click.option("--json", "as_json", is_flag=True, help="Summary as JSON.")
@with_appcontext
def backup_command(file: str, as_json: bool) -> None:
    """Write a consistent backup (database + scans) to FILE while the app keeps running."""
    from mailroom.errors import DomainError
    from mailroom.services import backup

    try:
        summary = backup.create_backup(file)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    if as_json:
        click.echo(json.dumps(summary.to_json(), indent=2))
        return
    rows = sum(summary.tables.values())
    click.echo(
        f"Backup geschrieben: {summary.path} ({summary.database}, {rows} Zeilen in {len(summary.tables)} Tabellen, "
        f"{summary.files} Scan-Dateien, {summary.bytes / 1e6:.1f} MB)"
    )


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Also into a non-empty instance: replaces its database and scans.")
@click.option("--json", "as_json", is_flag=True, help="Summary as JSON.")
@with_appcontext
def restore_command(file: str, force: bool, as_json: bool) -> None:
    """Restore a backup FILE into an empty instance (a non-empty one only with --force)."""
    from mailroom.errors import DomainError
    from mailroom.services import backup

    try:
        summary = backup.restore_backup(file, force=force)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    if as_json:
        click.echo(json.dumps(summary.to_json(), indent=2))
        return
    rows = sum(summary.tables.values())
    click.echo(f"Wiederhergestellt: {rows} Zeilen, {summary.files} Scan-Dateien aus {summary.path}")


@click.command("check")
@click.option("--repair", is_flag=True, help="Repair what is found (orphans, stale runs, unsent mail).")
@click.option("--json", "as_json", is_flag=True, help="Report as JSON.")
@with_appcontext
def check_command(repair: bool, as_json: bool) -> None:
    """Report (and with --repair fix) orphaned scan files, rows without files, stale plan runs, unsent mail.
    Exit status 1 when something remains unrepaired."""
    from mailroom.extensions import db
    from mailroom.services import check

    try:
        report = check.run_check(repair=repair)
        if repair:
            db.session.commit()
        else:
            db.session.rollback()
    except Exception:
        db.session.rollback()
        raise
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        click.echo(f"Geprüft: {report.files_checked} Dateien, {report.rows_checked} Datensätze mit Datei.")
        for finding in report.findings:
            mark = "repariert" if finding.repaired else "offen"
            click.echo(f"  [{mark}] {finding.kind}: {finding.subject} – {finding.detail}")
        click.echo("Alles in Ordnung." if report.ok else f"{len(report.findings)} Befunde.")
    if not report.ok:
        sys.exit(1)


# --- `mailroom serve --with-worker`: one command for web server and worker ------------------------------

WORKER_STOP_TIMEOUT_S = 30.0
WORKER_RESTART_DELAY_S = 2.0


def _worker_command() -> list[str]:
    # The same interpreter and package as this process; argv[0] for click's usage lines.
    code = "import sys; sys.argv[0] = 'mailroom'; from mailroom.cli import main; main()"
    return [sys.executable, "-c", code, "worker"]


def supervise_with_worker(serve) -> None:
    """Run `serve()` (blocks until Ctrl+C or SIGTERM) with a `mailroom worker` child process beside it.

    The worker is restarted if it dies; when the server stops, the worker gets SIGTERM (Huey finishes its
    running jobs) and SIGKILL only if it has not ended after WORKER_STOP_TIMEOUT_S."""
    import signal
    import subprocess
    import threading

    stopping = threading.Event()
    state: dict[str, subprocess.Popen] = {}

    def start() -> None:
        state["child"] = subprocess.Popen(_worker_command())  # noqa: S603

    def watch() -> None:
        while not stopping.is_set():
            child = state["child"]
            code = child.wait()
            if stopping.is_set():
                return
            click.echo(f"Worker beendet (Status {code}); Neustart in {WORKER_RESTART_DELAY_S:.0f} s.", err=True)
            if stopping.wait(WORKER_RESTART_DELAY_S):
                return
            start()

    def on_term(_signum, _frame) -> None:
        raise KeyboardInterrupt  # waitress stops its loop on KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    start()
    watcher = threading.Thread(target=watch, name="worker-watch", daemon=True)
    watcher.start()
    try:
        serve()
    except KeyboardInterrupt:
        pass
    finally:
        stopping.set()
        signal.signal(signal.SIGTERM, previous)
        child = state["child"]
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=WORKER_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        click.echo("Webserver und Worker beendet.")

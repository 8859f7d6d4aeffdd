"""`mailroom purge --dry-run | --apply`: delete personal data whose retention period has passed."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext


def register(app: Flask) -> None:
    app.cli.add_command(purge_command)


@click.command("purge")
@click.option("--dry-run", "dry_run", is_flag=True, help="Nur anzeigen, was gelöscht würde; nichts ändern.")
@click.option("--apply", "apply", is_flag=True, help="Löschen (eine Transaktion; Dateien nach dem Commit).")
@click.option("--verbose", "-v", is_flag=True, help="Jedes betroffene Objekt einzeln auflisten.")
@with_appcontext
def purge_command(dry_run: bool, apply: bool, verbose: bool) -> None:
    """Delete expired personal data (retention periods from RETENTION_DAYS) and log each deletion."""
    from mailroom.errors import DomainError
    from mailroom.extensions import db
    from mailroom.services import retention

    if dry_run == apply:
        raise click.UsageError("Bitte genau eine der Optionen --dry-run oder --apply angeben.")
    try:
        plan = retention.plan_purge()
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc

    days = retention.retention_days()
    heading = "Probelauf (es wird nichts geändert)" if dry_run else "Löschlauf"
    click.echo(f"{heading}, Stand {plan.now:%Y-%m-%d %H:%M} UTC")
    for category, count in plan.counts().items():
        label = retention.CATEGORY_LABELS[category]
        verb = "würden gelöscht" if dry_run else "gelöscht"
        click.echo(f"  {label} (älter als {days[category]} Tage): {count} {verb}")
    if verbose or dry_run:
        for candidate in plan.candidates:
            click.echo(f"    {candidate.category}: {candidate.object_type} #{candidate.object_id} ({candidate.detail})")

    if dry_run:
        db.session.rollback()
        click.echo(f"Insgesamt {len(plan)} Objekte fällig. Zum Löschen: mailroom purge --apply")
        return

    try:
        files = retention.apply_purge(plan)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    failures = retention.delete_files(files)
    removed = len(files) - len(failures)
    click.echo(f"Insgesamt {len(plan)} Objekte gelöscht und protokolliert, {removed} Dateien entfernt.")
    if failures:
        for failure in failures:
            click.echo(f"  Datei konnte nicht gelöscht werden: {failure.file.describe()} ({failure.error})", err=True)
        raise click.ClickException(
            f"{len(failures)} Datei(en) konnten nicht gelöscht werden; bitte von Hand entfernen (siehe oben)."
        )

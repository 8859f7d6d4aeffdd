"""`mailroom import KIND FILE.csv [--dry-run]` and `mailroom export KIND`: master data as CSV.

Exit 0 prints what was created, updated and left unchanged; exit 2 prints every error with its line
number and stores nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

KIND_NAMES = ("sites", "org-units", "vans", "stop-templates")


def register(app: Flask) -> None:
    app.cli.add_command(import_command)
    app.cli.add_command(export_command)


@click.command("import")
@click.argument("kind", type=click.Choice(KIND_NAMES))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Nur prüfen und zeigen, was sich ändern würde; nichts speichern.")
@with_appcontext
def import_command(kind: str, file: Path, dry_run: bool) -> None:
    """Import sites, org units, vans or stop templates from a CSV file (all or nothing)."""
    from mailroom.extensions import db
    from mailroom.services import masterdata
    from mailroom.services.masterdata.common import MAX_BYTES

    if file.stat().st_size > MAX_BYTES:
        click.echo(f"Zeile 1: Die Datei ist größer als {MAX_BYTES // (1024 * 1024)} MB. Nichts gespeichert.", err=True)
        sys.exit(2)
    try:
        report = masterdata.import_csv(kind, file.read_bytes(), apply=not dry_run)
    except masterdata.ImportFailed as exc:
        db.session.rollback()
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(exc.problems)} Fehler in {file.name}: nichts gespeichert.", err=True)
        sys.exit(2)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    for warning in report.warnings:
        click.echo(f"Hinweis {warning}", err=True)
    label = masterdata.kind_of(kind).label
    prefix = "Probelauf (nichts gespeichert): " if dry_run else ""
    click.echo(f"{prefix}{label}: {report.summary}.")
    for title, keys in (("angelegt", report.created), ("geändert", report.updated), ("unverändert", report.unchanged)):
        click.echo(
            f"  {title}: {len(keys)}" + (f" ({', '.join(keys[:20])}{' …' if len(keys) > 20 else ''})" if keys else "")
        )
    for key in report.updated[:50]:
        click.echo(f"    {key}: " + "; ".join(report.changes.get(key, [])))


@click.command("export")
@click.argument("kind", type=click.Choice(KIND_NAMES))
@with_appcontext
def export_command(kind: str) -> None:
    """Write sites, org units, vans or stop templates as CSV to stdout (UTF-8 with BOM, `;`)."""
    from mailroom.services import masterdata

    data = masterdata.export_csv(kind)
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()

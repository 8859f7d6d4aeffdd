"""`mailroom dispatch plan|sheets`: plan a day's tours and print its route sheets from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from mailroom.commands.options import day_option


def register(app: Flask) -> None:
    app.cli.add_command(dispatch_group)


@click.group("dispatch")
def dispatch_group() -> None:
    """Daily dispatch: tours of the electric vans."""


@dispatch_group.command("plan")
@click.option("--date", "day", required=True, callback=day_option, help="Tag der Touren (JJJJ-MM-TT).")
@click.option("--json", "as_json", is_flag=True, help="Ergebnis als JSON ausgeben.")
@click.option("--time-limit", type=click.FloatRange(0.1, 600), default=None, help="Rechenzeit in Sekunden.")
@click.option("--return-by", default=None, metavar="HH:MM", help="Rückkehr spätestens (Standard: Schichtende).")
@with_appcontext
def plan_command(day, as_json: bool, time_limit: float | None, return_by: str | None) -> None:
    """Plan (or re-plan) the day's tours from the database and print them."""
    from mailroom.errors import DomainError
    from mailroom.extensions import db
    from mailroom.services import dispatch

    try:
        run = dispatch.plan_day(day, time_limit_s=time_limit, return_by=return_by)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    summary = dispatch.plan_summary(day)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
        return
    click.echo(f"Touren für {dispatch.day_label(day)} ({run.total_km:.1f} km, {run.solve_time_s:.1f} s Rechenzeit)")
    for tour in summary["tours"]:
        click.echo(f"  {tour['vehicle']}: {len(tour['stops'])} Stopps, {tour['km']:.1f} km")
        click.echo("    " + " → ".join(tour["stops"]))
    for u in run.unserved or []:
        click.echo(f"  Nicht bedienbar: {u['site']} ({dispatch.reason_label(u['reason'])})")


@dispatch_group.command("sheets")
@click.option("--date", "day", required=True, callback=day_option, help="Tag der Touren (JJJJ-MM-TT).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="PDF-Datei.")
@with_appcontext
def sheets_command(day, out: Path) -> None:
    """Write all route sheets of the day into one PDF (written atomically)."""
    from mailroom.errors import DomainError
    from mailroom.services import printing, storage

    try:
        pdf = printing.route_sheets_pdf(day)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    try:
        storage.write_atomically(out, pdf)
    except OSError as exc:
        raise click.ClickException(f"Die Datei {out} konnte nicht geschrieben werden: {exc.strerror}") from exc
    click.echo(f"Laufzettel für {day:%d.%m.%Y} geschrieben: {out} ({len(pdf) // 1024} KB)")

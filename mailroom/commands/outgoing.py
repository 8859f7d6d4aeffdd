"""`mailroom outgoing import|report|seed-tariffs`: franking-machine logs and postage reports on the command line.

Contracts (other tools depend on them):
- `import FILE --json` prints {"file", "lines", "pieces", "postage_cents", "warnings"} and exits 0; on any
  error nothing is stored, it prints {"errors": [{"line", "message"}]} and exits 2 (line 0: the whole file).
- `report --month YYYY-MM --json` prints {"month", "pieces", "postage_cents", "cost_centres": [...]}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

EXIT_REFUSED = 2


def register(app: Flask) -> None:
    app.cli.add_command(outgoing_group)


def _print_json(payload: dict) -> None:
    click.echo(json.dumps(payload, ensure_ascii=False))


@click.group("outgoing")
def outgoing_group() -> None:
    """Outgoing mail (Postausgang): franking-machine import, postage reports, tariffs."""


@outgoing_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Ergebnis als JSON ausgeben.")
@click.option("--mapping", default=None, help="Name einer Spaltenzuordnung (Standard: unser Format).")
@with_appcontext
def import_command(file: Path, as_json: bool, mapping: str | None) -> None:
    """Import a franking-machine log (all lines or none)."""
    from mailroom.extensions import db
    from mailroom.services.outgoing.catalogue import format_eur
    from mailroom.services.outgoing.importer import ImportFailed, import_file

    try:
        result = import_file(file.read_bytes(), file.name, mapping_name=mapping)
        db.session.commit()
    except ImportFailed as exc:
        db.session.rollback()
        if as_json:
            _print_json({"errors": exc.errors})
        else:
            for error in exc.errors:
                click.echo(error["message"], err=True)
            click.echo("Nichts gespeichert.", err=True)
        sys.exit(EXIT_REFUSED)
    if as_json:
        _print_json(result.as_json())
        return
    click.echo(
        f"{result.file}: {result.lines} Zeilen, {result.pieces} Stück, {format_eur(result.postage_cents)} gebucht."
    )
    for warning in result.warnings:
        click.echo(f"Hinweis: {warning}")


@outgoing_group.command("report")
@click.option("--month", required=True, metavar="YYYY-MM", help="Monat des Berichts.")
@click.option("--json", "as_json", is_flag=True, help="Ergebnis als JSON ausgeben.")
@with_appcontext
def report_command(month: str, as_json: bool) -> None:
    """Pieces and postage of one month per cost centre (franking, imports, tracked items, parcels)."""
    from mailroom.errors import DomainError
    from mailroom.services.clock import local_today
    from mailroom.services.outgoing.catalogue import format_eur
    from mailroom.services.outgoing.reports import month_report, parse_month

    try:
        start = parse_month(month, local_today())
    except DomainError as exc:
        if as_json:
            _print_json({"errors": [{"line": 0, "message": exc.message}]})
            sys.exit(EXIT_REFUSED)
        raise click.BadParameter(exc.message, param_hint="--month") from exc
    report = month_report(start)
    if as_json:
        _print_json(report.as_json())
        return
    click.echo(f"Porto {report.label}: {report.pieces} Stück, {format_eur(report.postage_cents)}")
    for row in report.cost_centres:
        click.echo(f"  {row.key:<10} {row.pieces:>9} Stück {format_eur(row.postage_cents):>14}  {row.label}")


@outgoing_group.command("seed-tariffs")
@with_appcontext
def seed_tariffs_command() -> None:
    """Create the standard products and price lists (Deutsche Post 2022 and 2025, DHL) where missing."""
    from mailroom.extensions import db
    from mailroom.services.outgoing.catalogue import seed_default_tariffs

    added = seed_default_tariffs()
    db.session.commit()
    click.echo(f"{added} Produkte und Preise angelegt.")

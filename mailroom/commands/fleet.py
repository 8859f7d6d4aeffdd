"""`mailroom fleet report|export|rebuild-days`: the fleet report as JSON or text, a van's logbook for a tax audit,
and the per-van, per-day figures made again."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from mailroom.commands.options import day_option


def register(app: Flask) -> None:
    app.cli.add_command(fleet_group)


@click.group("fleet")
def fleet_group() -> None:
    """Fleet: reports on km, energy and CO2; the logbook for a tax audit."""


@fleet_group.command("report")
@click.option("--from", "first", required=True, callback=day_option, help="Erster Tag (JJJJ-MM-TT).")
@click.option("--to", "last", required=True, callback=day_option, help="Letzter Tag (JJJJ-MM-TT).")
@click.option("--json", "as_json", is_flag=True, help="Ergebnis als JSON ausgeben.")
@with_appcontext
def report_command(first, last, as_json: bool) -> None:
    """km driven (effective logbook) and planned, tours, kWh, kWh/100 km and CO2 per van."""
    from mailroom.errors import DomainError
    from mailroom.services import fleet

    try:
        report = fleet.build_report(first, last, grain="month", vehicles=fleet.vehicles(), details=False)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    data = fleet.report_json(report)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    click.echo(report.title)
    for row in data["vehicles"]:
        click.echo(
            f"  {row['vehicle']}: {fleet.format_km(row['km_driven'])} km gefahren, "
            f"{fleet.format_km(row['km_planned'])} km geplant, {row['tours']} Touren, "
            f"{fleet.format_km(row['kwh'])} kWh, {fleet.format_km(row['kwh_per_100km'])} kWh/100 km, "
            f"{fleet.format_km(row['co2_kg'])} kg CO₂"
        )


@fleet_group.command("export")
@click.option("--vehicle", "code", required=True, help="Fahrzeugkürzel, z. B. E1.")
@click.option("--from", "first", required=True, callback=day_option, help="Erster Tag (JJJJ-MM-TT).")
@click.option("--to", "last", required=True, callback=day_option, help="Letzter Tag (JJJJ-MM-TT).")
@click.option("--format", "fmt", required=True, type=click.Choice(["csv", "pdf"]), help="Dateiformat.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Zieldatei.")
@with_appcontext
def export_command(code: str, first, last, fmt: str, out: Path) -> None:
    """A van's logbook for a period, every entry and every correction (for a tax audit)."""
    from mailroom.errors import DomainError
    from mailroom.services import fleet

    try:
        vehicle = fleet.vehicle_by_code(code)
        fleet.check_range(first, last)
        data = fleet.logbook_csv([vehicle], first, last) if fmt == "csv" else fleet.logbook_pdf(vehicle, first, last)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(out)
    click.echo(f"Fahrtenbuch {vehicle.code} {first:%d.%m.%Y} – {last:%d.%m.%Y} geschrieben: {out}")


@fleet_group.command("rebuild-days")
@with_appcontext
def rebuild_days_command() -> None:
    """Make the per-van, per-day report figures (van_days) again from the logbook, the tours and the charging
    log: after rows were written past the app (a bulk import, a restore of single tables)."""
    from mailroom.extensions import db
    from mailroom.services import fleet

    rows = fleet.rebuild_van_days(db.session)
    db.session.commit()
    click.echo(f"Tageswerte der Fahrzeuge neu berechnet: {rows} Zeilen.")

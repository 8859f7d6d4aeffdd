"""Vans: the basic fields an administration enters (code, name, plate, capacity, rated range, battery,
consumption, winter factor, in service). Workshop periods and commissioning live on the fleet pages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from mailroom.errors import ValidationFailed
from mailroom.extensions import db
from mailroom.models import Vehicle
from mailroom.services import fleet
from mailroom.services.csvio import CsvTable
from mailroom.services.masterdata.common import (
    CellError,
    Column,
    ImportReport,
    Problem,
    check_duplicates,
    check_header,
    code,
    decimal,
    fmt_number,
    fmt_yes_no,
    integer,
    merge_rows,
    parse_row,
    text,
    yes_no,
)

COLUMNS: tuple[Column, ...] = (
    Column("code", "code", code(16), label="Kürzel"),
    Column("name", "name", text(80), label="Name"),
    Column("plate", "plate", text(16), blank="", label="Kennzeichen"),
    Column("capacity_boxes", "capacity_boxes", integer(1, 500, " Kisten"), export=fmt_number, label="Kapazität"),
    Column("range_km", "battery_range_km", decimal(1, 1000, " km"), export=fmt_number, label="Reichweite"),
    Column("battery_kwh", "battery_kwh", decimal(1, 300, " kWh"), export=fmt_number, label="Batterie"),
    Column(
        "consumption_kwh_per_100km",
        "kwh_per_100km",
        decimal(5, 80, " kWh/100 km"),
        export=fmt_number,
        label="Verbrauch",
    ),
    Column("winter_factor", "winter_factor", decimal(0.3, 1.0), export=fmt_number, label="Winterfaktor"),
    Column("active", "active", yes_no, required=False, blank=True, export=fmt_yes_no, label="Im Einsatz"),
)
LABELS = {c.attr: c.label for c in COLUMNS}


def list_vans() -> list[Vehicle]:
    """In service first, by code as people count (E1, E2, E10), as on the fleet pages."""
    return fleet.vehicles()


def import_table(table: CsvTable, problems: list[Problem], *, apply: bool) -> ImportReport:
    report = ImportReport("vans")
    present = check_header(table, COLUMNS, problems)
    if problems:
        return report
    rows = [parse_row(row, present, problems) for row in table.rows]
    check_duplicates(rows, lambda r: r.values.get("code"), lambda c: f"Der Code „{c}“", problems)
    if problems:
        return report
    existing = {v.code: v for v in db.session.scalars(select(Vehicle))}
    merge_rows(
        report,
        rows,
        existing,
        "code",
        LABELS,
        apply=apply,
        create=lambda values: db.session.add(Vehicle(**{"active": True, **values})),
    )
    if apply:
        db.session.flush()
    return report


def export_rows() -> tuple[list[str], list[list[object]]]:
    vans = list(db.session.scalars(select(Vehicle).order_by(Vehicle.id)))
    return [c.name for c in COLUMNS], [[c.export(getattr(v, c.attr)) for c in COLUMNS] for v in vans]


def save_van(van: Vehicle | None, values: dict[str, Any]) -> Vehicle:
    """Create (van None) or update a van's basic fields from form values (numbers already typed)."""
    values = {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}
    problems: list[Problem] = []
    for column in COLUMNS:
        value = values.get(column.attr)
        if column.attr in ("code", "name") and not value:
            problems.append(Problem(0, f"{column.label} fehlt"))
            continue
        if value is None and column.attr not in ("active", "plate"):
            problems.append(Problem(0, f"{column.label} fehlt"))
            continue
        if isinstance(value, bool) or value is None:
            continue
        try:
            # Numbers from the form are checked with the same ranges as in a CSV file.
            values[column.attr] = column.parse(value if isinstance(value, str) else fmt_number(value))
        except CellError as exc:
            problems.append(Problem(0, f"{column.label}: {exc}"))
    other = db.session.scalar(select(Vehicle).where(Vehicle.code == values.get("code")))
    if other is not None and other is not van:
        problems.append(Problem(0, f"Das Kürzel „{values['code']}“ ist schon vergeben ({other.name})"))
    if problems:
        message = problems[0].message
        raise ValidationFailed(message[:1].upper() + message[1:] + ".")
    if van is None:
        van = Vehicle(active=True)
        db.session.add(van)
    for attr, value in values.items():
        setattr(van, attr, value)
    db.session.flush()
    return van

"""Org units (Fachdienste): code, name, cost centre, the site they sit at, the e-mail address for
notifications, and whether their mail is passed on unopened (do-not-open rule)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from mailroom.errors import ValidationFailed
from mailroom.extensions import db
from mailroom.models import OrgUnit, Site
from mailroom.services.csvio import CsvTable
from mailroom.services.masterdata.common import (
    CellError,
    Column,
    ImportReport,
    Problem,
    check_duplicates,
    check_header,
    code,
    email,
    fmt_yes_no,
    merge_rows,
    parse_row,
    text,
    yes_no,
)
from mailroom.services.masterdata.sites import sites_by_code


def _cost_centre(value: str) -> str:
    if not value.isdigit() or len(value) > 16:
        raise CellError(f"„{value[:20]}“: die Kostenstelle besteht aus bis zu 16 Ziffern")
    return value


def _site_code(site: Site | None) -> str:
    return site.code if site is not None else ""


COLUMNS: tuple[Column, ...] = (
    Column("code", "short_name", code(32), label="Kürzel"),
    Column("name", "name", text(160), label="Name"),
    Column("cost_centre", "cost_centre", _cost_centre, label="Kostenstelle"),
    Column("site", "site_code", code(16), label="Standort"),
    Column("email", "email", email, blank=None, export=lambda v: v or "", label="E-Mail"),
    Column("room", "room", text(32), required=False, blank="", label="Raum"),
    Column(
        "do_not_open",
        "do_not_open",
        yes_no,
        required=False,
        blank=False,
        export=fmt_yes_no,
        label="Post ungeöffnet weitergeben",
    ),
    Column("active", "active", yes_no, required=False, blank=True, export=fmt_yes_no, label="Aktiv"),
)
LABELS = {c.attr: c.label for c in COLUMNS} | {"site_id": "Standort"}


def list_org_units() -> list[OrgUnit]:
    return list(db.session.scalars(select(OrgUnit).order_by(OrgUnit.active.desc(), OrgUnit.short_name)))


def _resolve_site(values: dict[str, Any], sites: dict[str, Site], line: int, problems: list[Problem],
                  warnings: list[Problem]) -> None:  # fmt: skip
    site_code = values.pop("site_code", None)
    if site_code is None:
        return
    site = sites.get(site_code)
    if site is None:
        problems.append(
            Problem(line, f"Standort „{site_code}“ gibt es nicht (erst die Standorte anlegen oder einlesen)")
        )
        return
    if not site.active:
        warnings.append(Problem(line, f"Standort „{site_code}“ ist deaktiviert"))
    values["site_id"] = site.id


def import_table(table: CsvTable, problems: list[Problem], *, apply: bool) -> ImportReport:
    report = ImportReport("org-units")
    present = check_header(table, COLUMNS, problems)
    if problems:
        return report
    rows = [parse_row(row, present, problems) for row in table.rows]
    check_duplicates(rows, lambda r: r.values.get("short_name"), lambda c: f"Der Code „{c}“", problems)
    sites = sites_by_code()
    for row in rows:
        _resolve_site(row.values, sites, row.line, problems, report.warnings)
    if problems:
        return report
    existing = {u.short_name: u for u in db.session.scalars(select(OrgUnit))}
    merge_rows(
        report,
        rows,
        existing,
        "short_name",
        LABELS,
        apply=apply,
        create=lambda values: db.session.add(OrgUnit(**{"room": "", "active": True, "do_not_open": False, **values})),
    )
    if apply:
        db.session.flush()
    return report


def export_rows() -> tuple[list[str], list[list[object]]]:
    units = list(db.session.scalars(select(OrgUnit).order_by(OrgUnit.id)))
    header = [c.name for c in COLUMNS]
    rows = []
    for unit in units:
        row = []
        for column in COLUMNS:
            value = _site_code(unit.site) if column.attr == "site_code" else getattr(unit, column.attr)
            row.append(column.export(value))
        rows.append(row)
    return header, rows


def save_org_unit(unit: OrgUnit | None, values: dict[str, Any]) -> OrgUnit:
    """Create (unit None) or update an org unit from form values."""
    values = {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}
    problems: list[Problem] = []
    for column in COLUMNS:
        value = values.get(column.attr)
        if column.attr in ("short_name", "name", "cost_centre") and not value:
            problems.append(Problem(0, f"{column.label} fehlt"))
        elif column.attr == "email" and not value:
            values["email"] = None
        elif isinstance(value, str) and value:
            try:
                values[column.attr] = column.parse(value)
            except CellError as exc:
                problems.append(Problem(0, f"{column.label}: {exc}"))
    site = db.session.get(Site, values.get("site_id") or 0)
    if site is None:
        problems.append(Problem(0, "Bitte einen Standort wählen"))
    other = db.session.scalar(select(OrgUnit).where(OrgUnit.short_name == values.get("short_name")))
    if other is not None and other is not unit:
        problems.append(Problem(0, f"Das Kürzel „{values['short_name']}“ ist schon vergeben ({other.name})"))
    if problems:
        message = problems[0].message
        raise ValidationFailed(message[:1].upper() + message[1:] + ".")
    if unit is None:
        unit = OrgUnit(room="", active=True, do_not_open=False)
        db.session.add(unit)
    for attr, value in values.items():
        setattr(unit, attr, value)
    db.session.flush()
    return unit

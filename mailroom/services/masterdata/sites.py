"""Sites (Standorte): created, edited and deactivated on the admin pages or imported from CSV.

Exactly one active site is the depot (the mail room the vans start from). Coordinates are typed,
picked on the map or geocoded; both or neither, in range, and a warning when they lie outside Germany
(swapped latitude and longitude are an error: they would put an Oldenburg site into Africa).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time
from typing import Any

from sqlalchemy import select

from mailroom.errors import ValidationFailed
from mailroom.extensions import db
from mailroom.models import Site
from mailroom.services.csvio import CsvTable
from mailroom.services.masterdata.common import (
    CellError,
    Column,
    ImportReport,
    ParsedRow,
    Problem,
    check_duplicates,
    check_header,
    clock_time,
    code,
    decimal,
    fmt_number,
    fmt_time,
    fmt_yes_no,
    integer,
    merge_rows,
    parse_row,
    text,
    yes_no,
)

KIND_LABELS = {
    "depot": "Poststelle (Depot)",
    "administration": "Verwaltung",
    "school": "Schule",
    "childcare": "Kita",
    "library": "Bibliothek",
    "culture": "Kultur",
    "fire": "Feuerwehr",
    "operations": "Betriebshof",
    "leisure": "Freizeit und Sport",
    "other": "Sonstiges",
}

# Germany's bounding box: coordinates outside it are most likely a typo (warned, not refused).
GERMANY_LAT = (47.2, 55.1)
GERMANY_LON = (5.8, 15.1)


def _kind(value: str) -> str:
    word = value.strip().lower()
    if word not in KIND_LABELS:
        raise CellError(f"„{value[:30]}“ ist keine bekannte Art (erlaubt: {', '.join(KIND_LABELS)})")
    return word


COLUMNS: tuple[Column, ...] = (
    Column("code", "code", code(16), label="Kürzel"),
    Column("name", "name", text(120), label="Name"),
    Column("kind", "kind", _kind, label="Art"),
    Column("district", "district", text(64), blank="", label="Stadtteil"),
    Column("street", "street", text(120), blank="", label="Straße"),
    Column("lat", "lat", decimal(-90, 90), blank=None, export=fmt_number, label="Breite"),
    Column("lon", "lon", decimal(-180, 180), blank=None, export=fmt_number, label="Länge"),
    Column("opens", "opens", clock_time, export=fmt_time, label="Öffnet"),
    Column("closes", "closes", clock_time, export=fmt_time, label="Schließt"),
    Column("service_min", "service_min", integer(0, 120, " Minuten"), label="Standzeit"),
    Column("postcode", "postcode", text(10), required=False, blank="", label="PLZ"),
    Column("city", "city", text(64), required=False, blank="", label="Ort"),
    Column("phone", "phone", text(40), required=False, blank="", label="Telefon"),
    Column("remarks", "remarks", text(255), required=False, blank="", label="Hinweise"),
    Column("active", "active", yes_no, required=False, blank=True, export=fmt_yes_no, label="Aktiv"),
)
LABELS = {c.attr: c.label for c in COLUMNS}
DEFAULTS: dict[str, Any] = {
    "district": "", "street": "", "postcode": "", "city": "", "phone": "", "remarks": "", "lat": None,
    "lon": None, "opens": time(7, 30), "closes": time(16, 0), "service_min": 3, "active": True,
}  # fmt: skip


def list_sites(*, include_inactive: bool = True) -> list[Site]:
    query = select(Site).order_by(Site.active.desc(), Site.is_depot.desc(), Site.code)
    if not include_inactive:
        query = query.where(Site.active)
    return list(db.session.scalars(query))


def sites_by_code() -> dict[str, Site]:
    return {s.code: s for s in db.session.scalars(select(Site))}


def in_germany(lat: float, lon: float) -> bool:
    return GERMANY_LAT[0] <= lat <= GERMANY_LAT[1] and GERMANY_LON[0] <= lon <= GERMANY_LON[1]


def check_values(values: dict[str, Any], line: int, problems: list[Problem], warnings: list[Problem]) -> None:
    """Rules across the fields of one site (the cells are already read)."""
    lat, lon = values.get("lat"), values.get("lon")
    if ("lat" in values or "lon" in values) and (lat is None) != (lon is None):
        problems.append(Problem(line, "Breite (lat) und Länge (lon) bitte gemeinsam angeben oder beide leer lassen"))
    elif lat is not None and lon is not None and not in_germany(lat, lon):
        if in_germany(lon, lat):
            problems.append(
                Problem(
                    line,
                    f"Breite {fmt_number(lat)} und Länge {fmt_number(lon)} sind vertauscht (lat ist die Breite, "
                    "in Deutschland 47–55; lon die Länge, 6–15)",
                )
            )
        else:
            warnings.append(
                Problem(
                    line,
                    f"Koordinaten {fmt_number(lat)}, {fmt_number(lon)} liegen außerhalb Deutschlands: bitte prüfen",
                )
            )
    opens, closes = values.get("opens"), values.get("closes")
    if opens is not None and closes is not None and closes <= opens:
        problems.append(
            Problem(
                line,
                f"Öffnet um {fmt_time(opens)}, schließt aber schon um {fmt_time(closes)}: „opens“ muss vor "
                "„closes“ liegen",
            )
        )


def depot_problems(changes: Sequence[tuple[int, str, bool]]) -> list[Problem]:
    """Exactly one active depot after the changes. `changes`: (line, site code, is an active depot
    afterwards) for each site the import or form touches; the other sites stay as stored."""
    touched = {site_code for _, site_code, _ in changes}
    stored = [
        s.code for s in db.session.scalars(select(Site).where(Site.is_depot, Site.active)) if s.code not in touched
    ]
    problems: list[Problem] = []
    depots: list[tuple[int, str]] = [(0, c) for c in stored]
    for line, site_code, is_depot in changes:
        if not is_depot:
            continue
        if depots:
            other_line, other = depots[0]
            where = f"Zeile {other_line}" if other_line else "bereits gespeichert"
            problems.append(
                Problem(
                    line,
                    f"Es darf nur eine Poststelle (kind depot) geben: „{other}“ ({where}) ist schon die Poststelle",
                )
            )
        else:
            depots.append((line, site_code))
    if not depots:
        lost = [line for line, site_code, is_depot in changes if not is_depot and _is_stored_depot(site_code)]
        problems.append(
            Problem(lost[0] if lost else 1, "Es gibt dann keine Poststelle: genau ein Standort braucht die Art „depot“")
        )
    return problems


def _is_stored_depot(site_code: str) -> bool:
    site = db.session.scalar(select(Site).where(Site.code == site_code))
    return bool(site and site.is_depot and site.active)


def _is_active_depot(values: dict[str, Any], existing: Site | None) -> bool:
    kind = values.get("kind", existing.kind if existing else "")
    active = values.get("active", existing.active if existing else True)
    return kind == "depot" and bool(active)


def _apply(site: Site | None, values: dict[str, Any]) -> Site:
    if site is None:
        site = Site(**{**DEFAULTS, **values})
        db.session.add(site)
    else:
        for attr, value in values.items():
            setattr(site, attr, value)
    site.is_depot = site.kind == "depot"
    return site


# --- CSV ---------------------------------------------------------------------------------------------


def import_table(table: CsvTable, problems: list[Problem], *, apply: bool) -> ImportReport:
    report = ImportReport("sites")
    present = check_header(table, COLUMNS, problems)
    if problems:
        return report
    rows: list[ParsedRow] = [parse_row(row, present, problems) for row in table.rows]
    check_duplicates(rows, lambda r: r.values.get("code"), lambda c: f"Der Code „{c}“", problems)
    for row in rows:
        check_values(row.values, row.line, problems, report.warnings)
    existing = sites_by_code()
    valid = [r for r in rows if "code" in r.values]
    problems.extend(
        depot_problems(
            [(r.line, r.values["code"], _is_active_depot(r.values, existing.get(r.values["code"]))) for r in valid]
        )
    )
    for row in valid:
        if row.values.get("kind") == "depot" and row.values.get("lat") is None:
            report.warnings.append(
                Problem(row.line, "Die Poststelle hat keine Koordinaten: ohne sie wird nicht geplant")
            )
    if problems:
        return report
    merge_rows(
        report,
        valid,
        existing,
        "code",
        LABELS,
        apply=apply,
        create=lambda values: _apply(None, values),
        update=_apply,
    )
    if apply:
        db.session.flush()
    return report


def export_rows() -> tuple[list[str], list[list[object]]]:
    sites = list(db.session.scalars(select(Site).order_by(Site.is_depot.desc(), Site.id)))
    header = [c.name for c in COLUMNS]
    return header, [[c.export(getattr(s, c.attr)) for c in COLUMNS] for s in sites]


# --- forms ---------------------------------------------------------------------------------------------


def save_site(site: Site | None, values: dict[str, Any]) -> tuple[Site, list[str]]:
    """Create (site None) or update a site from form values; returns it and German warnings."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    values = {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}
    for column in COLUMNS:
        value = values.get(column.attr)
        if column.attr in ("code", "name") and not value:
            problems.append(Problem(0, f"{column.label} fehlt"))
        elif isinstance(value, str) and value and column.attr not in ("kind",):
            try:
                values[column.attr] = column.parse(value)
            except CellError as exc:
                problems.append(Problem(0, f"{column.label}: {exc}"))
    if values.get("kind") not in KIND_LABELS:
        problems.append(Problem(0, "Bitte eine Art des Standorts wählen"))
    for attr, low, high in (("lat", -90, 90), ("lon", -180, 180)):
        value = values.get(attr)
        if isinstance(value, float | int) and not low <= value <= high:
            problems.append(Problem(0, f"{LABELS[attr]} {fmt_number(value)} liegt nicht zwischen {low} und {high}"))
    if not problems:
        check_values(values, 0, problems, warnings)
    other = db.session.scalar(select(Site).where(Site.code == values.get("code")))
    if other is not None and other is not site:
        problems.append(Problem(0, f"Der Code „{values['code']}“ ist schon vergeben ({other.name})"))
    if not problems and site is not None and site.is_depot and site.active and not _is_active_depot(values, site):
        problems.append(
            Problem(
                0,
                "Die Poststelle bleibt Poststelle: bitte einen anderen Standort zur Poststelle machen, "
                "dann wird dieser ein gewöhnlicher Standort",
            )
        )
    if problems:
        message = problems[0].message
        raise ValidationFailed(message[:1].upper() + message[1:] + ".")
    if _is_active_depot(values, site):
        # One depot: making this site the depot makes the former one an ordinary site.
        for former in db.session.scalars(select(Site).where(Site.is_depot, Site.active)):
            if former is not site:
                former.kind, former.is_depot = "administration", False
                warnings.append(Problem(0, f"„{former.name}“ ({former.code}) ist nicht mehr die Poststelle"))
    saved = _apply(site, values)
    db.session.flush()
    return saved, [w.message[:1].upper() + w.message[1:] + "." for w in warnings]


def set_active(site: Site, active: bool) -> None:
    """Deactivate (or reactivate) a site; it keeps its history. The depot cannot be switched off."""
    if not active and site.is_depot:
        raise ValidationFailed(
            "Die Poststelle kann nicht deaktiviert werden: erst einen anderen Standort zur Poststelle machen."
        )
    site.active = active

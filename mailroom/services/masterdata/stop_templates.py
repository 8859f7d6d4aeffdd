"""Stop templates: which sites the vans visit on which weekdays, must-visit or optional, with a
priority ("Werktagstour Mo–Fr", "Schulen nur Mo, Mi, Fr").

Weekdays are stored as "0,1,2,3,4" (Monday = 0) and written as Germans do: "Mo-Fr" or "Mo,Mi,Fr".
In CSV each row is one site of one template; rows are matched by template name and site code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from mailroom.errors import ValidationFailed
from mailroom.extensions import db
from mailroom.models import Site, StopTemplate, StopTemplateEntry
from mailroom.services.csvio import CsvTable
from mailroom.services.masterdata.common import (
    CellError,
    Column,
    ImportReport,
    Problem,
    check_duplicates,
    check_header,
    code,
    fmt_yes_no,
    integer,
    parse_row,
    text,
    yes_no,
)
from mailroom.services.masterdata.sites import sites_by_code

WEEKDAY_NAMES = ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So")
_FULL_NAMES = ("montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag")
MIN_PRIORITY, MAX_PRIORITY = 1, 10


def _weekday_index(word: str) -> int:
    word = word.strip().lower().rstrip(".")
    for index, (short, full) in enumerate(zip(WEEKDAY_NAMES, _FULL_NAMES, strict=True)):
        if word in (short.lower(), full):
            return index
    raise CellError(f"„{word[:20]}“ ist kein Wochentag (Mo, Di, Mi, Do, Fr, Sa, So)")


def parse_weekdays(value: str) -> str:
    """ "Mo-Fr", "Mo–Fr", "Mo,Mi,Fr", "Mo, Mi, Fr", "Mo-Mi,Fr" -> "0,1,2,3,4" and so on."""
    days: set[int] = set()
    parts = [p for p in re.split(r"[,/ ]+", value.strip()) if p]
    if not parts:
        raise CellError("keine Wochentage angegeben (z. B. Mo-Fr oder Mo,Mi,Fr)")
    for part in parts:
        bounds = re.split(r"\s*[-–]\s*", part)
        if len(bounds) == 1:
            days.add(_weekday_index(bounds[0]))
        elif len(bounds) == 2 and all(bounds):
            first, last = _weekday_index(bounds[0]), _weekday_index(bounds[1])
            if last < first:
                raise CellError(f"„{part}“: der Bereich muss vorwärts laufen (z. B. Mo-Fr)")
            days.update(range(first, last + 1))
        else:
            raise CellError(f"„{part[:20]}“ sind keine Wochentage (z. B. Mo-Fr oder Mo,Mi,Fr)")
    return ",".join(str(d) for d in sorted(days))


def format_weekdays(stored: str) -> str:
    """ "0,1,2,3,4" -> "Mo-Fr"; "0,2,4" -> "Mo,Mi,Fr"; runs of three or more days become a range."""
    days = sorted({int(d) for d in (stored or "").split(",") if d.strip().isdigit() and 0 <= int(d) <= 6})
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{WEEKDAY_NAMES[run[0]]}-{WEEKDAY_NAMES[run[-1]]}")
        else:
            parts.extend(WEEKDAY_NAMES[d] for d in run)
    return ",".join(parts)


def weekday_indexes(stored: str) -> list[int]:
    return [int(d) for d in (stored or "").split(",") if d.strip().isdigit()]


COLUMNS: tuple[Column, ...] = (
    Column("template", "template", text(80), label="Vorlage"),
    Column("weekdays", "weekdays", parse_weekdays, export=format_weekdays, label="Wochentage"),
    Column("site", "site_code", code(16), label="Standort"),
    Column("must_visit", "must_visit", yes_no, export=fmt_yes_no, label="Pflicht"),
    Column("priority", "priority", integer(MIN_PRIORITY, MAX_PRIORITY), required=False, blank=1, label="Priorität"),
)


def list_templates() -> list[StopTemplate]:
    return list(db.session.scalars(select(StopTemplate).order_by(StopTemplate.active.desc(), StopTemplate.name)))


def import_table(table: CsvTable, problems: list[Problem], *, apply: bool) -> ImportReport:
    report = ImportReport("stop-templates")
    present = check_header(table, COLUMNS, problems)
    if problems:
        return report
    rows = [parse_row(row, present, problems) for row in table.rows]
    check_duplicates(
        rows,
        lambda r: (
            (r.values["template"], r.values["site_code"]) if {"template", "site_code"} <= r.values.keys() else None
        ),
        lambda key: f"Standort „{key[1]}“ in der Vorlage „{key[0]}“",
        problems,
    )
    weekdays_of: dict[str, tuple[str, int]] = {}
    sites = sites_by_code()
    for row in rows:
        name, days, site_code = (row.values.get(k) for k in ("template", "weekdays", "site_code"))
        if name is not None and days is not None:
            first = weekdays_of.setdefault(name, (days, row.line))
            if first[0] != days:
                problems.append(
                    Problem(
                        row.line,
                        f"Vorlage „{name}“ hat in Zeile {first[1]} die Wochentage "
                        f"{format_weekdays(first[0])}, hier {format_weekdays(days)}: bitte einheitlich",
                    )
                )
        if site_code is not None:
            site = sites.get(site_code)
            if site is None:
                problems.append(
                    Problem(row.line, f"Standort „{site_code}“ gibt es nicht (erst die Standorte einlesen)")
                )
            elif site.is_depot:
                problems.append(
                    Problem(row.line, f"„{site_code}“ ist die Poststelle: sie ist Start und Ziel, kein Stopp")
                )
            elif not site.active:
                report.warnings.append(
                    Problem(row.line, f"Standort „{site_code}“ ist deaktiviert und wird nicht angefahren")
                )
    if problems:
        return report
    templates = {t.name: t for t in db.session.scalars(select(StopTemplate))}
    # Compared with what was stored before this file: applying the first row of a template changes it.
    stored_weekdays = {name: t.weekdays for name, t in templates.items()}
    for row in rows:
        name, site = row.values["template"], sites[row.values["site_code"]]
        key = f"{name} / {site.code}"
        template = templates.get(name)
        entry = next((e for e in template.entries if e.site_id == site.id), None) if template else None
        changes = []
        before = stored_weekdays.get(name)
        if before is not None and before != row.values["weekdays"]:
            changes.append(f"Wochentage: {format_weekdays(before)} → {format_weekdays(row.values['weekdays'])}")
        if entry is not None:
            for attr, label in (("must_visit", "Pflicht"), ("priority", "Priorität")):
                if attr in row.values and getattr(entry, attr) != row.values[attr]:
                    changes.append(f"{label}: {_shown(getattr(entry, attr))} → {_shown(row.values[attr])}")
        if entry is None:
            report.created.append(key)
        elif changes:
            report.updated.append(key)
            report.changes[key] = changes
        else:
            report.unchanged.append(key)
        if not apply:
            continue
        if template is None:
            template = StopTemplate(name=name, weekdays=row.values["weekdays"], active=True)
            db.session.add(template)
            templates[name] = template
        template.weekdays = row.values["weekdays"]
        if entry is None:
            position = max((e.position for e in template.entries), default=-1) + 1
            template.entries.append(
                StopTemplateEntry(
                    site=site,
                    position=position,
                    must_visit=row.values["must_visit"],
                    priority=row.values.get("priority", 1),
                )
            )
        else:
            entry.must_visit = row.values["must_visit"]
            entry.priority = row.values.get("priority", entry.priority)
    if apply:
        db.session.flush()
    return report


def _shown(value: Any) -> str:
    return fmt_yes_no(value) if isinstance(value, bool) else str(value)


def export_rows() -> tuple[list[str], list[list[object]]]:
    rows: list[list[object]] = []
    for template in db.session.scalars(select(StopTemplate).order_by(StopTemplate.id)):
        for entry in template.entries:
            rows.append([template.name, format_weekdays(template.weekdays), entry.site.code,
                         fmt_yes_no(entry.must_visit), entry.priority])  # fmt: skip
    return [c.name for c in COLUMNS], rows


# --- forms ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryChoice:
    """One site on the template form: in the template or not, must-visit, priority."""

    site_id: int
    included: bool
    must_visit: bool = True
    priority: int = 1


def save_template(template: StopTemplate | None, *, name: str, weekdays: list[int], active: bool,
                  entries: list[EntryChoice]) -> StopTemplate:  # fmt: skip
    """Create or update a template and its sites (entries are plain configuration: a site taken out
    of the template is removed from it; plans keep their own record of what they served)."""
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ValidationFailed("Bitte der Vorlage einen Namen geben (höchstens 80 Zeichen).")
    days = sorted({d for d in weekdays if 0 <= d <= 6})
    if not days:
        raise ValidationFailed("Bitte mindestens einen Wochentag wählen.")
    other = db.session.scalar(select(StopTemplate).where(func.lower(StopTemplate.name) == name.lower()))
    if other is not None and other is not template:
        raise ValidationFailed(f"Eine Vorlage „{other.name}“ gibt es schon.")
    chosen = [e for e in entries if e.included]
    if not chosen:
        raise ValidationFailed("Bitte mindestens einen Standort in die Vorlage aufnehmen.")
    for choice in chosen:
        if not MIN_PRIORITY <= choice.priority <= MAX_PRIORITY:
            raise ValidationFailed(f"Die Priorität liegt zwischen {MIN_PRIORITY} und {MAX_PRIORITY}.")
        site = db.session.get(Site, choice.site_id)
        if site is None or site.is_depot:
            raise ValidationFailed("Unbekannter Standort (die Poststelle ist Start und Ziel, kein Stopp).")
    if template is None:
        template = StopTemplate(name=name)
        db.session.add(template)
    template.name, template.weekdays, template.active = name, ",".join(map(str, days)), active
    by_site = {e.site_id: e for e in template.entries}
    keep = {c.site_id for c in chosen}
    for entry in list(template.entries):
        if entry.site_id not in keep:
            template.entries.remove(entry)
    position = max((e.position for e in template.entries), default=-1)
    for choice in chosen:
        found = by_site.get(choice.site_id)
        if found is None:
            position += 1
            found = StopTemplateEntry(site_id=choice.site_id, position=position)
            template.entries.append(found)
        found.must_visit, found.priority = choice.must_visit, choice.priority
    db.session.flush()
    return template


def set_active(template: StopTemplate, active: bool) -> None:
    template.active = active

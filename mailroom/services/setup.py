"""First run: what an installation still needs before tours can be planned.

`checklist()` feeds the admin start page; `missing_for_planning()` gives the same gaps as German
sentences for the dispatch page and `mailroom dispatch plan`; `next_steps_text()` is what
`mailroom init` prints on an empty installation.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from mailroom.extensions import db
from mailroom.models import OrgUnit, Role, Site, StopTemplate, StopTemplateEntry, User, Vehicle


@dataclass(frozen=True)
class ChecklistItem:
    key: str  # depot | sites | org_units | vans | couriers | stop_template
    label: str  # German, what the step is
    done: bool
    detail: str  # German: what there is, or what is missing and where to enter it
    endpoint: str  # the admin page where it is entered


def _count(query) -> int:
    return db.session.scalar(query) or 0


def _names(sites: list[Site], limit: int = 5) -> str:
    shown = ", ".join(s.code for s in sites[:limit])
    return shown + (f" und {len(sites) - limit} weitere" if len(sites) > limit else "")


def _depot_item() -> ChecklistItem:
    depots = list(db.session.scalars(select(Site).where(Site.is_depot, Site.active).order_by(Site.id)))
    label = "Poststelle (Depot)"
    if not depots:
        return ChecklistItem(
            "depot",
            label,
            False,
            "Es ist noch keine Poststelle (Depot) angelegt: unter Verwaltung → "
            "Standorte einen Standort der Art „Poststelle (Depot)“ anlegen.",
            "admin.sites",
        )
    depot = depots[0]
    if not depot.has_coordinates:
        return ChecklistItem("depot", label, False, f"Die Poststelle „{depot.name}“ ({depot.code}) hat keine "
                             "Koordinaten: bitte auf der Karte setzen oder eintippen.", "admin.sites")  # fmt: skip
    return ChecklistItem("depot", label, True, f"{depot.name} ({depot.code})", "admin.sites")


def _sites_item() -> ChecklistItem:
    active = list(db.session.scalars(select(Site).where(Site.active, Site.is_depot.is_(False)).order_by(Site.code)))
    label = "Standorte"
    if not active:
        return ChecklistItem("sites", label, False, "Es sind noch keine Standorte angelegt, die die Fahrzeuge anfahren "
                             "(Verwaltung → Standorte, oder `mailroom import sites`).", "admin.sites")  # fmt: skip
    missing = [s for s in active if not s.has_coordinates]
    if missing:
        return ChecklistItem("sites", label, False, f"{len(missing)} Standort(e) ohne Koordinaten: {_names(missing)}. "
                             "Ohne Koordinaten kann nicht geplant werden.", "admin.sites")  # fmt: skip
    return ChecklistItem("sites", label, True, f"{len(active)} Standorte mit Koordinaten", "admin.sites")


def _org_units_item() -> ChecklistItem:
    count = _count(select(func.count(OrgUnit.id)).where(OrgUnit.active))
    if not count:
        detail = "Es sind noch keine Fachdienste angelegt: ohne sie kann die Poststelle keine Eingänge zuordnen."
        return ChecklistItem("org_units", "Fachdienste", False, detail, "admin.org_units")
    return ChecklistItem("org_units", "Fachdienste", True, f"{count} Fachdienste", "admin.org_units")


def _vans_item() -> ChecklistItem:
    count = _count(select(func.count(Vehicle.id)).where(Vehicle.active))
    if not count:
        return ChecklistItem("vans", "Fahrzeuge", False, "Es ist noch kein Fahrzeug im Einsatz angelegt "
                             "(Verwaltung → Fahrzeuge).", "admin.vehicles")  # fmt: skip
    return ChecklistItem("vans", "Fahrzeuge", True, f"{count} Fahrzeug(e) im Einsatz", "admin.vehicles")


def _couriers_item() -> ChecklistItem:
    count = _count(select(func.count(User.id)).where(User.active, User.role == Role.COURIER))
    if not count:
        return ChecklistItem("couriers", "Botinnen und Boten", False, "Es ist noch keine Botin und kein Bote angelegt "
                             "(Verwaltung → Benutzer, Rolle Botendienst).", "admin.users")  # fmt: skip
    return ChecklistItem("couriers", "Botinnen und Boten", True, f"{count} mit Rolle Botendienst", "admin.users")


def _template_item() -> ChecklistItem:
    count = _count(
        select(func.count(func.distinct(StopTemplate.id)))
        .join(StopTemplateEntry, StopTemplateEntry.template_id == StopTemplate.id)
        .join(Site, Site.id == StopTemplateEntry.site_id)
        .where(StopTemplate.active, Site.active, Site.is_depot.is_(False))
    )
    if not count:
        return ChecklistItem("stop_template", "Stoppvorlage", False, "Es gibt noch keine aktive Stoppvorlage mit "
                             "Standorten: sie sagt, welche Standorte an welchen Wochentagen angefahren werden.",
                             "admin.templates")  # fmt: skip
    return ChecklistItem("stop_template", "Stoppvorlage", True, f"{count} aktive Vorlage(n)", "admin.templates")


def checklist() -> list[ChecklistItem]:
    """The set-up steps in the order an administration does them."""
    return [_depot_item(), _sites_item(), _org_units_item(), _vans_item(), _couriers_item(), _template_item()]


def missing_for_planning() -> list[str]:
    """What is still missing before tours can be planned, as German sentences; empty when set up."""
    return [item.detail for item in checklist() if not item.done]


def planning_blockers() -> list[str]:
    """The gaps that make every plan impossible (German): no depot with coordinates, no site, no van.

    Sites without coordinates do not block here: only the day's own stops matter, and the plan names
    those itself (code `missing_coordinates`).
    """
    items = [_depot_item(), _vans_item()]
    if not _count(select(func.count(Site.id)).where(Site.active, Site.is_depot.is_(False))):
        items.insert(1, _sites_item())
    return [item.detail for item in items if not item.done]


def next_steps_text() -> str:
    """What `mailroom init` prints for an installation without demo data."""
    missing = missing_for_planning()
    if not missing:
        return "Die Stammdaten sind vollständig: Touren können geplant werden."
    has_admin = _count(select(func.count(User.id)).where(User.active, User.role == Role.ADMIN)) > 0
    lines = ["Nächste Schritte:"]
    step = 1
    if not has_admin:
        lines.append(f"  {step}. Einen Administrator anlegen: mailroom create-user NAME --role admin")
        step += 1
    lines.append(f"  {step}. Anmelden (mailroom serve, http://127.0.0.1:5000/) und unter Verwaltung die Stammdaten "
                 "eingeben, oder sie als CSV einlesen:")  # fmt: skip
    for kind in ("sites", "org-units", "vans", "stop-templates"):
        lines.append(f"       mailroom import {kind} DATEI.csv [--dry-run]")
    lines.append(f"  {step + 1}. Botinnen und Boten anlegen: mailroom create-user NAME --role courier")
    lines.append("Noch fehlt:")
    lines += [f"  - {text}" for text in missing]
    return "\n".join(lines)

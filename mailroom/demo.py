"""Demo data: the depot and 40 sites of Stadt Oldenburg, org units, two e-vans, one user per role."""

from __future__ import annotations

import csv
import random
import secrets
from dataclasses import dataclass
from importlib import resources

from sqlalchemy import func, select

from mailroom.extensions import db
from mailroom.models import OrgUnit, Role, Site, StopTemplate, StopTemplateEntry, User, Vehicle
from mailroom.services.auth import create_user
from mailroom.services.dates import parse_hhmm

POSTCODES = {
    "Innenstadt": "26122", "Innenstadt-West": "26122", "Donnerschwee": "26123", "Nadorst": "26123",
    "Osternburg": "26135", "Ofenerdiek": "26125", "Haarentor": "26129", "Eversten": "26131",
    "Bürgerfelde": "26127", "Ohmstede": "26125", "Kreyenbrück": "26133", "Wechloy": "26129",
    "Bloherfelde": "26129", "Bümmerstede": "26133", "Etzhorn": "26125", "Dietrichsfeld": "26127",
    "Tweelbäke": "26135",
}  # fmt: skip

# Org units per site code: (short name, name). Cost centres are numbered in order.
ORG_UNITS = {
    "RH": [("OB", "Büro des Oberbürgermeisters"), ("FD10", "Fachdienst Rat und Gremien"),
           ("FD11", "Fachdienst Personal"), ("FD14", "Rechnungsprüfungsamt"), ("FD20", "Fachdienst Finanzen"),
           ("FD21", "Stadtkasse"), ("FD30", "Rechtsamt"), ("FD13", "Presse und Kommunikation")],
    "SH": [("FD32", "Bürger- und Ordnungsamt"), ("FD33", "Bürgerbüro Mitte"), ("FD34", "Standesamt"),
           ("FD35", "Ausländerbehörde"), ("FD36", "Straßenverkehrsbehörde")],
    "DEPOT": [("FD61", "Stadtplanung"), ("FD63", "Bauordnung"), ("FD65", "Gebäudewirtschaft"),
              ("FD66", "Verkehr und Straßenbau"), ("FD67", "Umwelt und Grün"), ("FD12", "IT-Dienste"),
              ("FD15", "ServiceCenter / Zentrale Poststelle")],
    "GA": [("FD53", "Gesundheitsamt"), ("FD53-1", "Infektionsschutz")],
    "JA": [("FD51", "Jugend und Familie"), ("FD51-2", "Allgemeiner Sozialer Dienst"),
           ("FD50", "Soziales"), ("FD50-1", "Wohngeld")],
    "PFL": [("FD41", "Stadtbibliothek"), ("FD40", "Kulturbüro")],
    "SM": [("FD42", "Stadtmuseum")],
    "WEH": [("FD43", "Veranstaltungen Weser-Ems-Halle")],
    "FW1": [("FD37", "Feuerwehr"), ("FD37-1", "Rettungsdienst")],
    "FW2": [("FD37-2", "Feuerwache Nord")],
    "BH": [("FD70", "Abfallwirtschaft"), ("FD70-1", "Stadtreinigung")],
    "PFK": [("FD68", "Friedhofsverwaltung")],
}  # fmt: skip

DEMO_USERS = [
    ("admin", Role.ADMIN, "Anna Admin"),
    ("post", Role.MAILROOM, "Paula Post"),
    ("bote", Role.COURIER, "Bernd Bote"),
    ("botin", Role.COURIER, "Birgit Botin"),
    ("fuhrpark", Role.FLEET, "Frank Fuhrpark"),
]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: Role
    password: str


def database_is_empty() -> bool:
    return (db.session.scalar(select(func.count(User.id))) or 0) == 0


def _read_sites() -> list[dict[str, str]]:
    text = resources.files("mailroom.data").joinpath("oldenburg-sites.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def seed_sites(rng: random.Random) -> dict[str, Site]:
    sites: dict[str, Site] = {}
    for row in _read_sites():
        site = Site(
            code=row["code"],
            name=row["name"],
            kind=row["kind"],
            district=row["district"],
            street=row["street"] or "",
            postcode=POSTCODES.get(row["district"], "26122"),
            phone=f"0441 235-{rng.randint(2000, 4999)}",
            lat=float(row["lat"]),
            lon=float(row["lon"]),
            opens=parse_hhmm(row["opens"]),
            closes=parse_hhmm(row["closes"]),
            service_min=int(row["service_min"]),
            is_depot=row["kind"] == "depot",
        )
        db.session.add(site)
        sites[site.code] = site
    db.session.flush()
    return sites


def seed_org_units(sites: dict[str, Site]) -> list[OrgUnit]:
    units: list[OrgUnit] = []
    cost_centre = 10100
    for code, entries in ORG_UNITS.items():
        for short, name in entries:
            units.append(OrgUnit(name=name, short_name=short, cost_centre=str(cost_centre), site=sites[code]))
            cost_centre += 100
    # Every other site (schools, day-care centres, libraries ...) is its own unit: its office.
    for code, site in sites.items():
        if code not in ORG_UNITS:
            units.append(
                OrgUnit(
                    name=f"{site.name} – Sekretariat",
                    short_name=code,
                    cost_centre=str(cost_centre),
                    site=site,
                )
            )
            cost_centre += 100
    for unit in units:
        unit.email = f"{unit.short_name.lower()}@stadt-oldenburg.example"
    db.session.add_all(units)
    db.session.flush()
    return units


def seed_vehicles() -> list[Vehicle]:
    """Two small electric vans with figures that agree: rated range = usable battery / consumption (E1 45 kWh at
    21 kWh/100 km: 215 km; E2 39 kWh at 21.5 kWh/100 km: 180 km), 80 % of it in winter."""
    vans = [
        Vehicle(code="E1", name="E-Transporter 1", plate="OL-PS 101E", model="Renault Kangoo E-Tech",
                battery_kwh=45, battery_range_km=215, kwh_per_100km=21, capacity_boxes=40, speed_kmh=25),
        Vehicle(code="E2", name="E-Transporter 2", plate="OL-PS 102E", model="Mercedes-Benz eVito Kastenwagen",
                battery_kwh=39, battery_range_km=180, kwh_per_100km=21.5, capacity_boxes=40, speed_kmh=25),
    ]  # fmt: skip
    db.session.add_all(vans)
    db.session.flush()
    return vans


def seed_stop_template(sites: dict[str, Site]) -> StopTemplate:
    template = StopTemplate(name="Werktagstour")
    for position, site in enumerate(s for s in sites.values() if not s.is_depot):
        template.entries.append(StopTemplateEntry(site=site, position=position))
    db.session.add(template)
    db.session.flush()
    return template


def seed_users() -> list[DemoLogin]:
    logins = []
    for username, role, full_name in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        create_user(username, password, role, full_name)
        logins.append(DemoLogin(username, role, password))
    return logins


def seed(*, history_days: int = 30, seed_value: int = 2026) -> list[DemoLogin]:
    """Seed a complete demo; the caller commits. Returns the logins with their random passwords."""
    rng = random.Random(seed_value)
    sites = seed_sites(rng)
    seed_org_units(sites)
    seed_vehicles()
    seed_stop_template(sites)
    logins = seed_users()
    if history_days:
        from mailroom.demo_history import seed_history

        seed_history(rng, days=history_days)
    from mailroom.demo_outgoing import OUTGOING_DEMO_DAYS, seed_outgoing_history
    from mailroom.services.clock import local_today

    # Outgoing mail: tariffs always; three years of history for the real demo, else as many days as asked.
    outgoing_days = OUTGOING_DEMO_DAYS if history_days >= 30 else history_days
    seed_outgoing_history(random.Random(seed_value + 11), days=outgoing_days, today=local_today())
    return logins


def format_logins(logins: list[DemoLogin]) -> str:
    lines = ["Demo-Zugänge (Benutzername / Passwort / Rolle):"]
    lines += [f"  {login.username:<10} {login.password:<16} {login.role.label}" for login in logins]
    lines.append("Anmeldung: /login auf der Adresse, die `mailroom serve` nennt.")
    return "\n".join(lines) + "\n"

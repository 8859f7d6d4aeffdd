"""Every bad input of the issue: a German message with its line, and nothing stored."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from mailroom.extensions import db
from mailroom.models import OrgUnit, Site, StopTemplate, StopTemplateEntry, Vehicle
from mailroom.services import masterdata
from mailroom.services.masterdata import ImportFailed

SITES_HEADER = "code,name,kind,district,street,lat,lon,opens,closes,service_min\n"
DEPOT = "D,Poststelle,depot,Mitte,Markt 1,53.2310,7.4610,06:30,16:00,0\n"
SITE_A = "A,Amt,administration,Mitte,Weg 1,53.2262,7.4498,07:30,16:00,5\n"
UNITS_HEADER = "code,name,cost_centre,site,email\n"
VANS_HEADER = "code,name,plate,capacity_boxes,range_km,battery_kwh,consumption_kwh_per_100km,winter_factor\n"
TEMPLATES_HEADER = "template,weekdays,site,must_visit\n"
MODELS = (Site, OrgUnit, Vehicle, StopTemplate, StopTemplateEntry)


def _counts() -> tuple[int, ...]:
    return tuple(db.session.scalar(select(func.count()).select_from(m)) or 0 for m in MODELS)


@pytest.fixture
def stored_sites(app):
    masterdata.import_csv("sites", (SITES_HEADER + DEPOT + SITE_A).encode())
    db.session.commit()


def _fails(kind: str, data: bytes) -> list[str]:
    before = _counts()
    with pytest.raises(ImportFailed) as info:
        masterdata.import_csv(kind, data)
    db.session.rollback()
    assert _counts() == before  # nothing stored
    return [str(p) for p in info.value.problems]


CASES = [
    # (id, kind, file text, expected message)
    (
        "unknown-column",
        "sites",
        SITES_HEADER.replace("\n", ",farbe\n") + DEPOT.replace("\n", ",rot\n"),
        "Zeile 1: Unbekannte Spalte „farbe“",
    ),
    (
        "missing-column",
        "sites",
        SITES_HEADER.replace(",service_min", "") + DEPOT.rsplit(",", 1)[0] + "\n",
        "Zeile 1: Es fehlt die Spalte „service_min“",
    ),
    (
        "duplicate-code",
        "sites",
        SITES_HEADER + DEPOT + SITE_A + SITE_A.replace("Amt", "Amt 2"),
        "Zeile 4: Der Code „A“ steht schon in Zeile 3",
    ),
    (
        "two-depots",
        "sites",
        SITES_HEADER + DEPOT + DEPOT.replace("D,", "D2,"),
        "Zeile 3: Es darf nur eine Poststelle (kind depot) geben: „D“ (Zeile 2) ist schon die Poststelle",
    ),
    (
        "depot-lost",
        "sites",
        SITES_HEADER + DEPOT.replace("depot", "administration"),
        "Zeile 2: Es gibt dann keine Poststelle: genau ein Standort braucht die Art „depot“",
    ),
    (
        "lat-out-of-range",
        "sites",
        SITES_HEADER + DEPOT.replace("53.2310", "153.2310"),
        "Zeile 2: lat: 153.2310 liegt nicht zwischen -90 und 90",
    ),
    (
        "lon-out-of-range",
        "sites",
        SITES_HEADER + DEPOT.replace("7.4610", "-200"),
        "Zeile 2: lon: -200 liegt nicht zwischen -180 und 180",
    ),
    (
        "coordinates-swapped",
        "sites",
        SITES_HEADER + DEPOT.replace("53.2310,7.4610", "7.4610,53.2310"),
        "Zeile 2: Breite 7.461 und Länge 53.231 sind vertauscht",
    ),
    (
        "only-lat",
        "sites",
        SITES_HEADER + DEPOT.replace("53.2310,7.4610", "53.2310,"),
        "Zeile 2: Breite (lat) und Länge (lon) bitte gemeinsam angeben",
    ),
    (
        "opens-after-closes",
        "sites",
        SITES_HEADER + DEPOT.replace("06:30,16:00", "17:00,16:00"),
        "Zeile 2: Öffnet um 17:00, schließt aber schon um 16:00",
    ),
    (
        "bad-time",
        "sites",
        SITES_HEADER + DEPOT.replace("06:30", "halb sieben"),
        "Zeile 2: opens: „halb sieben“ ist keine Uhrzeit",
    ),
    (
        "unknown-kind",
        "sites",
        SITES_HEADER + DEPOT + SITE_A.replace("administration", "rathaus"),
        "Zeile 3: kind: „rathaus“ ist keine bekannte Art",
    ),
    ("empty-name", "sites", SITES_HEADER + DEPOT.replace("Poststelle", ""), "Zeile 2: „name“ ist leer"),
    (
        "negative-capacity",
        "vans",
        VANS_HEADER + "V1,Van,OL-X 1,-5,160,60,25,0.8\n",
        "Zeile 2: capacity_boxes: -5 liegt nicht zwischen 1 und 500 Kisten",
    ),
    (
        "range-not-a-number",
        "vans",
        VANS_HEADER + "V1,Van,OL-X 1,30,weit,60,25,0.8\n",
        "Zeile 2: range_km: „weit“ ist keine Zahl",
    ),
    (
        "winter-factor",
        "vans",
        VANS_HEADER + "V1,Van,OL-X 1,30,160,60,25,1.5\n",
        "Zeile 2: winter_factor: 1.5 liegt nicht zwischen 0.3 und 1",
    ),
    (
        "duplicate-van",
        "vans",
        VANS_HEADER + "V1,Van,,30,160,60,25,0.8\nV1,Van,,30,160,60,25,0.8\n",
        "Zeile 3: Der Code „V1“ steht schon in Zeile 2",
    ),
    (
        "unknown-site-of-unit",
        "org-units",
        UNITS_HEADER + "FD1,Amt,10100,XYZ,\n",
        "Zeile 2: Standort „XYZ“ gibt es nicht",
    ),
    (
        "bad-email",
        "org-units",
        UNITS_HEADER + "FD1,Amt,10100,A,kein-mail\n",
        "Zeile 2: email: „kein-mail“ ist keine gültige E-Mail-Adresse",
    ),
    (
        "bad-cost-centre",
        "org-units",
        UNITS_HEADER + "FD1,Amt,KST-1,A,\n",
        "Zeile 2: cost_centre: „KST-1“: die Kostenstelle besteht aus bis zu 16 Ziffern",
    ),
    (
        "bad-weekdays",
        "stop-templates",
        TEMPLATES_HEADER + "Tour,Mo-Fx,A,ja\n",
        "Zeile 2: weekdays: „fx“ ist kein Wochentag",
    ),
    (
        "backward-weekdays",
        "stop-templates",
        TEMPLATES_HEADER + "Tour,Fr-Mo,A,ja\n",
        "Zeile 2: weekdays: „Fr-Mo“: der Bereich muss vorwärts laufen",
    ),
    (
        "unknown-site-of-template",
        "stop-templates",
        TEMPLATES_HEADER + "Tour,Mo-Fr,A,ja\nTour,Mo-Fr,XYZ,ja\n",
        "Zeile 3: Standort „XYZ“ gibt es nicht",
    ),
    ("depot-as-stop", "stop-templates", TEMPLATES_HEADER + "Tour,Mo-Fr,D,ja\n", "Zeile 2: „D“ ist die Poststelle"),
    (
        "weekdays-differ",
        "stop-templates",
        TEMPLATES_HEADER + 'Tour,Mo-Fr,A,ja\nTour,"Mo,Mi",D,nein\n',
        "Zeile 3: Vorlage „Tour“ hat in Zeile 2 die Wochentage Mo-Fr, hier Mo,Mi: bitte einheitlich",
    ),
    (
        "must-visit-word",
        "stop-templates",
        TEMPLATES_HEADER + "Tour,Mo-Fr,A,vielleicht\n",
        "Zeile 2: must_visit: „vielleicht“: bitte ja oder nein",
    ),
    ("header-only", "vans", VANS_HEADER, "Zeile 1: Die Datei enthält nur die Kopfzeile"),
    ("too-many-values", "vans", VANS_HEADER + "V1,Van,,30,160,60,25,0.8,extra\n", "Zeile 2: 9 Werte"),
]


@pytest.mark.parametrize(("kind", "text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_with_its_line(stored_sites, kind, text, expected):
    problems = _fails(kind, text.encode("utf-8"))
    assert any(p.startswith(expected) for p in problems), problems


def test_no_depot_in_an_empty_installation(app):
    assert _fails("sites", (SITES_HEADER + SITE_A).encode()) == [
        "Zeile 1: Es gibt dann keine Poststelle: genau ein Standort braucht die Art „depot“"
    ]


def test_a_second_depot_against_the_stored_one(stored_sites):
    problems = _fails("sites", (SITES_HEADER + DEPOT.replace("D,", "NEU,")).encode())
    assert problems == ["Zeile 2: Es darf nur eine Poststelle (kind depot) geben: „D“ (bereits gespeichert) ist "
                        "schon die Poststelle"]  # fmt: skip
    # Moving the depot in one file (the old one becomes an ordinary site) is fine.
    moved = SITES_HEADER + DEPOT.replace("depot", "administration") + DEPOT.replace("D,", "NEU,")
    report = masterdata.import_csv("sites", moved.encode())
    assert (report.created, report.updated) == (["NEU"], ["D"])
    assert [s.code for s in db.session.scalars(select(Site).where(Site.is_depot))] == ["NEU"]


def test_every_error_of_a_file_is_listed(stored_sites):
    text = VANS_HEADER + "V1,Van,,-1,160,60,25,0.8\nV2,Van,,30,0,60,25,0.8\nV3,,,30,160,60,25,2\n"
    assert _fails("vans", text.encode()) == [
        "Zeile 2: capacity_boxes: -1 liegt nicht zwischen 1 und 500 Kisten",
        "Zeile 3: range_km: 0 liegt nicht zwischen 1 und 1000 km",
        "Zeile 4: „name“ ist leer",
        "Zeile 4: winter_factor: 2 liegt nicht zwischen 0.3 und 1",
    ]


def test_outside_germany_is_a_warning_not_an_error(stored_sites):
    vienna = SITES_HEADER + DEPOT + "W,Außenstelle Wien,administration,,,48.2082,16.3738,08:00,16:00,3\n"
    report = masterdata.import_csv("sites", vienna.encode())
    assert report.created == ["W"]
    assert [str(w) for w in report.warnings] == [
        "Zeile 3: Koordinaten 48.2082, 16.3738 liegen außerhalb Deutschlands: bitte prüfen"
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("code;name\n".encode("utf-16"), "Zeile 1: Die Datei ist UTF-16 kodiert"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "Zeile 1: Die Datei ist keine Textdatei (CSV)."),
        (b"code,name\n\x81\x8d\x8f,x\n", "Zeile 1: Die Datei ist weder UTF-8 noch Windows-1252 kodiert"),
        (b"", "Zeile 1: Die Datei ist leer."),
        (b"\n \n", "Zeile 1: Die Datei ist leer."),
    ],
    ids=["utf-16", "xlsx", "undecodable", "empty", "blank-lines"],
)
def test_wrong_encoding_and_empty_files(stored_sites, data, expected):
    assert _fails("sites", data) == [expected] or _fails("sites", data)[0].startswith(expected)


def test_a_file_of_100000_lines_is_refused_quickly(stored_sites):
    import time

    rows = "".join(f"S{i},Standort {i},school,,,53.2,7.4,08:00,16:00,3\n" for i in range(100_000))
    started = time.perf_counter()
    problems = _fails("sites", (SITES_HEADER + rows).encode())
    assert problems == ["Zeile 1: Die Datei hat mehr als 10.000 Zeilen; bitte in kleineren Dateien einlesen."]
    assert time.perf_counter() - started < 5


def test_windows_1252_with_semicolons_and_decimal_commas(app):
    text = SITES_HEADER.replace(",", ";") + "D;Poststelle Büro;depot;Süd;Straße 1;53,2310;7,4610;06:30;16:00;0\n"
    report = masterdata.import_csv("sites", text.encode("cp1252"))
    assert report.created == ["D"]
    site = db.session.scalar(select(Site))
    assert (site.name, site.street, site.lat, site.lon) == ("Poststelle Büro", "Straße 1", 53.231, 7.461)

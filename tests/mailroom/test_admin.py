"""Administration pages: users, sites, org units, vans, stop templates; the set-up checklist."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from mailroom.extensions import db
from mailroom.models import OrgUnit, Role, Site, StopTemplate, User, Vehicle
from tests.conftest import TEST_PASSWORD

SITE_FORM = {"code": "", "name": "", "kind": "administration", "district": "", "street": "", "postcode": "26789",
             "city": "Leer", "phone": "", "lat": "", "lon": "", "opens": "07:30", "closes": "16:00",
             "service_min": "3", "remarks": "", "active": "y"}  # fmt: skip
VAN_FORM = {"code": "V1", "name": "E-Van", "plate": "LER-X 1", "capacity_boxes": "30", "battery_range_km": "160",
            "battery_kwh": "60", "kwh_per_100km": "25", "winter_factor": "0,8", "active": "y"}  # fmt: skip


def _site(client, **values) -> str:
    response = client.post("/admin/sites/new", data={**SITE_FORM, **values}, follow_redirects=True)
    return response.get_data(as_text=True)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


# --- users -------------------------------------------------------------------------------------------


def test_admin_creates_a_user_who_can_log_in(client, demo, login):
    login("admin", demo["admin"])
    response = client.post(
        "/admin/users", data={"username": "Neue", "full_name": "Nina Neu", "role": "courier", "password": "x" * 12}
    )
    assert response.status_code == 302
    assert db.session.query(User).filter_by(username="neue").one().role == "courier"
    duplicate = client.post("/admin/users", data={"username": "neue", "role": "courier", "password": "x" * 12})
    assert "existiert bereits" in duplicate.get_data(as_text=True)
    short = client.post("/admin/users", data={"username": "kurz", "role": "courier", "password": "x"})
    assert "mindestens 10 Zeichen" in short.get_data(as_text=True)
    assert db.session.query(User).filter_by(username="kurz").count() == 0
    users_page = client.get("/admin/users").get_data(as_text=True)
    assert "<td>Nina Neu</td><td>Botendienst</td>" in users_page and "<td>courier</td>" not in users_page


def test_admin_cannot_deactivate_themselves(client, demo, login):
    login("admin", demo["admin"])
    admin = db.session.query(User).filter_by(username="admin").one()
    response = client.post(f"/admin/users/{admin.id}/active", follow_redirects=True)
    assert "nicht deaktivieren" in response.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.active
    response = client.post(
        f"/admin/users/{admin.id}", data={"full_name": "A", "role": "courier"}, follow_redirects=True
    )
    assert "nicht selbst die Administration entziehen" in response.get_data(as_text=True)


def test_role_change_password_reset_and_deactivation(app, client, make_user, login):
    make_user("chefin", Role.ADMIN)
    courier = make_user("bote", Role.COURIER)
    login("chefin")
    assert client.post(f"/admin/users/{courier.id}", data={"full_name": "Bernd", "role": "fleet"}).status_code == 302
    db.session.refresh(courier)
    assert (courier.role, courier.full_name) == ("fleet", "Bernd")
    assert client.post(f"/admin/users/{courier.id}/password", data={"password": "neu-und-lang-42"}).status_code == 302
    other = app.test_client()
    assert other.post("/login", data={"username": "bote", "password": TEST_PASSWORD}).status_code != 302
    login("bote", "neu-und-lang-42", target_client=other)
    client.post(f"/admin/users/{courier.id}/active")
    db.session.refresh(courier)
    assert not courier.active
    third = app.test_client()
    assert third.post("/login", data={"username": "bote", "password": "neu-und-lang-42"}).status_code != 302
    assert _count(User) == 2  # deactivated, never deleted


# --- sites -------------------------------------------------------------------------------------------


def test_sites_are_created_checked_and_one_is_the_depot(app, client, make_user, login):
    make_user("chefin", Role.ADMIN)
    login("chefin")
    new_page = client.get("/admin/sites/new").get_data(as_text=True)
    assert '<option selected value="depot">' in new_page  # the first site is usually the mail room
    page = _site(client, code="POST", name="Poststelle", kind="depot", lat="53,2310", lon="7,4610")
    assert "Standort POST gespeichert." in page
    depot = db.session.scalar(select(Site).where(Site.code == "POST"))
    assert depot.is_depot and (depot.lat, depot.lon) == (53.231, 7.461)

    assert "Breite (lat) und Länge (lon) bitte gemeinsam angeben" in _site(client, code="A", name="Amt", lat="53.2")
    assert "sind vertauscht" in _site(client, code="A", name="Amt", lat="7.45", lon="53.22")
    assert "liegt nicht zwischen -90 und 90" in _site(client, code="A", name="Amt", lat="99", lon="7.4")
    assert "Öffnet um 16:00, schließt aber schon um 08:00" in _site(client, code="A", name="Amt", opens="16:00",
                                                                     closes="08:00")  # fmt: skip
    assert "Der Code „POST“ ist schon vergeben" in _site(client, code="POST", name="Noch eine")
    assert _count(Site) == 1
    assert "liegen außerhalb Deutschlands" in _site(client, code="W", name="Wien", lat="48.2", lon="16.37")
    assert _count(Site) == 2

    # Another site becomes the depot: the former one becomes an ordinary site (exactly one depot).
    page = _site(client, code="NEU", name="Neue Poststelle", kind="depot", lat="53.24", lon="7.45")
    assert "„Poststelle“ (POST) ist nicht mehr die Poststelle." in page
    assert [s.code for s in db.session.scalars(select(Site).where(Site.is_depot))] == ["NEU"]
    new_depot = db.session.scalar(select(Site).where(Site.code == "NEU"))
    page = client.post(f"/admin/sites/{new_depot.id}/active", follow_redirects=True).get_data(as_text=True)
    assert "Die Poststelle kann nicht deaktiviert werden" in page
    form = {**SITE_FORM, "code": "NEU", "name": "Neue Poststelle", "kind": "school", "lat": "53.24", "lon": "7.45"}
    page = client.post(f"/admin/sites/{new_depot.id}", data=form).get_data(as_text=True)
    assert "Die Poststelle bleibt Poststelle" in page
    old = db.session.scalar(select(Site).where(Site.code == "POST"))
    client.post(f"/admin/sites/{old.id}/active")
    db.session.refresh(old)
    assert not old.active and _count(Site) == 3  # deactivated, kept


def test_site_edit_keeps_and_changes_fields(client, demo, login):
    login("admin", demo["admin"])
    site = db.session.scalar(select(Site).where(Site.code == "RH"))
    page = client.get(f"/admin/sites/{site.id}").get_data(as_text=True)
    assert 'value="53.1403"' in page and 'value="8.2141"' in page
    form = {**SITE_FORM, "code": "RH", "name": "Rathaus", "street": "Markt 1", "city": "Oldenburg", "lat": "53.14",
            "lon": "8.21", "service_min": "6"}  # fmt: skip
    assert client.post(f"/admin/sites/{site.id}", data=form).status_code == 302
    db.session.refresh(site)
    assert (site.lat, site.lon, site.service_min, site.city) == (53.14, 8.21, 6, "Oldenburg")


# --- org units, vans ---------------------------------------------------------------------------------


def test_org_units_are_created_with_a_do_not_open_rule(client, demo, login):
    login("admin", demo["admin"])
    site = db.session.scalar(select(Site).where(Site.code == "RH"))
    form = {"short_name": "PR", "name": "Personalrat", "cost_centre": "19900", "site_id": site.id, "email": "",
            "room": "101", "do_not_open": "y", "active": "y"}  # fmt: skip
    assert client.post("/admin/org-units/new", data=form).status_code == 302
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.short_name == "PR"))
    assert unit.do_not_open and unit.email is None and unit.site_id == site.id
    assert "Das Kürzel „PR“ ist schon vergeben" in client.post("/admin/org-units/new", data=form).get_data(as_text=True)
    bad = {**form, "short_name": "PR2", "email": "kein-mail"}
    assert "Keine gültige E-Mail-Adresse." in client.post("/admin/org-units/new", data=bad).get_data(as_text=True)
    bad = {**form, "short_name": "PR2", "cost_centre": "KST"}
    assert "die Kostenstelle besteht aus bis zu 16 Ziffern" in client.post(
        "/admin/org-units/new", data=bad).get_data(as_text=True)  # fmt: skip
    off = {**form, "active": ""}
    assert client.post(f"/admin/org-units/{unit.id}", data=off).status_code == 302
    db.session.refresh(unit)
    assert not unit.active
    assert "ungeöffnet" in client.get("/admin/org-units").get_data(as_text=True)


def test_vans_are_created_and_checked(app, client, make_user, login):
    make_user("fuhrpark", Role.FLEET)
    login("fuhrpark")
    bad = client.post("/admin/vehicles/new", data={**VAN_FORM, "capacity_boxes": "-5"}).get_data(as_text=True)
    assert "Kapazität: -5 liegt nicht zwischen 1 und 500 Kisten." in bad
    assert _count(Vehicle) == 0
    assert client.post("/admin/vehicles/new", data=VAN_FORM).status_code == 302
    van = db.session.scalar(select(Vehicle))
    assert (van.capacity_boxes, van.battery_range_km, van.winter_factor, van.kwh_per_100km) == (30, 160, 0.8, 25)
    listing = client.get("/admin/vehicles").get_data(as_text=True)
    assert ">0,8</td>" in listing and ">0.8<" not in listing  # German decimals beside "160,0 km"
    assert client.get("/admin/users").status_code == 403  # fleet may edit vans, not users
    assert client.get("/admin/import/sites").status_code == 403
    assert client.get("/admin/import/vans").status_code == 403  # the fleet manager's own URL for vans:
    assert client.get("/admin/vehicles/import").status_code == 200
    exported = client.get("/admin/vehicles/export.csv")
    assert exported.status_code == 200 and b"V1;E-Van;LER-X 1;30;160;60;25;0.8;ja" in exported.data


def test_fleet_manager_sends_a_van_to_the_workshop(client, demo, login):
    login("fuhrpark", demo["fuhrpark"])
    van = db.session.query(Vehicle).filter_by(code="E2").one()
    page = client.get(f"/admin/vehicles/{van.id}").get_data(as_text=True)
    assert 'value="180"' in page and 'value="0.15"' in page
    form = {**VAN_FORM, "code": "E2", "name": "E-Transporter 2", "battery_range_km": "180", "safety_reserve": "0.15",
            "capacity_boxes": "40", "unavailable_from": "2026-12-01", "unavailable_until": "2026-11-30",
            "unavailable_note": ""}  # fmt: skip
    assert "vor dem Beginn" in client.post(f"/admin/vehicles/{van.id}", data=form).get_data(as_text=True)
    form["unavailable_until"] = "2026-12-03"
    assert client.post(f"/admin/vehicles/{van.id}", data=form).status_code == 302
    db.session.refresh(van)
    assert not van.is_available_on(date(2026, 12, 2))
    assert van.is_available_on(date(2026, 12, 4))


# --- stop templates ----------------------------------------------------------------------------------


def test_stop_templates_with_weekdays_must_visit_and_priority(client, demo, login):
    login("admin", demo["admin"])
    sites = {s.code: s for s in db.session.scalars(select(Site))}
    schools = [s for s in sites.values() if s.kind == "school"]
    form = {"name": "Schulen nur Mo, Mi, Fr", "weekdays": ["0", "2", "4"], "active": "y"}
    for school in schools:
        form[f"include-{school.id}"] = "1"
        form[f"must-{school.id}"] = "1"
    form[f"must-{schools[0].id}"] = ""
    form[f"priority-{schools[0].id}"] = "5"
    assert client.post("/admin/templates/new", data=form).status_code == 302
    template = db.session.scalar(select(StopTemplate).where(StopTemplate.name == "Schulen nur Mo, Mi, Fr"))
    assert template.weekdays == "0,2,4" and len(template.entries) == len(schools)
    first = next(e for e in template.entries if e.site_id == schools[0].id)
    assert (first.must_visit, first.priority) == (False, 5)
    assert "Mo,Mi,Fr" in client.get("/admin/templates").get_data(as_text=True)

    assert "mindestens einen Wochentag" in client.post(
        "/admin/templates/new", data={**form, "name": "Ohne Tage", "weekdays": []}).get_data(as_text=True)  # fmt: skip
    assert "gibt es schon" in client.post("/admin/templates/new", data=form).get_data(as_text=True)
    assert "Die Priorität liegt zwischen 1 und 10" in client.post(
        "/admin/templates/new", data={**form, "name": "X", f"priority-{schools[0].id}": "11"}
    ).get_data(as_text=True)

    # Take one school out of the template, then deactivate the template.
    form.pop(f"include-{schools[-1].id}")
    assert client.post(f"/admin/templates/{template.id}", data=form).status_code == 302
    db.session.refresh(template)
    assert len(template.entries) == len(schools) - 1
    client.post(f"/admin/templates/{template.id}/active")
    db.session.refresh(template)
    assert not template.active and _count(StopTemplate) == 2


# --- the set-up checklist ----------------------------------------------------------------------------


def test_checklist_on_the_start_page_of_an_empty_installation(app, client, make_user, login):
    make_user("chefin", Role.ADMIN)
    login("chefin")
    page = client.get("/").get_data(as_text=True)
    assert page.count('data-done="no"') == 6
    assert "Es ist noch keine Poststelle (Depot) angelegt" in page
    _site(client, code="POST", name="Poststelle", kind="depot", lat="53.231", lon="7.461")
    _site(client, code="A", name="Amt")  # no coordinates yet
    page = client.get("/admin/").get_data(as_text=True)
    assert '<li data-step="depot" data-done="yes">' in page
    assert "1 Standort(e) ohne Koordinaten: A." in page


def test_checklist_is_gone_when_set_up(client, demo, login):
    login("admin", demo["admin"])
    assert "setup-checklist" not in client.get("/").get_data(as_text=True)
    assert "Einrichtung: vollständig" in client.get("/admin/").get_data(as_text=True)


def test_admin_changes_are_written_to_the_audit_log_that_cannot_be_edited(app, client, make_user, login):
    from mailroom.models import AppendOnlyViolation, AuditEntry

    make_user("admin", "admin")
    c = login("admin")
    user = make_user("post")
    response = c.post(f"/admin/users/{user.id}/password", data={"password": "ein-neues-passwort"})
    assert response.status_code == 302
    entries = list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    created = [e for e in entries if e.subject == "Benutzer post" and e.action == "angelegt"]
    assert created and created[0].actor_name == "Kommandozeile"  # made by the test's service call
    assert created[0].details["password_hash"] == "(gesetzt)" and "ein-neues" not in str(created[0].details)
    changed = [e for e in entries if e.subject == "Benutzer post" and e.action == "geändert"]
    assert changed and changed[-1].actor_name == "admin"
    assert changed[-1].details == {"password_hash": "(geändert)"}
    page = c.get("/admin/audit").get_data(as_text=True)
    assert "Benutzer post" in page and "Änderungsprotokoll" in page
    assert login("post", "ein-neues-passwort", app.test_client()).get("/admin/audit").status_code == 403
    entries[0].note = "vertuscht"
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()

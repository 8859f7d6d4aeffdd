"""Administration pages: users, sites, org units, vans."""

from __future__ import annotations

from datetime import date

from mailroom.extensions import db
from mailroom.models import OrgUnit, Site, User, Vehicle


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


def test_site_coordinates_are_validated(client, demo, login):
    login("admin", demo["admin"])
    site = db.session.query(Site).filter_by(code="RH").one()
    form = {"street": "Markt 1", "phone": "0441 235-0", "lat": "53.14", "lon": "", "opens": "07:30", "closes": "16:00",
            "service_min": "6", "remarks": ""}  # fmt: skip
    response = client.post(f"/admin/sites/{site.id}", data=form)
    assert "Breite und Länge gemeinsam" in response.get_data(as_text=True)
    db.session.refresh(site)
    assert site.lon is not None  # unchanged
    form["lon"] = "8.21"
    assert client.post(f"/admin/sites/{site.id}", data=form).status_code == 302
    db.session.refresh(site)
    assert (site.lat, site.lon) == (53.14, 8.21)


def test_org_unit_email_is_validated(client, demo, login):
    login("admin", demo["admin"])
    unit = db.session.query(OrgUnit).first()
    response = client.post(
        f"/admin/org-units/{unit.id}", data={"email": "kein-mail", "site_id": unit.site_id, "cost_centre": "4711"}
    )
    assert "Keine gültige E-Mail-Adresse." in response.get_data(as_text=True)


def test_fleet_manager_sends_a_van_to_the_workshop(client, demo, login):
    login("fuhrpark", demo["fuhrpark"])
    van = db.session.query(Vehicle).filter_by(code="E2").one()
    form = {"battery_range_km": "180", "winter_factor": "0.8", "safety_reserve": "0.15", "capacity_boxes": "40",
            "active": "y", "unavailable_from": "2026-12-01", "unavailable_until": "2026-11-30",
            "unavailable_note": ""}  # fmt: skip
    assert "vor dem Beginn" in client.post(f"/admin/vehicles/{van.id}", data=form).get_data(as_text=True)
    form["unavailable_until"] = "2026-12-03"
    assert client.post(f"/admin/vehicles/{van.id}", data=form).status_code == 302
    db.session.refresh(van)
    assert not van.is_available_on(date(2026, 12, 2))
    assert van.is_available_on(date(2026, 12, 4))
    assert client.get("/admin/users").status_code == 403  # fleet may edit vans, not users

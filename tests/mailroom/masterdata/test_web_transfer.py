"""CSV import in the browser: upload, preview of created/updated/unchanged, confirm; export download."""

from __future__ import annotations

import io
import re
from pathlib import Path

from sqlalchemy import func, select

from mailroom.extensions import db
from mailroom.models import Role, Site, Vehicle
from mailroom.services import masterdata


def _upload(client, kind: str, data: bytes, name: str = "daten.csv"):
    return client.post(f"/admin/import/{kind}", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")  # fmt: skip


def _token(page: str) -> str:
    match = re.search(r'name="token" value="([^"]+)"', page)
    assert match, page[:2000]
    return match.group(1)


def test_upload_preview_confirm(app, client, make_user, login, leer_files):
    make_user("chefin", Role.ADMIN)
    login("chefin")
    preview = _upload(client, "sites", leer_files["sites"].read_bytes())
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert 'data-testid="count-created">8<' in page and 'data-testid="count-unchanged">0<' in page
    assert db.session.scalar(select(func.count(Site.id))) == 0  # the preview stores nothing
    token = _token(page)
    stored = list((Path(app.instance_path) / "imports").glob("*.csv"))
    assert len(stored) == 1 and stored[0].stat().st_mode & 0o777 == 0o600

    done = client.post("/admin/import/sites/confirm", data={"token": token}, follow_redirects=True)
    assert "Standorte eingelesen: 8 angelegt, 0 geändert, 0 unverändert." in done.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Site.id))) == 8
    assert not stored[0].exists()  # used once
    again = client.post("/admin/import/sites/confirm", data={"token": token}, follow_redirects=True)
    assert "nicht mehr vorhanden" in again.get_data(as_text=True)

    # A changed file: the preview names what changes.
    changed = leer_files["sites"].read_bytes().replace(b"07:30,13:30,3", b"08:00,13:30,3", 1)
    page = _upload(client, "sites", changed).get_data(as_text=True)
    assert 'data-testid="count-updated">1<' in page and "Öffnet: 07:30 → 08:00" in page
    cancel = client.post("/admin/import/sites/confirm", data={"token": _token(page), "cancel": "1"},
                         follow_redirects=True)  # fmt: skip
    assert "Import abgebrochen" in cancel.get_data(as_text=True)
    assert db.session.scalar(select(Site.opens).where(Site.code == "GS1")).strftime("%H:%M") == "07:30"


def test_upload_with_errors_lists_them_and_stores_nothing(app, client, make_user, login):
    make_user("chefin", Role.ADMIN)
    login("chefin")
    data = (b"code,name,plate,capacity_boxes,range_km,battery_kwh,consumption_kwh_per_100km,winter_factor\n"
            b"V1,Van,,-3,160,60,25,0.8\n")  # fmt: skip
    response = _upload(client, "vans", data)
    assert response.status_code == 422
    assert "Zeile 2: capacity_boxes: -3 liegt nicht zwischen 1 und 500 Kisten" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Vehicle.id))) == 0
    assert _upload(client, "vans", b"").status_code == 422


def test_a_token_is_bound_to_its_user_and_kind(app, client, make_user, login, leer_files):
    make_user("chefin", Role.ADMIN)
    make_user("zweite", Role.ADMIN)
    login("chefin")
    token = _token(_upload(client, "sites", leer_files["sites"].read_bytes()).get_data(as_text=True))
    other = app.test_client()
    login("zweite", target_client=other)
    page = other.post("/admin/import/sites/confirm", data={"token": token}, follow_redirects=True)
    assert "nicht mehr vorhanden" in page.get_data(as_text=True)
    page = client.post("/admin/import/vans/confirm", data={"token": token}, follow_redirects=True)
    assert "nicht mehr vorhanden" in page.get_data(as_text=True)
    page = client.post("/admin/import/sites/confirm", data={"token": "../../secret_key"}, follow_redirects=True)
    assert "nicht mehr vorhanden" in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Site.id))) == 0


def test_export_download_reads_back_unchanged(app, client, demo, login):
    login("admin", demo["admin"])
    for kind in masterdata.KINDS:
        response = client.get(f"/admin/export/{kind}.csv")
        assert response.status_code == 200 and response.mimetype == "text/csv"
        assert response.data.startswith("\ufeff".encode())
        report = masterdata.import_csv(kind, response.data, apply=False)
        assert not report.created and not report.updated and report.unchanged, kind
    assert client.get("/admin/export/buildings.csv").status_code == 404


def test_fleet_manager_imports_vans_on_their_own_urls(app, client, make_user, login, leer_files):
    make_user("fuhrpark", Role.FLEET)
    login("fuhrpark")
    page = client.post("/admin/vehicles/import", data={"file": (io.BytesIO(leer_files["vans"].read_bytes()), "v.csv")},
                       content_type="multipart/form-data").get_data(as_text=True)  # fmt: skip
    assert 'action="/admin/vehicles/import/confirm"' in page
    done = client.post("/admin/vehicles/import/confirm", data={"token": _token(page)}, follow_redirects=True)
    assert "Fahrzeuge eingelesen: 1 angelegt" in done.get_data(as_text=True)
    assert db.session.scalar(select(Vehicle.name)) == "E-Transporter Leer 1"

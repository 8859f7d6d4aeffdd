"""The outgoing-mail pages: who may open what, the franking form, uploads, tracked items, admin pages;
bad input answers 4xx with a German message and stores nothing."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from labels.codes import make_s10
from mailroom.extensions import db
from mailroom.models.outgoing import Budget, ImportMapping, LetterCount, Tariff, TrackedItem
from tests.mailroom.outgoing.conftest import csv_file


def _client(app, world, username):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": world[username]})
    assert response.status_code == 302
    return client


def _lines() -> int:
    return db.session.scalar(select(func.count(LetterCount.id))) or 0


def test_roles(app, world):
    courier = _client(app, world, "bote")
    for url in ("/outgoing/", "/outgoing/report", "/outgoing/year", "/outgoing/import", "/outgoing/tracked"):
        assert courier.get(url).status_code == 403
    post = _client(app, world, "post")
    for url in (
        "/outgoing/",
        "/outgoing/report",
        "/outgoing/year",
        "/outgoing/import",
        "/outgoing/tracked",
        "/outgoing/pzu/overdue",
        "/outgoing/report.csv",
        "/outgoing/charge-back.csv",
    ):
        assert post.get(url).status_code == 200, url
    for url in ("/outgoing/tariffs", "/outgoing/budgets", "/outgoing/mappings"):
        assert post.get(url).status_code == 403
        assert _client(app, world, "admin").get(url).status_code == 200
    assert "Postausgang" in post.get("/").get_data(as_text=True)
    assert app.test_client().get("/outgoing/").status_code == 302  # to the login


def test_franking_form_books_and_refuses_bad_input(app, world):
    post = _client(app, world, "post")
    ok = post.post(
        "/outgoing/franking",
        data={
            "cost_centre": "10100",
            "day": "2026-11-20",
            "n-standardbrief": "40",
            "n-grossbrief+einschreiben": "2",
            "n-kompaktbrief": "",
        },
    )
    assert ok.status_code == 302
    page = post.get("/outgoing/?day=2026-11-20").get_data(as_text=True)
    assert "Gebucht: Kostenstelle 10100, 42 Stück, 46,90 €." in page
    assert _lines() == 2
    for data, message in [
        ({"cost_centre": "4711", "n-standardbrief": "3"}, "Unbekannte Kostenstelle „4711“"),
        ({"cost_centre": "10100", "n-standardbrief": "0"}, "mindestens 1"),
        ({"cost_centre": "10100", "n-standardbrief": "-2"}, "mindestens 1"),
        ({"cost_centre": "10100", "n-standardbrief": "drei"}, "keine ganze Zahl"),
        ({"cost_centre": "10100"}, "mindestens eine Stückzahl"),
        ({"cost_centre": "10100", "n-luftpost": "1"}, "Unbekanntes Produkt"),
        ({"cost_centre": "10100", "day": "2021-03-01", "n-standardbrief": "1"}, "keinen gültigen Tarif"),
        ({"cost_centre": "10100", "day": "31.02.2026", "n-standardbrief": "1"}, "kein gültiges Datum"),
    ]:
        response = post.post("/outgoing/franking", data={"day": "2026-11-20", **data})
        assert response.status_code == 422, data
        html = response.get_data(as_text=True)
        assert message in html, data
        assert 'value="10100"' in html or data["cost_centre"] != "10100"  # the form keeps what was typed
    assert _lines() == 2


def test_budget_warning_is_flashed(app, world):
    db.session.add(Budget(cost_centre="10100", year=2026, month=11, amount_cents=1_000, warn_percent=50))
    db.session.commit()
    post = _client(app, world, "post")
    post.post("/outgoing/franking", data={"cost_centre": "10100", "day": "2026-11-20", "n-standardbrief": "6"})
    html = post.get("/outgoing/?day=2026-11-20").get_data(as_text=True)
    assert "Budget der Kostenstelle 10100 für November 2026 zu 57 % ausgeschöpft" in html


def test_import_upload_html_and_json(app, world):
    post = _client(app, world, "post")
    data = csv_file("20.11.2026;;10100;standardbrief;;10;9,00")
    response = post.post(
        "/outgoing/import", data={"file": (io.BytesIO(data), "log.csv")}, content_type="multipart/form-data"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "1 Zeilen, 10 Stück, 9,00 € gebucht." in html
    assert "weicht vom Tarif" in html
    again = post.post(
        "/outgoing/import",
        data={"file": (io.BytesIO(data), "log.csv")},
        content_type="multipart/form-data",
        headers={"Accept": "application/json"},
    )
    assert again.status_code == 409 and "bereits eingelesen" in again.get_json()["errors"][0]["message"]
    bad = post.post(
        "/outgoing/import",
        data={"file": (io.BytesIO(b"a;b\r\n1;2\r\n"), "bad.csv")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422 and "Kopfzeile muss genau" in bad.get_data(as_text=True)
    assert post.post("/outgoing/import", data={}).status_code == 400
    assert _lines() == 1


def test_tracked_items_pages(app, world):
    post = _client(app, world, "post")
    code = make_s10("RR", 777)
    ok = post.post(
        "/outgoing/tracked/einschreiben",
        data={
            "day": "2026-11-19",
            "cost_centre": "10100",
            "code": code,
            "variant": "einschreiben",
            "recipient": "Meyer",
        },
    )
    assert ok.status_code == 302
    html = post.get("/outgoing/tracked?day=2026-11-19").get_data(as_text=True)
    assert code in html and "23.11.2026" in html  # counts as served on the 4th day
    assert "Einlieferungsliste Deutsche Post" in html
    pdf = post.get("/outgoing/posting-list.pdf?carrier=Deutsche%20Post&day=2026-11-19")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    wrong = post.post(
        "/outgoing/tracked/einschreiben",
        data={
            "day": "2026-11-19",
            "cost_centre": "10100",
            "code": "RR000007774DE",
            "variant": "einschreiben",
            "recipient": "Meyer",
        },
    )
    assert wrong.status_code == 422 and "Prüfziffer" in wrong.get_data(as_text=True)
    pzu = post.post(
        "/outgoing/tracked/pzu",
        data={"day": "2026-11-10", "cost_centre": "10200", "recipient": "Onken", "file_number": "32-1/26"},
    )
    assert pzu.status_code == 302
    item = db.session.scalar(select(TrackedItem).where(TrackedItem.kind == "pzu"))
    early = post.post(f"/outgoing/tracked/{item.id}/served", data={"served_on": "2026-11-09"})
    assert early.status_code == 422 and "vor dem Einlieferungstag" in early.get_data(as_text=True)
    assert post.post(f"/outgoing/tracked/{item.id}/served", data={"served_on": "2026-11-12"}).status_code == 302
    db.session.refresh(item)
    assert item.served_on.isoformat() == "2026-11-12"
    assert post.post("/outgoing/tracked/999999/served", data={"served_on": "2026-11-12"}).status_code == 404
    heavy = post.post(
        "/outgoing/tracked/parcel",
        data={
            "day": "2026-11-19",
            "cost_centre": "10100",
            "carrier": "DHL",
            "tracking_number": "JJD000390007757424371",
            "weight_g": "viel",
            "recipient": "X",
            "recipient_address": "Y",
        },
    )
    assert heavy.status_code == 422 and "Gewicht" in heavy.get_data(as_text=True)
    assert post.post("/outgoing/tracked/brieftaube", data={}).status_code == 404


def test_admin_pages(app, world):
    admin = _client(app, world, "admin")
    rows = db.session.scalar(select(func.count(Tariff.id)))
    ok = admin.post("/outgoing/tariffs", data={"valid_from": "2027-01-01", "p-standardbrief": "1,05", "p-prio": "-"})
    assert ok.status_code == 302 and db.session.scalar(select(func.count(Tariff.id))) == rows + 2
    again = admin.post("/outgoing/tariffs", data={"valid_from": "2027-01-01", "p-standardbrief": "1,10"})
    assert again.status_code == 422 and "schon einen Preis" in again.get_data(as_text=True)
    bad = admin.post("/outgoing/tariffs", data={"valid_from": "2027-02-01", "p-standardbrief": "teuer"})
    assert bad.status_code == 422 and "kein Euro-Betrag" in bad.get_data(as_text=True)
    assert (
        admin.post(
            "/outgoing/budgets", data={"cost_centre": "10100", "year": "2026", "amount": "500,00", "warn_percent": "80"}
        ).status_code
        == 302
    )
    refused = admin.post("/outgoing/budgets", data={"cost_centre": "0", "year": "2026", "amount": "5"})
    assert refused.status_code == 422 and "Unbekannte Kostenstelle" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Budget.id))) == 1
    saved = admin.post(
        "/outgoing/mappings",
        data={
            "name": "frama",
            "col-date": "Datum",
            "col-cost_centre": "KST",
            "col-product": "Produkt",
            "col-pieces": "Anzahl",
            "col-postage": "Betrag",
            "date_format": "%d.%m.%Y",
            "postage_unit": "eur",
            "products": '{"SB": "standardbrief"}',
        },
    )
    assert saved.status_code == 302
    broken = admin.post("/outgoing/mappings", data={"name": "x", "col-date": "D", "products": "{kaputt"})
    assert broken.status_code == 422 and "kein gültiges JSON" in broken.get_data(as_text=True)
    assert db.session.scalar(select(func.count(ImportMapping.id))) == 1


@pytest.mark.parametrize("url", ["/outgoing/report?month=2026-13", "/outgoing/year?year=abc"])
def test_bad_report_parameters_fall_back_with_a_message(app, world, url):
    post = _client(app, world, "post")
    response = post.get(url)
    assert response.status_code == 200 and "ungültig" in response.get_data(as_text=True)


def test_report_downloads_refuse_a_bad_month(app, world):
    post = _client(app, world, "post")
    assert post.get("/outgoing/report.csv?month=13-2026").status_code == 422
    refused = post.get("/outgoing/report.json?month=2026-1", headers={"Accept": "application/json"})
    assert refused.status_code == 422 and "ungültig" in refused.get_json()["error"]["message"]
    post.post("/outgoing/franking", data={"cost_centre": "10200", "day": "2026-11-20", "n-kompaktbrief": "3"})
    assert post.get("/outgoing/report.json?month=2026-11").get_json() == {
        "month": "2026-11",
        "pieces": 3,
        "postage_cents": 330,
        "cost_centres": [{"cost_centre": "10200", "pieces": 3, "postage_cents": 330}],
    }
    assert post.get("/outgoing/charge-back.csv?month=2026-11").headers["Content-Type"].startswith("text/csv")

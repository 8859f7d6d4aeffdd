"""Dispatch pages: roles, planning in the background with status polling, adjusting, PDF, overview."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import pytest
from flask import g
from sqlalchemy import func, select

from mailroom.extensions import db
from mailroom.models import AdhocStop, PlanRun, Site, StopStatus, Tour
from mailroom.services import dispatch
from tests.mailroom.dispatch.conftest import MONDAY, SATURDAY, add_sorted_items


def _client(app, username: str):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": app.config["LOGINS"][username]})
    assert response.status_code == 302
    return client


def _wait_for_run(client, run_id: int) -> dict:
    """Poll the status endpoint as the page does, until the background plan has finished."""
    deadline = time.monotonic() + 60
    while True:
        response = client.get(f"/dispatch/runs/{run_id}/status", headers={"Accept": "application/json"})
        assert response.status_code == 200
        data = response.get_json()
        assert 0.0 <= data["progress"] <= 1.0
        if data["status"] != "running":
            return data
        assert time.monotonic() < deadline, "plan did not finish"
        time.sleep(0.1)


def test_only_mailroom_and_admin_open_dispatch(demo_app):
    # The test keeps one app context open, so Flask-Login's user cached in `g` is dropped before each
    # request: every request is judged by its own client's session.
    def get(client, url, method="GET", **kwargs):
        g.pop("_login_user", None)
        return client.open(url, method=method, **kwargs)

    assert get(demo_app.test_client(), "/dispatch/").status_code == 302
    for username in ("bote", "fuhrpark", "post", "admin"):
        g.pop("_login_user", None)
        client = _client(demo_app, username)
        allowed = username in ("post", "admin")
        page = get(client, f"/dispatch/?date={MONDAY.isoformat()}")
        assert page.status_code == (200 if allowed else 403)
        assert get(client, "/dispatch/overview").status_code == (200 if allowed else 403)
        if allowed:
            html = page.get_data(as_text=True)
            assert "Disposition – Montag, 02.03.2026" in html and 'id="plan-button"' in html
            assert "Stopps des Tages (40)" in html
        else:
            assert get(client, "/dispatch/plan", "POST", data={"date": MONDAY.isoformat()}).status_code == 403
            assert get(client, "/dispatch/runs/1/status").status_code == 403


def test_plan_in_background_and_poll_status(demo_app):
    add_sorted_items(per_site=2)
    client = _client(demo_app, "post")
    response = client.post("/dispatch/plan", data={"date": MONDAY.isoformat()})
    assert response.status_code == 302
    run_id = int(parse_qs(urlparse(response.headers["Location"]).query)["run"][0])
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"/dispatch/runs/{run_id}/status" in page or "Neu planen" in page  # running, or already done

    data = _wait_for_run(client, run_id)
    assert data["status"] == "done" and data["progress"] == 1.0
    assert data["message"].startswith("Fertig: 40 Stopps geplant")
    assert data["day_url"].endswith("date=2026-03-02")
    db.session.expire_all()
    tours = db.session.scalars(select(Tour).where(Tour.service_date == MONDAY)).all()
    assert tours and all(t.plan_run_id == run_id and t.driver_id for t in tours)

    html = client.get(f"/dispatch/?date={MONDAY.isoformat()}").get_data(as_text=True)
    assert 'data-testid="tour-E1"' in html and 'id="tour-data"' in html and "Laufzettel drucken" in html

    # The same day again while nothing has started: a re-plan.
    response = client.post("/dispatch/plan", data={"date": MONDAY.isoformat()})
    run_id = int(parse_qs(urlparse(response.headers["Location"]).query)["run"][0])
    assert _wait_for_run(client, run_id)["status"] == "done"
    assert db.session.get(PlanRun, run_id).kind == "replan"


def test_plan_with_a_return_time(demo_app):
    client = _client(demo_app, "post")
    html = client.get(f"/dispatch/?date={MONDAY.isoformat()}").get_data(as_text=True)
    assert 'name="return_by"' in html and 'value="15:30"' in html

    response = client.post("/dispatch/plan", data={"date": MONDAY.isoformat(), "return_by": "7 Uhr"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "keine gültige Uhrzeit" in page
    assert db.session.scalar(select(PlanRun)) is None

    response = client.post("/dispatch/plan", data={"date": MONDAY.isoformat(), "return_by": "12:00"})
    run_id = int(parse_qs(urlparse(response.headers["Location"]).query)["run"][0])
    assert _wait_for_run(client, run_id)["status"] == "done"
    db.session.expire_all()
    assert db.session.get(PlanRun, run_id).return_by == "12:00"
    tours = db.session.scalars(select(Tour).where(Tour.service_date == MONDAY)).all()
    assert len(tours) == 2
    html = client.get(f"/dispatch/?date={MONDAY.isoformat()}").get_data(as_text=True)
    assert 'value="12:00"' in html
    assert "nicht eingesetzt" not in html and html.count('href="#tour-') == 2


def test_plan_refused_with_german_message(demo_app):
    client = _client(demo_app, "post")
    response = client.post("/dispatch/plan", data={"date": SATURDAY.isoformat()}, follow_redirects=True)
    assert response.status_code == 200
    assert "keine Stoppvorlage" in response.get_data(as_text=True)
    assert db.session.scalar(select(PlanRun)) is None

    html = client.get("/dispatch/?date=2026-04-06").get_data(as_text=True)
    assert "Montag, 06.04.2026 ist Feiertag (Ostermontag)" in html

    response = client.get("/dispatch/?date=kein-datum")
    assert response.status_code == 422 and "kein gültiges Datum" in response.get_data(as_text=True)
    response = client.post("/dispatch/plan", data={"date": "2026-02-31"})
    assert response.status_code == 422

    response = client.get("/dispatch/runs/999/status", headers={"Accept": "application/json"})
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_failed_background_plan_is_reported(demo_app):
    """A plan that fails in the thread (here: a site lost its coordinates after the start) is shown as
    failed with the German reason; the day keeps no half tours."""
    client = _client(demo_app, "post")
    run = dispatch.start_plan_run(MONDAY, user=None)
    db.session.commit()
    site = db.session.scalar(select(Site).where(Site.code == "RH"))
    site.lon = None
    db.session.commit()
    with demo_app.app_context():  # the background job, run here: its own app context and session
        assert dispatch.complete_plan_run(run.id) == "failed"
    db.session.expire_all()  # this test's session must not answer from its identity map
    data = _wait_for_run(client, run.id)
    assert data["status"] == "failed" and "Rathaus" in data["message"]
    assert db.session.scalar(select(Tour)) is None
    html = client.get(f"/dispatch/?date={MONDAY.isoformat()}").get_data(as_text=True)
    assert "Planung fehlgeschlagen" in html


def test_move_pin_breakdown_via_forms(planned_app):
    client = _client(planned_app, "post")
    e1, e2 = sorted(dispatch.tours_of(MONDAY), key=lambda t: t.vehicle.code)
    stop = next(s for s in e1.stops if not s.is_depot)
    code = stop.site.code
    response = client.post(f"/dispatch/stops/{stop.id}/move", data={"tour_id": e2.id}, follow_redirects=True)
    assert f"Stopp {code} zu E2 verschoben" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Tour, e2.id).stops and code in {s.site.code for s in db.session.get(Tour, e2.id).stops}

    open_ids = [s.id for s in db.session.get(Tour, e1.id).stops if not s.is_depot][:2]
    data = {"pin": [str(i) for i in open_ids], f"order_{open_ids[0]}": "2", f"order_{open_ids[1]}": "1"}
    response = client.post(f"/dispatch/tours/{e1.id}/pins", data=data, follow_redirects=True)
    assert "Tour E1 neu geplant (2 Stopps fixiert)" in response.get_data(as_text=True)
    db.session.expire_all()
    first_two = [s.id for s in sorted(db.session.get(Tour, e1.id).stops, key=lambda s: s.position)][:2]
    assert first_two == [open_ids[1], open_ids[0]]

    response = client.post(f"/dispatch/tours/{e1.id}/pins", data={"pin": ["x"]}, follow_redirects=True)
    assert "Ungültige Auswahl" in response.get_data(as_text=True)

    response = client.post(f"/dispatch/tours/{e2.id}/breakdown", data={"lat": "53.14"}, follow_redirects=True)
    assert "Breite und Länge" in response.get_data(as_text=True)
    response = client.post(f"/dispatch/tours/{e2.id}/breakdown", data={}, follow_redirects=True)
    assert "Ausfall E2: offene Stopps neu verteilt" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Tour, e2.id).status == "cancelled"


def test_driver_and_adhoc_forms(planned_app):
    client = _client(planned_app, "post")
    e1, e2 = sorted(dispatch.tours_of(MONDAY), key=lambda t: t.vehicle.code)
    response = client.post(f"/dispatch/tours/{e1.id}/driver", data={"driver_id": str(e2.driver_id)},
                           follow_redirects=True)  # fmt: skip
    assert "fährt an diesem Tag schon" in response.get_data(as_text=True)
    response = client.post(f"/dispatch/tours/{e1.id}/driver", data={"driver_id": ""}, follow_redirects=True)
    assert "Fahrer geändert" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Tour, e1.id).driver_id is None

    site = db.session.scalar(select(Site).where(Site.code == "GA"))
    form = {"date": MONDAY.isoformat(), "site_id": str(site.id), "pickup_boxes": "3", "must_visit": "y",
            "note": "<b>Akten</b>"}  # fmt: skip
    html = client.post("/dispatch/adhoc", data=form, follow_redirects=True).get_data(as_text=True)
    assert "Sonderstopp angelegt" in html and "&lt;b&gt;Akten&lt;/b&gt;" in html and "<b>Akten</b>" not in html
    html = client.post("/dispatch/adhoc", data={**form, "pickup_boxes": "-1"}, follow_redirects=True).get_data(
        as_text=True
    )
    assert "0 bis 40" in html

    rathaus = db.session.scalar(select(Site).where(Site.code == "RH"))
    courier = {**form, "deliver_to_site_id": str(rathaus.id), "note": ""}
    html = client.post("/dispatch/adhoc", data=courier, follow_redirects=True).get_data(as_text=True)
    assert "Sonderstopp angelegt" in html and "Kurier nach <strong>RH</strong>" in html
    html = client.post("/dispatch/adhoc", data={**courier, "deliver_to_site_id": str(site.id)}, follow_redirects=True)
    assert "verschieden" in html.get_data(as_text=True)
    html = client.post("/dispatch/adhoc", data={**courier, "deliver_to_site_id": "99999"}, follow_redirects=True)
    assert html.status_code == 200 and "Keine gültige Auswahl" in html.get_data(as_text=True)
    assert db.session.scalar(select(func.count(AdhocStop.id))) == 2


def test_route_sheets_pdf_and_overview(planned_app):
    client = _client(planned_app, "post")
    response = client.get(f"/dispatch/sheets.pdf?date={MONDAY.isoformat()}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert "laufzettel-2026-03-02.pdf" in response.headers["Content-Disposition"]
    assert client.get(f"/dispatch/sheets.pdf?date={SATURDAY.isoformat()}").status_code == 404

    tour = dispatch.tours_of(MONDAY)[0]
    first = next(s for s in tour.stops if not s.is_depot)
    first.status = StopStatus.DONE
    tour.status = "started"
    db.session.commit()
    html = client.get(f"/dispatch/overview?date={MONDAY.isoformat()}").get_data(as_text=True)
    # refreshes every 30 s by script, with a switch to stop it (a meta refresh could not be stopped)
    assert 'data-auto-refresh="30"' in html and 'http-equiv="refresh"' not in html
    assert f'data-testid="overview-{tour.vehicle.code}" data-status="started"' in html
    assert "Unterwegs" in html and "Noch nicht zugestellt" in html
    assert f"1/{sum(1 for s in tour.stops if not s.is_depot)}" in html


@pytest.mark.parametrize("path", ["/dispatch/", "/dispatch/overview"])
def test_pages_for_an_empty_day(demo_app, path):
    client = _client(demo_app, "post")
    response = client.get(f"{path}?date={SATURDAY.isoformat()}")
    assert response.status_code == 200

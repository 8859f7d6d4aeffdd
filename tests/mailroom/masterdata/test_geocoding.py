"""Geocoding against a small local HTTP server that answers like Nominatim (or Photon)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from mailroom.extensions import db
from mailroom.models import Role, Site
from mailroom.services import geocoding
from mailroom.services.geocoding import GeocodingFailed
from tests.mailroom.test_admin import SITE_FORM

KNOWN = {"Rathausstraße 1, 26789 Leer": (53.2310, 7.4610, "Rathaus, Rathausstraße 1, 26789 Leer, Deutschland")}


class FakeGeocoder(BaseHTTPRequestHandler):
    delay_s = 0.0

    def log_message(self, *_args) -> None:  # quiet
        return

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        self.server.requests.append((url.path, query))  # type: ignore[attr-defined]
        time.sleep(self.server.delay_s)  # type: ignore[attr-defined]
        text = query.get("q", [""])[0]
        if text.startswith("Fehler"):
            self.send_response(503)
            self.end_headers()
            return
        hit = KNOWN.get(text)
        if url.path == "/api":  # Photon: GeoJSON
            features = (
                []
                if hit is None
                else [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [hit[1], hit[0]]},
                        "properties": {"name": "Rathaus", "city": "Leer"},
                    }
                ]
            )
            body = {"type": "FeatureCollection", "features": features}
        else:  # Nominatim jsonv2: a list, coordinates as strings
            body = [] if hit is None else [{"lat": f"{hit[0]}", "lon": f"{hit[1]}", "display_name": hit[2]}]
        data = json.dumps(body).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up waiting (the timeout test)


@pytest.fixture
def geocoder():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGeocoder)
    server.requests = []  # type: ignore[attr-defined]
    server.delay_s = 0.0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _url(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_nominatim_and_photon_answers(geocoder):
    found = geocoding.geocode("Rathausstraße 1,  26789 Leer", base_url=_url(geocoder))
    assert (found.lat, found.lon) == (53.231, 7.461) and "Rathaus" in found.label
    path, query = geocoder.requests[-1]
    assert path == "/search" and query["format"] == ["jsonv2"] and query["countrycodes"] == ["de"]
    found = geocoding.geocode("Rathausstraße 1, 26789 Leer", base_url=_url(geocoder) + "/", kind="photon")
    assert (found.lat, found.lon) == (53.231, 7.461)
    assert geocoder.requests[-1][0] == "/api"


def test_failures_are_german(geocoder):
    with pytest.raises(GeocodingFailed, match="wurde nichts gefunden"):
        geocoding.geocode("Nirgendwo 1, 99999 Irgendwo", base_url=_url(geocoder))
    with pytest.raises(GeocodingFailed, match=r"HTTP 503"):
        geocoding.geocode("Fehler 1, Leer", base_url=_url(geocoder))
    with pytest.raises(GeocodingFailed, match="kein Geocoding-Server eingerichtet"):
        geocoding.geocode("Rathausstraße 1, 26789 Leer", base_url=None)
    geocoder.delay_s = 1.0
    started = time.monotonic()
    with pytest.raises(GeocodingFailed, match=r"nicht innerhalb von 0.3 s geantwortet"):
        geocoding.geocode("Rathausstraße 1, 26789 Leer", base_url=_url(geocoder), timeout_s=0.3)
    assert time.monotonic() - started < 1.0
    geocoder.delay_s = 0.0
    closed = ThreadingHTTPServer(("127.0.0.1", 0), FakeGeocoder)
    port = closed.server_address[1]
    closed.server_close()
    with pytest.raises(GeocodingFailed, match="nicht erreichbar"):
        geocoding.geocode("Rathausstraße 1, 26789 Leer", base_url=f"http://127.0.0.1:{port}")


def test_site_form_fills_coordinates_from_the_address(app, client, make_user, login, geocoder):
    app.config["GEOCODER_URL"] = _url(geocoder)
    make_user("chefin", Role.ADMIN)
    login("chefin")
    form = {**SITE_FORM, "code": "POST", "name": "Poststelle", "kind": "depot", "street": "Rathausstraße 1"}
    page = client.post("/admin/sites/new", data={**form, "geocode": "1"}).get_data(as_text=True)
    assert "Gefunden: Rathaus, Rathausstraße 1, 26789 Leer" in page
    assert 'value="53.231000"' in page and 'value="7.461000"' in page
    assert db.session.scalar(select(Site)) is None  # found, not yet saved
    assert client.post("/admin/sites/new", data={**form, "lat": "53.231000", "lon": "7.461000"}).status_code == 302
    geocoder.delay_s = 1.0
    app.config["GEOCODER_TIMEOUT_S"] = 0.2
    page = client.post("/admin/sites/new", data={**form, "code": "X", "geocode": "1"}).get_data(as_text=True)
    assert "nicht innerhalb von 0.2 s geantwortet" in page
    # Manual coordinates always work, with or without the server.
    app.config["GEOCODER_URL"] = None
    page = client.get("/admin/sites/new").get_data(as_text=True)
    assert 'data-testid="geocode"' not in page and "Koordinaten eintippen" in page

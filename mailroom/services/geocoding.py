"""Optional geocoding of a site's address through a self-hosted Nominatim or Photon server.

`GEOCODER_URL` is the server's base URL (e.g. http://geo.intern:8080); `GEOCODER_KIND` says which API
it speaks ("nominatim": /search?format=jsonv2, "photon": /api, GeoJSON). No URL: geocoding is off.
Every failure is a German GeocodingFailed; typing or picking coordinates always works without it.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from mailroom.errors import DomainError

USER_AGENT = "mailroom (Zentrale Poststelle) geocoder client"
MAX_RESPONSE_BYTES = 1024 * 1024


class GeocodingFailed(DomainError):
    code = "geocoding_failed"
    status = 502


@dataclass(frozen=True)
class GeocodeResult:
    lat: float
    lon: float
    label: str  # the server's name for the place found


def _request_url(base_url: str, kind: str, query: str) -> str:
    base = base_url.rstrip("/")
    if kind == "photon":
        return f"{base}/api?" + urllib.parse.urlencode({"q": query, "limit": 1, "lang": "de"})
    return f"{base}/search?" + urllib.parse.urlencode(
        {"q": query, "format": "jsonv2", "limit": 1, "countrycodes": "de", "accept-language": "de"}
    )


def _parse(kind: str, body: object) -> GeocodeResult | None:
    if kind == "photon":
        features = body.get("features") if isinstance(body, dict) else None
        if not features:
            return None
        feature = features[0]
        lon, lat = feature["geometry"]["coordinates"][:2]
        props = feature.get("properties") or {}
        parts = [props.get("name"), props.get("street"), props.get("housenumber"), props.get("postcode"),
                 props.get("city")]  # fmt: skip
        return GeocodeResult(float(lat), float(lon), " ".join(str(p) for p in parts if p))
    if not isinstance(body, list) or not body:
        return None
    first = body[0]
    return GeocodeResult(float(first["lat"]), float(first["lon"]), str(first.get("display_name", "")))


def geocode(address: str, *, base_url: str | None, kind: str = "nominatim", timeout_s: float = 5.0) -> GeocodeResult:
    """The coordinates of an address, or a German GeocodingFailed (not configured, timeout, server
    error, nothing found)."""
    query = " ".join(address.split())
    if not base_url:
        raise GeocodingFailed(
            "Es ist kein Geocoding-Server eingerichtet (GEOCODER_URL): bitte die Koordinaten auf der Karte "
            "setzen oder eintippen."
        )
    if len(query) < 3:
        raise GeocodingFailed("Bitte zuerst Straße, PLZ und Ort eingeben.")
    if kind not in ("nominatim", "photon"):
        raise GeocodingFailed(f"Unbekannte GEOCODER_KIND „{kind}“ (nominatim oder photon).")
    url = _request_url(base_url, kind, query)
    if not url.startswith(("http://", "https://")):
        raise GeocodingFailed("GEOCODER_URL muss mit http:// oder https:// beginnen.")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 (scheme checked)
            raw = response.read(MAX_RESPONSE_BYTES + 1)
    except TimeoutError:
        raise GeocodingFailed(
            f"Der Geocoding-Server hat nicht innerhalb von {timeout_s:g} s geantwortet. Bitte die Koordinaten "
            "eintippen oder später erneut versuchen."
        ) from None
    except urllib.error.HTTPError as exc:
        raise GeocodingFailed(f"Der Geocoding-Server meldet einen Fehler (HTTP {exc.code}).") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError | socket.timeout):
            raise GeocodingFailed(
                f"Der Geocoding-Server hat nicht innerhalb von {timeout_s:g} s geantwortet. Bitte die Koordinaten "
                "eintippen oder später erneut versuchen."
            ) from None
        raise GeocodingFailed("Der Geocoding-Server ist nicht erreichbar. Bitte die Koordinaten eintippen.") from None
    if len(raw) > MAX_RESPONSE_BYTES:
        raise GeocodingFailed("Die Antwort des Geocoding-Servers ist zu groß.")
    try:
        result = _parse(kind, json.loads(raw.decode("utf-8")))
    except (ValueError, KeyError, TypeError, IndexError):
        raise GeocodingFailed("Die Antwort des Geocoding-Servers ist nicht lesbar.") from None
    if result is None:
        raise GeocodingFailed(f"Zur Adresse „{query[:80]}“ wurde nichts gefunden. Bitte die Koordinaten eintippen.")
    if not (-90 <= result.lat <= 90 and -180 <= result.lon <= 180):
        raise GeocodingFailed("Der Geocoding-Server lieferte ungültige Koordinaten.")
    return result

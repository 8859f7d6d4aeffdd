"""The courier's tour: start (odometer, charge; loads the items), hand over at a stop (receiver,
signature, pickups), skip a stop (items back to the shelf), end (odometer, charge; what is left goes
back to the shelf).

Every action comes from the courier's phone with a client-generated id (`client_action_id`, a UUID)
and the time it was done on the phone. The phone may queue actions while offline and send them later,
possibly more than once: an action id seen before is answered with the result stored the first time,
and nothing is stored again. The phone's time becomes the time of the custody events and readings.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from PIL import Image, UnidentifiedImageError
from sqlalchemy import func, select

from mailroom.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from mailroom.extensions import db
from mailroom.models import (
    CourierAction,
    EventKind,
    HandoverProof,
    ItemKind,
    ItemStatus,
    MailItem,
    ReadingKind,
    Role,
    Site,
    StopStatus,
    Tour,
    TourStatus,
    TourStop,
    User,
)
from mailroom.services import custody, fleet, storage
from mailroom.services.clock import LOCAL_TZ, local_today, now_utc

ACTION_KINDS = ("start", "stop_done", "skip", "end")
ACTION_ID_RE = re.compile(r"^[A-Za-z0-9-]{8,40}$")
FUTURE_TOLERANCE = timedelta(minutes=5)

SIGNATURE_MAX_BYTES = 512 * 1024
SIGNATURE_MAX_SIDE = 2000
SIGNATURE_MAX_PIXELS = 2_000_000
MAX_PICKUPS = 999
MAX_ITEMS_PER_STOP = 500

SKIP_REASONS = [
    "Standort geschlossen",
    "Niemand angetroffen",
    "Zeit reicht nicht",
    "Zufahrt nicht möglich",
    "Fahrzeugproblem",
]
END_OF_TOUR_REASON = "Bei Tourende nicht angefahren"


# --- which tours a user sees ----------------------------------------------------------------------


def may_act_on_any_tour(user: User) -> bool:
    return user.role in (Role.ADMIN, Role.MAILROOM)


def tours_today(user: User) -> list[Tour]:
    """The courier's tours of today; staff of the mail room see all of today's tours."""
    query = select(Tour).where(Tour.service_date == local_today(), Tour.status != TourStatus.CANCELLED)
    if not may_act_on_any_tour(user):
        query = query.where(Tour.driver_id == user.id)
    return list(db.session.scalars(query.order_by(Tour.planned_start, Tour.id)))


def get_tour(user: User, tour_id: int) -> Tour:
    """The tour, if it exists and `user` may open it (their own, or any for mail room and admins)."""
    tour = db.session.get(Tour, tour_id)
    if tour is None:
        raise NotFound("Diese Tour gibt es nicht.")
    if not may_act_on_any_tour(user) and tour.driver_id != user.id:
        raise PermissionDenied("Diese Tour ist nicht Ihnen zugeteilt. Sie können nur Ihre eigenen Touren bearbeiten.")
    return tour


# --- what the phone gets at page load -------------------------------------------------------------


def geo_uri(site: Site) -> str | None:
    """`geo:` link that opens the phone's navigation app at the site."""
    if not site.has_coordinates:
        return None
    name = re.sub(r"[()]", "", site.name)
    return f"geo:{site.lat:.6f},{site.lon:.6f}?q={site.lat:.6f},{site.lon:.6f}({name})"


def tel_uri(phone: str) -> str | None:
    digits = re.sub(r"[^0-9+]", "", phone or "")
    return f"tel:{digits}" if digits else None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _local_hhmm(moment: datetime | None) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%H:%M") if moment else ""


def _item_row(item: MailItem) -> dict:
    kind = ItemKind(item.kind) if item.kind else None
    return {
        "id": item.id,
        "code": item.code,
        "incoming_number": item.incoming_number,
        "kind": kind.label if kind else "",
        "registered": item.is_registered,
        "confidential": item.confidential,
        "org_unit": item.org_unit.short_name if item.org_unit else "",
        "org_unit_name": item.org_unit.name if item.org_unit else "",
        "room": item.org_unit.room if item.org_unit else "",
        "status": str(item.status),
        "status_label": ItemStatus(item.status).label,
    }


def tour_payload(tour: Tour) -> dict:
    """Everything the courier's page needs, embedded as JSON so that the page works offline."""
    stops = sorted(tour.stops, key=lambda s: s.position)
    stop_ids = [s.id for s in stops]
    assigned: dict[int, list[MailItem]] = {}
    if stop_ids:
        for item in db.session.scalars(
            select(MailItem).where(MailItem.tour_stop_id.in_(stop_ids)).order_by(MailItem.id)
        ):
            assigned.setdefault(item.tour_stop_id, []).append(item)
    start, end = fleet.tour_readings(tour)
    last = fleet.last_reading(tour.vehicle)
    rows = []
    for stop in stops:
        site = stop.site
        # delivered items keep their tour stop, so this lists open and handed-over items alike
        items = [_item_row(i) for i in assigned.get(stop.id, [])]
        rows.append(
            {
                "id": stop.id,
                "position": stop.position,
                "is_depot": stop.is_depot,
                "status": str(stop.status),
                "skip_reason": stop.skip_reason or "",
                "done_at": _iso(stop.done_at),
                "pickups_count": stop.pickups_count,
                "pickup_boxes": stop.pickup_boxes,
                "deliver_boxes": stop.deliver_boxes,
                "eta": _local_hhmm(stop.eta),
                "note": stop.note or "",
                "site": {
                    "code": site.code,
                    "name": site.name,
                    "address": site.address,
                    "phone": site.phone,
                    "opens": site.opens.strftime("%H:%M") if site.opens else "",
                    "closes": site.closes.strftime("%H:%M") if site.closes else "",
                    "remarks": site.remarks,
                    "geo": geo_uri(site),
                    "tel": tel_uri(site.phone),
                },
                "items": items,
            }
        )
    return {
        "id": tour.id,
        "service_date": tour.service_date.isoformat(),
        "status": str(tour.status),
        "status_label": TourStatus(tour.status).label,
        "vehicle": {"code": tour.vehicle.code, "name": tour.vehicle.name, "plate": tour.vehicle.plate},
        "driver": tour.driver.display_name if tour.driver else "",
        "planned_km": tour.planned_km,
        "planned_start": _local_hhmm(tour.planned_start),
        "started_at": _iso(tour.started_at),
        "finished_at": _iso(tour.finished_at),
        "start_reading": {"km": start.km, "soc": start.soc_percent} if start else None,
        "end_reading": {"km": end.km, "soc": end.soc_percent} if end else None,
        "last_km": last.km if last else None,
        "last_soc": last.soc_percent if last else None,
        "driven_km": round(end.km - start.km, 1) if start and end else None,
        "skip_reasons": SKIP_REASONS,
        "stops": rows,
    }


# --- actions -----------------------------------------------------------------------------------------


@dataclass
class Outcome:
    result: dict
    replayed: bool


def parse_action_id(value) -> str:
    if not isinstance(value, str) or not ACTION_ID_RE.match(value):
        raise ValidationFailed(
            "Die Aktion hat keine gültige Kennung (client_action_id, UUID).", code="invalid_action_id"
        )
    return value


def parse_time(value) -> datetime:
    """The phone's ISO time of the action (aware); a time in the future (a phone clock running
    ahead) counts as now."""
    now = now_utc()
    if value in (None, ""):
        return now
    if not isinstance(value, str) or len(value) > 40:
        raise ValidationFailed("Ungültige Zeitangabe der Aktion.", code="invalid_time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed("Ungültige Zeitangabe der Aktion.", code="invalid_time") from None
    if moment.tzinfo is None:
        raise ValidationFailed("Die Zeitangabe der Aktion braucht eine Zeitzone.", code="invalid_time")
    if moment > now + FUTURE_TOLERANCE:
        return now
    return moment


def find_action(client_action_id: str) -> CourierAction | None:
    return db.session.scalar(select(CourierAction).where(CourierAction.client_action_id == client_action_id))


def _replay(action: CourierAction, tour: Tour, kind: str) -> Outcome:
    if action.tour_id != tour.id or action.kind != kind:
        raise InvalidTransition(
            "Diese Aktionskennung wurde bereits für eine andere Aktion verwendet.", code="action_id_reused"
        )
    return Outcome(result=dict(action.result or {}), replayed=True)


def replay(user: User, tour_id: int, kind: str, payload: dict | None) -> Outcome | None:
    """The stored answer for an action already done (None if the action id is new)."""
    payload = payload if isinstance(payload, dict) else {}
    tour = get_tour(user, tour_id)
    action = find_action(parse_action_id(payload.get("client_action_id")))
    return _replay(action, tour, kind) if action is not None else None


def perform(user: User, tour_id: int, kind: str, payload: dict | None, *, stop_id: int | None = None) -> Outcome:
    """Apply one action from the phone (or answer its replay). The caller commits."""
    if kind not in ACTION_KINDS:
        raise NotFound("Unbekannte Aktion.")
    if not isinstance(payload, dict):
        raise ValidationFailed("Die Aktion kam ohne Daten (JSON erwartet).", code="invalid_json")
    tour = get_tour(user, tour_id)
    action_id = parse_action_id(payload.get("client_action_id"))
    existing = find_action(action_id)
    if existing is not None:
        return _replay(existing, tour, kind)
    if tour.status in (TourStatus.FINISHED, TourStatus.CANCELLED):
        raise InvalidTransition(
            f"Die Tour ist bereits {TourStatus(tour.status).label.lower()}: keine weiteren Aktionen möglich.",
            code="tour_finished",
        )
    at = parse_time(payload.get("at"))
    stop = _stop_of(tour, stop_id) if kind in ("stop_done", "skip") else None
    # Claim the action id first: a second request with the same id waits here for the first one
    # and then fails on the unique id (the view answers it with the stored result).
    action = CourierAction(
        client_action_id=action_id,
        kind=kind,
        tour_id=tour.id,
        stop_id=stop.id if stop else None,
        user_id=user.id,
        at=at,
    )
    db.session.add(action)
    db.session.flush()
    if kind == "start":
        result = start_tour(tour, user=user, km=payload.get("km"), soc=payload.get("soc"), at=at, action_id=action_id)
    elif kind == "end":
        result = end_tour(tour, user=user, km=payload.get("km"), soc=payload.get("soc"), at=at, action_id=action_id)
    elif kind == "skip":
        result = skip_stop(tour, stop, user=user, reason=payload.get("reason"), at=at, action_id=action_id)
    else:
        result = complete_stop(
            tour,
            stop,
            user=user,
            item_ids=payload.get("items"),
            receiver_name=payload.get("receiver_name"),
            signature=payload.get("signature"),
            pickups=payload.get("pickups"),
            at=at,
            action_id=action_id,
        )
    result = {"ok": True, "action": kind, "client_action_id": action_id, "at": at.isoformat(), **result}
    action.result = result
    db.session.flush()
    return Outcome(result=result, replayed=False)


def _stop_of(tour: Tour, stop_id: int | None) -> TourStop:
    stop = db.session.get(TourStop, stop_id) if stop_id is not None else None
    if stop is None or stop.tour_id != tour.id:
        raise NotFound("Dieser Stopp gehört nicht zu dieser Tour.")
    return stop


def _require_started(tour: Tour) -> None:
    if tour.status == TourStatus.PLANNED:
        raise InvalidTransition(
            "Die Tour ist noch nicht begonnen: bitte zuerst Kilometerstand und Ladezustand erfassen.",
            code="tour_not_started",
        )


def _require_open(stop: TourStop) -> None:
    if stop.status == StopStatus.DONE:
        raise InvalidTransition(f"Der Stopp {stop.site.name} ist bereits erledigt.", code="stop_done")
    if stop.status == StopStatus.SKIPPED:
        raise InvalidTransition(f"Der Stopp {stop.site.name} wurde ausgelassen.", code="stop_skipped")


def _reading_values(km, soc) -> None:
    if km in (None, ""):
        raise ValidationFailed("Bitte den Kilometerstand angeben.", code="km_missing")
    if soc in (None, ""):
        raise ValidationFailed("Bitte den Ladezustand (0–100 %) angeben.", code="soc_missing")


def _depot() -> Site | None:
    return db.session.scalar(select(Site).where(Site.is_depot).order_by(Site.id).limit(1))


def _stop_items(tour: Tour) -> list[MailItem]:
    stop_ids = [s.id for s in tour.stops]
    if not stop_ids:
        return []
    return list(db.session.scalars(select(MailItem).where(MailItem.tour_stop_id.in_(stop_ids)).order_by(MailItem.id)))


def start_tour(tour: Tour, *, user: User, km, soc, at: datetime, action_id: str) -> dict:
    """Odometer and charge at departure; every sorted item of the tour's stops is loaded."""
    if tour.status != TourStatus.PLANNED:
        raise InvalidTransition("Die Tour wurde bereits begonnen.", code="tour_started")
    _reading_values(km, soc)
    reading = fleet.record_reading(
        tour.vehicle,
        km=km,
        soc_percent=soc,
        kind=ReadingKind.TOUR_START,
        at=at,
        user=user,
        tour=tour,
        client_action_id=action_id,
    )
    tour.status = TourStatus.STARTED
    tour.started_at = at
    depot = _depot()
    loaded = []
    for item in _stop_items(tour):
        if item.status == ItemStatus.SORTED:
            custody.record_event(
                item,
                EventKind.LOADED,
                user=user,
                at=at,
                site=depot,
                tour=tour,
                client_action_id=f"{action_id}:L{item.id}",
            )
            loaded.append(item.code)
    db.session.flush()
    return {
        "tour": {"status": str(tour.status), "started_at": at.isoformat()},
        "km": reading.km,
        "loaded": loaded,
    }


def decode_signature(value) -> bytes:
    """A data URL (`data:image/png;base64,...`) or bare base64 of a PNG: a real PNG, bounded in
    size and pixels, with something drawn on it."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed("Die Unterschrift fehlt.", code="signature_missing")
    text = value.strip()
    if text.startswith("data:"):
        header, _, text = text.partition(",")
        if header.lower() != "data:image/png;base64":
            raise ValidationFailed("Die Unterschrift muss ein PNG-Bild sein.", code="signature_invalid")
    if len(text) > SIGNATURE_MAX_BYTES * 4 // 3 + 8:
        raise ValidationFailed("Die Unterschrift ist zu groß.", code="signature_invalid")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed("Die Unterschrift ist kein gültiges Bild.", code="signature_invalid") from None
    if len(data) > SIGNATURE_MAX_BYTES:
        raise ValidationFailed("Die Unterschrift ist zu groß.", code="signature_invalid")
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValidationFailed("Die Unterschrift muss ein PNG-Bild sein.", code="signature_invalid")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            if probe.format != "PNG":
                raise ValidationFailed("Die Unterschrift muss ein PNG-Bild sein.", code="signature_invalid")
            if max(width, height) > SIGNATURE_MAX_SIDE or width * height > SIGNATURE_MAX_PIXELS:
                raise ValidationFailed("Das Bild der Unterschrift ist zu groß.", code="signature_invalid")
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            rgba = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationFailed("Die Unterschrift ist kein gültiges Bild.", code="signature_invalid") from None
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    ink = Image.alpha_composite(white, rgba).convert("L").point(lambda v: 255 if v < 160 else 0)
    if ink.getbbox() is None:
        raise ValidationFailed("Die Unterschrift ist leer: bitte unterschreiben lassen.", code="signature_missing")
    return data


def _signature_in_use(sha256: str) -> bool:
    with db.engine.connect() as conn:
        count = conn.scalar(select(func.count(HandoverProof.id)).where(HandoverProof.signature_sha256 == sha256))
    return bool(count)


def _parse_pickups(value) -> int:
    if value in (None, ""):
        return 0
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationFailed("Die Zahl der Abholungen muss eine ganze Zahl sein.", code="invalid_pickups")
    try:
        count = int(value)
    except ValueError:
        raise ValidationFailed("Die Zahl der Abholungen muss eine ganze Zahl sein.", code="invalid_pickups") from None
    if not 0 <= count <= MAX_PICKUPS:
        raise ValidationFailed(f"Die Zahl der Abholungen muss zwischen 0 und {MAX_PICKUPS} liegen.")
    return count


def _parse_item_ids(value) -> list[int]:
    if value in (None, ""):
        return []
    if not isinstance(value, list) or len(value) > MAX_ITEMS_PER_STOP:
        raise ValidationFailed("Die übergebenen Sendungen sind ungültig.", code="invalid_items")
    ids = []
    for entry in value:
        if isinstance(entry, bool) or not isinstance(entry, int) or not 0 < entry < 2**31:
            raise ValidationFailed("Die übergebenen Sendungen sind ungültig.", code="invalid_items")
        if entry not in ids:
            ids.append(entry)
    return ids


def complete_stop(
    tour: Tour,
    stop: TourStop,
    *,
    user: User,
    item_ids,
    receiver_name,
    signature,
    pickups,
    at: datetime,
    action_id: str,
) -> dict:
    """Hand over items at a stop (receiver and signature; required for registered items and PZUs)
    and count the pickups. Items of the stop not handed over stay in the van (back at tour end)."""
    _require_started(tour)
    _require_open(stop)
    ids = _parse_item_ids(item_ids)
    pickups_count = _parse_pickups(pickups)
    if receiver_name is not None and not isinstance(receiver_name, str):
        raise ValidationFailed("Der Name des Empfängers ist ungültig.", code="invalid_receiver")
    receiver = (receiver_name or "").strip()
    if len(receiver) > 200:
        raise ValidationFailed("Der Name des Empfängers darf höchstens 200 Zeichen lang sein.")
    items = []
    for item_id in ids:
        item = db.session.get(MailItem, item_id)
        if item is None or item.tour_stop_id != stop.id:
            code = item.code if item else f"#{item_id}"
            raise ValidationFailed(f"Die Sendung {code} gehört nicht zu diesem Stopp.", code="item_not_on_stop")
        if item.status not in (ItemStatus.SORTED, ItemStatus.LOADED):
            raise InvalidTransition(
                f"Die Sendung {item.code} kann nicht übergeben werden (Status „{ItemStatus(item.status).label}“).",
                code="item_not_loaded",
            )
        items.append(item)
    registered = [i.code for i in items if i.is_registered]
    if registered and not receiver:
        raise ValidationFailed(
            f"Für Einschreiben/PZU ({', '.join(registered)}) ist der Name des Empfängers Pflicht.",
            code="receiver_missing",
        )
    signature_sha256 = None
    signature_given = signature not in (None, "")
    if registered and not signature_given:
        raise ValidationFailed(
            f"Für Einschreiben/PZU ({', '.join(registered)}) ist eine Unterschrift Pflicht.",
            code="signature_missing",
        )
    png = decode_signature(signature) if signature_given and items else None
    if png is not None:
        signature_sha256 = storage.store_in_transaction("signatures", png, ".png", in_use=_signature_in_use)
    delivered = []
    for item in items:
        if item.status == ItemStatus.SORTED:  # assigned to the stop after the van left: load and hand over
            custody.record_event(
                item, EventKind.LOADED, user=user, at=at, tour=tour, client_action_id=f"{action_id}:L{item.id}"
            )
        custody.deliver_item(
            item,
            user=user,
            receiver_name=receiver or None,
            signature_sha256=signature_sha256,
            at=at,
            site=stop.site,
            tour=tour,
            client_action_id=f"{action_id}:{item.id}",
        )
        delivered.append(item.code)
    stop.status = StopStatus.DONE
    stop.done_at = at
    stop.pickups_count = pickups_count
    db.session.flush()
    return {
        "stop": {"id": stop.id, "status": str(stop.status), "done_at": at.isoformat()},
        "delivered": delivered,
        "pickups": pickups_count,
        "signature": bool(signature_sha256),
    }


def _take_back(items: list[MailItem], *, user: User, at: datetime, tour: Tour, reason: str, action_id: str) -> list:
    """Items of a stop not served go back to the shelf: loaded ones with an UNLOADED event."""
    back = []
    for item in items:
        if item.status == ItemStatus.LOADED:
            custody.record_event(
                item,
                EventKind.UNLOADED,
                user=user,
                at=at,
                tour=tour,
                note=reason,
                client_action_id=f"{action_id}:U{item.id}",
            )
        if item.status == ItemStatus.SORTED:
            item.tour_stop_id = None
            back.append(item.code)
    return back


def skip_stop(tour: Tour, stop: TourStop, *, user: User, reason, at: datetime, action_id: str) -> dict:
    _require_started(tour)
    _require_open(stop)
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationFailed("Bitte einen Grund angeben, warum der Stopp ausgelassen wird.", code="reason_missing")
    reason = reason.strip()
    if len(reason) > 200:
        raise ValidationFailed("Der Grund darf höchstens 200 Zeichen lang sein.")
    items = list(db.session.scalars(select(MailItem).where(MailItem.tour_stop_id == stop.id).order_by(MailItem.id)))
    back = _take_back(items, user=user, at=at, tour=tour, reason=f"Stopp ausgelassen: {reason}", action_id=action_id)
    stop.status = StopStatus.SKIPPED
    stop.skip_reason = reason
    stop.done_at = at
    db.session.flush()
    return {"stop": {"id": stop.id, "status": str(stop.status), "done_at": at.isoformat()}, "returned": back}


def end_tour(tour: Tour, *, user: User, km, soc, at: datetime, action_id: str) -> dict:
    """Odometer and charge on return. Stops not visited are marked skipped; every item still in
    the van goes back to the shelf."""
    _require_started(tour)
    _reading_values(km, soc)
    if tour.started_at and at < tour.started_at:
        at = tour.started_at
    reading = fleet.record_reading(
        tour.vehicle,
        km=km,
        soc_percent=soc,
        kind=ReadingKind.TOUR_END,
        at=at,
        user=user,
        tour=tour,
        client_action_id=action_id,
    )
    not_visited = []
    for stop in tour.stops:
        if stop.status == StopStatus.OPEN:
            stop.status = StopStatus.SKIPPED
            stop.skip_reason = END_OF_TOUR_REASON
            stop.done_at = at
            if not stop.is_depot:
                not_visited.append(stop.site.name)
    back = _take_back(_stop_items(tour), user=user, at=at, tour=tour, reason="Zurück bei Tourende", action_id=action_id)
    tour.status = TourStatus.FINISHED
    tour.finished_at = at
    db.session.flush()
    return {
        "tour": {"status": str(tour.status), "finished_at": at.isoformat()},
        "km": reading.km,
        "driven_km": fleet.tour_driven_km(tour),
        "not_visited": not_visited,
        "returned": back,
    }

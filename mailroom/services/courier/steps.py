"""The steps of a tour: start (odometer, charge, load), hand over at a stop, skip a stop, end."""

from __future__ import annotations

import base64
import binascii
import io
from datetime import date, datetime, timedelta

from PIL import Image, UnidentifiedImageError
from sqlalchemy import func, select

from mailroom.errors import InvalidTransition, NotFound, ValidationFailed
from mailroom.extensions import db
from mailroom.models import (
    EventKind,
    HandoverProof,
    ItemStatus,
    MailItem,
    ReadingKind,
    Site,
    StopStatus,
    Tour,
    TourStatus,
    TourStop,
    User,
)
from mailroom.services import custody, fleet, storage
from mailroom.services.clock import LOCAL_TZ
from mailroom.services.courier.common import (
    END_OF_TOUR_REASON,
    MAX_ITEMS_PER_STOP,
    MAX_PICKUPS,
    SIGNATURE_MAX_BYTES,
    SIGNATURE_MAX_PIXELS,
    SIGNATURE_MAX_SIDE,
)


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


def other_day_message(tour: Tour, day: date) -> str | None:
    """Why a tour cannot be started on `day` (German), or None: a tour is started on its own day only,
    so that its kilometres and custody events land on that day."""
    if tour.service_date == day:
        return None
    when = f"den {tour.service_date:%d.%m.%Y}"
    if tour.service_date == day + timedelta(days=1):
        when = f"morgen ({tour.service_date:%d.%m.%Y})"
    if tour.service_date < day:
        return (
            f"Diese Tour war für den {tour.service_date:%d.%m.%Y} geplant und kann heute nicht mehr begonnen "
            "werden. Bitte die Tour von heute öffnen."
        )
    return f"Diese Tour ist für {when} geplant und kann erst an diesem Tag begonnen werden."


def _parse_loaded(value, tour_items: list[MailItem]) -> set[int] | None:
    """The items ticked or scanned into the van at the depot (ids); None: no load list sent (every sorted
    item counts as loaded, as before the load list existed)."""
    if value is None:
        return None
    ids = set(_parse_item_ids(value))
    known = {i.id for i in tour_items}
    stray = ids - known
    if stray:
        raise ValidationFailed("Eine verladene Sendung gehört nicht zu dieser Tour.", code="item_not_on_tour")
    return ids


def start_tour(tour: Tour, *, user: User, km, soc, at: datetime, action_id: str, loaded_ids=None) -> dict:
    """Odometer and charge at departure; the sorted items of the tour's stops ticked or scanned on the
    load list (`loaded_ids`) are loaded: only they get the LOADED event (the hand-over into the van). The
    others stay in the mail room: they leave the tour and go back to the shelf (for the next plan).
    Without a load list every sorted item is loaded.

    Only on the tour's own day (the local day of the action's time)."""
    if tour.status != TourStatus.PLANNED:
        raise InvalidTransition("Die Tour wurde bereits begonnen.", code="tour_started")
    refusal = other_day_message(tour, at.astimezone(LOCAL_TZ).date())
    if refusal:
        raise InvalidTransition(refusal, code="tour_other_day")
    _reading_values(km, soc)
    tour_items = _stop_items(tour)
    chosen = _parse_loaded(loaded_ids, tour_items)
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
    left = []
    for item in tour_items:
        if item.status == ItemStatus.SORTED and chosen is not None and item.id not in chosen:
            item.tour_stop_id = None  # not in the van: back on the shelf, the next plan takes it
            left.append(item.code)
        elif item.status == ItemStatus.SORTED:
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
        elif item.status == ItemStatus.LOADED and (chosen is None or item.id in chosen):
            _take_over(item, tour, user=user, at=at, action_id=action_id)  # fetched from a broken van
            loaded.append(item.code)
    db.session.flush()
    return {
        "tour": {"status": str(tour.status), "started_at": at.isoformat()},
        "km": reading.km,
        "loaded": loaded,
        "not_loaded": left,
    }


def _take_over(item: MailItem, tour: Tour, *, user: User, at: datetime, action_id: str) -> None:
    """A loaded item of this tour still in another van (a breakdown): its move into this tour's van is a
    hand-over of its own in the custody chain, recorded the first time this tour's courier handles it."""
    if item.status != ItemStatus.LOADED:
        return
    holder_id = custody.van_tour_id(item)
    if holder_id is None or holder_id == tour.id:
        return
    holder = db.session.get(Tour, holder_id)
    source = holder.vehicle.code if holder is not None else "?"
    custody.record_event(
        item,
        EventKind.TRANSFERRED,
        user=user,
        at=at,
        tour=tour,
        note=f"Aus Fahrzeug {source} in {tour.vehicle.code} umgeladen",
        data={"from_tour": holder_id},
        client_action_id=f"{action_id}:T{item.id}",
    )


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
        _take_over(item, tour, user=user, at=at, action_id=action_id)
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
        _take_over(item, tour, user=user, at=at, action_id=action_id)
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
    the van goes back to the shelf. For a tour cancelled by a breakdown, only the van's reading where
    it stopped (the logbook entry of the tour is then complete)."""
    if tour.status == TourStatus.CANCELLED:
        return _breakdown_reading(tour, user=user, km=km, soc=soc, at=at, action_id=action_id)
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


def may_record_breakdown_reading(tour: Tour) -> bool:
    """A tour cancelled by a breakdown after it started, with no end reading yet."""
    if tour.status != TourStatus.CANCELLED or tour.started_at is None:
        return False
    _start, end = fleet.tour_readings(tour)
    return end is None


def _breakdown_reading(tour: Tour, *, user: User, km, soc, at: datetime, action_id: str) -> dict:
    if not may_record_breakdown_reading(tour):
        raise InvalidTransition(
            "Die Tour ist bereits abgebrochen: keine weiteren Aktionen möglich.", code="tour_finished"
        )
    _reading_values(km, soc)
    reading = fleet.record_reading(
        tour.vehicle,
        km=km,
        soc_percent=soc,
        kind=ReadingKind.TOUR_END,
        at=max(at, tour.started_at) if tour.started_at else at,
        user=user,
        tour=tour,
        client_action_id=action_id,
    )
    db.session.flush()
    return {
        "tour": {"status": str(tour.status)},
        "km": reading.km,
        "driven_km": fleet.tour_driven_km(tour),
        "not_visited": [],
        "returned": [],
    }

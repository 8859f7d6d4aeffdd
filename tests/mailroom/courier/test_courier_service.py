"""Tour actions from the courier's phone: custody events, readings, deduplication, refusals."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailroom.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from mailroom.extensions import db
from mailroom.models import (
    CourierAction,
    EventKind,
    HandoverProof,
    ItemKind,
    ItemStatus,
    MailEvent,
    MailItem,
    OdometerReading,
    ReadingKind,
    Role,
    StopStatus,
    TourStatus,
)
from mailroom.services import courier, storage
from mailroom.services.clock import local_today, now_utc
from tests.builders import add_van
from tests.mailroom.courier.builders import (
    add_user,
    make_tour,
    new_action_id,
    signature_data_url,
    signature_png,
    stop_items,
)


def _count(model, *criteria) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*criteria)) or 0


def _start(user, tour, km=12_410, soc=96, at=None):
    payload = {"client_action_id": new_action_id(), "km": km, "soc": soc}
    if at is not None:
        payload["at"] = at.isoformat()
    outcome = courier.perform(user, tour.id, "start", payload)
    db.session.commit()
    return outcome


def _signature_files(app) -> list[Path]:
    root = Path(app.config["SCAN_DIR"]) / "signatures"
    return sorted(root.rglob("*.png")) if root.exists() else []


def test_start_loads_the_tours_items_with_the_phone_time(world):
    bote = world.couriers["bote"]
    tour = make_tour(world, bote)
    items = [i for s in tour.stops for i in stop_items(s)]
    phone_time = now_utc() - timedelta(minutes=7)
    outcome = _start(bote, tour, at=phone_time)
    assert outcome.result["ok"] and not outcome.replayed
    assert sorted(outcome.result["loaded"]) == sorted(i.code for i in items)
    assert tour.status == TourStatus.STARTED and tour.started_at == phone_time
    for item in items:
        assert item.status == ItemStatus.LOADED
        loaded = db.session.scalar(select(MailEvent).where(MailEvent.item_id == item.id))
        assert loaded.kind == EventKind.LOADED and loaded.at == phone_time and loaded.tour_id == tour.id
    reading = db.session.scalar(select(OdometerReading).where(OdometerReading.tour_id == tour.id))
    assert (reading.kind, reading.km, reading.soc_percent, reading.at) == (
        ReadingKind.TOUR_START,
        12_410,
        96,
        phone_time,
    )


def test_whole_tour_hand_over_skip_and_end(world, app):
    bote = world.couriers["bote"]
    tour = make_tour(
        world,
        bote,
        items_per_stop=((ItemKind.BRIEF, ItemKind.EINSCHREIBEN_UEBERGABE), (ItemKind.PAKET,), (ItemKind.BRIEF,)),
    )
    first, second, third = tour.stops
    letter, registered = stop_items(first)
    (parcel,) = stop_items(second)
    (left_behind,) = stop_items(third)
    _start(bote, tour)

    done = courier.perform(
        bote,
        tour.id,
        "stop_done",
        {
            "client_action_id": new_action_id(),
            "items": [letter.id, registered.id],
            "receiver_name": "K. Janssen",
            "signature": signature_data_url(),
            "pickups": 2,
        },
        stop_id=first.id,
    )
    db.session.commit()
    assert sorted(done.result["delivered"]) == sorted([letter.code, registered.code])
    assert first.status == StopStatus.DONE and first.pickups_count == 2
    assert letter.status == registered.status == ItemStatus.DELIVERED
    assert registered.tour_stop_id == first.id and registered.delivered_at is not None  # the stop that delivered it
    proof = db.session.scalar(select(HandoverProof).join(MailEvent).where(MailEvent.item_id == registered.id))
    assert proof.receiver_name == "K. Janssen"
    assert storage.read("signatures", proof.signature_sha256, ".png") == signature_png()

    skipped = courier.perform(
        bote,
        tour.id,
        "skip",
        {"client_action_id": new_action_id(), "reason": "Standort geschlossen"},
        stop_id=second.id,
    )
    db.session.commit()
    assert skipped.result["returned"] == [parcel.code]
    assert second.status == StopStatus.SKIPPED and second.skip_reason == "Standort geschlossen"
    assert parcel.status == ItemStatus.SORTED and parcel.tour_stop_id is None
    unloaded = db.session.scalars(select(MailEvent).where(MailEvent.item_id == parcel.id).order_by(MailEvent.id)).all()
    assert [e.kind for e in unloaded] == [EventKind.LOADED, EventKind.UNLOADED]

    ended = courier.perform(bote, tour.id, "end", {"client_action_id": new_action_id(), "km": 12_433.5, "soc": 71})
    db.session.commit()
    assert tour.status == TourStatus.FINISHED
    assert ended.result["driven_km"] == 23.5
    assert ended.result["not_visited"] == [third.site.name]
    assert ended.result["returned"] == [left_behind.code]
    assert third.status == StopStatus.SKIPPED
    assert left_behind.status == ItemStatus.SORTED and left_behind.tour_stop_id is None


def test_replayed_action_returns_the_same_result_and_stores_nothing_new(world):
    bote = world.couriers["bote"]
    tour = make_tour(world, bote)
    start_payload = {"client_action_id": new_action_id(), "km": 100, "soc": 90}
    first = courier.perform(bote, tour.id, "start", start_payload)
    db.session.commit()
    again = courier.perform(bote, tour.id, "start", dict(start_payload))
    db.session.commit()
    assert again.replayed and again.result == first.result
    stop = tour.stops[0]
    letter, registered = stop_items(stop)
    payload = {
        "client_action_id": new_action_id(),
        "items": [letter.id, registered.id],
        "receiver_name": "M. Oltmanns",
        "signature": signature_data_url(),
        "at": (now_utc() - timedelta(minutes=3)).isoformat(),
    }
    done = courier.perform(bote, tour.id, "stop_done", payload, stop_id=stop.id)
    db.session.commit()
    counts = (_count(MailEvent), _count(HandoverProof), _count(OdometerReading), _count(CourierAction))
    for _ in range(2):
        replay = courier.perform(bote, tour.id, "stop_done", dict(payload), stop_id=stop.id)
        db.session.commit()
        assert replay.replayed and replay.result == done.result
    assert (_count(MailEvent), _count(HandoverProof), _count(OdometerReading), _count(CourierAction)) == counts
    # a finished tour still answers the replay of its last action
    end_payload = {"client_action_id": new_action_id(), "km": 120, "soc": 80}
    courier.perform(bote, tour.id, "end", end_payload)
    db.session.commit()
    assert courier.perform(bote, tour.id, "end", dict(end_payload)).replayed


def test_action_id_reused_for_another_action_is_refused(world):
    bote = world.couriers["bote"]
    tour = make_tour(world, bote)
    payload = {"client_action_id": new_action_id(), "km": 100, "soc": 90}
    courier.perform(bote, tour.id, "start", payload)
    db.session.commit()
    with pytest.raises(InvalidTransition, match="andere Aktion"):
        courier.perform(bote, tour.id, "end", payload)


def test_registered_item_needs_receiver_and_signature_nothing_stored_half(world, app):
    bote = world.couriers["bote"]
    tour = make_tour(world, bote)
    _start(bote, tour)
    stop = tour.stops[0]
    letter, registered = stop_items(stop)
    before = (_count(MailEvent), _count(HandoverProof), _count(CourierAction))
    attempts = [
        ({"receiver_name": "K. Janssen"}, "Unterschrift Pflicht"),
        ({"signature": signature_data_url()}, "Name des Empfängers"),
        ({"receiver_name": "K. Janssen", "signature": signature_data_url(blank=True)}, "leer"),
        ({"receiver_name": "K. Janssen", "signature": "data:image/png;base64,bm90IGEgcG5n"}, "PNG"),
        ({"receiver_name": "K. Janssen", "signature": "data:image/jpeg;base64,AAAA"}, "PNG"),
        ({"receiver_name": "K. Janssen", "signature": "%%%"}, "kein gültiges Bild"),
    ]
    for extra, message in attempts:
        payload = {"client_action_id": new_action_id(), "items": [letter.id, registered.id], **extra}
        with pytest.raises(ValidationFailed, match=message):
            courier.perform(bote, tour.id, "stop_done", payload, stop_id=stop.id)
        db.session.rollback()
    assert (_count(MailEvent), _count(HandoverProof), _count(CourierAction)) == before
    assert db.session.get(MailItem, registered.id).status == ItemStatus.LOADED
    assert _signature_files(app) == []


def test_oversized_signature_is_refused(world):
    with pytest.raises(ValidationFailed, match="zu groß"):
        courier.decode_signature(signature_data_url(width=2500, height=100))


def test_plain_letters_need_no_signature(world):
    bote = world.couriers["bote"]
    tour = make_tour(world, bote, items_per_stop=((ItemKind.BRIEF, ItemKind.HAUSPOST),))
    _start(bote, tour)
    stop = tour.stops[0]
    ids = [i.id for i in stop_items(stop)]
    result = courier.perform(
        bote, tour.id, "stop_done", {"client_action_id": new_action_id(), "items": ids}, stop_id=stop.id
    )
    db.session.commit()
    assert len(result.result["delivered"]) == 2 and result.result["signature"] is False


def test_courier_may_only_act_on_own_tours(world):
    bote, botin = world.couriers["bote"], world.couriers["botin"]
    tour = make_tour(world, botin)
    with pytest.raises(PermissionDenied, match="nicht Ihnen zugeteilt"):
        courier.get_tour(bote, tour.id)
    with pytest.raises(PermissionDenied):
        courier.perform(bote, tour.id, "start", {"client_action_id": new_action_id(), "km": 1, "soc": 50})
    assert courier.tours_today(bote) == [] and courier.tours_today(botin) == [tour]
    staff = add_user("post", Role.MAILROOM)
    assert courier.get_tour(staff, tour.id) is tour
    assert courier.tours_today(staff) == [tour]
    with pytest.raises(NotFound):
        courier.get_tour(bote, 999_999)


def test_finished_tour_refuses_further_actions(world):
    bote = world.couriers["bote"]
    tour = make_tour(world, bote)
    _start(bote, tour)
    courier.perform(bote, tour.id, "end", {"client_action_id": new_action_id(), "km": 12_420, "soc": 80})
    db.session.commit()
    events = _count(MailEvent)
    for kind, extra in (("stop_done", {"items": []}), ("skip", {"reason": "x"}), ("end", {"km": 12_500, "soc": 1})):
        with pytest.raises(InvalidTransition, match="bereits beendet"):
            courier.perform(
                bote, tour.id, kind, {"client_action_id": new_action_id(), **extra}, stop_id=tour.stops[0].id
            )
        db.session.rollback()
    assert _count(MailEvent) == events


def test_stop_rules(world):
    bote = world.couriers["bote"]
    tour = make_tour(world, bote)
    other = make_tour(world, bote, van=add_van("E-OTHER"))  # one tour per van and day
    stop = tour.stops[0]
    with pytest.raises(InvalidTransition, match="noch nicht begonnen"):
        courier.perform(bote, tour.id, "skip", {"client_action_id": new_action_id(), "reason": "zu"}, stop_id=stop.id)
    db.session.rollback()
    _start(bote, tour)
    with pytest.raises(NotFound, match="gehört nicht zu dieser Tour"):
        courier.perform(
            bote, tour.id, "skip", {"client_action_id": new_action_id(), "reason": "zu"}, stop_id=other.stops[0].id
        )
    db.session.rollback()
    with pytest.raises(ValidationFailed, match="Grund"):
        courier.perform(bote, tour.id, "skip", {"client_action_id": new_action_id(), "reason": "  "}, stop_id=stop.id)
    db.session.rollback()
    foreign = stop_items(other.stops[0])[0]
    with pytest.raises(ValidationFailed, match="gehört nicht zu diesem Stopp"):
        courier.perform(
            bote, tour.id, "stop_done", {"client_action_id": new_action_id(), "items": [foreign.id]}, stop_id=stop.id
        )
    db.session.rollback()
    courier.perform(bote, tour.id, "skip", {"client_action_id": new_action_id(), "reason": "zu"}, stop_id=stop.id)
    db.session.commit()
    with pytest.raises(InvalidTransition, match="ausgelassen"):
        courier.perform(bote, tour.id, "stop_done", {"client_action_id": new_action_id()}, stop_id=stop.id)


BAD_STARTS = [
    ({"km": 100, "soc": 50}, "Kennung"),
    ({"client_action_id": "kurz", "km": 100, "soc": 50}, "Kennung"),
    ({"client_action_id": "x" * 41, "km": 100, "soc": 50}, "Kennung"),
    ({"client_action_id": "ok-ok-ok-ok", "soc": 50}, "Kilometerstand"),
    ({"client_action_id": "ok-ok-ok-ok", "km": 100}, "Ladezustand"),
    ({"client_action_id": "ok-ok-ok-ok", "km": 100, "soc": 101}, "Ladezustand"),
    ({"client_action_id": "ok-ok-ok-ok", "km": "viel", "soc": 50}, "Zahl"),
    ({"client_action_id": "ok-ok-ok-ok", "km": -1, "soc": 50}, "zwischen"),
    ({"client_action_id": "ok-ok-ok-ok", "km": 100, "soc": 50, "at": "gestern"}, "Zeitangabe"),
    ({"client_action_id": "ok-ok-ok-ok", "km": 100, "soc": 50, "at": "2026-03-02T08:00:00"}, "Zeitzone"),
]


def test_bad_start_input(world):
    bote = world.couriers["bote"]
    tour = make_tour(world, bote)
    for payload, message in BAD_STARTS:
        with pytest.raises(ValidationFailed, match=message):
            courier.perform(bote, tour.id, "start", payload)
        db.session.rollback()
    with pytest.raises(ValidationFailed, match="JSON"):
        courier.perform(bote, tour.id, "start", None)
    db.session.rollback()
    assert tour.status == TourStatus.PLANNED
    assert _count(CourierAction) == 0 and _count(OdometerReading) == 0


def test_odometer_lower_than_last_reading_refuses_the_start(world):
    bote = world.couriers["bote"]
    first = make_tour(world, bote, day=local_today() - timedelta(days=1))  # one tour per van and day
    _start(bote, first, km=12_410, at=now_utc() - timedelta(days=1))  # started on its own day
    courier.perform(bote, first.id, "end", {"client_action_id": new_action_id(), "km": 12_430, "soc": 70})
    db.session.commit()
    second = make_tour(world, bote)
    with pytest.raises(
        ValidationFailed, match=r"Kilometerstand 12\.340 km ist kleiner als der letzte Stand 12\.430 km"
    ):
        _start(bote, second, km=12_340)
    db.session.rollback()
    assert second.status == TourStatus.PLANNED
    assert all(i.status == ItemStatus.SORTED for s in second.stops for i in stop_items(s))
    assert _count(MailEvent, MailEvent.tour_id == second.id) == 0


def test_phone_clock_ahead_counts_as_now(world):
    bote = world.couriers["bote"]
    tour = make_tour(world, bote)
    outcome = _start(bote, tour, at=now_utc() + timedelta(hours=2))
    assert tour.started_at <= now_utc()
    assert outcome.result["ok"]


def test_item_sorted_for_a_stop_after_departure_is_loaded_and_handed_over(world):
    bote = world.couriers["bote"]
    tour = make_tour(world, bote, items_per_stop=((ItemKind.BRIEF,),))
    _start(bote, tour)
    stop = tour.stops[0]
    from tests.mailroom.courier.builders import make_item

    late = make_item(world.units[0])
    db.session.flush()
    late.tour_stop_id = stop.id
    db.session.commit()
    courier.perform(
        bote, tour.id, "stop_done", {"client_action_id": new_action_id(), "items": [late.id]}, stop_id=stop.id
    )
    db.session.commit()
    kinds = db.session.scalars(select(MailEvent.kind).where(MailEvent.item_id == late.id).order_by(MailEvent.id)).all()
    assert kinds == [EventKind.LOADED, EventKind.DELIVERED]


def test_payload_for_the_page(world):
    bote = world.couriers["bote"]
    tour = make_tour(world, bote)
    data = courier.tour_payload(tour)
    assert data["status"] == "planned" and len(data["stops"]) == 3
    first = data["stops"][0]
    site = world.sites[0]
    assert first["site"]["geo"] == f"geo:{site.lat:.6f},{site.lon:.6f}?q={site.lat:.6f},{site.lon:.6f}(Schule 1)"
    assert first["site"]["tel"] == "tel:04412352000"
    assert [i["registered"] for i in first["items"]] == [False, True]
    _start(bote, tour)
    stop = tour.stops[0]
    ids = [i.id for i in stop_items(stop)]
    courier.perform(
        bote,
        tour.id,
        "stop_done",
        {"client_action_id": new_action_id(), "items": ids, "receiver_name": "A", "signature": signature_data_url()},
        stop_id=stop.id,
    )
    db.session.commit()
    data = courier.tour_payload(tour)
    assert [i["status"] for i in data["stops"][0]["items"]] == ["delivered", "delivered"]
    assert data["start_reading"]["km"] == 12_410


def test_the_item_history_names_the_tour_by_van_and_day_not_its_id(world):
    from mailroom.services import intake

    bote = world.couriers["bote"]
    tour = make_tour(world, bote, items_per_stop=((ItemKind.BRIEF,),))
    (letter,) = stop_items(tour.stops[0])
    _start(bote, tour)
    wheres = [row.where for row in intake.history(letter) if "Tour" in (row.where or "")]
    expected = f"Tour {world.van.code} vom {tour.service_date:%d.%m.%Y}"
    assert wheres and all(expected in where for where in wheres), wheres
    assert all(f"Tour {tour.id}" not in where for where in wheres)

"""The phone's actions: ids, times, replays of an action sent twice, and `perform`, the one entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from mailroom.errors import InvalidTransition, NotFound, ValidationFailed
from mailroom.extensions import db
from mailroom.models import (
    CourierAction,
    Tour,
    TourStatus,
    User,
)
from mailroom.services.clock import now_utc
from mailroom.services.courier.common import ACTION_ID_RE, ACTION_KINDS, FUTURE_TOLERANCE
from mailroom.services.courier.steps import (
    _stop_of,
    complete_stop,
    end_tour,
    may_record_breakdown_reading,
    skip_stop,
    start_tour,
)
from mailroom.services.courier.tours import get_tour

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
    breakdown_reading = kind == "end" and may_record_breakdown_reading(tour)
    if tour.status in (TourStatus.FINISHED, TourStatus.CANCELLED) and not breakdown_reading:
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
        result = start_tour(
            tour,
            user=user,
            km=payload.get("km"),
            soc=payload.get("soc"),
            at=at,
            action_id=action_id,
            loaded_ids=payload.get("loaded"),
        )
    elif kind == "end":
        result = end_tour(tour, user=user, km=payload.get("km"), soc=payload.get("soc"), at=at, action_id=action_id)
    elif stop is None:  # a stop action: _stop_of found the stop or raised
        raise NotFound("Dieser Stopp gehört nicht zu dieser Tour.")
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

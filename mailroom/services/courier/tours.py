"""Which tours a user sees, and the tour as the phone gets it at page load."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select

from mailroom.errors import NotFound, PermissionDenied
from mailroom.extensions import db
from mailroom.models import (
    ItemKind,
    ItemStatus,
    MailItem,
    Role,
    Site,
    Tour,
    TourStatus,
    User,
)
from mailroom.services import fleet
from mailroom.services.clock import LOCAL_TZ, local_today
from mailroom.services.courier.common import SKIP_REASONS
from mailroom.services.courier.steps import other_day_message
from mailroom.services.dispatch.breakdown import breakdown_notice

# --- which tours a user sees ----------------------------------------------------------------------


def may_act_on_any_tour(user: User) -> bool:
    return user.role in (Role.ADMIN, Role.MAILROOM)


def tours_today(user: User) -> list[Tour]:
    """The courier's tours of today; staff of the mail room see all of today's tours."""
    query = select(Tour).where(Tour.service_date == local_today())
    if not may_act_on_any_tour(user):
        query = query.where(Tour.driver_id == user.id)
    # A tour cancelled after a breakdown stays listed (last): its page says what to do now.
    tours = list(db.session.scalars(query.order_by(Tour.planned_start, Tour.id)))
    return sorted(tours, key=lambda t: t.status == TourStatus.CANCELLED)


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
            if item.tour_stop_id is not None:
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
        "start_refusal": other_day_message(tour, local_today()) if tour.status == TourStatus.PLANNED else None,
        "breakdown": breakdown_notice(tour),
    }

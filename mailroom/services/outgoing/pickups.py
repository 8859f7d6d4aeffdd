"""Outgoing mail picked up at the sites: the couriers count it per stop on the phone ("Abgeholt (Stück)",
TourStop.pickups_count); the mail room sees what came from where and what is still to be franked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from mailroom.extensions import db
from mailroom.models import OrgUnit, Site, StopStatus, Tour, TourStop
from mailroom.models.outgoing import LetterCount, OutgoingParcel, TrackedItem


@dataclass(frozen=True)
class SitePickup:
    site_id: int
    site: str
    picked_up: int  # pieces counted by the couriers
    booked: int  # pieces booked for the site's cost centres that day (franking, tracked items, parcels)

    @property
    def to_frank(self) -> int:
        return max(0, self.picked_up - self.booked)


def pickups_on(day: date) -> list[SitePickup]:
    """Per site: pieces picked up on the day's tours and pieces booked for its org units that day."""
    picked: dict[int, int] = {
        site_id: int(count or 0)
        for site_id, count in db.session.execute(
            select(TourStop.site_id, func.sum(TourStop.pickups_count))
            .join(Tour, Tour.id == TourStop.tour_id)
            .where(Tour.service_date == day, TourStop.status == StopStatus.DONE, TourStop.pickups_count > 0)
            .group_by(TourStop.site_id)
        )
    }
    booked: dict[int, int] = {}
    for day_col, unit_col, pieces, extra in (
        (LetterCount.service_date, LetterCount.org_unit_id, func.sum(LetterCount.count), ()),
        (TrackedItem.posting_date, TrackedItem.org_unit_id, func.count(TrackedItem.id), ()),
        (OutgoingParcel.service_date, OutgoingParcel.org_unit_id, func.count(OutgoingParcel.id), ()),
    ):
        rows = db.session.execute(
            select(OrgUnit.site_id, pieces)
            .join(OrgUnit, OrgUnit.id == unit_col)
            .where(day_col == day, *extra)
            .group_by(OrgUnit.site_id)
        )
        for site_id, count in rows:
            booked[site_id] = booked.get(site_id, 0) + int(count or 0)
    site_ids = set(picked) | set(booked)
    if not site_ids:
        return []
    names = {i: name for i, name in db.session.execute(select(Site.id, Site.name).where(Site.id.in_(site_ids)))}
    result = [SitePickup(i, names.get(i, "?"), int(picked.get(i, 0) or 0), booked.get(i, 0)) for i in site_ids]
    return sorted(result, key=lambda p: (-p.to_frank, p.site))

"""Small builders for courier and fleet tests: a depot, a few sites, a van, a tour with stops and
sorted items, made directly with the models (no planning needed). The rows come from tests.builders."""

from __future__ import annotations

import base64
import io
import uuid
from dataclasses import dataclass, field
from datetime import date

from PIL import Image, ImageDraw
from sqlalchemy import select

from mailroom.extensions import db
from mailroom.models import (
    ItemKind,
    ItemStatus,
    MailItem,
    OrgUnit,
    Site,
    Tour,
    TourStatus,
    TourStop,
    User,
    Vehicle,
)
from mailroom.services.clock import local_today
from tests.builders import PASSWORD, add_item, add_user, add_van, depot, schools

# PASSWORD and add_user are imported from here by the courier and fleet tests.
__all__ = [
    "PASSWORD",
    "World",
    "add_user",
    "make_item",
    "make_tour",
    "make_world",
    "new_action_id",
    "signature_data_url",
    "signature_png",
    "stop_items",
]


@dataclass
class World:
    depot: Site
    sites: list[Site]
    units: list[OrgUnit]
    van: Vehicle
    couriers: dict[str, User] = field(default_factory=dict)


def new_action_id() -> str:
    return str(uuid.uuid4())


def signature_png(width: int = 300, height: int = 120, *, blank: bool = False) -> bytes:
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    if not blank:
        ImageDraw.Draw(image).line([(10, 80), (80, 20), (150, 90), (280, 30)], fill=(16, 32, 58, 255), width=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def signature_data_url(**kwargs) -> str:
    return "data:image/png;base64," + base64.b64encode(signature_png(**kwargs)).decode()


def make_world(*, sites: int = 3, users: tuple[str, ...] = ("bote", "botin")) -> World:
    the_depot = depot()
    made, units = schools(sites)
    world = World(depot=the_depot, sites=made, units=units, van=add_van())
    for username in users:
        world.couriers[username] = add_user(username)
    db.session.commit()
    return world


def make_item(unit: OrgUnit, *, kind: ItemKind = ItemKind.BRIEF, status: ItemStatus = ItemStatus.SORTED) -> MailItem:
    return add_item(unit, kind=kind, status=status)


def make_tour(
    world: World,
    driver: User | None,
    *,
    day: date | None = None,
    items_per_stop: tuple[tuple[ItemKind, ...], ...] = ((ItemKind.BRIEF, ItemKind.EINSCHREIBEN_UEBERGABE),),
    planned_km: float = 21.5,
    van: Vehicle | None = None,
) -> Tour:
    """A planned tour over the world's sites (by the world's van unless `van`: one tour per van and day);
    stop n gets the item kinds in items_per_stop[n] (last repeats)."""
    tour = Tour(
        service_date=day or local_today(),
        vehicle_id=(van or world.van).id,
        driver_id=driver.id if driver else None,
        status=TourStatus.PLANNED,
        planned_km=planned_km,
    )
    db.session.add(tour)
    for position, site in enumerate(world.sites, start=1):
        tour.stops.append(TourStop(site_id=site.id, position=position))
    db.session.flush()
    for index, stop in enumerate(tour.stops):
        kinds = items_per_stop[min(index, len(items_per_stop) - 1)]
        unit = world.units[index]
        for kind in kinds:
            item = make_item(unit, kind=kind)
            db.session.flush()
            item.tour_stop_id = stop.id
    db.session.commit()
    return tour


def stop_items(stop: TourStop) -> list[MailItem]:
    return list(db.session.scalars(select(MailItem).where(MailItem.tour_stop_id == stop.id).order_by(MailItem.id)))

"""Small builders for courier and fleet tests: a depot, a few sites, a van, a tour with stops and
sorted items, made directly with the models (no planning needed)."""

from __future__ import annotations

import base64
import io
import uuid
from dataclasses import dataclass, field
from datetime import date, time

from PIL import Image, ImageDraw
from sqlalchemy import select

from mailroom.extensions import db
from mailroom.models import (
    ItemKind,
    ItemStatus,
    MailItem,
    OrgUnit,
    Role,
    Site,
    Tour,
    TourStatus,
    TourStop,
    User,
    Vehicle,
)
from mailroom.services.clock import local_today

PASSWORD = "richtig-geheim-123"
_HASH: dict[str, str] = {}


def password_hash() -> str:
    """One real hash of PASSWORD for all test users (hashing is slow on purpose)."""
    if not _HASH:
        from werkzeug.security import generate_password_hash

        _HASH["value"] = generate_password_hash(PASSWORD)
    return _HASH["value"]


def add_user(username: str, role: Role = Role.COURIER) -> User:
    user = User(username=username, full_name=username.title(), password_hash=password_hash(), role=role)
    db.session.add(user)
    db.session.flush()
    return user


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
    depot = db.session.scalar(select(Site).where(Site.is_depot))
    if depot is None:
        depot = Site(
            code="DEPOT", name="Zentrale Poststelle", is_depot=True, lat=53.14, lon=8.21, street="Industriestr. 1"
        )
        db.session.add(depot)
    made = []
    units = []
    tag = uuid.uuid4().hex[:4].upper()
    for n in range(sites):
        site = Site(
            code=f"S{n + 1}-{tag}",
            name=f"Schule {n + 1}",
            street=f"Schulweg {n + 1}",
            postcode="26122",
            phone=f"0441 235-20{n:02d}",
            lat=53.14 + 0.01 * (n + 1),
            lon=8.21 + 0.01 * (n + 1),
            opens=time(7, 30),
            closes=time(16, 0),
        )
        db.session.add(site)
        made.append(site)
        db.session.flush()
        unit = OrgUnit(
            name=f"Sekretariat {n + 1}", short_name=f"SEK{n + 1}-{tag}", cost_centre=f"{20000 + n}", site=site
        )
        db.session.add(unit)
        units.append(unit)
    van = Vehicle(code=f"E{uuid.uuid4().hex[:4]}", name="E-Transporter 1", plate="OL-PS 101E", kwh_per_100km=24)
    db.session.add(van)
    db.session.flush()
    world = World(depot=depot, sites=made, units=units, van=van)
    for username in users:
        world.couriers[username] = add_user(username)
    db.session.commit()
    return world


_counter = {"n": 0}


def make_item(unit: OrgUnit, *, kind: ItemKind = ItemKind.BRIEF, status: ItemStatus = ItemStatus.SORTED) -> MailItem:
    _counter["n"] += 1
    n = _counter["n"]
    registered = ItemKind(kind).is_registered
    code = f"RR{10_000_000 + n}5DE" if registered else f"T-{n:05d}-{uuid.uuid4().hex[:4].upper()}"
    item = MailItem(
        code=code,
        carrier_code=code if registered else None,
        incoming_number=f"E-2026-{uuid.uuid4().hex[:8]}",
        kind=kind,
        status=status,
        org_unit_id=unit.id,
        site_id=unit.site_id,
    )
    db.session.add(item)
    return item


def make_tour(
    world: World,
    driver: User | None,
    *,
    day: date | None = None,
    items_per_stop: tuple[tuple[ItemKind, ...], ...] = ((ItemKind.BRIEF, ItemKind.EINSCHREIBEN_UEBERGABE),),
    planned_km: float = 21.5,
) -> Tour:
    """A planned tour over the world's sites; stop n gets the item kinds in items_per_stop[n] (last repeats)."""
    tour = Tour(
        service_date=day or local_today(),
        vehicle_id=world.van.id,
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

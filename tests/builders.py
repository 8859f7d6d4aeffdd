"""Test data, made with the models in the test (no fixtures in git): the one place that seeds the depot,
sites, org units, users, vans, items and tours, and draws barcode images.

- `town()`: the standard master data (depot, Rathaus, Stadthaus, three org units, the mail room user);
- `add_site`, `add_unit`, `add_user`, `add_van`, `add_item`: single rows with sensible defaults;
- `barcode_image`: Code 128 drawn from `labels.drawing.code128_widths` (the encoder the product prints with).
"""

from __future__ import annotations

import io
import itertools
import uuid
from dataclasses import dataclass, field
from datetime import time
from typing import Any

from PIL import Image, ImageDraw
from sqlalchemy import select

from labels.drawing import code128_widths
from mailroom.extensions import db
from mailroom.models import ItemKind, ItemStatus, MailItem, OrgUnit, Role, Site, User, Vehicle

PASSWORD = "richtig-geheim-123"  # every test user's password (tests.conftest.TEST_PASSWORD)
FD20_EMAIL = "fd20@stadt-oldenburg.example"

_HASH: dict[str, str] = {}
_numbers = itertools.count(1)


def password_hash() -> str:
    """One real hash of PASSWORD for all test users (hashing is slow on purpose)."""
    if not _HASH:
        from werkzeug.security import generate_password_hash

        _HASH["value"] = generate_password_hash(PASSWORD)
    return _HASH["value"]


def add_user(username: str, role: Role = Role.COURIER, full_name: str | None = None) -> User:
    user = User(
        username=username.lower(),
        full_name=username.title() if full_name is None else full_name,
        password_hash=password_hash(),
        role=role,
    )
    db.session.add(user)
    db.session.flush()
    return user


def add_site(code: str, name: str, **fields: Any) -> Site:
    site = Site(code=code, name=name, **fields)
    db.session.add(site)
    db.session.flush()
    return site


def depot() -> Site:
    """The mail room's depot (made once per database)."""
    existing = db.session.scalar(select(Site).where(Site.is_depot))
    if existing is not None:
        return existing
    return add_site("DEPOT", "Zentrale Poststelle", is_depot=True, lat=53.14, lon=8.21, street="Industriestr. 1")


def add_unit(short_name: str, name: str, site: Site, *, cost_centre: str | None = None, **fields: Any) -> OrgUnit:
    unit = OrgUnit(
        short_name=short_name, name=name, cost_centre=cost_centre or f"{10000 + next(_numbers)}", site=site, **fields
    )
    db.session.add(unit)
    db.session.flush()
    return unit


def add_van(code: str | None = None, name: str = "E-Transporter 1", **fields: Any) -> Vehicle:
    fields.setdefault("plate", "OL-PS 101E")
    fields.setdefault("kwh_per_100km", 24)
    van = Vehicle(code=code or f"E{uuid.uuid4().hex[:4]}", name=name, **fields)
    db.session.add(van)
    db.session.flush()
    return van


@dataclass
class Town:
    """The standard master data of the tests."""

    depot: Site
    sites: dict[str, Site]
    units: dict[str, OrgUnit]
    staff: User
    extra: dict[str, Any] = field(default_factory=dict)


def town(*, commit: bool = True) -> Town:
    """Depot, Rathaus (RH) and Stadthaus (SH); FD20 Finanzen at RH (with an e-mail address), FD32 at SH,
    FD99 dissolved (inactive); the mail room user `post` (Paula Post)."""
    the_depot = depot()
    sites = {
        "DEPOT": the_depot,
        "RH": add_site("RH", "Rathaus", street="Markt 1", postcode="26122", lat=53.14, lon=8.21),
        "SH": add_site("SH", "Stadthaus", lat=53.145, lon=8.215),
    }
    units = {
        "FD20": add_unit("FD20", "Fachdienst Finanzen", sites["RH"], cost_centre="10100", email=FD20_EMAIL),
        "FD32": add_unit("FD32", "Bürger- und Ordnungsamt", sites["SH"], cost_centre="10200"),
        "FD99": add_unit("FD99", "Aufgelöst", sites["SH"], cost_centre="10300", active=False),
    }
    staff = add_user("post", Role.MAILROOM, "Paula Post")
    if commit:
        db.session.commit()
    return Town(depot=the_depot, sites=sites, units=units, staff=staff)


def schools(count: int) -> tuple[list[Site], list[OrgUnit]]:
    """`count` schools with opening hours and coordinates, each with its secretariat (unique codes)."""
    tag = uuid.uuid4().hex[:4].upper()
    sites, units = [], []
    for n in range(count):
        site = add_site(
            f"S{n + 1}-{tag}",
            f"Schule {n + 1}",
            street=f"Schulweg {n + 1}",
            postcode="26122",
            phone=f"0441 235-20{n:02d}",
            lat=53.14 + 0.01 * (n + 1),
            lon=8.21 + 0.01 * (n + 1),
            opens=time(7, 30),
            closes=time(16, 0),
        )
        sites.append(site)
        units.append(add_unit(f"SEK{n + 1}-{tag}", f"Sekretariat {n + 1}", site, cost_centre=f"{20000 + n}"))
    return sites, units


def add_item(
    unit: OrgUnit, *, kind: ItemKind = ItemKind.BRIEF, status: ItemStatus = ItemStatus.SORTED, **fields: Any
) -> MailItem:
    """An item for `unit` (at its site); registered kinds get an S10-like carrier code."""
    n = next(_numbers)
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
        **fields,
    )
    db.session.add(item)
    return item


# --- barcode images --------------------------------------------------------------------------------


def barcode_image(*values: str, fmt: str = "PNG", module: int = 3, height: int = 90) -> bytes:
    """An envelope-like image with one Code 128 per value, stacked, with quiet zones."""
    widths = [code128_widths(v) for v in values]
    width = max(sum(w) for w in widths) * module + 80
    image = Image.new("L", (width, (height + 50) * len(values) + 40), 255)
    draw = ImageDraw.Draw(image)
    y = 30
    for bars in widths:
        x = 40
        for i, w in enumerate(bars):
            if i % 2 == 0:
                draw.rectangle([x, y, x + w * module - 1, y + height], fill=0)
            x += w * module
        y += height + 50
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format=fmt)
    return buffer.getvalue()

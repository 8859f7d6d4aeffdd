"""Workflow tests (issue 16): the demo master data, the clock pinned to a working day."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from mailroom.extensions import db
from mailroom.models import ItemKind, ItemStatus, MailItem, Site

PINNED_NOW = "2026-03-02T07:30:00+01:00"  # a Monday, before the tours leave
MONDAY = date(2026, 3, 2)
TUESDAY = date(2026, 3, 3)
PLAN_LIMIT_S = 1.0


def pin_clock(app, moment: str = PINNED_NOW) -> None:
    app.config["CLOCK_NOW"] = moment
    app.extensions.pop("mailroom_clock_offset", None)  # computed again from CLOCK_NOW on next use


@pytest.fixture
def day_world(app, demo):
    """Demo master data, the clock at Monday 07:30; returns the logins."""
    pin_clock(app)
    return demo


def sort_items(site_codes: list[str], kind: ItemKind = ItemKind.BRIEF) -> list[MailItem]:
    """One sorted item per site code (codes W-<site>), committed."""
    items = []
    for code in site_codes:
        site = db.session.scalar(select(Site).where(Site.code == code))
        item = MailItem(
            code=f"W-{code}-{kind}",
            incoming_number=f"E-{code}-{kind[:4]}",
            kind=kind,
            status=ItemStatus.SORTED,
            site_id=site.id,
        )
        db.session.add(item)
        items.append(item)
    db.session.commit()
    return items


def site_codes(limit: int = 3) -> list[str]:
    return list(db.session.scalars(select(Site.code).where(Site.is_depot.is_(False)).order_by(Site.id).limit(limit)))

"""Outgoing-mail fixtures: the demo master data with the seeded tariffs (no history), the clock pinned."""

from __future__ import annotations

from datetime import date

import pytest

from mailroom.extensions import db

PINNED_NOW = "2026-11-20T10:00:00+01:00"  # a Friday
TODAY = date(2026, 11, 20)
HEADER = "Datum;Uhrzeit;Kostenstelle;Produkt;Gewicht_g;Stueck;Porto_EUR"


def pin_clock(app) -> None:
    app.config["CLOCK_NOW"] = PINNED_NOW
    app.extensions.pop("mailroom_clock_offset", None)  # computed again from CLOCK_NOW on next use


@pytest.fixture
def world(app):
    """Sites, org units (cost centres 10100, 10200, ...), users and the standard tariffs."""
    from mailroom import demo as demo_data

    pin_clock(app)
    logins = demo_data.seed(history_days=0)
    db.session.commit()
    return {login.username: login.password for login in logins}


def csv_file(*lines: str, header: str = HEADER, encoding: str = "utf-8") -> bytes:
    return ("\r\n".join([header, *lines]) + "\r\n").encode(encoding)

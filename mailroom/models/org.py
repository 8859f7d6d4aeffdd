"""Sites (Standorte, incl. the depot) and org units (Fachdienste)."""

from __future__ import annotations

from datetime import time

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Time
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mailroom.extensions import db


class Site(db.Model):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(32), default="administration")
    district: Mapped[str] = mapped_column(String(64), default="")
    street: Mapped[str] = mapped_column(String(120), default="")
    postcode: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(64), default="Oldenburg")
    phone: Mapped[str] = mapped_column(String(40), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    opens: Mapped[time] = mapped_column(Time, default=time(7, 30))
    closes: Mapped[time] = mapped_column(Time, default=time(16, 0))
    service_min: Mapped[int] = mapped_column(Integer, default=3)
    remarks: Mapped[str] = mapped_column(String(255), default="")
    is_depot: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    org_units: Mapped[list[OrgUnit]] = relationship(back_populates="site")

    @property
    def has_coordinates(self) -> bool:
        return self.lat is not None and self.lon is not None

    @property
    def address(self) -> str:
        parts = [self.street, f"{self.postcode} {self.city}".strip()]
        return ", ".join(p for p in parts if p)

    def __repr__(self) -> str:
        return f"<Site {self.code}>"


class OrgUnit(db.Model):
    """A department (Fachdienst/Amt): receives mail, is charged postage through its cost centre."""

    __tablename__ = "org_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
    short_name: Mapped[str] = mapped_column(String(32), unique=True)
    cost_centre: Mapped[str] = mapped_column(String(16), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    email: Mapped[str | None] = mapped_column(String(160))
    room: Mapped[str] = mapped_column(String(32), default="")
    # Do-not-open rule: all mail for this unit (e.g. Personalrat, Gleichstellungsbeauftragte) is passed
    # on closed and never scanned, as items marked "persönlich/vertraulich" are.
    do_not_open: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    site: Mapped[Site] = relationship(back_populates="org_units")

    def __repr__(self) -> str:
        return f"<OrgUnit {self.short_name}>"

"""Actions sent by the courier's phone: one row per client-generated action id, so that an action
queued offline and sent twice is applied once and answered the same way both times."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from mailroom.extensions import db
from mailroom.models.base import UTCDateTime, utcnow


class CourierAction(db.Model):
    __tablename__ = "courier_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_action_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # start | stop_done | skip | end
    tour_id: Mapped[int] = mapped_column(ForeignKey("tours.id"), index=True)
    stop_id: Mapped[int | None] = mapped_column(ForeignKey("tour_stops.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())  # when the courier did it (phone time)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)  # when the server got it
    # The answer given the first time (no personal data: codes and counts only).
    result: Mapped[dict | None] = mapped_column(JSON)

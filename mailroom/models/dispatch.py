"""Daily dispatch: stop templates, plan runs, tours and their stops."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mailroom.extensions import db
from mailroom.models.auth import User
from mailroom.models.base import StrEnumColumn, UTCDateTime, utcnow
from mailroom.models.fleet import Vehicle
from mailroom.models.org import Site


class StopTemplate(db.Model):
    """The sites served on every working day (Mon–Fri by default)."""

    __tablename__ = "stop_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    weekdays: Mapped[str] = mapped_column(String(16), default="0,1,2,3,4")  # Monday = 0
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    entries: Mapped[list[StopTemplateEntry]] = relationship(
        back_populates="template", order_by="StopTemplateEntry.position", cascade="all, delete-orphan"
    )


class StopTemplateEntry(db.Model):
    __tablename__ = "stop_template_entries"
    __table_args__ = (UniqueConstraint("template_id", "site_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("stop_templates.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    must_visit: Mapped[bool] = mapped_column(Boolean, default=True)
    priority: Mapped[int] = mapped_column(Integer, default=1)

    template: Mapped[StopTemplate] = relationship(back_populates="entries")
    site: Mapped[Site] = relationship()


class AdhocStop(db.Model):
    """A stop added for one day only (a pick-up on request, an extra delivery)."""

    __tablename__ = "adhoc_stops"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_date: Mapped[date] = mapped_column(Date, index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    must_visit: Mapped[bool] = mapped_column(Boolean, default=True)
    pickup_boxes: Mapped[int] = mapped_column(Integer, default=0)
    # A courier order (Hauspost A -> B the same day): the boxes picked up here go to this site, not to
    # the depot, on the same van.
    deliver_to_site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    site: Mapped[Site] = relationship(foreign_keys=[site_id])
    deliver_to: Mapped[Site | None] = relationship(foreign_keys=[deliver_to_site_id])


class PlanRunStatus(StrEnum):
    """A plan started from the page runs off the request: running -> done | failed."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class PlanRunKind(StrEnum):
    PLAN = "plan"  # the first plan of a day
    REPLAN = "replan"  # a new plan replacing the day's (not yet started) tours
    ADJUST = "adjust"  # pins, a re-planned rest, a moved stop
    BREAKDOWN = "breakdown"  # a van's breakdown: its open stops moved to the others


class PlanRun(db.Model):
    """One run of the optimiser for a day: what it was asked and what it answered."""

    __tablename__ = "plan_runs"
    # One running plan per day, enforced by the database (two "Planen" clicks at once: the second fails).
    __table_args__ = (
        Index(
            "uq_plan_runs_running_day",
            "service_date",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_date: Mapped[date] = mapped_column(Date, index=True)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("stop_templates.id"))
    kind: Mapped[PlanRunKind] = mapped_column(StrEnumColumn(PlanRunKind), default=PlanRunKind.PLAN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    total_km: Mapped[float] = mapped_column(Float, default=0.0)
    solve_time_s: Mapped[float] = mapped_column(Float, default=0.0)
    unserved: Mapped[list | None] = mapped_column(JSON)  # [{"site": code, "reason": ..., "detail": ...}]
    routes: Mapped[dict | None] = mapped_column(JSON)  # {vehicle code: [site codes]}: warm start
    status: Mapped[PlanRunStatus] = mapped_column(StrEnumColumn(PlanRunStatus), default=PlanRunStatus.DONE)
    error: Mapped[str | None] = mapped_column(String(500))
    time_limit_s: Mapped[float] = mapped_column(Float, default=0.0)
    # "HH:MM" local: the tours of this plan are back at the depot by then (None: the configured shift end).
    return_by: Mapped[str | None] = mapped_column(String(5))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The drivers chosen on the planning form, {vehicle id (text): user id or null}; the others get the
    # usual driver (services/dispatch/day.py drivers_for_day). Read by the job that executes the run.
    drivers: Mapped[dict | None] = mapped_column(JSON)
    # Set by the worker that executes the run (mailroom/services/plan_jobs.py): when it took the run and
    # its last sign of life; a run without a recent heartbeat is marked failed (its worker died).
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TourStatus(StrEnum):
    PLANNED = "planned"
    STARTED = "started"
    FINISHED = "finished"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {
            "planned": "Geplant",
            "started": "Unterwegs",
            "finished": "Beendet",
            "cancelled": "Abgebrochen",
        }[self.value]


class Tour(db.Model):
    __tablename__ = "tours"
    __table_args__ = (UniqueConstraint("service_date", "vehicle_id", name="uq_tours_service_date_vehicle"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_date: Mapped[date] = mapped_column(Date, index=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"))
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    plan_run_id: Mapped[int | None] = mapped_column(ForeignKey("plan_runs.id"))
    status: Mapped[TourStatus] = mapped_column(StrEnumColumn(TourStatus), default=TourStatus.PLANNED)
    planned_km: Mapped[float] = mapped_column(Float, default=0.0)
    range_km: Mapped[float] = mapped_column(Float, default=0.0)
    planned_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    planned_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    vehicle: Mapped[Vehicle] = relationship()
    driver: Mapped[User | None] = relationship()
    stops: Mapped[list[TourStop]] = relationship(
        back_populates="tour", order_by="TourStop.position", cascade="all, delete-orphan"
    )

    @property
    def display_name(self) -> str:
        """The tour as users know it: the van and the day ("Tour E1 vom 14.04.2026"), never its database id."""
        van = self.vehicle.code if self.vehicle is not None else ""
        return f"Tour {van} vom {self.service_date:%d.%m.%Y}".replace("  ", " ")


class StopStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    SKIPPED = "skipped"

    @property
    def label(self) -> str:
        return {"open": "Offen", "done": "Erledigt", "skipped": "Ausgelassen"}[self.value]


class TourStop(db.Model):
    __tablename__ = "tour_stops"

    id: Mapped[int] = mapped_column(primary_key=True)
    tour_id: Mapped[int] = mapped_column(ForeignKey("tours.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    position: Mapped[int] = mapped_column(Integer)
    round: Mapped[int] = mapped_column(Integer, default=1)
    is_depot: Mapped[bool] = mapped_column(Boolean, default=False)  # reload between rounds
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)  # order fixed by staff
    eta: Mapped[datetime | None] = mapped_column(UTCDateTime())
    departure: Mapped[datetime | None] = mapped_column(UTCDateTime())
    km_after: Mapped[float] = mapped_column(Float, default=0.0)
    load_after: Mapped[int] = mapped_column(Integer, default=0)
    deliver_boxes: Mapped[int] = mapped_column(Integer, default=0)
    pickup_boxes: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[StopStatus] = mapped_column(StrEnumColumn(StopStatus), default=StopStatus.OPEN)
    skip_reason: Mapped[str | None] = mapped_column(String(200))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pickups_count: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(200), default="")

    tour: Mapped[Tour] = relationship(back_populates="stops")
    site: Mapped[Site] = relationship()

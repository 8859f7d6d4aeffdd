"""The logbook as a tax auditor reads it: one line per trip (a tour, a trip entered by hand, a plain odometer
reading), with its corrections spelled out (old value, new value, who, when, why), in time order.

A gap between the end of one line and the start of the next (km driven but not logged) is named on the line.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select, tuple_
from sqlalchemy.orm import selectinload

from mailroom.extensions import db
from mailroom.models import OdometerReading, ReadingKind, Tour, TourStop, TripPurpose, User, VanDay, Vehicle
from mailroom.services.clock import local_today
from mailroom.services.fleet.common import format_km, kind_label, local_text, purpose_label, setting
from mailroom.services.fleet.logbook import effective, original_kind
from mailroom.services.fleet.van_days import DRIVEN_TOUR_STATES

GAP_TOLERANCE_KM = 0.5


@dataclass
class LogbookLine:
    number: int  # the first entry's number in the logbook
    day: date
    started: datetime | None
    ended: datetime | None
    kind: str  # "Botentour", "Fahrt", "Kilometerstand"
    driver: str
    purpose: str
    route: str  # stops in the order driven, with full addresses; or the destination
    start_km: float | None
    end_km: float | None
    start_soc: int | None = None
    end_soc: int | None = None
    tour_id: int | None = None
    corrections: list[str] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)

    @property
    def km(self) -> float | None:
        if self.start_km is None or self.end_km is None:
            return None
        return round(self.end_km - self.start_km, 1)

    @property
    def complete(self) -> bool:
        return self.start_km is not None and self.end_km is not None


def _address(stop: TourStop) -> str:
    site = stop.site
    place = " ".join(part for part in (site.postcode, site.city) if part)
    return ", ".join(part for part in (site.name, site.street, place) if part)


def stops_in_order_driven(tour: Tour) -> list[TourStop]:
    """Visited stops by the time they were done (the plan's order for stops without a time)."""
    visited = [s for s in tour.stops if not s.is_depot and str(s.status) != "skipped"]
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(visited, key=lambda s: (s.done_at or s.eta or far, s.position))


def _root(entry: OdometerReading, by_id: dict[int, OdometerReading]) -> OdometerReading:
    seen = 0
    while entry.corrects_id is not None and entry.corrects_id in by_id and seen < 100:
        entry = by_id[entry.corrects_id]
        seen += 1
    return entry


def _correction_text(entry: OdometerReading, by_id: dict[int, OdometerReading], users: dict[int, User]) -> str:
    old = by_id.get(entry.corrects_id or 0)
    what = kind_label(original_kind(entry, by_id) or entry.kind)
    who = users[entry.user_id].username if entry.user_id in users else "unbekannt"
    if old is None:
        return f"Nr. {entry.id} korrigiert Nr. {entry.corrects_id}"
    values = f"{format_km(old.km)} → {format_km(entry.km)} km"
    if old.start_km is not None and entry.start_km is not None and old.start_km != entry.start_km:
        values = f"Abfahrt {format_km(old.start_km)} → {format_km(entry.start_km)} km, Ankunft " + values
    if old.destination != entry.destination and entry.destination:
        values += f", Ziel „{old.destination}“ → „{entry.destination}“"
    return (
        f"{what} korrigiert: {values} (Nr. {entry.id} ersetzt Nr. {old.id}; {who}, "
        f"{local_text(entry.created_at)}: {entry.note})"
    )


def logbook_lines(vehicle: Vehicle, first: date, last: date) -> list[LogbookLine]:
    """Every line of a van's logbook for days first..last (inclusive), oldest first."""
    entries = list(
        db.session.scalars(
            select(OdometerReading)
            .where(OdometerReading.vehicle_id == vehicle.id, OdometerReading.day >= first, OdometerReading.day <= last)
            .order_by(OdometerReading.at, OdometerReading.id)
        )
    )
    by_id = {e.id: e for e in entries}
    users = {u.id: u for u in db.session.scalars(select(User))}
    tour_ids = {e.tour_id for e in entries if e.tour_id}
    tours = (
        {
            t.id: t
            for t in db.session.scalars(
                select(Tour).where(Tour.id.in_(tour_ids)).options(selectinload(Tour.stops).selectinload(TourStop.site))
            )
        }
        if tour_ids
        else {}
    )
    groups: dict[tuple[str, int], list[OdometerReading]] = defaultdict(list)
    for entry in entries:
        group = ("tour", entry.tour_id) if entry.tour_id else ("entry", _root(entry, by_id).id)
        groups[group].append(entry)
    lines = []
    for (what, group_id), members in groups.items():
        counting = effective(members)
        corrections = [_correction_text(e, by_id, users) for e in members if e.corrects_id is not None]
        first_entry = members[0]
        if what == "tour":
            lines.append(_tour_line(tours.get(group_id), counting, by_id, users, first_entry, corrections))
            continue
        if not counting:
            continue
        entry = counting[-1]
        driver = users.get(entry.driver_id or entry.user_id or 0)
        is_trip = entry.start_km is not None
        lines.append(
            LogbookLine(
                number=first_entry.id,
                day=entry.day,
                started=None,
                ended=entry.at,
                kind="Fahrt" if is_trip else "Kilometerstand",
                driver=driver.full_name if driver else "",
                purpose=purpose_label(entry.purpose) if is_trip else "",
                route=entry.destination,
                start_km=entry.start_km if is_trip else entry.km,
                end_km=entry.km,
                end_soc=entry.soc_percent,
                corrections=corrections,
                remarks=[entry.note] if entry.note and entry.corrects_id is None else [],
            )
        )
    early = datetime.min.replace(tzinfo=UTC)
    lines.sort(key=lambda line: (line.started or line.ended or early, line.number))
    _mark_gaps(lines)
    return lines


def _tour_line(tour, counting, by_id, users, first_entry, corrections) -> LogbookLine:
    start = end = None
    for reading in counting:
        kind = original_kind(reading, by_id)
        if kind == ReadingKind.TOUR_START:
            start = reading
        elif kind == ReadingKind.TOUR_END:
            end = reading
    driver = (tour.driver if tour else None) or users.get((start or first_entry).driver_id or 0)
    route = " → ".join(_address(s) for s in stops_in_order_driven(tour)) if tour else ""
    line = LogbookLine(
        number=first_entry.id,
        day=tour.service_date if tour else first_entry.day,
        started=start.at if start else None,
        ended=end.at if end else None,
        kind="Botentour",
        driver=driver.full_name if driver else "",
        purpose=TripPurpose.TOUR.label,
        route=route,
        start_km=start.km if start else None,
        end_km=end.km if end else None,
        start_soc=start.soc_percent if start else None,
        end_soc=end.soc_percent if end else None,
        tour_id=tour.id if tour else first_entry.tour_id,
        corrections=corrections,
    )
    if not line.complete:
        line.remarks.append("unvollständig: " + ("Tourende fehlt" if start else "Tourbeginn fehlt"))
    return line


def _mark_gaps(lines: list[LogbookLine]) -> None:
    previous_end: float | None = None
    for line in lines:
        if previous_end is not None and line.start_km is not None:
            gap = line.start_km - previous_end
            if gap > GAP_TOLERANCE_KM:
                line.remarks.append(f"Lücke: {format_km(gap)} km seit dem vorigen Eintrag nicht erfasst")
        if line.end_km is not None:
            previous_end = line.end_km


@dataclass
class IncompleteTour:
    tour: Tour
    missing: str

    @property
    def name(self) -> str:
        """ "Tour E1 vom 14.04.2026", as the tour is named everywhere else."""
        return self.tour.display_name


def incomplete_tours(today: date | None = None) -> list[IncompleteTour]:
    """Tours older than FLEET_INCOMPLETE_DAYS days that were started or finished without both readings."""
    today = today or local_today()
    stale = today - timedelta(days=int(setting("FLEET_INCOMPLETE_DAYS")))
    # `van_days` counts per van and day the tours that lack an effective start or end entry of their own kind;
    # only those (a correction may stand for either) are looked at entry by entry below.
    d = VanDay
    days = db.session.execute(
        select(d.vehicle_id, d.day).where(d.open_tours > 0, d.day < stale, d.day >= stale - timedelta(days=400))
    ).all()
    if not days:
        return []
    tours = list(
        db.session.scalars(
            select(Tour)
            .where(tuple_(Tour.vehicle_id, Tour.service_date).in_(days), Tour.status.in_(DRIVEN_TOUR_STATES))
            .order_by(Tour.service_date.desc())
        )
    )
    if not tours:
        return []
    readings = defaultdict(list)
    for r in db.session.scalars(select(OdometerReading).where(OdometerReading.tour_id.in_([t.id for t in tours]))):
        readings[r.tour_id].append(r)
    found = []
    for tour in tours:
        members = readings.get(tour.id, [])
        by_id = {m.id: m for m in members}
        kinds = {original_kind(r, by_id) for r in effective(members)}
        if ReadingKind.TOUR_START not in kinds and ReadingKind.TOUR_END not in kinds:
            found.append(IncompleteTour(tour, "Tourbeginn und Tourende"))
        elif ReadingKind.TOUR_END not in kinds:
            found.append(IncompleteTour(tour, "Tourende"))
        elif ReadingKind.TOUR_START not in kinds:
            found.append(IncompleteTour(tour, "Tourbeginn"))
    return found

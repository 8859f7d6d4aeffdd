"""The vehicle logbook (Fahrtenbuch): odometer readings and trips per van, append-only.

Rules:
- Readings never go down in time: a new reading at time t must be at least the last effective reading
  before t (and at most the first one after t, for a reading that arrives late from a phone that was offline).
- A reading implying more than FLEET_MAX_KM_PER_DAY km per day since the one before is refused as a typo.
- A typo is fixed by a CORRECTION: a new entry that names the entry it corrects (`corrects_id`), says who
  (user), when (created_at) and why (note). The corrected entry then no longer counts; the correction takes its
  place in time and must fit between the neighbours like any reading. An entry that no longer counts cannot be
  corrected again: its correction is the one to correct.
- Tour start and end write TOUR_START / TOUR_END readings; a tour's driven km = end − start.
- A trip outside a tour (workshop, charging, other) is one TRIP entry with start and end km, destination and purpose.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import aliased

from mailroom.errors import ValidationFailed
from mailroom.extensions import db
from mailroom.models import OdometerReading, ReadingKind, Tour, TripPurpose, User, Vehicle
from mailroom.services.clock import LOCAL_TZ, now_utc
from mailroom.services.fleet.common import format_km, kind_label, local_day, local_text, setting
from mailroom.services.lookup import get_or_404

MAX_KM = 2_000_000.0
NOTE_MAX = 200
DESTINATION_MAX = 200


def get_reading(reading_id: int) -> OdometerReading:
    return get_or_404(OdometerReading, reading_id, "Eintrag im Fahrtenbuch nicht gefunden.")


def readings(vehicle: Vehicle) -> list[OdometerReading]:
    """All entries of a van, oldest first (by the time they are about, then by entry)."""
    return list(
        db.session.scalars(
            select(OdometerReading)
            .where(OdometerReading.vehicle_id == vehicle.id)
            .order_by(OdometerReading.at, OdometerReading.id)
        )
    )


def corrected_ids(entries: list[OdometerReading]) -> set[int]:
    return {r.corrects_id for r in entries if r.corrects_id is not None}


def effective(entries: list[OdometerReading]) -> list[OdometerReading]:
    """The entries that count: every entry that no later correction replaced, in time order."""
    replaced = corrected_ids(entries)
    return [r for r in entries if r.id not in replaced]


_CORRECTION = aliased(OdometerReading, name="correction")  # made once: building an alias per query is slow


def effective_clause():
    """SQL: the reading was not replaced by a correction (the one definition every report uses)."""
    return ~exists().where(_CORRECTION.corrects_id == OdometerReading.id)


# The local day goes with the time (day = the local date of `at`), so (day, at) orders as `at` does and the
# index on (vehicle_id, day, at) serves the lookups below.
_NEWEST_FIRST = (OdometerReading.day.desc(), OdometerReading.at.desc(), OdometerReading.id.desc())
_OLDEST_FIRST = (OdometerReading.day, OdometerReading.at, OdometerReading.id)


def last_reading(vehicle: Vehicle) -> OdometerReading | None:
    return db.session.scalar(
        select(OdometerReading)
        .where(OdometerReading.vehicle_id == vehicle.id, effective_clause())
        .order_by(*_NEWEST_FIRST)
        .limit(1)
    )


def _neighbours(
    vehicle: Vehicle, at: datetime, *, ignore_id: int | None = None
) -> tuple[OdometerReading | None, OdometerReading | None]:
    """The last effective entry at or before `at` and the first after it (ignoring one being corrected)."""
    base = select(OdometerReading).where(OdometerReading.vehicle_id == vehicle.id, effective_clause())
    if ignore_id is not None:
        base = base.where(OdometerReading.id != ignore_id)
    day = local_day(at)
    before = db.session.scalar(
        base.where(OdometerReading.day <= day, OdometerReading.at <= at).order_by(*_NEWEST_FIRST).limit(1)
    )
    after = db.session.scalar(
        base.where(OdometerReading.day >= day, OdometerReading.at > at).order_by(*_OLDEST_FIRST).limit(1)
    )
    return before, after


def start_of(reading: OdometerReading) -> float:
    """The odometer when the entry began (a trip's start, else the reading itself)."""
    return reading.start_km if reading.start_km is not None else reading.km


# --- checks ------------------------------------------------------------------------------------------


def _number(value: object, message: str) -> float:
    if value is None or value == "" or isinstance(value, bool):
        raise ValidationFailed(message)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValidationFailed(message) from None
    if number != number:  # NaN
        raise ValidationFailed(message)
    return number


def check_km(km: object, what: str = "Kilometerstand") -> float:
    if km is None or km == "":
        raise ValidationFailed(f"Bitte den {what} angeben.")
    value = _number(km, f"Der {what} muss eine Zahl sein.")
    if value < 0 or value > MAX_KM:
        raise ValidationFailed(f"Der {what} muss zwischen 0 und {format_km(MAX_KM)} km liegen.")
    return round(value, 1)


def check_soc(soc_percent: object) -> int | None:
    if soc_percent is None or soc_percent == "":
        return None
    message = "Der Ladezustand muss eine ganze Zahl zwischen 0 und 100 % sein."
    soc = _number(soc_percent, message)
    if not soc.is_integer() or not 0 <= soc <= 100:
        raise ValidationFailed(message)
    return int(soc)


def _check_note(note: str | None, *, required: bool = False) -> str:
    note = (note or "").strip()
    if required and not note:
        raise ValidationFailed("Eine Korrektur braucht eine Begründung (Notiz).")
    if len(note) > NOTE_MAX:
        raise ValidationFailed(f"Die Notiz darf höchstens {NOTE_MAX} Zeichen lang sein.")
    return note


def _check_time(at: datetime | None) -> datetime:
    at = at or now_utc()
    if at.tzinfo is None:
        raise ValueError("naive datetime")
    if at > now_utc() + timedelta(minutes=10):
        raise ValidationFailed("Der Zeitpunkt eines Eintrags darf nicht in der Zukunft liegen.")
    return at


def check_monotonic(
    vehicle: Vehicle, km: float, at: datetime, *, start_km: float | None = None, ignore_id: int | None = None
) -> None:
    """Refuse an entry that would make the odometer go down, or jump more than a day can hold."""
    before, after = _neighbours(vehicle, at, ignore_id=ignore_id)
    first = km if start_km is None else start_km
    if before is not None and first < before.km:
        raise ValidationFailed(
            f"Kilometerstand {format_km(first)} km ist kleiner als der letzte Stand {format_km(before.km)} km "
            f"({kind_label(before.kind)}, {local_text(before.at)}) von {vehicle.name}. Ein Kilometerstand kann nicht "
            "sinken: bitte die Eingabe prüfen oder den falschen Eintrag im Fahrtenbuch korrigieren.",
            code="odometer_decreasing",
        )
    if after is not None and km > start_of(after):
        raise ValidationFailed(
            f"Kilometerstand {format_km(km)} km ist größer als der spätere Stand {format_km(start_of(after))} km "
            f"({kind_label(after.kind)}, {local_text(after.at)}) von {vehicle.name}. Bitte die Eingabe prüfen oder "
            "den falschen Eintrag im Fahrtenbuch korrigieren.",
            code="odometer_decreasing",
        )
    if before is not None:
        limit = setting("FLEET_MAX_KM_PER_DAY")
        days = max(1, (local_day(at) - local_day(before.at)).days)
        jump = km - before.km
        if jump > limit * days:
            span = "an einem Tag" if days == 1 else f"in {days} Tagen"
            raise ValidationFailed(
                f"Kilometerstand {format_km(km)} km wären {format_km(jump)} km {span} seit dem letzten Stand "
                f"{format_km(before.km)} km ({local_text(before.at)}) – mehr als {format_km(limit)} km am Tag sind "
                f"für {vehicle.name} nicht plausibel. Bitte die Eingabe prüfen.",
                code="odometer_jump",
            )


def _existing(client_action_id: str | None) -> OdometerReading | None:
    if not client_action_id:
        return None
    return db.session.scalar(select(OdometerReading).where(OdometerReading.client_action_id == client_action_id))


# --- writing ---------------------------------------------------------------------------------------


def record_reading(
    vehicle: Vehicle,
    *,
    km: float | None,
    soc_percent: int | None = None,
    kind: ReadingKind = ReadingKind.MANUAL,
    at: datetime | None = None,
    user: User | None = None,
    tour: Tour | None = None,
    note: str = "",
    client_action_id: str | None = None,
) -> OdometerReading:
    """Append a reading (not a trip: `record_trip`; not a correction: `record_correction`)."""
    if kind in (ReadingKind.CORRECTION, ReadingKind.TRIP):
        raise ValidationFailed("Eine Korrektur muss den korrigierten Eintrag nennen.")
    existing = _existing(client_action_id)
    if existing is not None:
        return existing
    value = check_km(km)
    soc = check_soc(soc_percent)
    at = _check_time(at)
    note = _check_note(note)
    check_monotonic(vehicle, value, at)
    reading = OdometerReading(
        vehicle_id=vehicle.id,
        at=at,
        day=local_day(at),
        km=value,
        soc_percent=soc,
        kind=kind,
        purpose=TripPurpose.TOUR if tour else "",
        tour_id=tour.id if tour else None,
        driver_id=(tour.driver_id if tour else None) or (user.id if user else None),
        user_id=user.id if user else None,
        note=note,
        client_action_id=client_action_id,
    )
    db.session.add(reading)
    db.session.flush()
    return reading


def _check_trip(start_km: object, end_km: object, destination: str | None, purpose: str) -> tuple[float, float, str]:
    start = check_km(start_km, "Kilometerstand bei Abfahrt")
    end = check_km(end_km, "Kilometerstand bei Ankunft")
    if end < start:
        raise ValidationFailed(
            f"Der Kilometerstand bei Ankunft ({format_km(end)} km) ist kleiner als bei Abfahrt "
            f"({format_km(start)} km): das Ende einer Fahrt kann nicht vor ihrem Anfang liegen.",
            code="end_before_start",
        )
    destination = (destination or "").strip()
    if not destination:
        raise ValidationFailed("Bitte das Ziel der Fahrt angeben (Adresse).")
    if len(destination) > DESTINATION_MAX:
        raise ValidationFailed(f"Das Ziel darf höchstens {DESTINATION_MAX} Zeichen lang sein.")
    if purpose not in {p.value for p in TripPurpose} or purpose == TripPurpose.TOUR:
        raise ValidationFailed("Bitte einen Zweck wählen: Werkstatt, Laden oder sonstige Dienstfahrt.")
    return start, end, destination


def trip_time(day_value, hhmm: time | None = None) -> datetime:
    """A hand-entered trip's time: the given local time of its day, else noon (the day is what counts)."""
    return datetime.combine(day_value, hhmm or time(12, 0), tzinfo=LOCAL_TZ)


def record_trip(
    vehicle: Vehicle,
    *,
    at: datetime,
    start_km: object,
    end_km: object,
    destination: str,
    purpose: str,
    driver: User | None = None,
    user: User | None = None,
    soc_percent: object = None,
    note: str = "",
) -> OdometerReading:
    """Append a trip outside a tour (entered by hand): one entry with start and end km."""
    start, end, destination = _check_trip(start_km, end_km, destination, purpose)
    soc = check_soc(soc_percent)
    at = _check_time(at)
    note = _check_note(note)
    check_monotonic(vehicle, end, at, start_km=start)
    reading = OdometerReading(
        vehicle_id=vehicle.id,
        at=at,
        day=local_day(at),
        km=end,
        start_km=start,
        soc_percent=soc,
        kind=ReadingKind.TRIP,
        purpose=purpose,
        destination=destination,
        driver_id=driver.id if driver else (user.id if user else None),
        user_id=user.id if user else None,
        note=note,
    )
    db.session.add(reading)
    db.session.flush()
    return reading


def record_correction(
    corrected: OdometerReading,
    *,
    km: float | None,
    soc_percent: int | None = None,
    note: str,
    user: User | None = None,
    start_km: object = None,
    destination: str | None = None,
) -> OdometerReading:
    """Append a correction of `corrected`: it takes the corrected entry's place in time; the corrected
    entry stays in the logbook, marked as corrected."""
    already = db.session.scalar(select(OdometerReading).where(OdometerReading.corrects_id == corrected.id))
    if already is not None:
        raise ValidationFailed(
            f"Eintrag Nr. {corrected.id} zählt nicht mehr: er wurde am {local_text(already.created_at)} durch "
            f"Nr. {already.id} korrigiert. Bitte Nr. {already.id} korrigieren.",
            code="already_corrected",
        )
    value = check_km(km)
    soc = check_soc(soc_percent)
    note = _check_note(note, required=True)
    start = None
    if corrected.start_km is not None:  # a trip: start and end
        start, value, destination = _check_trip(
            corrected.start_km if start_km in (None, "") else start_km,
            value,
            corrected.destination if destination in (None, "") else destination,
            corrected.purpose,
        )
    vehicle = corrected.vehicle
    check_monotonic(vehicle, value, corrected.at, start_km=start, ignore_id=corrected.id)
    reading = OdometerReading(
        vehicle_id=corrected.vehicle_id,
        at=corrected.at,
        day=corrected.day,
        km=value,
        start_km=start,
        soc_percent=soc if soc is not None else corrected.soc_percent,
        kind=ReadingKind.CORRECTION,
        purpose=corrected.purpose,
        destination=destination if start is not None else corrected.destination,
        driver_id=corrected.driver_id,
        tour_id=corrected.tour_id,
        corrects_id=corrected.id,
        user_id=user.id if user else None,
        note=note,
    )
    db.session.add(reading)
    db.session.flush()
    return reading


# --- tours --------------------------------------------------------------------------------------------


def original_kind(reading: OdometerReading | None, by_id: dict[int, OdometerReading]) -> str | None:
    """What a correction stands for (following the chain back to the first entry)."""
    seen = 0
    while reading is not None and reading.kind == ReadingKind.CORRECTION and seen < 100:
        reading = by_id.get(reading.corrects_id) if reading.corrects_id else None
        seen += 1
    return reading.kind if reading is not None else None


def start_end(entries: list[OdometerReading]) -> tuple[OdometerReading | None, OdometerReading | None]:
    """The effective start and end readings among a tour's entries (a correction counts instead)."""
    by_id = {e.id: e for e in entries}
    start = end = None
    for r in sorted(effective(entries), key=lambda r: (r.at, r.id)):
        kind = original_kind(r, by_id)
        if kind == ReadingKind.TOUR_START:
            start = r
        elif kind == ReadingKind.TOUR_END:
            end = r
    return start, end


def tour_readings(tour: Tour) -> tuple[OdometerReading | None, OdometerReading | None]:
    return start_end(list(db.session.scalars(select(OdometerReading).where(OdometerReading.tour_id == tour.id))))


def tour_driven_km(tour: Tour) -> float | None:
    start, end = tour_readings(tour)
    if start is None or end is None:
        return None
    return round(end.km - start.km, 1)

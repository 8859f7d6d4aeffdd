"""Fleet history for the demo: 14 months of finished tours per van before the item history, a charging log, a
workshop week, errands logged as trips, one corrected typo, and the grid's CO2 factors, so that the year
report, the projection and the measured range show something real."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from mailroom.extensions import db
from mailroom.models import (
    ChargeLocation,
    ChargingSession,
    GridFactor,
    OdometerReading,
    ReadingKind,
    Site,
    TripPurpose,
    User,
    Vehicle,
    WorkshopPeriod,
)
from mailroom.services import workdays
from mailroom.services.clock import LOCAL_TZ

FLEET_HISTORY_DAYS = 430  # about 14 months back from today
WINTER_MONTHS = (11, 12, 1, 2, 3)
WINTER_CONSUMPTION = 1.25  # ~ 80 % range in winter (Recurrent)
CHARGING_LOSS = 0.08
DEPOT_CENTS_PER_KWH = 29
ERRANDS = (
    ("Postfiliale Oldenburg, Poststraße 1, 26122 Oldenburg", TripPurpose.OTHER),
    ("Autohaus Wessels (Werkstatt), Bremer Heerstraße 120, 26135 Oldenburg", TripPurpose.WORKSHOP),
    ("Ladepark EWE Go, Stau 27, 26122 Oldenburg", TripPurpose.CHARGING),
    ("Materiallager Stadt Oldenburg, Alexanderstraße 400, 26127 Oldenburg", TripPurpose.OTHER),
)
GRID_FACTORS = (
    (2022, 434.0, "Umweltbundesamt, Strommix 2022"),
    (2023, 380.0, "Umweltbundesamt, Strommix 2023"),
)


def consumption_kwh_per_100km(van: Vehicle, day: date) -> float:
    """What the demo vans use: their rated consumption, a quarter more in winter, a little day-to-day noise
    (deterministic, so the demo's random sequence stays the same)."""
    noise = 1.0 + ((day.toordinal() * 7 + van.id * 3) % 9 - 4) / 100.0
    season = WINTER_CONSUMPTION if day.month in WINTER_MONTHS else 1.0
    return van.kwh_per_100km * season * noise


def errand(tour_id: int) -> tuple[str, TripPurpose]:
    return ERRANDS[tour_id % len(ERRANDS)]


def seed_fleet_history(
    rng: random.Random,
    *,
    depot: Site,
    tour_groups: list[list[Site]],
    vans: list[Vehicle],
    couriers: list[User],
    odometer: dict[int, float],
    first: date,
    last: date,
) -> None:
    """Tours (with their logbook readings) on every working day first..last, before the item history."""
    from mailroom.demo_history import _make_tour

    for factor in GRID_FACTORS:
        db.session.add(GridFactor(year=factor[0], g_per_kwh=factor[1], source=factor[2]))
    for van in vans:
        van.commissioned_on = date(2022, 3, 1)
        van.model = "e-Transporter (Demo)"
    workshop_van = vans[-1] if vans else None
    workshop_start = last - timedelta(days=150)
    workshop = (workshop_start, workshop_start + timedelta(days=4))
    if workshop_van is not None:
        db.session.add(
            WorkshopPeriod(
                vehicle_id=workshop_van.id,
                starts_on=workshop[0],
                ends_on=workshop[1],
                note="Inspektion und Reifenwechsel",
            )
        )
    typo_done = False
    day = first
    while day <= last:
        if workdays.is_working_day(day):
            for van, courier, group in zip(vans, couriers, tour_groups, strict=False):
                if van is workshop_van and workshop[0] <= day <= workshop[1]:
                    continue
                tour = _make_tour(day, van, courier, depot, group, rng, odometer)
                if rng.random() < 0.35:
                    kwh = tour.planned_km * consumption_kwh_per_100km(van, day) / 100 * (1 + CHARGING_LOSS)
                    db.session.add(
                        ChargingSession(
                            vehicle_id=van.id,
                            day=day,
                            kwh=round(kwh, 1),
                            location=ChargeLocation.DEPOT,
                            cost_cents=round(kwh * DEPOT_CENTS_PER_KWH),
                        )
                    )
            if not typo_done and (last - day).days < 60 and vans:
                _typo_and_correction(vans[0], couriers, day, odometer)
                typo_done = True
        day += timedelta(days=1)
    db.session.flush()


def _typo_and_correction(van: Vehicle, couriers: list[User], day: date, odometer: dict[int, float]) -> None:
    """A trip to the workshop whose end km was typed with a digit too many, and its correction."""
    at = datetime.combine(day, time(16, 30), tzinfo=LOCAL_TZ)
    start = round(odometer[van.id], 1)
    end = round(start + 6.4, 1)
    driver = couriers[0].id if couriers else None
    destination, purpose = ERRANDS[1]
    typo = OdometerReading(
        vehicle_id=van.id,
        at=at,
        km=end * 10,
        start_km=start,
        kind=ReadingKind.TRIP,
        purpose=purpose,
        destination=destination,
        driver_id=driver,
        user_id=driver,
    )
    db.session.add(typo)
    db.session.flush()
    db.session.add(
        OdometerReading(
            vehicle_id=van.id,
            at=at,
            km=end,
            start_km=start,
            kind=ReadingKind.CORRECTION,
            purpose=purpose,
            destination=destination,
            driver_id=driver,
            corrects_id=typo.id,
            user_id=driver,
            note="Eine Ziffer zu viel getippt",
            created_at=at + timedelta(days=1),
        )
    )
    odometer[van.id] = end

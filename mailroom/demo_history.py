"""Plausible history for the demo: past working days with incoming items and their custody, finished
tours with odometer readings, and this morning's intake, so that every page shows something real."""

from __future__ import annotations

import math
import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from mailroom import demo_fleet
from mailroom.extensions import db
from mailroom.models import (
    EventKind,
    HandoverProof,
    IncomingCounter,
    ItemKind,
    ItemStatus,
    MailEvent,
    MailItem,
    OdometerReading,
    OrgUnit,
    ReadingKind,
    Role,
    Site,
    StopStatus,
    Tour,
    TourStatus,
    TourStop,
    User,
    Vehicle,
)
from mailroom.services import workdays
from mailroom.services.clock import LOCAL_TZ, local_today

ITEMS_PER_DAY = (45, 90)
KIND_WEIGHTS = [
    (ItemKind.BRIEF, 62), (ItemKind.GROSSBRIEF, 10), (ItemKind.EINSCHREIBEN_EINWURF, 3),
    (ItemKind.EINSCHREIBEN_UEBERGABE, 2), (ItemKind.EINSCHREIBEN_RUECKSCHEIN, 2), (ItemKind.PZU, 2),
    (ItemKind.PAKET, 4), (ItemKind.PAECKCHEN, 3), (ItemKind.HAUSPOST, 10), (ItemKind.IRRLAEUFER, 1),
    (ItemKind.WERTSENDUNG, 1),
]  # fmt: skip
SENDERS = [
    "Amtsgericht Oldenburg", "Finanzamt Oldenburg", "Landkreis Ammerland", "Niedersächsisches Landesamt für Statistik",
    "EWE AG", "Deutsche Rentenversicherung", "Polizeidirektion Oldenburg", "Verwaltungsgericht Oldenburg",
    "Landesschulbehörde", "Agentur für Arbeit", "Krankenkasse AOK", "Rechtsanwälte Meyer & Partner",
]  # fmt: skip
RECEIVERS = ["K. Janssen", "M. Oltmanns", "S. Gerdes", "T. Hinrichs", "A. Wübbena", "J. Ahlers", "P. Bruns"]
CIRCUITY = 1.3
FULL_HISTORY_DAYS = 30  # with at least this much item history the fleet history goes back 14 months


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL_TZ)


def _haversine_km(a: Site, b: Site) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h)) * CIRCUITY


def _split_tours(depot: Site, sites: list[Site]) -> list[list[Site]]:
    """Two tours by a sweep around the depot, each ordered nearest-neighbour (good enough for history)."""
    by_angle = sorted(sites, key=lambda s: math.atan2(s.lat - depot.lat, s.lon - depot.lon))
    half = len(by_angle) // 2
    tours = []
    for group in (by_angle[:half], by_angle[half:]):
        order, here, rest = [], depot, list(group)
        while rest:
            nxt = min(rest, key=lambda s: _haversine_km(here, s))
            order.append(nxt)
            rest.remove(nxt)
            here = nxt
        tours.append(order)
    return tours


def _s10(rng: random.Random) -> str:
    from labels.codes import classify

    body = f"R{rng.choice('RTEU')}{rng.randint(10_000_000, 99_999_999)}"
    for digit in range(10):
        candidate = f"{body}{digit}DE"
        if classify(candidate).check_digit_valid:
            return candidate
    raise AssertionError("no S10 check digit found")  # pragma: no cover


def _dhl_parcel(rng: random.Random) -> str:
    return f"JJD{rng.randint(10**17, 10**18 - 1)}"


def seed_history(rng: random.Random, *, days: int = 30) -> None:
    from labels.codes import make_internal_code

    depot = db.session.scalar(select(Site).where(Site.is_depot))
    sites = list(db.session.scalars(select(Site).where(Site.is_depot.is_(False)).order_by(Site.id)))
    units = list(db.session.scalars(select(OrgUnit).order_by(OrgUnit.id)))
    vans = list(db.session.scalars(select(Vehicle).order_by(Vehicle.code)))
    staff = db.session.scalar(select(User).where(User.role == Role.MAILROOM))
    couriers = list(db.session.scalars(select(User).where(User.role == Role.COURIER).order_by(User.id)))
    kinds, weights = zip(*KIND_WEIGHTS, strict=True)
    tour_groups = _split_tours(depot, sites)
    odometer = {van.id: 18_000.0 + 1_500 * i for i, van in enumerate(vans)}
    counters: dict[int, int] = {}

    today = local_today()
    if days >= FULL_HISTORY_DAYS:  # the real demo: 14 months of fleet history before the item history
        from mailroom.demo_fleet import FLEET_HISTORY_DAYS, seed_fleet_history

        seed_fleet_history(rng, depot=depot, tour_groups=tour_groups, vans=vans, couriers=couriers,
                           odometer=odometer, first=today - timedelta(days=FLEET_HISTORY_DAYS),
                           last=today - timedelta(days=days + 1))  # fmt: skip
    day_list = [today - timedelta(days=n) for n in range(days, -1, -1)]
    for day in day_list:
        if not workdays.is_working_day(day):
            continue
        is_today = day == today
        # Tours of that day (not today: today's tours are planned in the demo by the user)
        stop_for_site: dict[int, tuple[Tour, TourStop]] = {}
        tours: list[Tour] = []
        if not is_today:
            for van, courier, group in zip(vans, couriers, tour_groups, strict=False):
                tour = _make_tour(day, van, courier, depot, group, rng, odometer)
                tours.append(tour)
                for stop in tour.stops:
                    stop_for_site[stop.site_id] = (tour, stop)
        count = rng.randint(*ITEMS_PER_DAY) // (3 if is_today else 1)
        for _ in range(count):
            kind = rng.choices(kinds, weights)[0]
            unit = rng.choice(units)
            year = day.year
            counters[year] = counters.get(year, 0) + 1
            number = counters[year]
            received = _local(day, 7, 0) + timedelta(minutes=rng.randint(0, 110), seconds=rng.randint(0, 59))
            carrier_code = None
            if ItemKind(kind).is_registered:
                carrier_code = _s10(rng)
            elif kind in (ItemKind.PAKET, ItemKind.PAECKCHEN):
                carrier_code = _dhl_parcel(rng)
            item = MailItem(
                code=carrier_code or make_internal_code(year, number),
                carrier_code=carrier_code,
                carrier_format=("s10" if carrier_code and carrier_code[0] == "R" else "dhl_parcel")
                if carrier_code
                else "internal",
                check_digit_valid=True,
                incoming_number=f"E-{year}-{number:06d}",
                kind=kind,
                status=ItemStatus.RECEIVED,
                received_at=received,
                received_by_id=staff.id,
                org_unit_id=unit.id,
                site_id=unit.site_id,
                confidential=rng.random() < 0.06,
                sender=rng.choice(SENDERS),
                file_number=f"{rng.randint(10, 99)}-{rng.randint(100, 999)}/{year % 100}"
                if kind == ItemKind.PZU
                else None,
                delivery_date=day if kind == ItemKind.PZU else None,
            )
            db.session.add(item)
            events = [MailEvent(item=item, kind=EventKind.RECEIVED, to_status=ItemStatus.RECEIVED, at=received,
                                user_id=staff.id, site_id=depot.id)]  # fmt: skip
            if is_today and rng.random() < 0.2:
                # logged at the scan station this morning, details still to be filled in (work list)
                item.org_unit_id = item.site_id = None
                if not item.carrier_code:
                    item.kind = None
            elif is_today and rng.random() < 0.5:
                item.status = ItemStatus.RECEIVED
            else:
                sorted_at = received + timedelta(minutes=rng.randint(20, 60))
                events.append(MailEvent(item=item, kind=EventKind.SORTED, from_status=ItemStatus.RECEIVED,
                                        to_status=ItemStatus.SORTED, at=sorted_at, user_id=staff.id,
                                        site_id=unit.site_id))  # fmt: skip
                item.status = ItemStatus.SORTED
                if not is_today and unit.site_id == depot.id:
                    # units in the mail room's building collect their mail at the counter
                    collected = MailEvent(item=item, kind=EventKind.DELIVERED, from_status=ItemStatus.SORTED,
                                          to_status=ItemStatus.DELIVERED, at=sorted_at + timedelta(hours=2),
                                          user_id=staff.id, site_id=depot.id)  # fmt: skip
                    events.append(collected)
                    db.session.add(HandoverProof(event=collected, receiver_name=rng.choice(RECEIVERS)))
                    item.status = ItemStatus.DELIVERED
                    item.delivered_at = collected.at
                elif not is_today and unit.site_id in stop_for_site:
                    tour, stop = stop_for_site[unit.site_id]
                    events.append(MailEvent(item=item, kind=EventKind.LOADED, from_status=ItemStatus.SORTED,
                                            to_status=ItemStatus.LOADED, at=tour.started_at,
                                            user_id=tour.driver_id, tour_id=tour.id))  # fmt: skip
                    delivered = MailEvent(item=item, kind=EventKind.DELIVERED, from_status=ItemStatus.LOADED,
                                          to_status=ItemStatus.DELIVERED, at=stop.done_at, user_id=tour.driver_id,
                                          site_id=stop.site_id, tour_id=tour.id)  # fmt: skip
                    events.append(delivered)
                    if item.is_registered or rng.random() < 0.3:
                        db.session.add(HandoverProof(event=delivered, receiver_name=rng.choice(RECEIVERS)))
                    item.status = ItemStatus.DELIVERED
                    item.delivered_at = stop.done_at
                    stop.deliver_boxes += 1 if kind in (ItemKind.PAKET, ItemKind.PAECKCHEN) else 0
            db.session.add_all(events)
        db.session.flush()
    for year, last in counters.items():
        db.session.add(IncomingCounter(year=year, last_number=last))
    db.session.flush()


def _make_tour(day, van, courier, depot, group, rng, odometer) -> Tour:
    start = _local(day, 9, 45) + timedelta(minutes=rng.randint(0, 15))
    tour = Tour(service_date=day, vehicle_id=van.id, driver_id=courier.id, status=TourStatus.FINISHED,
                range_km=van.battery_range_km * van.winter_factor * (1 - van.safety_reserve),
                planned_start=start, started_at=start)  # fmt: skip
    db.session.add(tour)
    clock, km, here = start, 0.0, depot
    for position, site in enumerate(group, start=1):
        leg = _haversine_km(here, site)
        km += leg
        clock += timedelta(minutes=leg / van.speed_kmh * 60)
        arrival = clock
        clock += timedelta(minutes=site.service_min + rng.randint(0, 3))
        tour.stops.append(TourStop(site_id=site.id, position=position, eta=arrival, departure=clock, km_after=km,
                                   status=StopStatus.DONE, done_at=arrival + timedelta(minutes=2),
                                   pickups_count=rng.randint(0, 3), pickup_boxes=1))  # fmt: skip
        here = site
    km += _haversine_km(here, depot)
    clock += timedelta(minutes=_haversine_km(here, depot) / van.speed_kmh * 60)
    tour.planned_km = round(km, 1)
    tour.planned_end = clock
    tour.finished_at = clock + timedelta(minutes=rng.randint(0, 20))
    db.session.flush()
    driven = round(km * rng.uniform(1.0, 1.08), 1)
    start_soc = rng.randint(85, 100)
    used_soc = round(driven * demo_fleet.consumption_kwh_per_100km(van, day) / 100 / van.battery_kwh * 100)
    db.session.add_all([
        OdometerReading(vehicle_id=van.id, at=start, km=round(odometer[van.id], 1), soc_percent=start_soc,
                        kind=ReadingKind.TOUR_START, tour_id=tour.id, user_id=courier.id),
        OdometerReading(vehicle_id=van.id, at=tour.finished_at, km=round(odometer[van.id] + driven, 1),
                        soc_percent=max(5, start_soc - used_soc), kind=ReadingKind.TOUR_END, tour_id=tour.id,
                        user_id=courier.id),
    ])  # fmt: skip
    # The van also does a short afternoon errand now and then (post office, workshop), logged as a trip.
    odometer[van.id] += driven
    if rng.random() < 0.3:
        extra = rng.uniform(3, 12)
        destination, purpose = demo_fleet.errand(tour.id)
        db.session.add(OdometerReading(vehicle_id=van.id, at=tour.finished_at + timedelta(hours=2),
                                       km=round(odometer[van.id] + extra, 1), start_km=round(odometer[van.id], 1),
                                       kind=ReadingKind.TRIP, purpose=purpose, destination=destination,
                                       driver_id=courier.id, user_id=courier.id))  # fmt: skip
        odometer[van.id] += extra
    return tour

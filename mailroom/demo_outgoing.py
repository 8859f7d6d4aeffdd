"""Demo outgoing mail at Stadt Oldenburg's scale: about 2,800 letters and 10 parcels a working day
(700,000 letters and 2,500 parcels a year), a mass mailing of 50,000 letters each February, Einschreiben
and PZUs, budgets; three years of it for `mailroom init --demo`.

Rows are written with bulk INSERTs (one statement per few thousand rows), not one ORM object per row, so
three years (about 200,000 franking lines) take seconds."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import inspect, select

from labels.codes import make_dhl_sscc, make_identcode, make_s10
from mailroom.extensions import db
from mailroom.models import OrgUnit, Role, User
from mailroom.models.outgoing import (
    Budget,
    CarrierProduct,
    CountSource,
    FrankingBatch,
    LetterCount,
    OutgoingParcel,
    Tariff,
    TrackedItem,
    TrackedKind,
)
from mailroom.services import workdays
from mailroom.services.clock import now_utc
from mailroom.services.outgoing.bulk import bulk_insert
from mailroom.services.outgoing.catalogue import DHL, Catalogue, seed_default_tariffs

OUTGOING_DEMO_DAYS = 3 * 365
LETTERS_PER_DAY = 2_800
PARCELS_PER_DAY = 10
EINSCHREIBEN_PER_DAY = 12
PZU_PER_DAY = 2
MASS_MAILING = 50_000  # Grundsteuerbescheide of the Fachdienst Finanzen, each February

PRODUCT_MIX = [
    ("standardbrief", None, 80),
    ("kompaktbrief", None, 8),
    ("grossbrief", None, 6),
    ("maxibrief", None, 2),
    ("postkarte", None, 1),
    ("standardbrief", "einschreiben_einwurf", 1.5),
    ("standardbrief", "einschreiben", 0.8),
    ("standardbrief", "einschreiben_rueckschein", 0.7),
]
# Heavy senders (short name -> weight); everyone else weighs 1.
HEAVY = {
    "FD20": 14,
    "FD21": 12,
    "FD32": 10,
    "FD33": 8,
    "FD50": 9,
    "FD50-1": 6,
    "FD51": 8,
    "FD51-2": 5,
    "FD36": 7,
    "FD63": 4,
    "FD70": 6,
    "FD11": 4,
    "FD35": 5,
    "FD53": 3,
}
PARCEL_WEIGHTS = [(350, 3), (900, 4), (1_800, 4), (3_500, 3), (7_000, 2), (14_000, 1)]
RECIPIENTS = [
    "Hannelore Meyer",
    "Jens Onken",
    "Ayşe Demir",
    "Tomasz Nowak",
    "Ingrid Janssen",
    "Kai Bruns",
    "Firma Nordwest Bau GmbH",
    "Rechtsanwälte Eilers & Partner",
    "Landkreis Ammerland",
    "Peter Wübbena",
]
STREETS = ["Alexanderstraße", "Donnerschweer Straße", "Hauptstraße", "Cloppenburger Straße", "Nadorster Straße"]
DEMO_PZU_CENTS = 345  # demo only: the PZU fee is contractual; an admin enters the real one


def _insert(model, rows: list[dict]) -> None:
    bulk_insert(model.__table__, rows)


def _split(rng: random.Random, total: int, weights: list[float]) -> list[int]:
    """`total` pieces over the weights, randomly but summing exactly to `total`."""
    shares = [w * rng.uniform(0.6, 1.4) for w in weights]
    scale = total / sum(shares)
    counts = [int(s * scale) for s in shares]
    for i in rng.sample(range(len(counts)), k=min(len(counts), total - sum(counts))):
        counts[i] += 1
    return counts


def seed_outgoing_history(rng: random.Random, *, days: int, today: date) -> None:
    """Tariffs always; `days` working-day history of outgoing mail up to `today` (0: tariffs only)."""
    if not inspect(db.engine).has_table(CarrierProduct.__tablename__):
        return  # a schema from migrations that predate outgoing mail: nothing to seed into
    seed_default_tariffs()
    if not db.session.scalar(select(Tariff.id).where(Tariff.product == "pzu")):
        db.session.add(
            Tariff(
                carrier="Deutsche Post",
                product="pzu",
                max_weight_g=500,
                price_cents=DEMO_PZU_CENTS,
                valid_from=date(2022, 1, 1),
                note="Demo: angenommener Vertragspreis",
            )
        )
    db.session.flush()
    if days <= 0:
        return
    units = list(db.session.scalars(select(OrgUnit).where(OrgUnit.active.is_(True)).order_by(OrgUnit.id)))
    staff_id = db.session.scalar(select(User.id).where(User.role == Role.MAILROOM))
    catalogue = Catalogue()
    weights = [HEAVY.get(u.short_name, 1) for u in units]
    created = now_utc()
    letters: list[dict] = []
    tracked: list[dict] = []
    parcels: list[dict] = []
    serial = rng.randint(10_000_000, 20_000_000)
    finance = next((u for u in units if u.short_name == "FD20"), units[0])
    prices: dict[tuple[str, str | None, date], int] = {}

    def price(product: str, add_on: str | None, day: date) -> int:
        key = (product, add_on, date(day.year, 1, 1))  # the demo's price lists change on 1 January
        if key not in prices:
            prices[key] = catalogue.price_on(product, day) + (catalogue.price_on(add_on, day) if add_on else 0)
        return prices[key]

    for offset in range(days, -1, -1):
        day = today - timedelta(days=offset)
        if not workdays.is_working_day(day):
            continue
        total = int(LETTERS_PER_DAY * rng.uniform(0.75, 1.25))
        for unit, pieces in zip(units, _split(rng, total, weights), strict=True):
            if pieces <= 0:
                continue
            for (product, add_on, _w), count in zip(
                PRODUCT_MIX, _split(rng, pieces, [w for *_k, w in PRODUCT_MIX]), strict=True
            ):
                if count <= 0:
                    continue
                cents = price(product, add_on, day) * count
                letters.append(
                    {
                        "service_date": day,
                        "org_unit_id": unit.id,
                        "cost_centre": unit.cost_centre,
                        "product": product,
                        "add_on": add_on,
                        "count": count,
                        "postage_cents": cents,
                        "tariff_cents": cents,
                        "source": CountSource.FRANKING_LOG.value,
                        "import_ref": "demo",
                        "created_at": created,
                        "created_by_id": staff_id,
                    }
                )
        if day.month == 2 and 10 <= day.day <= 16 and day.weekday() == 1:  # one Tuesday in mid-February
            cents = price("standardbrief", None, day) * MASS_MAILING
            letters.append(
                {
                    "service_date": day,
                    "org_unit_id": finance.id,
                    "cost_centre": finance.cost_centre,
                    "product": "standardbrief",
                    "add_on": None,
                    "count": MASS_MAILING,
                    "postage_cents": cents,
                    "tariff_cents": cents,
                    "source": CountSource.FRANKING_LOG.value,
                    "import_ref": "demo:massenversand",
                    "created_at": created,
                    "created_by_id": staff_id,
                }
            )
        for _ in range(rng.randint(EINSCHREIBEN_PER_DAY - 4, EINSCHREIBEN_PER_DAY + 4)):
            unit = rng.choices(units, weights)[0]
            variant = rng.choice(["einschreiben_einwurf", "einschreiben", "einschreiben_rueckschein"])
            serial += 1
            tracked.append(
                {
                    "kind": TrackedKind.EINSCHREIBEN.value,
                    "posting_date": day,
                    "org_unit_id": unit.id,
                    "cost_centre": unit.cost_centre,
                    "carrier": "Deutsche Post",
                    "product": "standardbrief",
                    "add_on": variant,
                    "code": make_s10(rng.choice(["RT", "RR"]), serial),
                    "recipient": rng.choice(RECIPIENTS),
                    "file_number": f"{unit.short_name}-{serial % 9973}/{day:%y}",
                    "postage_cents": price("standardbrief", variant, day),
                    "billed": True,
                    "served_on": None,
                    "created_at": created,
                    "created_by_id": staff_id,
                }
            )
        for _ in range(rng.randint(0, 2 * PZU_PER_DAY)):
            unit = rng.choices(units, weights)[0]
            served = day + timedelta(days=rng.randint(1, 4)) if offset > 20 or rng.random() < 0.5 else None
            tracked.append(
                {
                    "kind": TrackedKind.PZU.value,
                    "posting_date": day,
                    "org_unit_id": unit.id,
                    "cost_centre": unit.cost_centre,
                    "carrier": "Deutsche Post",
                    "product": "pzu",
                    "add_on": None,
                    "code": None,
                    "recipient": rng.choice(RECIPIENTS),
                    "file_number": f"{unit.short_name}-{rng.randint(100, 9999)}/{day:%y}",
                    "postage_cents": price("pzu", None, day),
                    "billed": True,
                    "served_on": served if served is None or served <= today else today,
                    "created_at": created,
                    "created_by_id": staff_id,
                }
            )
        for _ in range(rng.randint(PARCELS_PER_DAY - 5, PARCELS_PER_DAY + 5)):
            unit = rng.choices(units, weights)[0]
            weight = rng.choices([w for w, _ in PARCEL_WEIGHTS], [n for _, n in PARCEL_WEIGHTS])[0]
            band = catalogue.product_for_weight(DHL, weight)
            serial += 1
            number = make_dhl_sscc(serial) if serial % 2 else make_identcode(serial)
            parcels.append(
                {
                    "service_date": day,
                    "org_unit_id": unit.id,
                    "cost_centre": unit.cost_centre,
                    "carrier": DHL,
                    "product": band.key,
                    "tracking_number": number,
                    "weight_g": weight,
                    "postage_cents": price(band.key, None, day),
                    "recipient": rng.choice(RECIPIENTS),
                    "recipient_address": f"{rng.choice(STREETS)} {rng.randint(1, 120)}, 26122 Oldenburg",
                    "created_at": created,
                    "created_by_id": staff_id,
                }
            )
    # A one-off batch row that stands for the demo's machine logs (their lines carry import_ref "demo").
    db.session.add(
        FrankingBatch(
            source=CountSource.FRANKING_LOG,
            file_name="Demo-Protokolle",
            mapping="standard",
            lines=len(letters),
            pieces=sum(r["count"] for r in letters),
            postage_cents=sum(r["postage_cents"] for r in letters),
        )
    )
    _insert(LetterCount, letters)
    _insert(TrackedItem, tracked)
    _insert(OutgoingParcel, parcels)
    _seed_budgets(units, today)
    db.session.flush()


def _seed_budgets(units: list[OrgUnit], today: date) -> None:
    """Yearly budgets for the heavy senders, set so that some are near or over their threshold."""
    yearly = {
        "FD20": 12_000_000,
        "FD21": 5_000_000,
        "FD32": 6_000_000,
        "FD33": 4_000_000,
        "FD50": 6_000_000,
        "FD51": 4_500_000,
        "FD70": 3_000_000,
    }
    for unit in units:
        cents = yearly.get(unit.short_name)
        if cents:
            db.session.add(Budget(cost_centre=unit.cost_centre, year=today.year, amount_cents=cents, warn_percent=85))
    db.session.add(
        Budget(
            cost_centre=units[0].cost_centre, year=today.year, month=today.month, amount_cents=45_000, warn_percent=80
        )
    )

"""Franking sessions entered by hand: per cost centre and product the pieces franked on one day.

The postage is computed from the tariff valid that day and stored with each line (integer cents)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import desc, func, select

from mailroom.errors import ValidationFailed
from mailroom.extensions import db
from mailroom.models.outgoing import CountSource, FrankingBatch, LetterCount, ProductKind
from mailroom.services.outgoing.catalogue import Catalogue
from mailroom.services.outgoing.units import CostCentres

LETTER_KINDS = (ProductKind.LETTER, ProductKind.SERVICE)
MAX_PIECES_PER_LINE = 1_000_000


@dataclass(frozen=True)
class SessionLine:
    product: str
    add_on: str | None
    pieces: int


def parse_pieces(text: str | int, what: str = "Die Stückzahl") -> int:
    """A count typed or read from a file: a whole number of at least 1."""
    value = str(text).strip().replace(".", "") if not isinstance(text, int) else text
    try:
        pieces = int(value)
    except ValueError:
        raise ValidationFailed(f"{what} „{text}“ ist keine ganze Zahl.", code="invalid_count") from None
    if pieces <= 0:
        raise ValidationFailed(f"{what} muss mindestens 1 sein (angegeben: {pieces}).", code="invalid_count")
    if pieces > MAX_PIECES_PER_LINE:
        raise ValidationFailed(f"{what} {pieces} ist unplausibel hoch.", code="invalid_count")
    return pieces


def line_tariff(catalogue: Catalogue, product: str, add_on: str | None, day: date) -> int:
    """Cents of one piece: the letter product plus its add-on, from the tariffs valid on `day`."""
    cents = catalogue.price_on(product, day)
    if add_on:
        cents += catalogue.price_on(add_on, day)
    return cents


def book_session(day: date, cost_centre: str, lines: list[SessionLine], *, user_id: int | None) -> FrankingBatch:
    """Book one franking session of one cost centre; the caller commits. All lines or none."""
    if not lines:
        raise ValidationFailed("Bitte mindestens eine Stückzahl eingeben.", code="empty_session")
    unit = CostCentres().get(cost_centre)
    catalogue = Catalogue()
    batch = FrankingBatch(source=CountSource.MANUAL, created_by_id=user_id)
    db.session.add(batch)
    db.session.flush()
    for line in lines:
        product = catalogue.product(line.product, kinds=LETTER_KINDS)
        add_on = catalogue.product(line.add_on, kinds=(ProductKind.ADDON,)).key if line.add_on else None
        pieces = parse_pieces(line.pieces)
        cents = line_tariff(catalogue, product.key, add_on, day) * pieces
        db.session.add(
            LetterCount(
                batch_id=batch.id,
                service_date=day,
                org_unit_id=unit.org_unit_id,
                cost_centre=unit.cost_centre,
                product=product.key,
                add_on=add_on,
                count=pieces,
                postage_cents=cents,
                tariff_cents=cents,
                source=CountSource.MANUAL,
                created_by_id=user_id,
            )
        )
        batch.lines += 1
        batch.pieces += pieces
        batch.postage_cents += cents
    db.session.flush()
    return batch


@dataclass(frozen=True)
class DayLine:
    batch_id: int
    cost_centre: str
    org_unit: str
    product: str
    add_on: str | None
    pieces: int
    postage_cents: int
    source: str


def day_lines(day: date, limit: int = 200) -> list[DayLine]:
    """The latest lines booked for `day` (what the franking page shows under the form)."""
    from mailroom.models import OrgUnit

    rows = db.session.execute(
        select(
            LetterCount.batch_id,
            LetterCount.cost_centre,
            OrgUnit.short_name,
            LetterCount.product,
            LetterCount.add_on,
            LetterCount.count,
            LetterCount.postage_cents,
            LetterCount.source,
        )
        .join(OrgUnit, OrgUnit.id == LetterCount.org_unit_id)
        .where(LetterCount.service_date == day)
        .order_by(desc(LetterCount.id))
        .limit(limit)
    )
    return [DayLine(*row) for row in rows]


def day_totals(day: date) -> tuple[int, int]:
    pieces, cents = db.session.execute(
        select(
            func.coalesce(func.sum(LetterCount.count), 0), func.coalesce(func.sum(LetterCount.postage_cents), 0)
        ).where(LetterCount.service_date == day)
    ).one()
    return int(pieces), int(cents)


def recent_imports(limit: int = 20) -> list[FrankingBatch]:
    return list(
        db.session.scalars(
            select(FrankingBatch)
            .where(FrankingBatch.source == CountSource.FRANKING_LOG)
            .order_by(desc(FrankingBatch.id))
            .limit(limit)
        )
    )

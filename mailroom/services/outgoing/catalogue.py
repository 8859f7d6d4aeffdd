"""Carrier products and dated tariffs: the seeded price lists, the price on a day, weight limits, money.

Prices are data: `seed_default_tariffs` writes the Deutsche Post lists valid from 2022-01-01 and from
2025-01-01 and DHL's 2025 list prices (figures of the domain document); admins add later lists. A price
is looked up with the tariff valid on the posting day, never today's."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from mailroom.errors import ValidationFailed
from mailroom.extensions import db
from mailroom.models.outgoing import CarrierProduct, ProductKind, Tariff
from mailroom.services.formatting import format_eur  # noqa: F401 (the outgoing views import it from here)

DP = "Deutsche Post"
DHL = "DHL"
LIST_2022 = date(2022, 1, 1)
LIST_2025 = date(2025, 1, 1)


@dataclass(frozen=True)
class ProductSeed:
    key: str
    carrier: str
    name: str
    kind: ProductKind
    max_weight_g: int | None
    prices: dict[date, int | None]  # valid_from -> cents (None: withdrawn)


# Most used first (the franking form lists them in this order). Figures: domain document, "Outgoing mail:
# facts to build on". DHL publishes one 2025 list price per band; it is seeded from 2022 on as well so that
# older parcels have a price (an admin can add the older figures).
PRODUCT_SEEDS: tuple[ProductSeed, ...] = (
    ProductSeed("standardbrief", DP, "Standardbrief", ProductKind.LETTER, 20, {LIST_2022: 85, LIST_2025: 95}),
    ProductSeed("kompaktbrief", DP, "Kompaktbrief", ProductKind.LETTER, 50, {LIST_2022: 100, LIST_2025: 110}),
    ProductSeed("grossbrief", DP, "Großbrief", ProductKind.LETTER, 500, {LIST_2022: 160, LIST_2025: 180}),
    ProductSeed("maxibrief", DP, "Maxibrief", ProductKind.LETTER, 1000, {LIST_2022: 275, LIST_2025: 290}),
    ProductSeed(
        "maxibrief_2000", DP, "Maxibrief bis 2000 g", ProductKind.LETTER, 2000, {LIST_2022: 495, LIST_2025: 510}
    ),
    ProductSeed("postkarte", DP, "Postkarte", ProductKind.LETTER, None, {LIST_2022: 70, LIST_2025: 95}),
    ProductSeed("warensendung", DP, "Warensendung", ProductKind.LETTER, 1000, {LIST_2022: 255, LIST_2025: 270}),
    ProductSeed(
        "einschreiben_einwurf", DP, "Einschreiben Einwurf", ProductKind.ADDON, None, {LIST_2022: 235, LIST_2025: 235}
    ),
    ProductSeed(
        "einschreiben", DP, "Einschreiben (Übergabe)", ProductKind.ADDON, None, {LIST_2022: 265, LIST_2025: 265}
    ),
    ProductSeed(
        "einschreiben_rueckschein",
        DP,
        "Einschreiben Rückschein",
        ProductKind.ADDON,
        None,
        {LIST_2022: 485, LIST_2025: 485},
    ),
    ProductSeed("eigenhaendig", DP, "Eigenhändig", ProductKind.ADDON, None, {LIST_2022: 220, LIST_2025: None}),
    ProductSeed("prio", DP, "Prio", ProductKind.ADDON, None, {LIST_2022: 110, LIST_2025: None}),
    # The PZU fee is contractual: the product exists, its price is entered by an admin.
    ProductSeed("pzu", DP, "Postzustellungsauftrag (PZU)", ProductKind.SERVICE, 500, {}),
    ProductSeed("paeckchen_s", DHL, "DHL Päckchen S", ProductKind.PARCEL, 2000, {LIST_2022: 419}),
    ProductSeed("paeckchen_m", DHL, "DHL Päckchen M", ProductKind.PARCEL, 2000, {LIST_2022: 519}),
    ProductSeed("paket_2kg", DHL, "DHL Paket bis 2 kg", ProductKind.PARCEL, 2000, {LIST_2022: 619}),
    ProductSeed("paket_5kg", DHL, "DHL Paket bis 5 kg", ProductKind.PARCEL, 5000, {LIST_2022: 769}),
    ProductSeed("paket_10kg", DHL, "DHL Paket bis 10 kg", ProductKind.PARCEL, 10000, {LIST_2022: 1049}),
    ProductSeed("paket_20kg", DHL, "DHL Paket bis 20 kg", ProductKind.PARCEL, 20000, {LIST_2022: 1899}),
    ProductSeed("paket_31kg", DHL, "DHL Paket bis 31,5 kg", ProductKind.PARCEL, 31500, {LIST_2022: 2399}),
)

# Einschreiben variants and whether they are a formal service (§ 4 VwZG: Übergabe and Rückschein only).
EINSCHREIBEN_VARIANTS = {"einschreiben_einwurf": False, "einschreiben": True, "einschreiben_rueckschein": True}


def seed_default_tariffs() -> int:
    """Create the products and price lists above where missing (idempotent). Returns rows added."""
    added = 0
    existing = {p.key: p for p in db.session.scalars(select(CarrierProduct))}
    have = {(key, day) for key, day in db.session.execute(select(Tariff.product, Tariff.valid_from))}
    for position, seed in enumerate(PRODUCT_SEEDS):
        if seed.key not in existing:
            db.session.add(
                CarrierProduct(
                    key=seed.key,
                    carrier=seed.carrier,
                    name=seed.name,
                    kind=seed.kind,
                    max_weight_g=seed.max_weight_g,
                    position=position,
                )
            )
            added += 1
        for valid_from, cents in seed.prices.items():
            if (seed.key, valid_from) not in have:
                db.session.add(
                    Tariff(
                        carrier=seed.carrier,
                        product=seed.key,
                        max_weight_g=seed.max_weight_g,
                        price_cents=cents,
                        valid_from=valid_from,
                        note="Listenpreis (Standard)",
                    )
                )
                added += 1
    db.session.flush()
    return added


# --- products and prices ------------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    key: str
    carrier: str
    name: str
    kind: str
    max_weight_g: int | None


class Catalogue:
    """Products and all tariff rows, loaded once per action (an import of 50,000 lines asks thousands of
    times for the same few prices)."""

    def __init__(self) -> None:
        self.products: dict[str, Product] = {
            p.key: Product(p.key, p.carrier, p.name, str(p.kind), p.max_weight_g)
            for p in db.session.scalars(select(CarrierProduct).order_by(CarrierProduct.position, CarrierProduct.id))
        }
        self._prices: dict[str, list[tuple[date, int | None]]] = {}
        rows = db.session.execute(
            select(Tariff.product, Tariff.valid_from, Tariff.price_cents).order_by(Tariff.valid_from)
        )
        for key, valid_from, cents in rows:
            self._prices.setdefault(key, []).append((valid_from, cents))

    def of_kind(self, *kinds: ProductKind) -> list[Product]:
        return [p for p in self.products.values() if p.kind in kinds]

    def product(self, key: str, *, kinds: tuple[ProductKind, ...] | None = None) -> Product:
        product = self.products.get((key or "").strip().lower())
        if product is None or (kinds and product.kind not in kinds):
            what = "Unbekannte Zusatzleistung" if kinds == (ProductKind.ADDON,) else "Unbekanntes Produkt"
            raise ValidationFailed(f"{what} „{key}“.", code="unknown_product")
        return product

    def price_on(self, key: str, day: date) -> int:
        """Cents of one piece of `key` on `day`, from the tariff valid that day."""
        product = self.product(key)
        price: int | None = None
        found = False
        for valid_from, cents in self._prices.get(product.key, []):
            if valid_from <= day:
                price, found = cents, True
        if not found:
            raise ValidationFailed(
                f"Für „{product.name}“ gibt es am {day:%d.%m.%Y} keinen gültigen Tarif.", code="no_tariff"
            )
        if price is None:
            raise ValidationFailed(
                f"„{product.name}“ wird am {day:%d.%m.%Y} nicht mehr angeboten (Tarif ohne Preis).", code="no_tariff"
            )
        return price

    def check_weight(self, key: str, weight_g: int | None) -> None:
        """Refuse a weight over the product's limit and name the product that fits."""
        product = self.product(key)
        if weight_g is None or product.max_weight_g is None or weight_g <= product.max_weight_g:
            return
        fitting = self.fitting_product(product.kind, weight_g, carrier=product.carrier)
        hint = f"; passend: {fitting.name} (bis {fitting.max_weight_g} g)" if fitting else ""
        raise ValidationFailed(
            f"{weight_g} g überschreitet das Höchstgewicht von {product.name} ({product.max_weight_g} g){hint}.",
            code="too_heavy",
        )

    def fitting_product(self, kind: str, weight_g: int, *, carrier: str) -> Product | None:
        """The lightest product of the same kind and carrier that takes `weight_g`."""
        candidates = [
            p
            for p in self.products.values()
            if p.kind == kind
            and p.carrier == carrier
            and p.max_weight_g is not None
            and p.max_weight_g >= weight_g
            and p.key != "warensendung"
        ]
        return min(candidates, key=lambda p: (p.max_weight_g or 0, p.key), default=None)

    def product_for_weight(self, carrier: str, weight_g: int) -> Product | None:
        """A parcel's weight band (the cheapest Paket that takes it)."""
        bands = [p for p in self.of_kind(ProductKind.PARCEL) if p.carrier == carrier and p.key.startswith("paket")]
        fitting = [p for p in bands if (p.max_weight_g or 0) >= weight_g]
        return min(fitting, key=lambda p: p.max_weight_g or 0, default=None)


def add_price_list(valid_from: date, prices: dict[str, int | None], *, user_id: int | None, note: str = "") -> int:
    """A new price list from `valid_from` on: one new row per product; older rows stay as they are."""
    catalogue = Catalogue()
    if not prices:
        raise ValidationFailed("Bitte mindestens einen Preis angeben.", code="empty_price_list")
    existing = set(db.session.scalars(select(Tariff.product).where(Tariff.valid_from == valid_from)))
    added = 0
    for key, cents in prices.items():
        product = catalogue.product(key)
        if product.key in existing:
            raise ValidationFailed(
                f"Für „{product.name}“ gibt es schon einen Preis ab {valid_from:%d.%m.%Y}; "
                "ein Tarif wird nicht geändert, bitte ein anderes Datum wählen.",
                code="tariff_exists",
            )
        if cents is not None and cents < 0:
            raise ValidationFailed(f"Der Preis für „{product.name}“ darf nicht negativ sein.", code="negative_price")
        db.session.add(
            Tariff(
                carrier=product.carrier,
                product=product.key,
                max_weight_g=product.max_weight_g,
                price_cents=cents,
                valid_from=valid_from,
                note=note[:200],
                created_by_id=user_id,
            )
        )
        added += 1
    db.session.flush()
    return added


def price_table() -> tuple[list[date], list[tuple[Product, dict[date, int | None]]]]:
    """All price lists side by side: the valid-from dates and per product its price per list."""
    catalogue = Catalogue()
    dates = sorted({d for rows in catalogue._prices.values() for d, _ in rows})
    table = []
    for product in catalogue.products.values():
        table.append((product, dict(catalogue._prices.get(product.key, []))))
    return dates, table


# --- money --------------------------------------------------------------------------------------

_EUR = re.compile(r"-?\d{1,9}([.,]\d{1,2})?")


def parse_eur(text: str, what: str = "Der Betrag") -> int:
    """German euro text ("9,50", "1.234,56", "12") to cents, exactly (no float)."""
    value = (text or "").strip().replace("€", "").replace(" ", "")
    if "," in value:
        value = value.replace(".", "")
    if not value or not _EUR.fullmatch(value):
        raise ValidationFailed(f"{what} „{text}“ ist kein Euro-Betrag (z. B. 9,50).", code="invalid_amount")
    try:
        cents = Decimal(value.replace(",", ".")) * 100
    except InvalidOperation as exc:  # pragma: no cover - the pattern rules it out
        raise ValidationFailed(f"{what} „{text}“ ist kein Euro-Betrag.", code="invalid_amount") from exc
    return int(cents)


def plain_eur(cents: int) -> str:
    """Cents as a CSV amount with a decimal comma and no thousands separator: 123456 -> "1234,56"."""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    return f"{sign}{euros},{rest:02d}"

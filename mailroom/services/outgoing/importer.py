"""Franking-machine log import: our documented CSV format, or another layout through a column mapping.

Our format (the contract other tools write): `;`-separated, header exactly
``Datum;Uhrzeit;Kostenstelle;Produkt;Gewicht_g;Stueck;Porto_EUR``, `Datum` DD.MM.YYYY, `Uhrzeit` HH:MM or
empty, `Produkt` a product key with at most one add-on (``standardbrief+einschreiben_einwurf``),
`Gewicht_g` the weight of one piece in grams or empty, `Stueck` >= 1, `Porto_EUR` the line's total with a
decimal comma; UTF-8 (with or without BOM) or Windows-1252.

All or nothing: every line is checked first; one bad line and nothing is stored, and every error names its
line. The file's postage is what the machine charged and is booked as it is; a deviation from the tariff
of that day is a warning per line. A file (by its SHA-256) is imported once."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy import select

from mailroom.errors import DomainError, ValidationFailed
from mailroom.extensions import db
from mailroom.models.outgoing import CountSource, FrankingBatch, ImportMapping, LetterCount, ProductKind
from mailroom.services.clock import now_utc
from mailroom.services.csvio import decode_csv_bytes, read_csv
from mailroom.services.outgoing.bulk import bulk_insert
from mailroom.services.outgoing.catalogue import Catalogue, format_eur, parse_eur
from mailroom.services.outgoing.franking import LETTER_KINDS, line_tariff, parse_pieces
from mailroom.services.outgoing.units import CostCentres

STANDARD_HEADER = ("Datum", "Uhrzeit", "Kostenstelle", "Produkt", "Gewicht_g", "Stueck", "Porto_EUR")
FIELDS = ("date", "time", "cost_centre", "product", "add_on", "weight_g", "pieces", "postage")
REQUIRED_FIELDS = ("date", "cost_centre", "product", "pieces", "postage")
DATE_FORMATS = {"%d.%m.%Y": "TT.MM.JJJJ", "%Y-%m-%d": "JJJJ-MM-TT", "%d.%m.%y": "TT.MM.JJ", "%d/%m/%Y": "TT/MM/JJJJ"}
MAX_ERRORS = 100
_LINE_PREFIX = re.compile(r"^Zeile (\d+): ")
_HHMM = re.compile(r"(\d{1,2}):(\d{2})(:\d{2})?")


@dataclass(frozen=True)
class ColumnMapping:
    """Where each field stands in a file. `columns` maps our field names to the file's header names."""

    name: str
    columns: dict[str, str]
    date_format: str = "%d.%m.%Y"
    postage_unit: str = "eur"  # "eur" (decimal comma or point) or "cents"
    postage_per_piece: bool = False  # the file gives the price of one piece, not the line's total
    products: dict[str, str] = field(default_factory=dict)  # the file's product names -> our keys (+ add-on)
    exact_header: bool = False

    @classmethod
    def from_config(cls, name: str, config: dict) -> ColumnMapping:
        columns = {k: str(v).strip() for k, v in (config.get("columns") or {}).items() if k in FIELDS and v}
        missing = [f for f in REQUIRED_FIELDS if f not in columns]
        if missing:
            raise ValidationFailed(f"Die Zuordnung „{name}“ nennt keine Spalte für: {', '.join(missing)}.")
        date_format = config.get("date_format") or "%d.%m.%Y"
        if date_format not in DATE_FORMATS:
            raise ValidationFailed(f"Unbekanntes Datumsformat „{date_format}“.")
        unit = config.get("postage_unit") or "eur"
        if unit not in ("eur", "cents"):
            raise ValidationFailed("Die Porto-Einheit muss „eur“ oder „cents“ sein.")
        products = {str(k).strip().lower(): str(v).strip().lower() for k, v in (config.get("products") or {}).items()}
        return cls(
            name=name,
            columns=columns,
            date_format=date_format,
            postage_unit=unit,
            postage_per_piece=bool(config.get("postage_per_piece")),
            products=products,
        )

    def to_config(self) -> dict:
        return {
            "columns": self.columns,
            "date_format": self.date_format,
            "postage_unit": self.postage_unit,
            "postage_per_piece": self.postage_per_piece,
            "products": self.products,
        }


STANDARD = ColumnMapping(
    name="standard",
    columns=dict(
        zip(("date", "time", "cost_centre", "product", "weight_g", "pieces", "postage"), STANDARD_HEADER, strict=True)
    ),
    exact_header=True,
)


class ImportFailed(DomainError):
    """The file was refused; `errors` holds every problem with its line (0: the file as a whole)."""

    code = "import_failed"
    status = 422

    def __init__(self, errors: list[dict], *, status: int = 422) -> None:
        super().__init__(errors[0]["message"] if errors else "Import abgelehnt.")
        self.errors = errors
        self.status = status


@dataclass
class ImportResult:
    file: str
    lines: int
    pieces: int
    postage_cents: int
    warnings: list[str]
    batch_id: int | None = None

    def as_json(self) -> dict:
        return {
            "file": self.file,
            "lines": self.lines,
            "pieces": self.pieces,
            "postage_cents": self.postage_cents,
            "warnings": self.warnings,
        }


def _error(exc: DomainError, line: int) -> dict:
    match = _LINE_PREFIX.match(exc.message)
    if match:
        return {"line": int(match.group(1)), "message": exc.message}
    return {"line": line, "message": f"Zeile {line}: {exc.message}" if line else exc.message}


def get_mapping(name: str | None) -> ColumnMapping:
    if not name or name == STANDARD.name:
        return STANDARD
    row = db.session.scalar(select(ImportMapping).where(ImportMapping.name == name))
    if row is None:
        raise ValidationFailed(f"Unbekannte Spaltenzuordnung „{name}“.", code="unknown_mapping")
    return ColumnMapping.from_config(row.name, row.config)


def save_mapping(name: str, config: dict) -> ImportMapping:
    name = (name or "").strip()
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name) or name == STANDARD.name:
        raise ValidationFailed(
            "Der Name der Zuordnung: 1–64 Buchstaben, Ziffern, „_“, „-“ oder „.“ (nicht „standard“)."
        )
    mapping = ColumnMapping.from_config(name, config)
    row = db.session.scalar(select(ImportMapping).where(ImportMapping.name == name))
    if row is None:
        row = ImportMapping(name=name, config=mapping.to_config())
        db.session.add(row)
    else:
        row.config = mapping.to_config()
    db.session.flush()
    return row


def list_mappings() -> list[ImportMapping]:
    return list(db.session.scalars(select(ImportMapping).order_by(ImportMapping.name)))


def _check_header(header: list[str], delimiter: str, mapping: ColumnMapping) -> None:
    if mapping.exact_header:
        if tuple(header) != STANDARD_HEADER or delimiter != ";":
            raise ValidationFailed(
                f"Zeile 1: Die Kopfzeile muss genau „{';'.join(STANDARD_HEADER)}“ lauten "
                f"(gefunden: „{delimiter.join(header)[:120]}“).",
                code="wrong_header",
            )
        return
    missing = [column for column in mapping.columns.values() if column not in header]
    if missing:
        raise ValidationFailed(
            f"Zeile 1: Der Kopfzeile fehlen die Spalten {', '.join(f'„{m}“' for m in missing)} "
            f"(Zuordnung „{mapping.name}“).",
            code="wrong_header",
        )


def _parse_day(text: str, mapping: ColumnMapping) -> date:
    try:
        return datetime.strptime(text.strip(), mapping.date_format).date()  # noqa: DTZ007 (a calendar day)
    except ValueError:
        raise ValidationFailed(
            f"Datum „{text}“ ist ungültig (erwartet {DATE_FORMATS[mapping.date_format]}).", code="invalid_date"
        ) from None


def _parse_time(text: str) -> time | None:
    if not text.strip():
        return None
    match = _HHMM.fullmatch(text.strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValidationFailed(f"Uhrzeit „{text}“ ist ungültig (erwartet HH:MM).", code="invalid_time")
    return time(int(match.group(1)), int(match.group(2)))


def _parse_weight(text: str) -> int | None:
    value = text.strip().replace(".", "")
    if not value:
        return None
    if not value.isdigit():
        raise ValidationFailed(f"Gewicht „{text}“ ist keine ganze Grammzahl.", code="invalid_weight")
    return int(value)


def _parse_postage(text: str, mapping: ColumnMapping) -> int:
    if mapping.postage_unit == "cents":
        value = text.strip()
        if not value.isdigit():
            raise ValidationFailed(f"Porto „{text}“ ist keine ganze Centzahl.", code="invalid_amount")
        return int(value)
    cents = parse_eur(text, "Porto")
    if cents < 0:
        raise ValidationFailed(f"Porto „{text}“ darf nicht negativ sein.", code="invalid_amount")
    return cents


def _split_product(value: str, mapping: ColumnMapping, add_on_text: str) -> tuple[str, str | None]:
    text = value.strip().lower()
    text = mapping.products.get(text, text)
    parts = [p.strip() for p in text.split("+")]
    if len(parts) > 2:
        raise ValidationFailed(f"Produkt „{value}“: höchstens eine Zusatzleistung mit „+“.", code="unknown_product")
    product, add_on = parts[0], (parts[1] if len(parts) == 2 else None)
    extra = add_on_text.strip().lower()
    if extra:
        extra = mapping.products.get(extra, extra)
        if add_on and add_on != extra:
            raise ValidationFailed(f"Produkt „{value}“ hat schon eine Zusatzleistung.", code="unknown_product")
        add_on = extra
    return product, add_on


def _cached(cache: dict, key, compute):
    """`compute(key)` once per key; a DomainError is cached too, so a bad value fails the same way on every line."""
    if key not in cache:
        try:
            cache[key] = (compute(key), None)
        except DomainError as exc:
            cache[key] = (None, exc)
    value, error = cache[key]
    if error is not None:
        raise error
    return value


def _products(catalogue: Catalogue, mapping: ColumnMapping, product_text: str, add_on_text: str):
    product_key, add_on_key = _split_product(product_text, mapping, add_on_text)
    product = catalogue.product(product_key, kinds=LETTER_KINDS)
    add_on = catalogue.product(add_on_key, kinds=(ProductKind.ADDON,)).key if add_on_key else None
    return product, add_on


def import_file(
    data: bytes, file_name: str, *, mapping_name: str | None = None, user_id: int | None = None
) -> ImportResult:
    """Check every line, then store all of them in one batch; the caller commits. Raises ImportFailed."""
    digest = hashlib.sha256(data).hexdigest()
    previous = db.session.scalar(select(FrankingBatch).where(FrankingBatch.file_sha256 == digest))
    if previous is not None:
        raise ImportFailed(
            [
                {
                    "line": 0,
                    "message": f"Diese Datei wurde bereits eingelesen (Import Nr. {previous.id}, "
                    f"„{previous.file_name}“); nichts gespeichert.",
                }
            ],
            status=409,
        )
    try:
        mapping = get_mapping(mapping_name)
        if mapping.exact_header:  # the header first: a wrong one is the error, not the rows it misreads
            first_line = (decode_csv_bytes(data).splitlines() or [""])[0]
            _check_header([c.strip() for c in first_line.split(";")], ";", mapping)
        table = read_csv(data, delimiters=";,")
        _check_header(table.header, table.delimiter, mapping)
    except DomainError as exc:
        raise ImportFailed([_error(exc, 1 if "Kopfzeile" in exc.message else 0)]) from exc
    if not table.rows:
        raise ImportFailed([{"line": 2, "message": "Zeile 2: Die Datei enthält keine Buchungszeilen."}])

    catalogue = Catalogue()
    units = CostCentres()
    columns = mapping.columns
    errors: list[dict] = []
    warnings: list[str] = []
    rows: list[dict] = []
    pieces_total = cents_total = 0
    created_at = now_utc()
    ref = file_name[-90:]
    # A log has few distinct days, times, products and prices: each is parsed and priced once.
    days: dict = {}
    times: dict = {}
    products: dict = {}
    prices: dict = {}
    for row in table.rows:
        values = row.values
        try:
            day = _cached(days, values.get(columns["date"], ""), lambda text: _parse_day(text, mapping))
            at = _cached(times, values.get(columns["time"], ""), _parse_time) if "time" in columns else None
            unit = units.get(values.get(columns["cost_centre"], ""))
            product_text = (values.get(columns["product"], ""), values.get(columns.get("add_on", ""), ""))
            product, add_on = _cached(products, product_text, lambda texts: _products(catalogue, mapping, *texts))
            weight = _parse_weight(values.get(columns["weight_g"], "")) if "weight_g" in columns else None
            catalogue.check_weight(product.key, weight)
            pieces = parse_pieces(values.get(columns["pieces"], ""), "Stückzahl")
            charged = _parse_postage(values.get(columns["postage"], ""), mapping)
            if mapping.postage_per_piece:
                charged *= pieces
            unit_price = _cached(
                prices, (product.key, add_on, day), lambda key: line_tariff(catalogue, key[0], key[1], key[2])
            )
            expected = unit_price * pieces
        except DomainError as exc:
            errors.append(_error(exc, row.line))
            if len(errors) >= MAX_ERRORS:
                errors.append({"line": row.line, "message": f"Mehr als {MAX_ERRORS} Fehler: Prüfung abgebrochen."})
                break
            continue
        if charged != expected:
            warnings.append(
                f"Zeile {row.line}: Porto {format_eur(charged)} weicht vom Tarif vom {day:%d.%m.%Y} ab "
                f"({pieces} × {format_eur(expected // pieces)} = {format_eur(expected)})."
            )
        pieces_total += pieces
        cents_total += charged
        rows.append(
            {
                "service_date": day,
                "service_time": at,
                "org_unit_id": unit.org_unit_id,
                "cost_centre": unit.cost_centre,
                "product": product.key,
                "add_on": add_on,
                "weight_g": weight,
                "count": pieces,
                "postage_cents": charged,
                "tariff_cents": expected,
                "source": CountSource.FRANKING_LOG.value,
                "import_ref": f"{ref}:{row.line}",
                "created_at": created_at,
                "created_by_id": user_id,
            }
        )
    if errors:
        raise ImportFailed(errors)

    batch = FrankingBatch(
        source=CountSource.FRANKING_LOG,
        file_name=file_name[:255],
        file_sha256=digest,
        mapping=mapping.name,
        lines=len(rows),
        pieces=pieces_total,
        postage_cents=cents_total,
        warnings=len(warnings),
        created_by_id=user_id,
    )
    db.session.add(batch)
    db.session.flush()
    for entry in rows:
        entry["batch_id"] = batch.id
    bulk_insert(LetterCount.__table__, rows)
    return ImportResult(file_name, len(rows), pieces_total, cents_total, warnings, batch.id)

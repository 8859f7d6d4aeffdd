"""What every master-data import shares: columns and their parsers, problems with line numbers, the
report of what an import creates, updates or leaves unchanged.

An import is all-or-nothing: every row is parsed and checked first, every problem is collected with
its line number, and only a file without errors is applied (in the caller's one transaction).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import time
from typing import Any

from mailroom.errors import DomainError, ValidationFailed
from mailroom.services.csvio import FORMULA_STARTS, CsvRow, CsvTable
from mailroom.services.dates import format_hhmm, parse_hhmm

# A city has hundreds of sites and org units, not tens of thousands: larger files are refused early.
MAX_ROWS = 10_000
MAX_BYTES = 20 * 1024 * 1024

CODE_PATTERN = re.compile(r"^[A-Za-z0-9ÄÖÜäöüß][A-Za-z0-9ÄÖÜäöüß._-]*$")
EMAIL_PATTERN = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
YES = {"ja", "j", "yes", "y", "1", "x", "wahr", "true"}
NO = {"nein", "n", "no", "0", "falsch", "false"}


class CellError(ValueError):
    """A cell that cannot be read; the message is German and names what was expected."""


@dataclass(frozen=True)
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"Zeile {self.line}: {self.message}"


class ImportFailed(ValidationFailed):
    """The file has errors: nothing was stored. `problems` lists each with its line."""

    code = "import_failed"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        shown = "; ".join(str(p) for p in self.problems[:5])
        more = f" (und {len(self.problems) - 5} weitere)" if len(self.problems) > 5 else ""
        super().__init__(f"{len(self.problems)} Fehler, nichts gespeichert: {shown}{more}")


def as_import_failed(exc: DomainError) -> ImportFailed:
    """A file-level error of read_csv (empty, encoding, too many rows) as an import failure; its
    message names the line itself where there is one."""
    if isinstance(exc, ImportFailed):
        return exc
    match = re.match(r"^Zeile (\d+): (.*)$", exc.message, re.DOTALL)
    if match:
        return ImportFailed([Problem(int(match.group(1)), match.group(2))])
    return ImportFailed([Problem(1, exc.message)])


@dataclass
class ImportReport:
    """What an import does: keys created, updated (with what changed) and left unchanged."""

    kind: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    changes: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return f"{len(self.created)} angelegt, {len(self.updated)} geändert, {len(self.unchanged)} unverändert"


# --- cell parsers: text in, value out, CellError with a German message otherwise -------------------


def text(max_len: int) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if len(value) > max_len:
            raise CellError(f"zu lang (höchstens {max_len} Zeichen)")
        return value

    return parse


def code(max_len: int = 16) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if len(value) > max_len:
            raise CellError(f"Code „{value[:40]}“ ist zu lang (höchstens {max_len} Zeichen)")
        if not CODE_PATTERN.match(value):
            raise CellError(f"Code „{value[:40]}“: nur Buchstaben, Ziffern, Punkt, Binde- und Unterstrich")
        return value

    return parse


def _number_text(value: str) -> str:
    # German spreadsheets write a decimal comma ("53,1455").
    return value.replace(",", ".") if value.count(",") == 1 and "." not in value else value


def decimal(low: float, high: float, unit: str = "") -> Callable[[str], float]:
    def parse(value: str) -> float:
        try:
            number = float(_number_text(value))
        except ValueError:
            raise CellError(f"„{value[:20]}“ ist keine Zahl") from None
        if number != number or not low <= number <= high:  # NaN or out of range
            raise CellError(f"{value} liegt nicht zwischen {fmt_number(low)} und {fmt_number(high)}{unit}")
        return number

    return parse


def integer(low: int, high: int, unit: str = "") -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise CellError(f"„{value[:20]}“ ist keine ganze Zahl") from None
        if not low <= number <= high:
            raise CellError(f"{number} liegt nicht zwischen {low} und {high}{unit}")
        return number

    return parse


def yes_no(value: str) -> bool:
    word = value.strip().lower()
    if word in YES:
        return True
    if word in NO:
        return False
    raise CellError(f"„{value[:20]}“: bitte ja oder nein")


def clock_time(value: str) -> time:
    try:
        return parse_hhmm(value)
    except DomainError:
        raise CellError(f"„{value[:20]}“ ist keine Uhrzeit (HH:MM, z. B. 07:30)") from None


def email(value: str) -> str:
    if len(value) > 160 or not EMAIL_PATTERN.match(value):
        raise CellError(f"„{value[:60]}“ ist keine gültige E-Mail-Adresse")
    return value.lower()


def fmt_number(value: float | int | None) -> str:
    """A number as the export writes it: no trailing ".0", so that it reads back the same."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def fmt_yes_no(value: bool) -> str:
    return "ja" if value else "nein"


def fmt_time(value: time | None) -> str:
    return format_hhmm(value)


# --- columns and rows -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One CSV column: its exact header, the model attribute, how a cell is read and written."""

    name: str
    attr: str
    parse: Callable[[str], Any]
    required: bool = True  # the header must have it (the contract's columns)
    blank: Any = ...  # the value of an empty cell; ... = an empty cell is an error
    export: Callable[[Any], object] = str
    label: str = ""


@dataclass
class ParsedRow:
    line: int
    values: dict[str, Any]  # attr -> value, only for columns the file has
    raw: dict[str, str]


def unquote_cell(value: str) -> str:
    """Undo the apostrophe that `csv_safe` puts before a leading formula character, so that an
    exported file reads back unchanged."""
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_STARTS:
        return value[1:]
    return value


def check_header(table: CsvTable, columns: Sequence[Column], problems: list[Problem]) -> list[Column]:
    """The columns present in the file; unknown, doubled and missing required columns are problems."""
    known = {c.name: c for c in columns}
    seen: set[str] = set()
    present: list[Column] = []
    for name in table.header:
        if name in seen:
            problems.append(Problem(1, f"Spalte „{name}“ kommt zweimal vor"))
            continue
        seen.add(name)
        if name not in known:
            allowed = ", ".join(c.name for c in columns)
            problems.append(Problem(1, f"Unbekannte Spalte „{name[:40]}“ (erlaubt: {allowed})"))
            continue
        present.append(known[name])
    missing = [c.name for c in columns if c.required and c.name not in seen]
    if missing:
        problems.append(Problem(1, "Es fehlt die Spalte " + ", ".join(f"„{m}“" for m in missing)))
    return present


def parse_row(row: CsvRow, present: Sequence[Column], problems: list[Problem]) -> ParsedRow:
    values: dict[str, Any] = {}
    raw: dict[str, str] = {}
    for column in present:
        cell = unquote_cell(row.values.get(column.name, ""))
        raw[column.name] = cell
        if cell == "":
            if column.blank is ...:
                problems.append(Problem(row.line, f"„{column.name}“ ist leer"))
            else:
                values[column.attr] = column.blank
            continue
        try:
            values[column.attr] = column.parse(cell)
        except CellError as exc:
            problems.append(Problem(row.line, f"{column.name}: {exc}"))
    return ParsedRow(row.line, values, raw)


def check_duplicates(rows: Sequence[ParsedRow], key: Callable[[ParsedRow], Any], what: Callable[[Any], str],
                     problems: list[Problem]) -> None:  # fmt: skip
    first_line: dict[Any, int] = {}
    for row in rows:
        value = key(row)
        if value is None:
            continue
        if value in first_line:
            problems.append(Problem(row.line, f"{what(value)} steht schon in Zeile {first_line[value]}"))
        else:
            first_line[value] = row.line


def set_fields(obj: object, values: dict[str, Any]) -> None:
    for attr, value in values.items():
        setattr(obj, attr, value)


def merge_rows(
    report: ImportReport,
    rows: Sequence[ParsedRow],
    existing: dict[str, Any],
    key: str,
    labels: dict[str, str],
    *,
    apply: bool,
    create: Callable[[dict[str, Any]], object],
    update: Callable[[Any, dict[str, Any]], object] = set_fields,
) -> ImportReport:
    """Each checked row creates the record of its `key` or updates the one there where it differs; the
    report says which, with what changes, also for a dry run (`apply` False: nothing is written)."""
    for row in rows:
        name = row.values[key]
        record = existing.get(name)
        if record is None:
            report.created.append(name)
            if apply:
                create(row.values)
            continue
        changes = diff(record, row.values, labels)
        if not changes:
            report.unchanged.append(name)
            continue
        report.updated.append(name)
        report.changes[name] = changes
        if apply:
            update(record, row.values)
    return report


def diff(obj: object, values: dict[str, Any], labels: dict[str, str]) -> list[str]:
    """The fields of `obj` that `values` would change, as German "Feld: alt → neu" lines."""
    changed = []
    for attr, new in values.items():
        old = getattr(obj, attr)
        if isinstance(old, float) and isinstance(new, float | int) and abs(old - new) < 1e-9:
            continue
        if old != new:
            changed.append(f"{labels.get(attr, attr)}: {_shown(old)} → {_shown(new)}")
    return changed


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "(leer)"
    if isinstance(value, bool):
        return fmt_yes_no(value)
    if isinstance(value, time):
        return fmt_time(value)
    if isinstance(value, float):
        return fmt_number(value)
    return str(value)


def export_rows(objects: Sequence[object], columns: Sequence[Column]) -> list[list[object]]:
    return [[column.export(getattr(obj, column.attr)) for column in columns] for obj in objects]


def first_error(problems: Sequence[Problem]) -> None:
    """For forms: raise the first problem as one German message (no line: a form has none)."""
    if problems:
        raise ValidationFailed(problems[0].message[:1].upper() + problems[0].message[1:] + ".")

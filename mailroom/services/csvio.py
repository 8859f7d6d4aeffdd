"""CSV in and out, one place for every download and every import.

Downloads open correctly in German Excel (UTF-8 with BOM, `;`, CRLF) and are safe against formula
injection. Imports accept `,` or `;`, UTF-8 with or without BOM, or Windows-1252, and give every row
its line number in the file so that errors can name it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mailroom.errors import ValidationFailed

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> str:
    """A cell as text that a spreadsheet shows as text: no formula from a sender's name.

    Numbers are written as they are (a negative number is no formula)."""
    if value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def to_csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]], *, delimiter: str = ";") -> bytes:
    """A whole CSV download: UTF-8 with BOM, CRLF line ends, every cell through `csv_safe`."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_safe(value) for value in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def decode_csv_bytes(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252; anything else is refused in German."""
    if not data.strip():
        raise ValidationFailed("Die Datei ist leer.", code="empty_file")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValidationFailed(
            "Die Datei ist UTF-16 kodiert („Unicode-Text“). Bitte als CSV (UTF-8) oder CSV (Trennzeichen-getrennt) "
            "speichern.",
            code="encoding",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    else:
        if "\x00" in text:
            raise ValidationFailed("Die Datei ist keine Textdatei (CSV).", code="encoding")
        return text
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(
            "Die Datei ist weder UTF-8 noch Windows-1252 kodiert. Bitte als CSV (UTF-8) speichern.",
            code="encoding",
        ) from exc
    if "\x00" in text:
        raise ValidationFailed("Die Datei ist keine Textdatei (CSV).", code="encoding")
    return text


@dataclass(frozen=True)
class CsvRow:
    line: int  # line number in the file (the header is line 1)
    values: dict[str, str]


@dataclass(frozen=True)
class CsvTable:
    header: list[str]
    rows: list[CsvRow]
    delimiter: str


def read_csv(data: bytes, *, delimiters: str = ",;", max_rows: int = 100_000) -> CsvTable:
    """Parse an uploaded CSV file: the delimiter is taken from the header line, cells are stripped,
    blank lines are skipped, more than `max_rows` data rows are refused (bounded, clear message)."""
    text = decode_csv_bytes(data)
    first_line = text.splitlines()[0] if text.splitlines() else ""
    counts = {d: first_line.count(d) for d in delimiters}
    delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else delimiters[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [cell.strip() for cell in next(reader)]
    except StopIteration as exc:
        raise ValidationFailed("Die Datei ist leer.", code="empty_file") from exc
    except csv.Error as exc:
        raise ValidationFailed(f"Zeile 1: Die Kopfzeile ist kein gültiges CSV ({exc}).", code="csv") from exc
    rows: list[CsvRow] = []
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= max_rows:
                limit = f"{max_rows:,}".replace(",", ".")
                raise ValidationFailed(
                    f"Die Datei hat mehr als {limit} Zeilen; bitte in kleineren Dateien einlesen.", code="too_many_rows"
                )
            line = reader.line_num
            if len(cells) > len(header):
                raise ValidationFailed(
                    f"Zeile {line}: {len(cells)} Werte, die Kopfzeile hat nur {len(header)} Spalten.", code="csv"
                )
            values = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(header)}
            rows.append(CsvRow(line=line, values=values))
    except csv.Error as exc:
        raise ValidationFailed(f"Zeile {reader.line_num}: kein gültiges CSV ({exc}).", code="csv") from exc
    return CsvTable(header=header, rows=rows, delimiter=delimiter)

"""Master data of an administration: sites, org units, vans and stop templates, kept on the admin
pages and imported or exported as CSV (the same rules on the command line and in the browser).

`import_csv(kind, data)` reads and checks the whole file first; a file with any error raises
ImportFailed (every problem with its line) and changes nothing. The caller commits (or, for a dry
run or a preview, does not).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mailroom.errors import DomainError, NotFound
from mailroom.services.csvio import CsvTable, read_csv, to_csv_bytes
from mailroom.services.masterdata import org_units, sites, stop_templates, vans
from mailroom.services.masterdata.common import (
    MAX_BYTES,
    MAX_ROWS,
    ImportFailed,
    ImportReport,
    Problem,
    as_import_failed,
)


@dataclass(frozen=True)
class Kind:
    name: str  # as on the command line: sites, org-units, vans, stop-templates
    label: str  # German, plural
    importer: Callable[..., ImportReport]
    exporter: Callable[[], tuple[list[str], list[list[object]]]]
    columns: tuple  # the Column specs, for the README and the upload page


KINDS: dict[str, Kind] = {
    "sites": Kind("sites", "Standorte", sites.import_table, sites.export_rows, sites.COLUMNS),
    "org-units": Kind("org-units", "Fachdienste", org_units.import_table, org_units.export_rows, org_units.COLUMNS),
    "vans": Kind("vans", "Fahrzeuge", vans.import_table, vans.export_rows, vans.COLUMNS),
    "stop-templates": Kind(
        "stop-templates", "Stoppvorlagen", stop_templates.import_table, stop_templates.export_rows,
        stop_templates.COLUMNS,
    ),
}  # fmt: skip


def kind_of(name: str) -> Kind:
    kind = KINDS.get(name)
    if kind is None:
        raise NotFound(f"Unbekannte Art „{name[:30]}“ (erlaubt: {', '.join(KINDS)}).")
    return kind


def read_table(data: bytes) -> CsvTable:
    if len(data) > MAX_BYTES:
        raise ImportFailed([Problem(1, f"Die Datei ist größer als {MAX_BYTES // (1024 * 1024)} MB")])
    try:
        return read_csv(data, max_rows=MAX_ROWS)
    except DomainError as exc:
        raise as_import_failed(exc) from exc


def import_csv(kind_name: str, data: bytes, *, apply: bool = True) -> ImportReport:
    """Check the file and (with apply) write it into the session. Raises ImportFailed with every
    problem; nothing is changed then. With apply=False only the report is made (preview, dry run)."""
    kind = kind_of(kind_name)
    table = read_table(data)
    if not table.rows:
        raise ImportFailed([Problem(1, "Die Datei enthält nur die Kopfzeile, keine Daten")])
    problems: list[Problem] = []
    report = kind.importer(table, problems, apply=False)
    if problems:
        raise ImportFailed(sorted(problems, key=lambda p: p.line))
    if apply:
        report = kind.importer(table, problems, apply=True)
        if problems:  # the checks ran on the same data a moment ago: only a concurrent change gets here
            raise ImportFailed(sorted(problems, key=lambda p: p.line))
    return report


def export_csv(kind_name: str) -> bytes:
    header, rows = kind_of(kind_name).exporter()
    return to_csv_bytes(header, rows)


__all__ = ["KINDS", "ImportFailed", "ImportReport", "Kind", "Problem", "export_csv", "import_csv", "kind_of"]

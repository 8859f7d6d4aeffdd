"""Downloads: the tax-audit logbook (CSV and PDF, corrections visible) and the reports (CSV and PDF with the
same charts as the page). Converts the service's figures into the pure `labels.fleet_report` dataclasses."""

from __future__ import annotations

import re
from datetime import date, datetime
from xml.sax.saxutils import escape

from babel.numbers import format_decimal

from labels.fleet_report import Chart, ChartSeries, ReportDocument, ReportTable, chart_svg, report_pdf
from mailroom.models import Vehicle
from mailroom.services.clock import LOCAL_TZ, now_utc
from mailroom.services.csvio import to_csv_bytes
from mailroom.services.fleet.common import LOCALE, format_km, number_pattern
from mailroom.services.fleet.lines import LogbookLine, logbook_lines
from mailroom.services.fleet.reports import GRAINS, FleetReport, Period
from mailroom.services.formatting import format_eur

CHART_MAX_VANS = 8  # more vans: the charts show the fleet as a whole

LOGBOOK_CSV_HEADER = [
    "Fahrzeug",
    "Kennzeichen",
    "Nr.",
    "Datum",
    "Beginn",
    "Ende",
    "Art",
    "Fahrer/in",
    "Zweck",
    "Ziel / Stopps in gefahrener Reihenfolge",
    "km Beginn",
    "km Ende",
    "gefahren km",
    "Ladezustand Beginn %",
    "Ladezustand Ende %",
    "Korrekturen",
    "Hinweise",
]

REPORT_CSV_HEADER = [
    "Fahrzeug",
    "Zeitraum",
    "von",
    "bis",
    "Touren",
    "geplant km",
    "Touren gefahren km",
    "Abweichung km",
    "gefahren km",
    "kWh",
    "kWh/100 km",
    "Kosten EUR",
    "CO2 kg",
    "CO2 Diesel-Vergleich kg",
]


def csv_number(value: float | None, digits: int = 1) -> str:
    """German decimals without thousands separators, as German Excel reads them: 12410.5 -> "12410,5"."""
    if value is None:
        return ""
    return format_decimal(value, format=number_pattern("0." + "0" * digits), locale=LOCALE)


def _time(moment: datetime | None) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%H:%M") if moment else ""


def _span(line: LogbookLine) -> str:
    """ "09:50–12:17" for a tour, "14:24" for an entry with one time."""
    if line.started and line.ended:
        return f"{_time(line.started)}–{_time(line.ended)}"
    return _time(line.started or line.ended)


def _soc(value: int | None) -> str:
    return "" if value is None else str(value)


def _line_row(vehicle: Vehicle, line: LogbookLine) -> list[str]:
    return [
        vehicle.code,
        vehicle.plate,
        str(line.number),
        f"{line.day:%d.%m.%Y}",
        _time(line.started),
        _time(line.ended),
        line.kind,
        line.driver,
        line.purpose,
        line.route,
        csv_number(line.start_km),
        csv_number(line.end_km),
        csv_number(line.km),
        _soc(line.start_soc),
        _soc(line.end_soc),
        " | ".join(line.corrections),
        " | ".join(line.remarks),
    ]


def logbook_csv(vehicles: list[Vehicle], first: date, last: date) -> bytes:
    rows = [_line_row(v, line) for v in vehicles for line in logbook_lines(v, first, last)]
    return to_csv_bytes(LOGBOOK_CSV_HEADER, rows)


def logbook_pdf(vehicle: Vehicle, first: date, last: date, *, generated_at: datetime | None = None) -> bytes:
    lines = logbook_lines(vehicle, first, last)
    rows = tuple(
        (
            str(line.number),
            f"{line.day:%d.%m.%Y}\n{_span(line)}",
            f"{line.kind}\n{line.purpose}" if line.purpose and line.purpose != line.kind else line.kind,
            line.driver,
            line.route,
            format_km(line.start_km),
            format_km(line.end_km),
            format_km(line.km),
            "\n".join(line.corrections + line.remarks),
        )
        for line in lines
    )
    driven = sum(line.km or 0.0 for line in lines)
    corrected = sum(1 for line in lines if line.corrections)
    document = ReportDocument(
        title=f"Fahrtenbuch {vehicle.name} ({vehicle.plate})",
        subtitle=f"Zeitraum {first:%d.%m.%Y} – {last:%d.%m.%Y}",
        generated_at=(generated_at or now_utc()).astimezone(LOCAL_TZ),
        notes=(
            f"Einträge: {len(lines)}, davon mit Korrektur: {corrected}; {format_km(driven)} km in erfassten Fahrten. "
            "Das Fahrtenbuch ist fortlaufend: ein Eintrag wird nie geändert; eine Korrektur ist ein neuer Eintrag, "
            "der den alten Wert, den neuen Wert, wer, wann und warum nennt.",
        ),
        tables=(
            ReportTable(
                title="Fahrten",
                header=(
                    "Nr.",
                    "Datum, Zeit",
                    "Art, Zweck",
                    "Fahrer/in",
                    "Ziel / Stopps (gefahrene Reihenfolge)",
                    "km Beginn",
                    "km Ende",
                    "km",
                    "Korrekturen, Hinweise",
                ),
                rows=rows,
                widths_mm=(12, 22, 22, 24, 108, 18, 18, 13, 40),
                numeric=(5, 6, 7),
            ),
        ),
        footer=f"Zentrale Poststelle · Fahrtenbuch {vehicle.code}",
    )
    return report_pdf(document)


def logbook_filename(vehicle: Vehicle | None, first: date, last: date, extension: str) -> str:
    stem = f"fahrtenbuch-{vehicle.code.lower()}" if vehicle else "fahrtenbuch"
    return f"{stem}-{first.isoformat()}-{last.isoformat()}.{extension}"


# --- reports -----------------------------------------------------------------------------------------


def report_charts(report: FleetReport) -> list[Chart]:
    """km per period and van; planned against driven tour km (all vans); kWh/100 km per van. With more than
    CHART_MAX_VANS vans, km and kWh/100 km of the whole fleet (the tables still have every van). The categories
    are every period of any van (by day, a van lists only its days with entries)."""
    if not report.vans:
        return []
    firsts: dict[date, Period] = {}
    for van in report.vans:
        for p in van.periods:
            firsts.setdefault(p.start, p)
    starts = sorted(firsts)
    labels = tuple(
        firsts[s].label.replace(f" {s.year}", "")
        if report.grain == "month" and report.first.year == report.last.year
        else firsts[s].label
        for s in starts
    )
    by_van = [{p.start: p for p in van.periods} for van in report.vans]
    totals = []
    for start in starts:
        total = Period(label="", start=start, end=start)
        for periods in by_van:
            if start in periods:
                total.merge(periods[start])
        totals.append(total)
    unit = GRAINS[report.grain]
    if len(report.vans) <= CHART_MAX_VANS:

        def values(periods: dict[date, Period], figure) -> tuple:
            return tuple(figure(periods[s]) if s in periods else None for s in starts)

        km_series = tuple(
            ChartSeries(van.vehicle.code, tuple(v or 0.0 for v in values(periods, lambda p: p.km)))
            for van, periods in zip(report.vans, by_van, strict=True)
        )
        energy_series = tuple(
            ChartSeries(van.vehicle.code, values(periods, lambda p: p.kwh_per_100km))
            for van, periods in zip(report.vans, by_van, strict=True)
        )
    else:  # a bar and a line per van would be unreadable: the fleet as a whole
        name = f"alle {len(report.vans)} Fahrzeuge"
        km_series = (ChartSeries(name, tuple(t.km for t in totals)),)
        energy_series = (ChartSeries(name, tuple(t.kwh_per_100km for t in totals)),)
    km = Chart(title=f"Gefahrene Kilometer je {unit}", unit="km", categories=labels, series=km_series)
    plan = Chart(
        title=f"Touren: geplant gegen gefahren je {unit} (alle Fahrzeuge)",
        unit="km",
        categories=labels,
        series=(
            ChartSeries("geplant", tuple(t.planned_km for t in totals)),
            ChartSeries("gefahren", tuple(t.tour_km for t in totals)),
        ),
    )
    energy = Chart(
        title=f"Verbrauch je {unit}", unit="kWh/100 km", categories=labels, series=energy_series, kind="line"
    )
    return [km, plan, energy]


def charts_svg(report: FleetReport) -> list[str]:
    """The charts as inline SVG for the page (the renderer escapes every text)."""
    result = []
    for number, chart in enumerate(report_charts(report), start=1):
        text = chart_svg(chart).decode("utf-8")
        text = text[text.index("<svg") :]  # without the XML declaration and doctype
        # scale to the page's width; ids unique in a page with several charts; a title for screen readers
        root = f'<svg width="100%" role="img" data-chart="{number}"'
        text = re.sub(r'^<svg width="[^"]*" height="[^"]*"', root, text)
        clip = f"chart-clip-{number}"
        text = text.replace('id="clip"', f'id="{clip}"').replace("url(#clip)", f"url(#{clip})")
        text = text.replace(' id="group"', "").replace("<title>...</title>", f"<title>{escape(chart.title)}</title>", 1)
        result.append(text)
    return result


def _period_row(code: str, p) -> list[str]:
    return [
        code,
        p.label,
        f"{p.start:%d.%m.%Y}",
        f"{p.end:%d.%m.%Y}",
        str(p.tours),
        csv_number(p.planned_km),
        csv_number(p.tour_km),
        csv_number(p.difference_km),
        csv_number(p.km),
        csv_number(p.kwh),
        csv_number(p.kwh_per_100km),
        format_eur(p.cost_cents, symbol=False) if p.cost_cents else "",
        csv_number(p.co2_kg),
        csv_number(p.diesel_co2_kg),
    ]


def report_csv(report: FleetReport) -> bytes:
    rows = [_period_row(v.vehicle.code, p) for v in report.vans for p in v.periods]
    rows += [_period_row(v.vehicle.code, v.total) for v in report.vans]
    rows.append(_period_row("alle", report.total))
    return to_csv_bytes(REPORT_CSV_HEADER, rows)


def report_notes(report: FleetReport) -> list[str]:
    factors = "; ".join(f"{year}: {format_km(g)} g/kWh ({source})" for year, g, source in report.co2_factors)
    notes = [
        f"CO₂ aus dem Strommix je Jahr – {factors}. Vergleich: Diesel-Transporter mit "
        f"{format_km(report.diesel_g_per_km)} g CO₂/km. Ladeverluste {format_km(report.charging_loss * 100)} %.",
        "Kilometer aus dem gültigen Fahrtenbuch (Korrekturen ersetzen den korrigierten Eintrag). Energie aus dem "
        "Ladeprotokoll, sonst aus dem Ladezustand × Batteriegröße.",
    ]
    for van in report.vans:
        text = f"{van.vehicle.code}: {format_km(van.year_km)} km im Jahr {report.last.year}"
        if van.projection_km is not None:
            text += f", Hochrechnung {format_km(van.projection_km)} km von {format_km(van.target_km)} km"
        if van.utilisation is not None:
            text += f"; Auslastung {format_km(van.utilisation)} % ({van.tour_days} Tourtage von {van.service_days} "
            text += "Diensttagen)"
        notes.append(text + ".")
    return notes


def report_pdf_bytes(report: FleetReport, *, generated_at: datetime | None = None) -> bytes:
    header = (
        "Fahrzeug",
        "Zeitraum",
        "Touren",
        "geplant km",
        "Touren km",
        "Abw. km",
        "gefahren km",
        "kWh",
        "kWh/100 km",
        "Kosten €",
        "CO₂ kg",
        "Diesel CO₂ kg",
    )
    rows = []
    for van in report.vans:
        for p in [*van.periods, van.total]:
            rows.append(
                (
                    van.vehicle.code,
                    p.label,
                    str(p.tours),
                    format_km(p.planned_km),
                    format_km(p.tour_km),
                    format_km(p.difference_km),
                    format_km(p.km),
                    format_km(p.kwh),
                    format_km(p.kwh_per_100km),
                    format_eur(p.cost_cents, symbol=False),
                    format_km(p.co2_kg),
                    format_km(p.diesel_co2_kg),
                )
            )
    standouts = tuple((f"{s.day:%d.%m.%Y}", s.vehicle.code, s.reason) for van in report.vans for s in van.standouts)
    document = ReportDocument(
        title=report.title,
        subtitle=f"Kilometer, Touren, Energie und CO₂ je {GRAINS[report.grain]}",
        generated_at=(generated_at or now_utc()).astimezone(LOCAL_TZ),
        notes=tuple(report_notes(report)),
        charts=tuple(report_charts(report)),
        tables=(
            ReportTable(
                "Zahlen je Fahrzeug",
                header,
                tuple(rows),
                numeric=tuple(range(2, 12)),
                widths_mm=(18, 34, 14, 22, 22, 18, 24, 20, 22, 22, 20, 24),
            ),
            ReportTable("Auffällige Tage", ("Tag", "Fahrzeug", "Grund"), standouts, widths_mm=(30, 25, 222)),
        ),
    )
    return report_pdf(document)


def report_filename(report: FleetReport, extension: str) -> str:
    return f"fuhrpark-bericht-{report.first.isoformat()}-{report.last.isoformat()}.{extension}"

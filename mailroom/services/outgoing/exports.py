"""Downloads of outgoing mail: the posting list PDF, the month report as CSV and PDF, the finance
department's charge-back CSV, the year view as CSV. ORM rows become the pure builders' dataclasses here."""

from __future__ import annotations

from datetime import date

from labels.postage_report import PostageReport, ReportLine, postage_report_pdf
from labels.posting_list import PostingEntry, PostingList, posting_list_pdf
from mailroom.services.clock import LOCAL_TZ, now_utc
from mailroom.services.csvio import to_csv_bytes
from mailroom.services.outgoing.budgets import uses_for_month
from mailroom.services.outgoing.catalogue import format_eur, plain_eur
from mailroom.services.outgoing.reports import MONTHS, month_report, year_view
from mailroom.services.outgoing.tracked import posting_lines

SENDER = "Stadt Oldenburg · Zentrale Poststelle"
CHARGE_BACK_HEADER = ("Kostenstelle", "Zeitraum", "Stueck", "Betrag_EUR")


def posting_list(carrier: str, day: date) -> bytes:
    lines = posting_lines(carrier, day)
    entries = [
        PostingEntry(
            line.code, line.product, line.recipient, line.cost_centre, line.weight_g, format_eur(line.postage_cents)
        )
        for line in lines
    ]
    return posting_list_pdf(
        PostingList(
            carrier=carrier,
            day=day,
            sender=SENDER,
            entries=entries,
            total_postage=format_eur(sum(line.postage_cents for line in lines)),
            generated_at=now_utc().astimezone(LOCAL_TZ),
        )
    )


def month_csv(start: date) -> bytes:
    report = month_report(start)
    rows = [(r.key, r.label, report.month, r.pieces, plain_eur(r.postage_cents)) for r in report.cost_centres]
    rows.append(("Summe", "", report.month, report.pieces, plain_eur(report.postage_cents)))
    return to_csv_bytes(("Kostenstelle", "Fachdienst", "Monat", "Stueck", "Porto_EUR"), rows)


def charge_back_csv(start: date) -> bytes:
    """What the finance department books: one line per cost centre of the month, no total line."""
    report = month_report(start)
    rows = [(r.key, report.month, r.pieces, plain_eur(r.postage_cents)) for r in report.cost_centres]
    return to_csv_bytes(CHARGE_BACK_HEADER, rows)


def year_csv(year: int, *, through: date | None = None) -> bytes:
    view = year_view(year, through=through)
    rows = [
        (
            f"{year}-{m.month:02d}",
            MONTHS[m.month - 1],
            m.working_days,
            m.letters,
            m.letters_per_working_day,
            m.parcels,
            plain_eur(m.postage_cents),
        )
        for m in view.months
    ]
    rows.append(
        (
            str(year),
            "Summe",
            view.working_days,
            view.letters,
            view.letters_per_working_day,
            view.parcels,
            plain_eur(view.postage_cents),
        )
    )
    header = ("Monat", "Name", "Arbeitstage", "Briefe", "Briefe_je_Arbeitstag", "Pakete", "Porto_EUR")
    return to_csv_bytes(header, rows)


def budget_text(start: date) -> dict[str, str]:
    texts = {}
    for cost_centre, uses in uses_for_month(start).items():
        texts[cost_centre] = "; ".join(f"{u.period}: {u.percent} % von {format_eur(u.amount_cents)}" for u in uses)
    return texts


def month_pdf(start: date) -> bytes:
    report = month_report(start)
    budgets = budget_text(start)
    return postage_report_pdf(
        PostageReport(
            title=f"Portobericht {report.label}",
            cost_centres=[
                ReportLine(r.key, r.label, r.pieces, format_eur(r.postage_cents), budgets.get(r.key, ""))
                for r in report.cost_centres
            ],
            products=[ReportLine(r.key, r.label, r.pieces, format_eur(r.postage_cents)) for r in report.products],
            total_pieces=report.pieces,
            total_postage=format_eur(report.postage_cents),
            generated_at=now_utc().astimezone(LOCAL_TZ),
        )
    )

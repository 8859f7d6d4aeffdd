"""The monthly postage report as PDF: pieces and postage per cost centre (with budget use) and per
product, with totals. Pure: dataclasses in, PDF bytes out; amounts are formatted by the caller."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Spacer, Table, TableStyle

from labels.posting_list import TABLE_STYLE, build_pdf, para


@dataclass(frozen=True)
class ReportLine:
    key: str  # cost centre or product
    label: str  # org units or product name
    pieces: int
    postage: str  # formatted, e.g. "1.234,56 €"
    budget: str = ""  # e.g. "82 % von 500,00 €"


@dataclass(frozen=True)
class PostageReport:
    title: str  # e.g. "Portobericht November 2026"
    cost_centres: list[ReportLine]
    products: list[ReportLine]
    total_pieces: int
    total_postage: str
    generated_at: datetime  # local time


def _pieces(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def postage_report_pdf(report: PostageReport, *, invariant: bool = True) -> bytes:
    def table(heads: tuple[tuple[str, float], ...], rows: list[list], cell, head) -> Table:
        data = [[para(h, head) for h, _ in heads], *rows]
        result = Table(data, colWidths=[w for _, w in heads], repeatRows=1)
        style = [*TABLE_STYLE, ("BACKGROUND", (0, -1), (-1, -1), colors.Color(0.95, 0.95, 0.95))]
        result.setStyle(TableStyle(style))
        return result

    def story(cell, head) -> list:
        total = [
            para("Summe", head),
            para("", head),
            para(_pieces(report.total_pieces), head),
            para(report.total_postage, head),
        ]
        centres = [
            [
                para(r.key, cell),
                para(r.label, cell),
                para(_pieces(r.pieces), cell),
                para(r.postage, cell),
                para(r.budget, cell),
            ]
            for r in report.cost_centres
        ]
        products = [
            [para(r.key, cell), para(r.label, cell), para(_pieces(r.pieces), cell), para(r.postage, cell)]
            for r in report.products
        ]
        heads_cc = (
            ("Kostenstelle", 27 * mm),
            ("Fachdienst", 67 * mm),
            ("Stück", 22 * mm),
            ("Porto", 28 * mm),
            ("Budget", 42 * mm),
        )
        heads_p = (("Schlüssel", 68 * mm), ("Produkt", 68 * mm), ("Stück", 20 * mm), ("Porto", 30 * mm))
        return [
            para("Nach Kostenstelle", head),
            Spacer(1, 2 * mm),
            table(heads_cc, [*centres, [*total, para("", head)]], cell, head),
            Spacer(1, 6 * mm),
            para("Nach Produkt", head),
            Spacer(1, 2 * mm),
            table(heads_p, [*products, total], cell, head),
        ]

    return build_pdf(
        story,
        title=report.title,
        right="Zentrale Poststelle",
        footer=f"erstellt am {report.generated_at:%d.%m.%Y %H:%M}",
        invariant=invariant,
    )

"""Postage budgets per cost centre (a year or one month) with a warning threshold, and their use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from mailroom.errors import ValidationFailed
from mailroom.extensions import db
from mailroom.models.outgoing import Budget
from mailroom.services.outgoing.catalogue import format_eur
from mailroom.services.outgoing.reports import MONTHS, month_end, totals_by_cost_centre
from mailroom.services.outgoing.units import CostCentres


def set_budget(cost_centre: str, year: int, month: int | None, amount_cents: int, warn_percent: int) -> Budget:
    """Create or replace the budget of a cost centre for a year (month None) or a month."""
    unit = CostCentres().get(cost_centre)
    if not 2000 <= year <= 2100:
        raise ValidationFailed(f"Jahr {year} ist ungültig.", code="invalid_year")
    if month is not None and not 1 <= month <= 12:
        raise ValidationFailed(f"Monat {month} ist ungültig (1–12).", code="invalid_month")
    if amount_cents <= 0:
        raise ValidationFailed("Das Budget muss größer als 0 € sein.", code="invalid_amount")
    if not 1 <= warn_percent <= 100:
        raise ValidationFailed("Die Warnschwelle muss zwischen 1 und 100 % liegen.", code="invalid_threshold")
    budget = db.session.scalar(
        select(Budget).where(
            Budget.cost_centre == unit.cost_centre,
            Budget.year == year,
            Budget.month.is_(month) if month is None else Budget.month == month,
        )
    )
    if budget is None:
        budget = Budget(cost_centre=unit.cost_centre, year=year, month=month)
        db.session.add(budget)
    budget.amount_cents = amount_cents
    budget.warn_percent = warn_percent
    db.session.flush()
    return budget


@dataclass(frozen=True)
class BudgetUse:
    budget_id: int
    cost_centre: str
    period: str  # "2026" or "November 2026"
    amount_cents: int
    used_cents: int
    warn_percent: int

    @property
    def percent(self) -> int:
        return 100 * self.used_cents // self.amount_cents if self.amount_cents else 0  # floor: 99.9 % is not "100 %"

    @property
    def level(self) -> str:
        """ok, warn (threshold reached) or over (budget used up)."""
        if self.used_cents >= self.amount_cents:
            return "over"
        if self.used_cents * 100 >= self.amount_cents * self.warn_percent:
            return "warn"
        return "ok"

    @property
    def message(self) -> str | None:
        if self.level == "ok":
            return None
        state = "überschritten" if self.level == "over" else f"zu {self.percent} % ausgeschöpft"
        return (
            f"Budget der Kostenstelle {self.cost_centre} für {self.period} {state}: "
            f"{format_eur(self.used_cents)} von {format_eur(self.amount_cents)}."
        )


def _period(budget: Budget) -> tuple[date, date, str]:
    if budget.month is None:
        return date(budget.year, 1, 1), date(budget.year + 1, 1, 1), str(budget.year)
    start = date(budget.year, budget.month, 1)
    return start, month_end(start), f"{MONTHS[budget.month - 1]} {budget.year}"


def budget_uses(budgets: list[Budget]) -> list[BudgetUse]:
    """Use of each budget: one grouped query per distinct period."""
    by_period: dict[tuple[date, date, str], list[Budget]] = {}
    for budget in budgets:
        by_period.setdefault(_period(budget), []).append(budget)
    uses = []
    for (start, end, label), group in by_period.items():
        totals = totals_by_cost_centre(start, end, [b.cost_centre for b in group])
        for budget in group:
            used = totals.get(budget.cost_centre, (0, 0))[1]
            uses.append(BudgetUse(budget.id, budget.cost_centre, label, budget.amount_cents, used, budget.warn_percent))
    return sorted(uses, key=lambda u: (u.cost_centre, u.period))


def uses_for_month(start: date) -> dict[str, list[BudgetUse]]:
    """The budgets that cover a month (that month's and the year's), per cost centre."""
    budgets = list(
        db.session.scalars(
            select(Budget).where(Budget.year == start.year, (Budget.month.is_(None)) | (Budget.month == start.month))
        )
    )
    result: dict[str, list[BudgetUse]] = {}
    for use in budget_uses(budgets):
        result.setdefault(use.cost_centre, []).append(use)
    return result


def warnings_for(cost_centre: str, day: date) -> list[str]:
    """German warnings for the budgets of `cost_centre` that cover `day` and reached their threshold."""
    budgets = list(
        db.session.scalars(
            select(Budget).where(
                Budget.cost_centre == cost_centre,
                Budget.year == day.year,
                (Budget.month.is_(None)) | (Budget.month == day.month),
            )
        )
    )
    return [u.message for u in budget_uses(budgets) if u.message]


def all_budgets(year: int) -> list[BudgetUse]:
    return budget_uses(list(db.session.scalars(select(Budget).where(Budget.year == year))))


def delete_budget(budget_id: int) -> None:
    budget = db.session.get(Budget, budget_id)
    if budget is None:
        from mailroom.errors import NotFound

        raise NotFound("Budget nicht gefunden.")
    db.session.delete(budget)
    db.session.flush()

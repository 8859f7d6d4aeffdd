"""Cost centres as the mail room types them: the org unit that is charged, looked up once per action."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from mailroom.errors import ValidationFailed
from mailroom.extensions import db
from mailroom.models import OrgUnit


@dataclass(frozen=True)
class CostCentre:
    cost_centre: str
    org_unit_id: int
    org_unit: str  # short name and name, for lists
    site_id: int


class CostCentres:
    """All cost centres of active org units. Several units may share one; the first (by short name) is charged."""

    def __init__(self) -> None:
        self.by_code: dict[str, CostCentre] = {}
        rows = db.session.execute(
            select(OrgUnit.cost_centre, OrgUnit.id, OrgUnit.short_name, OrgUnit.name, OrgUnit.site_id)
            .where(OrgUnit.active.is_(True))
            .order_by(OrgUnit.short_name)
        )
        for code, unit_id, short, name, site_id in rows:
            self.by_code.setdefault(code.strip(), CostCentre(code.strip(), unit_id, f"{short} {name}", site_id))

    def get(self, code: str) -> CostCentre:
        text = (code or "").strip()
        found = self.by_code.get(text)
        if found is None:
            shown = text or "(leer)"
            raise ValidationFailed(f"Unbekannte Kostenstelle „{shown}“.", code="unknown_cost_centre")
        return found

    def choices(self) -> list[CostCentre]:
        return sorted(self.by_code.values(), key=lambda c: c.cost_centre)

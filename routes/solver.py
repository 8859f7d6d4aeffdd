"""OR-Tools model for the tours (to be built: see issue 3)."""

from __future__ import annotations

from routes.model import Plan, Problem


def plan_tours(problem: Problem, time_limit_s: float = 5.0) -> Plan:
    raise NotImplementedError

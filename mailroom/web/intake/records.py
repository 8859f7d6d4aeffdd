"""Intake records: content scans, register of registered mail, item labels (being built)."""

from __future__ import annotations

from mailroom.web.intake.views import bp  # noqa: F401  (routes are registered on the intake blueprint)

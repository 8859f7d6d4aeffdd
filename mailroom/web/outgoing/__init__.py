"""Outgoing mail (Postausgang) blueprint: `views` (franking, import, tracked items) and `reports_views`
(reports, tariffs, budgets, import mappings) on one blueprint."""

from mailroom.web.outgoing import reports_views  # noqa: F401  (adds its views to the blueprint)
from mailroom.web.outgoing.views import bp

__all__ = ["bp"]

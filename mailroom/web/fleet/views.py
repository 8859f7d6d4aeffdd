"""fleet views (being built)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("fleet", __name__, url_prefix="/fleet")

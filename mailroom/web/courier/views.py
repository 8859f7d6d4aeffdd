"""courier views (being built)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("courier", __name__, url_prefix="/courier")

"""dispatch views (being built)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("dispatch", __name__, url_prefix="/dispatch")

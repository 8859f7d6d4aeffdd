"""JSON API for scanner devices (being built)."""

from __future__ import annotations

from flask import Blueprint

from mailroom.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # token auth, no cookies

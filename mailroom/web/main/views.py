"""Start page per role, health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask_login import current_user

from mailroom.models import Role
from mailroom.services import overview
from mailroom.web.access import ALL_ROLES, public, roles_required

bp = Blueprint("main", __name__)


@bp.route("/")
@roles_required(*ALL_ROLES)
def index():
    role = Role(current_user.role)
    if role == Role.COURIER:
        return render_template("main/start_courier.html", data=overview.courier_start(current_user))
    if role == Role.FLEET:
        return render_template("main/start_fleet.html", data=overview.fleet_start())
    if role == Role.ADMIN:
        from mailroom.services import setup

        return render_template(
            "main/start_admin.html",
            data=overview.admin_start(),
            mail=overview.mailroom_start(),
            checklist=setup.checklist(),
        )
    return render_template("main/start_mailroom.html", data=overview.mailroom_start())


@bp.route("/health")
@public
def health():
    return jsonify({"status": "ok"})

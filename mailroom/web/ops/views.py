"""The e-mail outbox: every notification with its status (waiting, sent, failed), and another try."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from mailroom.models import OutboxStatus, Role
from mailroom.models.outbox import OUTBOX_STATUS_LABELS
from mailroom.services import outbox
from mailroom.web.access import roles_required
from mailroom.web.actions import commit_or_flash
from mailroom.web.forms import Form

bp = Blueprint("ops", __name__, url_prefix="/ops")


class ButtonForm(Form):
    """CSRF token only."""


@bp.route("/outbox")
@roles_required(Role.MAILROOM)
def outbox_list():
    status = request.args.get("status", "")
    if status not in {s.value for s in OutboxStatus}:
        status = ""
    return render_template(
        "ops/outbox.html",
        rows=outbox.recent(status=status or None),
        counts=outbox.counts(),
        status=status,
        labels=OUTBOX_STATUS_LABELS,
        button=ButtonForm(),
    )


@bp.route("/outbox/<int:row_id>/retry", methods=["POST"])
@roles_required(Role.MAILROOM)
def outbox_retry(row_id: int):
    if ButtonForm().validate_on_submit():
        commit_or_flash(lambda: outbox.retry(row_id), "Die E-Mail wird erneut gesendet.")
    return redirect(url_for("ops.outbox_list"))

"""Incoming mail: scan station, work list, upload of envelope scans, sorting, tracking, item page.

The records views (content scans, register, labels) are added to this blueprint by `records.py`."""

from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from labels import codes as carrier_codes
from mailroom.errors import ValidationFailed
from mailroom.extensions import db
from mailroom.models import ItemKind, MailItem, Role
from mailroom.models.mail import ITEM_KIND_LABELS, ITEM_STATUS_LABELS
from mailroom.services import intake as service
from mailroom.web.access import roles_required
from mailroom.web.actions import commit_or_json, commit_or_rollback
from mailroom.web.api import idempotency as idempotency_web
from mailroom.web.intake.forms import details_from_form, details_from_json, json_body

bp = Blueprint("intake", __name__, url_prefix="/intake")

KIND_CHOICES = [(kind.value, ITEM_KIND_LABELS[kind]) for kind in ItemKind]


@bp.context_processor
def _labels() -> dict:
    return {
        "kind_labels": ITEM_KIND_LABELS,
        "status_labels": ITEM_STATUS_LABELS,
        "format_labels": carrier_codes.LABELS,
    }


def _void_minutes() -> int:
    return int(current_app.config.get("INTAKE_VOID_MINUTES", service.DEFAULT_VOID_MINUTES))


def _item_json(item: MailItem) -> dict:
    data = service.item_to_json(item)
    data["url"] = url_for("intake.item", item_id=item.id)
    data["void_seconds"] = service.void_seconds_left(item, window_minutes=_void_minutes())
    return data


def _page_context() -> dict:
    units = service.org_units()
    return {
        "kinds": KIND_CHOICES,
        "org_unit_labels": [service.org_unit_label(u) for u in units],
    }


# --- scan station ------------------------------------------------------------------------------------


@bp.route("/scan", endpoint="scan")
@roles_required(Role.MAILROOM)
def scan_station():
    items = [_item_json(item) for item in service.logged_today()]
    label_url = url_for("intake.item_label", item_id=0) if "intake.item_label" in current_app.view_functions else None
    void_minutes = _void_minutes()
    return render_template(
        "intake/scan.html", items=items, label_url=label_url, void_minutes=void_minutes, **_page_context()
    )


@bp.route("/scan", methods=["POST"], endpoint="scan_in")
@roles_required(Role.MAILROOM)
def scan_in():
    """One scan (or one item logged by hand): JSON in, JSON out. Called by scan-station.js."""
    started = time.perf_counter()

    def log():
        body = json_body(request)
        manual = bool(body.get("manual"))
        code = "" if manual else str(body.get("code") or "").strip()
        if not code and not manual:
            raise ValidationFailed("Bitte einen Code scannen oder eingeben.", code="no_code")

        def log_once():
            result = service.log_item(
                code,
                user=current_user,
                via="manual" if manual else "scan",
                kind=body.get("kind") or None,
                org_unit=body.get("org_unit") or None,
                confidential=bool(body.get("confidential")),
            )
            db.session.flush()
            payload = result.to_json()  # before the commit, which would expire the item and cost a reload
            payload["item"] = _item_json(result.item)
            return result, payload

        try:
            result, payload = log_once()
        except IntegrityError:
            # The same code logged by another scanner at the same moment: the retry finds that item.
            db.session.rollback()
            result, payload = log_once()
        response = jsonify(payload)
        response.status_code = 201 if result.created else 200
        # The answer of its Idempotency-Key is committed with the item: both are stored, or neither.
        idempotency_web.record(response)
        return response

    def respond(response):
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        return response

    return commit_or_json(log, respond)


@bp.route("/items/<int:item_id>/void", methods=["POST"])
@roles_required(Role.MAILROOM)
def item_void(item_id: int):
    """Undo a wrong scan at the scan station (JSON): a custody event, never a deletion."""
    item = service.get_item(item_id)
    minutes = _void_minutes()

    def void():
        service.void_scan(item, user=current_user, window_minutes=minutes)
        db.session.flush()
        return _item_json(item)

    return commit_or_json(
        void,
        lambda data: jsonify(
            {"level": "info", "message": f"{data['incoming_number']}: Fehlscan storniert.", "item": data}
        ),
    )


@bp.route("/items/<int:item_id>/details", methods=["POST"])
@roles_required(Role.MAILROOM)
def item_details(item_id: int):
    """Set details: JSON (scan station rows) or a form (work list, item page)."""
    item = service.get_item(item_id)
    if request.is_json:
        return commit_or_json(
            lambda: service.set_details(item, details_from_json(request.get_json(silent=True)), user=current_user),
            lambda event: jsonify({"changed": event is not None, "item": _item_json(item)}),
        )
    outcome = commit_or_rollback(lambda: service.set_details(item, details_from_form(request.form), user=current_user))
    if outcome.error is not None:
        if request.form.get("next") == "worklist":
            flash(f"{item.incoming_number}: {outcome.error.message}", "error")
            return redirect(url_for("intake.worklist"))
        return _render_item(item, error=outcome.error.message, status=outcome.error.status, form=request.form)
    if outcome.result is not None:
        flash(f"Angaben zu {item.incoming_number} gespeichert.", "success")
    else:
        flash(f"{item.incoming_number}: keine Änderung.", "info")
    if request.form.get("next") == "worklist":
        return redirect(url_for("intake.worklist"))
    return redirect(url_for("intake.item", item_id=item.id))


# --- work list -------------------------------------------------------------------------------------------


@bp.route("/worklist")
@roles_required(Role.MAILROOM)
def worklist():
    return render_template("intake/worklist.html", items=service.worklist(), **_page_context())


# --- upload of envelope / label scans --------------------------------------------------------------------


@bp.route("/upload", methods=["GET", "POST"])
@roles_required(Role.MAILROOM)
def upload():
    if request.method == "GET":
        return render_template("intake/upload.html", outcomes=None)
    uploads = [
        service.Upload(data=f.read(), filename=f.filename or "")
        for f in request.files.getlist("files")
        if f and (f.filename or "").strip()
    ]
    outcome = commit_or_rollback(lambda: service.process_uploads(uploads, user=current_user))  # UPLOAD_MAX_BYTES ...
    if outcome.error is not None:
        return render_template("intake/upload.html", outcomes=None, error=outcome.error.message), outcome.error.status
    outcomes = outcome.result or []
    status = 200
    if outcomes and not any(o.ok for o in outcomes):
        status = max(o.error_status for o in outcomes)
    return render_template("intake/upload.html", outcomes=outcomes), status


@bp.route("/items/<int:item_id>/envelope")
@roles_required(Role.MAILROOM)
def envelope(item_id: int):
    data, media_type = service.envelope_file(service.get_item(item_id))
    response = Response(data, mimetype=media_type)
    response.headers["Content-Disposition"] = "inline"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    return response


# --- sorting ---------------------------------------------------------------------------------------------------


@bp.route("/sorting")
@roles_required(Role.MAILROOM)
def sorting():
    return render_template("intake/sorting.html")


def _box_json(site) -> dict:
    items = service.box_items(site)
    return {
        "box_code": carrier_codes.make_box_code(site.code),
        "site": {"code": site.code, "name": site.name},
        "count": len(items),
        "items": [_item_json(item) for item in items[:200]],
    }


@bp.route("/sorting/scan", methods=["POST"])
@roles_required(Role.MAILROOM)
def sort_scan():
    """A scanned item goes into its site's box; a scanned box code shows the box (for moving it)."""

    def sort():
        code = str(json_body(request).get("code") or "")
        if carrier_codes.parse_box_code(code) is not None:
            return {"box": _box_json(service.resolve_box(code))}
        result = service.sort_scanned(code, user=current_user)
        payload = result.to_json()
        payload["item"] = _item_json(result.item)
        return payload

    return commit_or_json(sort, jsonify)


@bp.route("/sorting/box", methods=["POST"])
@roles_required(Role.MAILROOM)
def sort_box():
    """Move a whole box: into another site's box, or back to the senders."""

    def move():
        body = json_body(request)
        source = service.resolve_box(str(body.get("source") or ""))
        action = body.get("action")
        if action == "move":
            target = service.resolve_box(str(body.get("target") or ""))
            items = service.move_box(source, target, user=current_user)
            message = (
                f"{len(items)} Sendung(en) von {carrier_codes.make_box_code(source.code)} "
                f"nach {carrier_codes.make_box_code(target.code)} ({target.name}) umsortiert."
            )
        elif action == "return":
            items = service.return_box(source, user=current_user, note=str(body.get("note") or ""))
            message = f"{len(items)} Sendung(en) aus {carrier_codes.make_box_code(source.code)} zurückgesandt."
        else:
            raise ValidationFailed("Unbekannte Aktion (erlaubt: verschieben, zurücksenden).", code="unknown_action")
        return {"level": "ok", "message": message, "count": len(items), "box": _box_json(source)}

    return commit_or_json(move, jsonify)


# --- tracking and item page ----------------------------------------------------------------------------------


SEARCH_FIELDS = ("q", "org_unit", "sender", "recipient", "kind", "date_from", "date_to")


@bp.route("/track")
@roles_required(Role.MAILROOM)
def track():
    """Tracking: an exact code shows the item with its history; otherwise (or with any other criterion:
    org unit, sender, recipient, kind, days of receipt) the matching items are listed."""
    form = {name: (request.args.get(name) or "").strip()[:100] for name in SEARCH_FIELDS}
    query = form["q"]
    context = {"query": query, "form": form, "item": None, "rows": [], "results": None, "kinds": KIND_CHOICES}
    context["org_unit_labels"] = [service.org_unit_label(u) for u in service.org_units()]
    try:
        criteria = service.parse_criteria(form)
    except ValidationFailed as exc:
        return render_template("intake/track.html", error=exc.message, **context), 422
    if criteria.empty:
        return render_template("intake/track.html", **context)
    only_code = all(not form[name] for name in SEARCH_FIELDS if name != "q")
    if only_code:
        item = service.find_item(query)
        if item is not None:
            context.update(item=item, rows=service.history(item))
            return render_template("intake/track.html", **context)
    results = service.search_items(criteria)
    context["results"] = results
    context["limited"] = len(results) >= service.SEARCH_LIMIT
    if not results:
        return render_template("intake/track.html", not_found=True, **context), 404
    return render_template("intake/track.html", **context)


def _render_item(item: MailItem, *, error: str | None = None, status: int = 200, form=None):
    view_functions = current_app.view_functions
    return (
        render_template(
            "intake/item.html",
            item=item,
            rows=service.history(item),
            error=error,
            form=form,
            box_code=carrier_codes.make_box_code(item.site.code) if item.site else None,
            has_scans="intake.item_scans" in view_functions,
            has_label="intake.item_label" in view_functions,
            **_page_context(),
        ),
        status,
    )


@bp.route("/items/<int:item_id>")
@roles_required(Role.MAILROOM)
def item(item_id: int):
    return _render_item(service.get_item(item_id))


# Misdelivered items (Irrläufer): back to the sender, or forwarded; one view, the URL names the action.
MISDELIVERED_ACTIONS = {
    "return": (service.return_item, "als zurückgesandt vermerkt"),
    "forward": (service.forward_item, "als weitergeleitet vermerkt"),
}


@bp.route("/items/<int:item_id>/return", methods=["POST"], endpoint="item_return", defaults={"action": "return"})
@bp.route("/items/<int:item_id>/forward", methods=["POST"], endpoint="item_forward", defaults={"action": "forward"})
@roles_required(Role.MAILROOM)
def item_misdelivered(item_id: int, action: str):
    item = service.get_item(item_id)
    record, done = MISDELIVERED_ACTIONS[action]
    outcome = commit_or_rollback(lambda: record(item, user=current_user, note=request.form.get("note")))
    if outcome.error is not None:
        return _render_item(item, error=outcome.error.message, status=outcome.error.status)
    flash(f"{item.incoming_number} {done}.", "success")
    return redirect(url_for("intake.item", item_id=item.id))

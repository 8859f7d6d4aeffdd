"""The courier's mobile route sheet: today's tours, one tour on the phone, and the JSON actions the
phone sends (start, stop done, skip, end), possibly queued offline and sent more than once."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template, request, send_from_directory, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from mailroom.errors import InvalidTransition
from mailroom.extensions import db
from mailroom.models import Role, TourStatus
from mailroom.services import courier
from mailroom.web.access import roles_required
from mailroom.web.actions import commit_or_json

bp = Blueprint("courier", __name__, url_prefix="/courier")

ROLES = (Role.COURIER, Role.MAILROOM)


@bp.route("/")
@roles_required(*ROLES)
def today():
    return render_template(
        "courier/today.html", tours=courier.tours_today(current_user), status_label=lambda s: TourStatus(s).label
    )


@bp.route("/tour/<int:tour_id>")
@roles_required(*ROLES)
def tour(tour_id: int):
    the_tour = courier.get_tour(current_user, tour_id)
    response = Response(
        render_template(
            "courier/tour.html",
            tour=the_tour,
            payload=courier.tour_payload(the_tour),
            urls=_action_urls(the_tour.id),
        )
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/sw.js")
@roles_required(*ROLES)
def service_worker():
    """Served under /courier/ so that it may cache the courier's pages (a worker's scope is its path)."""
    response = send_from_directory(current_app.static_folder, "js/courier-sw.js", mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/tour/<int:tour_id>/data")
@roles_required(*ROLES)
def tour_data(tour_id: int):
    """The tour as the page embeds it, to refresh the phone's view after a refused action."""

    def respond(payload: dict):
        response = jsonify(payload)
        response.headers["Cache-Control"] = "private, no-store"
        return response

    return commit_or_json(lambda: courier.tour_payload(courier.get_tour(current_user, tour_id)), respond)


def _action_urls(tour_id: int) -> dict:
    return {
        "start": url_for("courier.start", tour_id=tour_id),
        "end": url_for("courier.end", tour_id=tour_id),
        "stop_done": url_for("courier.stop_done", tour_id=tour_id, stop_id=0).replace("/0/", "/{stop}/"),
        "skip": url_for("courier.skip", tour_id=tour_id, stop_id=0).replace("/0/", "/{stop}/"),
        "data": url_for("courier.tour_data", tour_id=tour_id),
        "login": url_for("auth.login", next=url_for("courier.tour", tour_id=tour_id)),
    }


def _act(tour_id: int, kind: str, stop_id: int | None = None):
    payload = request.get_json(silent=True)

    def perform():
        try:
            outcome = courier.perform(current_user, tour_id, kind, payload, stop_id=stop_id)
            db.session.flush()
            return outcome
        except IntegrityError:
            # The same action arrived twice at once: the other request stored it; answer with its result.
            db.session.rollback()
            outcome = courier.replay(current_user, tour_id, kind, payload)
            if outcome is None:
                raise InvalidTransition("Die Aktion passt nicht zum aktuellen Stand.", code="conflict") from None
            return outcome

    def respond(outcome):
        response = jsonify(outcome.result)
        if outcome.replayed:
            response.headers["X-Replayed"] = "1"
        return response

    return commit_or_json(perform, respond)


@bp.route("/tour/<int:tour_id>/start", methods=["POST"])
@roles_required(*ROLES)
def start(tour_id: int):
    return _act(tour_id, "start")


@bp.route("/tour/<int:tour_id>/stops/<int:stop_id>/done", methods=["POST"])
@roles_required(*ROLES)
def stop_done(tour_id: int, stop_id: int):
    return _act(tour_id, "stop_done", stop_id)


@bp.route("/tour/<int:tour_id>/stops/<int:stop_id>/skip", methods=["POST"])
@roles_required(*ROLES)
def skip(tour_id: int, stop_id: int):
    return _act(tour_id, "skip", stop_id)


@bp.route("/tour/<int:tour_id>/end", methods=["POST"])
@roles_required(*ROLES)
def end(tour_id: int):
    return _act(tour_id, "end")

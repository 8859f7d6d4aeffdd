"""Blueprints (one package per area), error handlers and template helpers."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Flask, current_app, jsonify, render_template, request
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import IntegerConverter

from mailroom.errors import DomainError
from mailroom.extensions import db
from mailroom.models import TourStatus
from mailroom.services import formatting
from mailroom.web.access import enforce_declared_access

TOUR_STATUS_LABELS = {status.value: status.label for status in TourStatus}

GERMAN_ERRORS = {
    400: ("Ungültige Anfrage", "Die Anfrage war unvollständig oder fehlerhaft."),
    401: ("Anmeldung erforderlich", "Bitte melden Sie sich an."),
    403: ("Kein Zugriff", "Für diese Seite fehlt Ihnen die Berechtigung."),
    404: ("Nicht gefunden", "Diese Seite oder dieser Eintrag existiert nicht."),
    405: ("Nicht erlaubt", "Diese Aktion ist hier nicht möglich."),
    409: ("Konflikt", "Die Aktion passt nicht zum aktuellen Stand."),
    413: ("Datei zu groß", "Die hochgeladene Datei überschreitet die erlaubte Größe."),
    422: ("Ungültige Eingabe", "Die Eingabe konnte nicht verarbeitet werden."),
    429: ("Zu viele Versuche", "Bitte warten Sie einen Moment und versuchen Sie es erneut."),
    500: ("Interner Fehler", "Es ist ein Fehler aufgetreten. Bitte versuchen Sie es später erneut."),
    503: ("Kurz nicht verfügbar", "Die Datenbank war kurz nicht erreichbar. Bitte versuchen Sie es gleich erneut."),
}


class DatabaseIdConverter(IntegerConverter):
    """`<int:...>` in every URL: ids beyond a 32-bit integer are a 404, not a database overflow."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = DatabaseIdConverter
    from mailroom.web.admin.views import bp as admin_bp
    from mailroom.web.api.views import bp as api_bp
    from mailroom.web.auth.views import bp as auth_bp
    from mailroom.web.courier.views import bp as courier_bp
    from mailroom.web.dispatch.views import bp as dispatch_bp
    from mailroom.web.fleet.views import bp as fleet_bp
    from mailroom.web.intake import proofs, records  # noqa: F401  (add their views to the intake blueprint)
    from mailroom.web.intake.views import bp as intake_bp
    from mailroom.web.main.views import bp as main_bp
    from mailroom.web.ops.views import bp as ops_bp
    from mailroom.web.outgoing import bp as outgoing_bp

    for bp in (main_bp, auth_bp, intake_bp, dispatch_bp, courier_bp, fleet_bp, admin_bp, api_bp, ops_bp, outgoing_bp):
        app.register_blueprint(bp)

    from mailroom.web import read_only

    read_only.init_app(app)  # the first after_request registered runs last, after every other one
    app.before_request(enforce_declared_access)
    app.before_request(_audit_actor)
    app.teardown_request(_audit_actor_reset)
    from mailroom.web.api import idempotency as idempotency_web

    idempotency_web.init_app(app)  # Idempotency-Key on every POST of signed-in users (the API claims its own)
    app.after_request(_security_headers)
    app.config["_CSP"] = content_security_policy(app.config.get("MAP_TILE_URL"))
    _register_error_handlers(app)
    _register_template_helpers(app)


def content_security_policy(tile_url: str | None) -> str:
    """Scripts, styles and connections only from this server; images also from the map tile server."""
    img_sources = ["'self'", "data:", "blob:"]
    if tile_url:
        parts = urlsplit(tile_url.replace("{s}.", "*."))
        if parts.scheme in ("http", "https") and parts.netloc:
            img_sources.append(f"{parts.scheme}://{parts.netloc}")
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",  # Leaflet positions map panes with inline styles
            f"img-src {' '.join(img_sources)}",
            "media-src 'self' blob: mediastream:",  # the courier's camera for scanning
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _audit_actor() -> None:
    from flask_login import current_user

    from mailroom.services import audit

    if current_user.is_authenticated:
        audit.act_as(current_user.id, current_user.username)
    else:
        audit.act_as(None, "nicht angemeldet")


def _audit_actor_reset(_exc) -> None:
    from mailroom.services import audit

    audit.act_as(*audit.CLI_ACTOR)  # the thread may next run a command or a test, not this user


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", current_app.config["_CSP"])
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    from flask_login import current_user

    if request.endpoint != "static" and current_user and not current_user.is_anonymous:
        # Pages of signed-in users hold personal data: never kept by a browser or proxy cache.
        # (is_anonymous, not is_authenticated: the latter reads the user's row again after the view's commit.)
        response.headers.setdefault("Cache-Control", "private, no-store")
    if current_app.config.get("HTTPS"):
        response.headers.setdefault("Strict-Transport-Security", f"max-age={current_app.config['HSTS_MAX_AGE']}")
    return response


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_response(status: int, code: str, message: str):
    if wants_json():
        return jsonify({"error": {"code": code, "message": message}}), status
    title, default_text = GERMAN_ERRORS.get(status, GERMAN_ERRORS[400 if status < 500 else 500])
    return render_template("errors/error.html", status=status, title=title, message=message or default_text), status


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        db.session.rollback()
        return error_response(exc.status, exc.code, exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        text = GERMAN_ERRORS.get(status, (exc.name, exc.description or ""))[1]
        code = (exc.name or "error").lower().replace(" ", "_")
        if isinstance(exc, RateLimitExceeded):
            text, code = exc.description, "rate_limited"  # the limit's own German message
        if status == 400 and "CSRF" in (exc.description or ""):
            text = "Das Formular ist abgelaufen oder ungültig (CSRF). Bitte laden Sie die Seite neu."
            code = "csrf_failed"
        response = error_response(status, code, text)
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            # RFC 9110: a 405 names the methods the resource has (also for TRACE and other unknown methods)
            body, status = response
            response = app.make_response((body, status, {"Allow": ", ".join(sorted(exc.valid_methods))}))
        return response

    @app.errorhandler(DBAPIError)
    def database_error(exc: DBAPIError):
        db.session.rollback()
        if not exc.connection_invalidated:
            return unexpected_error(exc)
        # The database went away under a pooled connection (a restart): SQLAlchemy has dropped the pool,
        # the next request connects anew. Nothing of this request was stored; it may simply be sent again.
        app.logger.warning("database connection lost: %s", exc.orig)
        body, status = error_response(503, "database_unavailable", GERMAN_ERRORS[503][1])
        return app.make_response((body, status, {"Retry-After": "1"}))

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal_error", GERMAN_ERRORS[500][1])


def _register_template_helpers(app: Flask) -> None:
    tz = ZoneInfo(app.config["TIMEZONE"])

    def local(value: datetime | None, fmt: str = "%d.%m.%Y %H:%M") -> str:
        if value is None:
            return ""
        return value.astimezone(tz).strftime(fmt)

    def local_time(value: datetime | None) -> str:
        return local(value, "%H:%M")

    def german_date(value: date | None) -> str:
        return formatting.format_day(value)

    def km(value: float | None) -> str:
        return formatting.format_km(value, fixed=True)

    def tour_status(value: str | None) -> str:
        """A tour's status in German ("planned" -> "Geplant")."""
        return TOUR_STATUS_LABELS.get(str(value), value or "")

    app.jinja_env.filters.update(
        local=local,
        local_time=local_time,
        german_date=german_date,
        km=km,
        number=formatting.format_number,
        tour_status=tour_status,
    )

    @app.context_processor
    def navigation():
        return {"nav_items": _nav_items(app), "has_endpoint": lambda name: name in app.view_functions}


# Main navigation: shown to a user when the endpoint exists and the user's role may open it.
NAV = [
    ("main.index", "Start"),
    ("intake.scan", "Scanstation"),
    ("intake.worklist", "Arbeitsliste"),
    ("intake.sorting", "Sortieren"),
    ("intake.track", "Sendungsverfolgung"),
    ("intake.register", "Posteingangsbuch"),
    ("outgoing.index", "Postausgang"),
    ("dispatch.day", "Disposition"),
    ("dispatch.overview", "Tagesübersicht"),
    ("courier.today", "Meine Tour"),
    ("fleet.index", "Fuhrpark"),
    ("admin.vehicles", "Fahrzeuge"),
    ("ops.outbox_list", "E-Mail-Ausgang"),
    ("admin.index", "Verwaltung"),
]


# Pages others may open too but that belong in the menu of one role only.
NAV_ONLY_FOR = {"courier.today": {"courier"}, "admin.vehicles": {"fleet", "admin"}}


def _nav_items(app: Flask) -> list[tuple[str, str]]:
    from flask_login import current_user

    from mailroom.web.access import view_roles

    if not current_user.is_authenticated:
        return []
    items = []
    for endpoint, label in NAV:
        view = app.view_functions.get(endpoint)
        if view is None or (endpoint in NAV_ONLY_FOR and current_user.role not in NAV_ONLY_FOR[endpoint]):
            continue
        roles = view_roles(view)
        if roles is None or current_user.role in roles:
            items.append((endpoint, label))
    return items

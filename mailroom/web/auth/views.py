"""Login and logout."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user

from mailroom.extensions import db, limiter
from mailroom.services import auth as auth_service
from mailroom.web.access import ALL_ROLES, public, roles_required
from mailroom.web.auth.forms import LoginForm

bp = Blueprint("auth", __name__)
LOGIN_SESSION_KEY = "login_session"  # the id of this login's row (auth_service.start_session)


def _safe_next(target: str | None) -> str | None:
    """Only redirect within this site (no open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


TOO_MANY_FAILURES = "Zu viele Fehlversuche. Bitte warten Sie einige Minuten und versuchen Sie es erneut."


def _failures_limit() -> str:
    return f"{current_app.config['LOGIN_MAX_FAILURES']} per {current_app.config['LOGIN_LOCK_SECONDS']} seconds"


def _address_and_account() -> str:
    return f"{get_remote_address()}|{(request.form.get('username') or '').strip().lower()}"


def _login_failed(response) -> bool:
    return response.status_code != 302  # a successful login redirects


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(
    _failures_limit, key_func=_address_and_account, methods=["POST"], deduct_when=_login_failed,
    error_message=TOO_MANY_FAILURES,
)  # fmt: skip
@limiter.limit(lambda: current_app.config["LOGIN_ATTEMPTS_PER_ADDRESS"], methods=["POST"],
               error_message=TOO_MANY_FAILURES)  # fmt: skip
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = auth_service.authenticate(form.username.data, form.password.data)
        except auth_service.DomainError as exc:
            db.session.commit()  # keep the failure count
            flash(exc.message, "error")
            status = exc.status
        else:
            session[LOGIN_SESSION_KEY] = auth_service.start_session(user)
            db.session.commit()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("main.index"))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@roles_required(*ALL_ROLES)
def logout():
    auth_service.end_session(session.pop(LOGIN_SESSION_KEY, None))
    db.session.commit()
    logout_user()
    flash("Sie wurden abgemeldet.", "info")
    response = redirect(url_for("auth.login"))
    # The courier's offline copy of the tour (service worker cache) must not outlive the session.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response

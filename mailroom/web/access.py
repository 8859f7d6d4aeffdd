"""Role checks. Every view declares who may open it; views without a declaration are refused.

`roles_required(Role.MAILROOM, ...)` for signed-in users with one of the roles (admins may open
everything), `public` for the few views anyone may open (login, health). The app-wide check in
`enforce_declared_access` makes a forgotten decorator a 403 rather than an open door.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app, request
from flask_login import current_user

from mailroom.models import Role

F = TypeVar("F", bound=Callable[..., Any])

ALL_ROLES = tuple(Role)


def public(view: F) -> F:
    view.access_roles = None  # type: ignore[attr-defined]
    view.access_public = True  # type: ignore[attr-defined]
    return view


def roles_required(*roles: Role) -> Callable[[F], F]:
    allowed = frozenset(roles) | {Role.ADMIN}

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        wrapped.access_roles = allowed  # type: ignore[attr-defined]
        wrapped.access_public = False  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def enforce_declared_access() -> None:
    """before_request: refuse any endpoint that declares neither `public` nor `roles_required`."""
    if request.endpoint is None or request.endpoint == "static":
        return
    view = current_app.view_functions.get(request.endpoint)
    if view is None:
        return
    if getattr(view, "access_public", None) is None:
        abort(403)


def view_roles(view: Callable[..., Any]) -> frozenset[Role] | None:
    """Who may open a view: None for public views (used by the role-matrix test and the nav)."""
    if getattr(view, "access_public", False):
        return None
    return getattr(view, "access_roles", frozenset())

"""One way for a view to run a service action: one transaction, German message on a broken rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import flash

from mailroom.errors import DomainError
from mailroom.extensions import db

T = TypeVar("T")

Message = str | Callable[[T], str] | None


def commit_or_flash(action: Callable[[], T], success: Message = None) -> tuple[bool, T | None]:
    """Run `action`; commit and flash `success` (text, or a function of the result), or roll back
    and flash the DomainError's German message. Returns (ok, result)."""
    try:
        result = action()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return False, None
    db.session.commit()
    if success:
        flash(success(result) if callable(success) else success, "success")
    return True, result

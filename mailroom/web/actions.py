"""One way for a view to run a service action: one transaction, German message on a broken rule.

- `commit_or_rollback(action)`: the core; commit on success, roll back on a DomainError and hand it back.
- `commit_or_flash(action, success)`: for forms that redirect: the message is flashed.
- `commit_or_json(action, respond)`: for the JSON endpoints of the pages' scripts: the error as JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from flask import Response, flash, jsonify
from flask.typing import ResponseReturnValue

from mailroom.errors import DomainError
from mailroom.extensions import db

T = TypeVar("T")

Message = str | Callable[[T], str] | None


@dataclass
class Outcome(Generic[T]):
    """What an action gave: its result, or the DomainError that refused it (already rolled back)."""

    result: T | None = None
    error: DomainError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def commit_or_rollback(action: Callable[[], T]) -> Outcome[T]:
    """Run `action` in the request's transaction: commit, or roll back on a DomainError."""
    try:
        result = action()
    except DomainError as exc:
        db.session.rollback()
        return Outcome(error=exc)
    db.session.commit()
    return Outcome(result=result)


def commit_or_flash(action: Callable[[], T], success: Message = None) -> tuple[bool, T | None]:
    """Run `action`; commit and flash `success` (text, or a function of the result), or roll back
    and flash the DomainError's German message. Returns (ok, result)."""
    outcome = commit_or_rollback(action)
    if outcome.error is not None:
        flash(outcome.error.message, "error")
        return False, None
    if success:
        flash(success(outcome.result) if callable(success) else success, "success")
    return True, outcome.result


def json_error(exc: DomainError) -> tuple[Response, int]:
    """The API's error shape: {"error": {"code", "message"}} with the error's status."""
    return jsonify({"error": {"code": exc.code, "message": exc.message}}), exc.status


def commit_or_json(action: Callable[[], T], respond: Callable[[T], ResponseReturnValue]) -> ResponseReturnValue:
    """Run `action`; commit and answer `respond(result)`, or roll back and answer the error as JSON."""
    outcome = commit_or_rollback(action)
    if outcome.error is not None:
        return json_error(outcome.error)
    return respond(outcome.result)  # type: ignore[arg-type]

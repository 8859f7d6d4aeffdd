"""Domain exceptions. Services raise them; views turn them into messages (German) or JSON errors."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the trade was broken. `message` is shown to the user (German); `code` is for the API."""

    code = "invalid"
    status = 400

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class NotFound(DomainError):
    code = "not_found"
    status = 404


class ValidationFailed(DomainError):
    code = "validation_failed"
    status = 422


class InvalidTransition(DomainError):
    code = "invalid_transition"
    status = 409


class DuplicateItem(DomainError):
    code = "duplicate"
    status = 409


class UploadRejected(DomainError):
    code = "upload_rejected"
    status = 422


class PermissionDenied(DomainError):
    code = "forbidden"
    status = 403


class PlanningFailed(DomainError):
    code = "planning_failed"
    status = 422

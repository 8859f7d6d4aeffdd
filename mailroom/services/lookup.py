"""Loading a row by id, or a NotFound (404) with a German message."""

from __future__ import annotations

from typing import TypeVar

from mailroom.errors import NotFound
from mailroom.extensions import db

M = TypeVar("M")


def get_or_404(model: type[M], object_id: int, message: str = "Eintrag nicht gefunden.") -> M:
    obj = db.session.get(model, object_id)
    if obj is None:
        raise NotFound(message)
    return obj

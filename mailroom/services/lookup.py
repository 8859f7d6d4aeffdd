"""Loading a row by id, or a NotFound (404) with a German message."""

from __future__ import annotations

from typing import Any, TypeVar

from mailroom.errors import NotFound
from mailroom.extensions import db

M = TypeVar("M")


def get_or_404(model: type[M], object_id: int, message: str = "Eintrag nicht gefunden.") -> M:
    obj = db.session.get(model, object_id)
    if obj is None:
        raise NotFound(message)
    return obj


LIKE_ESCAPE = "\\"


def escape_like(text: str) -> str:
    """User text for a LIKE pattern: `%` and `_` (and the escape character) match only themselves."""
    return text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")


def ilike_text(column: Any, text: str, *, contains: bool = False) -> Any:
    """A case-insensitive match of `column` against user text, with `%` and `_` taken literally;
    `contains` matches the text anywhere in the column."""
    pattern = escape_like(text)
    if contains:
        pattern = f"%{pattern}%"
    return column.ilike(pattern, escape=LIKE_ESCAPE)

"""The audit log of administrative changes: users, API keys, tariffs, budgets, sites, org units, vans and
stop templates. A `before_flush` listener writes it, so that no service and no import path can forget it;
the rows are append-only (`AuditEntry.__append_only__`), the app has no way to edit them.

Who acted comes from `act_as()`: the web layer sets the signed-in user per request, the command line
leaves the default "Kommandozeile".
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import event, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from mailroom.extensions import db
from mailroom.models import (
    ApiToken,
    AuditEntry,
    OrgUnit,
    Site,
    StopTemplate,
    StopTemplateEntry,
    Tariff,
    User,
    Vehicle,
)
from mailroom.models.outgoing import Budget

# Model -> the German word the log page shows.
AUDITED: dict[type, str] = {
    User: "Benutzer",
    ApiToken: "API-Schlüssel",
    Tariff: "Tarif",
    Budget: "Portobudget",
    Site: "Standort",
    OrgUnit: "Fachdienst",
    Vehicle: "Fahrzeug",
    StopTemplate: "Stoppvorlage",
    StopTemplateEntry: "Stoppvorlage (Standort)",
}
# Columns that change by use, not by an administrator (logins, last use), and secrets never written down.
IGNORED = {"failed_logins", "locked_until", "last_login_at", "last_used_at", "session_version", "created_at"}
SECRET = {"password_hash", "token_hash"}

CLI_ACTOR: tuple[int | None, str] = (None, "Kommandozeile")
_actor: ContextVar[tuple[int | None, str]] = ContextVar("audit_actor", default=CLI_ACTOR)


def act_as(user_id: int | None, name: str) -> None:
    """Who the changes of this context are written down for (the web layer calls it per request)."""
    _actor.set((user_id, name))


def _plain(value):
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _subject(obj) -> str:
    for name in ("username", "code", "name", "product", "cost_centre"):
        value = getattr(obj, name, None)
        if value:
            return f"{AUDITED[type(obj)]} {value}"[:200]
    return f"{AUDITED[type(obj)]} #{obj.id}" if getattr(obj, "id", None) else AUDITED[type(obj)]


def _changes(obj, *, new: bool) -> dict:
    state = sa_inspect(obj)
    changes: dict = {}
    for column in state.mapper.column_attrs:
        key = column.key
        if key in IGNORED or key == "id":
            continue
        history = state.attrs[key].history
        if new:
            value = getattr(obj, key)
            if value is None:
                continue
            changes[key] = "(gesetzt)" if key in SECRET else _plain(value)
        elif history.has_changes():
            if key in SECRET:
                changes[key] = "(geändert)"
            else:
                before = history.deleted[0] if history.deleted else None
                after = history.added[0] if history.added else None
                if before != after:
                    changes[key] = [_plain(before), _plain(after)]
    return changes


def _write(session: Session, action: str, obj, details: dict) -> None:
    actor_id, actor_name = _actor.get()
    if actor_id is not None:
        with session.no_autoflush:
            if session.get(User, actor_id) is None:  # a stale actor (another database, a test): keep the name only
                actor_id = None
    session.add(AuditEntry(actor_id=actor_id, actor_name=actor_name[:64], action=action, subject=_subject(obj),
                           details=details or None))  # fmt: skip


@event.listens_for(Session, "before_flush")
def _record_admin_changes(session: Session, flush_context, instances) -> None:
    for obj in list(session.new):
        if type(obj) in AUDITED:
            _write(session, "angelegt", obj, _changes(obj, new=True))
    for obj in list(session.dirty):
        if type(obj) in AUDITED and session.is_modified(obj, include_collections=False):
            details = _changes(obj, new=False)
            if details:
                _write(session, "geändert", obj, details)
    for obj in list(session.deleted):
        if type(obj) in AUDITED:
            _write(session, "gelöscht", obj, {})


def entries(limit: int = 500) -> list[AuditEntry]:
    """The latest entries, newest first."""
    return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)))

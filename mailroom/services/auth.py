"""Users, passwords and login throttling."""

from __future__ import annotations

import secrets

from sqlalchemy import bindparam, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from mailroom.errors import DomainError, ValidationFailed
from mailroom.extensions import db
from mailroom.models import LoginSession, Role, User, utcnow
from mailroom.services.sql import prepared

MIN_PASSWORD_LENGTH = 10
# Compared against when the user does not exist, so both paths cost the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class LoginFailed(DomainError):
    code = "login_failed"
    status = 401


def create_user(username: str, password: str, role: Role | str, full_name: str = "") -> User:
    username = username.strip().lower()
    if not username or len(username) > 64:
        raise ValidationFailed("Benutzername fehlt oder ist zu lang.")
    try:
        role = Role(role)
    except ValueError:
        raise ValidationFailed(f"Unbekannte Rolle: {role}") from None
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"Das Passwort muss mindestens {MIN_PASSWORD_LENGTH} Zeichen lang sein.")
    if db.session.scalar(select(User).where(func.lower(User.username) == username)):
        raise ValidationFailed(f"Benutzer {username} existiert bereits.")
    user = User(username=username, password_hash=generate_password_hash(password), role=role, full_name=full_name)
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(username: str, password: str) -> User:
    """Return the user for correct credentials; count failures (shown to admins). Throttling is by account
    and client address in the login view, never a lock of the account: nobody can lock a user out.
    The caller commits in every case (failures must be stored)."""
    user = db.session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    now = utcnow()
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        raise LoginFailed("Benutzername oder Passwort ist falsch.")
    if not check_password_hash(user.password_hash, password) or not user.active:
        # A deactivated account gets the same answer: the message must not confirm a right password.
        user.failed_logins += 1
        raise LoginFailed("Benutzername oder Passwort ist falsch.")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return user


def start_session(user: User) -> str:
    """A new login session of `user`; its id goes into the session cookie. The caller commits."""
    session_id = secrets.token_urlsafe(32)
    db.session.add(LoginSession(id=session_id, user_id=user.id))
    return session_id


def end_session(session_id: str | None) -> None:
    """Logout: this session ends on the server, a copy of its cookie no longer signs in. The caller commits."""
    if session_id:
        row = db.session.get(LoginSession, session_id)
        if row is not None and row.ended_at is None:
            row.ended_at = utcnow()


@prepared
def _live_session_user():
    return (
        select(User)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(User.id == bindparam("user_id"), LoginSession.id == bindparam("session_id"))
        .where(LoginSession.ended_at.is_(None))
    )


def session_user(user_id: int, version: int, session_id: str | None) -> User | None:
    """The user of a live session: active, the same session version, the login not ended. One query
    (it runs on every request of a signed-in user)."""
    if not session_id:
        return None
    user = db.session.scalar(_live_session_user(), {"user_id": user_id, "session_id": session_id})
    if user is None or not user.active or (user.session_version or 1) != version:
        return None
    return user

"""API tokens of scanner devices: the plaintext is shown once, only its SHA-256 is stored.

A token is 32 random bytes (URL-safe base64) behind the prefix ``mr_``; with that much entropy a plain
SHA-256 is the right hash (no salt or slow hash needed, and lookups stay one indexed query).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm.attributes import set_committed_value

from mailroom.errors import NotFound, ValidationFailed
from mailroom.extensions import db
from mailroom.models import ApiToken, User
from mailroom.services.clock import now_utc
from mailroom.services.sql import autocommit, prepared

PREFIX = "mr_"
NAME_MAX = 80
# last_used_at is refreshed at most this often, so that a busy scanner does not write on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for `user`'s device `name`; returns the row and the plaintext (shown once)."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("Bitte einen Gerätenamen angeben.")
    if len(name) > NAME_MAX:
        raise ValidationFailed(f"Der Gerätename ist zu lang (höchstens {NAME_MAX} Zeichen).")
    if not user.active:
        raise ValidationFailed(f"Benutzer {user.username} ist gesperrt: kein API-Schlüssel möglich.")
    plaintext = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, token_hash=hash_token(plaintext), user_id=user.id, user=user)
    db.session.add(token)
    db.session.flush()
    return token, plaintext


@prepared
def _token_and_user():
    # Token and user in one query: it runs on every API request.
    query = select(ApiToken, User).join(User, User.id == ApiToken.user_id)
    return query.where(ApiToken.token_hash == bindparam("token_hash"))


def authenticate(plaintext: str | None) -> User | None:
    """The active user of a valid, unrevoked token, or None."""
    if not plaintext or not plaintext.startswith(PREFIX) or len(plaintext) > 200:
        return None
    row = db.session.execute(_token_and_user(), {"token_hash": hash_token(plaintext)}).first()
    if row is None:
        return None
    token, user = row
    if token.revoked or not user.active:
        return None
    now = now_utc()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        # In its own short transaction: the request's transaction stays free of writes until the view writes,
        # so a slow request (an upload being read for seconds) holds no write lock (SQLite's is database-wide).
        with autocommit() as connection:
            connection.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
        set_committed_value(token, "last_used_at", now)
    return user


def revoke(token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("Diesen API-Schlüssel gibt es nicht.")
    token.revoked = True
    db.session.flush()
    return token

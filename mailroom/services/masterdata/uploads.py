"""An uploaded CSV kept between its preview and the confirmation: a file in the instance folder named
by the user and a random token, so that one user cannot confirm another's upload and nothing of the
file travels back through the browser. Files older than an hour are removed."""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

from mailroom.errors import NotFound

MAX_AGE_S = 3600
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
KIND_PATTERN = re.compile(r"^[a-z-]{3,20}$")


def _path(folder: Path, user_id: int, kind: str, token: str) -> Path:
    if not TOKEN_PATTERN.match(token or "") or not KIND_PATTERN.match(kind):
        raise NotFound("Die hochgeladene Datei ist nicht mehr vorhanden. Bitte erneut hochladen.")
    return folder / f"{int(user_id)}-{kind}-{token}.csv"


def _remove_old(folder: Path) -> None:
    cutoff = time.time() - MAX_AGE_S
    for old in folder.glob("*.csv"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            continue


def store(folder: Path, user_id: int, kind: str, data: bytes) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    _remove_old(folder)
    token = secrets.token_urlsafe(24)
    path = _path(folder, user_id, kind, token)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o600)
    tmp.replace(path)
    return token


def load(folder: Path, user_id: int, kind: str, token: str) -> bytes:
    path = _path(folder, user_id, kind, token)
    try:
        if path.stat().st_mtime < time.time() - MAX_AGE_S:
            raise FileNotFoundError
        return path.read_bytes()
    except FileNotFoundError:
        raise NotFound("Die hochgeladene Datei ist nicht mehr vorhanden. Bitte erneut hochladen.") from None


def discard(folder: Path, user_id: int, kind: str, token: str) -> None:
    try:
        _path(folder, user_id, kind, token).unlink(missing_ok=True)
    except NotFound:
        return

"""All file access for scans and signatures: files named by content hash, written atomically.

`write_atomically` is the one atomic file writer of the product (scans, route sheets, instance files).

Layout below the instance folder: `<SCAN_DIR>/<kind>/<ab>/<sha256><suffix>`; kinds are
"content" (scans of opened letters), "signatures" (hand-over signatures), "uploads" (envelope scans).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from flask import current_app

KINDS = frozenset({"content", "signatures", "uploads"})
# Signature files: the courier view stores PNGs; older files may have no suffix.
SIGNATURE_SUFFIXES = (".png", "")


def _root() -> Path:
    scan_dir = Path(current_app.config["SCAN_DIR"])
    if not scan_dir.is_absolute():
        scan_dir = Path(current_app.instance_path) / scan_dir
    return scan_dir


def path_for(kind: str, sha256: str, suffix: str = "") -> Path:
    if kind not in KINDS:
        raise ValueError(f"unknown storage kind {kind!r}")
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("not a sha256 hex digest")
    return _root() / kind / sha256[:2] / f"{sha256}{suffix}"


def store(kind: str, data: bytes, suffix: str = "") -> str:
    """Write `data` once under its hash (atomically: temp file, fsync, rename); return the hash."""
    sha256 = hashlib.sha256(data).hexdigest()
    target = path_for(kind, sha256, suffix)
    if target.exists():
        return sha256
    write_atomically(target, data, mode=None)
    return sha256


def write_atomically(path: Path, data: bytes | str, *, mode: int | None = 0o644) -> None:
    """Write a file so that readers see the old one or the whole new one, never a part (temp file in the
    same folder, fsync, rename). `mode` sets the permissions first (0o600: the owner only)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        if mode is not None:
            os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def read(kind: str, sha256: str, suffix: str = "") -> bytes:
    return path_for(kind, sha256, suffix).read_bytes()


def exists(kind: str, sha256: str, suffix: str = "") -> bool:
    return path_for(kind, sha256, suffix).exists()


def delete(kind: str, sha256: str, suffix: str = "") -> bool:
    """Remove a stored file; True if it was there."""
    path = path_for(kind, sha256, suffix)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


# --- files that belong to a database transaction -------------------------------------------------
#
# A row that names a file and the file itself must appear together or not at all. The service stores
# the file after its validation and flush; if the transaction then does not commit (an error, a rollback,
# a closed session), the files this transaction created are removed again. Files that already existed
# before (the same content stored earlier for another row) are never touched.

_PENDING_KEY = "storage_pending_files"


def store_in_transaction(
    kind: str,
    data: bytes,
    suffix: str = "",
    *,
    session=None,
    in_use: Callable[[str], bool] | None = None,
) -> str:
    """Store like `store`, tied to the current transaction of `session` (default: db.session).

    If the transaction ends without a commit, a file created by this call is deleted again, unless
    `in_use(sha256)` (checked then, on a fresh connection) says a committed row still needs it."""
    from mailroom.extensions import db

    sess = session if session is not None else db.session()
    sha256 = hashlib.sha256(data).hexdigest()
    existed = exists(kind, sha256, suffix)
    store(kind, data, suffix)
    if not existed:
        sess.info.setdefault(_PENDING_KEY, []).append((current_app._get_current_object(), kind, sha256, suffix, in_use))
    return sha256


def _forget_pending(session) -> None:
    if session.in_nested_transaction():
        return
    session.info.pop(_PENDING_KEY, None)


def _remove_uncommitted(session, transaction) -> None:
    if transaction.parent is not None:
        return
    pending = session.info.pop(_PENDING_KEY, None)
    for app, kind, sha256, suffix, in_use in pending or ():
        with app.app_context():
            try:
                if in_use is not None and in_use(sha256):
                    continue
                delete(kind, sha256, suffix)
            except Exception:  # cleanup must never mask the error that caused the rollback
                app.logger.exception("could not remove uncommitted %s file %s", kind, sha256)


def _install_listeners() -> None:
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    if not event.contains(Session, "after_commit", _forget_pending):
        event.listen(Session, "after_commit", _forget_pending)
        event.listen(Session, "after_transaction_end", _remove_uncommitted)


_install_listeners()

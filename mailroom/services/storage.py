"""All file access for scans and signatures: files named by content hash, written atomically.

Layout below the instance folder: `<SCAN_DIR>/<kind>/<ab>/<sha256><suffix>`; kinds are
"content" (scans of opened letters), "signatures" (hand-over signatures), "uploads" (envelope scans).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from flask import current_app

KINDS = frozenset({"content", "signatures", "uploads"})


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
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return sha256


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

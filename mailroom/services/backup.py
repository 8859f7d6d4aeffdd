"""Backup and restore of an instance: the database and the scans folder in one archive.

`create_backup(path)` runs while the app serves requests:
- SQLite: the online backup API (`sqlite3.Connection.backup`) copies a consistent snapshot page by page;
  writers are not stopped.
- PostgreSQL: `pg_dump --format=custom` (one snapshot transaction; postgresql-client).
The database is copied first, then the scan files. A file is written before the commit of its row, so
every row of the snapshot finds its file; files of rows committed after the snapshot come along too and
`mailroom check --repair` removes them after a restore.

The archive (tar, gzip) holds `manifest.json` (format, database kind, row counts per table, file count),
`database.sqlite` or `database.pgdump`, and `scans/<kind>/<ab>/<sha256><suffix>`. It is written to a
temporary file beside the target, fsynced and renamed: a crash never leaves a half archive under the name.

`restore_backup(path, force=False)` brings an archive back into an empty instance (no rows in any table, no
scan files); a non-empty one only with `force`, which replaces its database and scans.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import make_url

from mailroom.errors import DomainError, ValidationFailed
from mailroom.extensions import db
from mailroom.services.clock import now_utc

FORMAT = "mailroom-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite"
PGDUMP_MEMBER = "database.pgdump"
SCANS_PREFIX = "scans/"
PG_TIMEOUT_S = 3600


class BackupError(DomainError):
    code = "backup_failed"
    status = 500


@dataclass
class BackupSummary:
    path: str
    database: str
    tables: dict[str, int] = field(default_factory=dict)
    files: int = 0
    bytes: int = 0

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "database": self.database,
            "tables": self.tables,
            "rows": sum(self.tables.values()),
            "files": self.files,
            "bytes": self.bytes,
        }


def _dialect() -> str:
    return db.engine.dialect.name


def _scan_root() -> Path:
    scan_dir = Path(current_app.config["SCAN_DIR"])
    return scan_dir if scan_dir.is_absolute() else Path(current_app.instance_path) / scan_dir


def _scan_files() -> list[Path]:
    root = _scan_root()
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".tmp-"))


def table_counts() -> dict[str, int]:
    """Rows per table of the app's schema (tables that exist), for the manifest and the empty check."""
    existing = set(inspect(db.engine).get_table_names())
    counts = {}
    for table in db.metadata.sorted_tables:
        if table.name in existing:
            counts[table.name] = db.session.scalar(select(func.count()).select_from(table)) or 0
    return counts


def _libpq(url) -> tuple[str, dict[str, str]]:
    """A libpq connection URL without the password (that goes into PGPASSWORD, never onto a command line)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _snapshot_sqlite(target: Path) -> None:
    source_path = make_url(str(db.engine.url)).database
    source = sqlite3.connect(source_path, timeout=30)
    try:
        dest = sqlite3.connect(target)
        try:
            source.backup(dest)  # one step: a consistent snapshot; WAL lets writers go on meanwhile
        finally:
            dest.close()
    finally:
        source.close()


def _snapshot_postgres(target: Path) -> dict[str, int]:
    """pg_dump reads the snapshot that a repeatable-read transaction of ours exports, so the row counts
    of the manifest are those of the dump itself, while the app keeps writing."""
    url, env = _libpq(db.engine.url)
    existing = set(inspect(db.engine).get_table_names())
    with db.engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection, connection.begin():
        snapshot_id = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        counts = {
            table.name: connection.scalar(select(func.count()).select_from(table)) or 0
            for table in db.metadata.sorted_tables
            if table.name in existing
        }
        command = [
            "pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot_id}",
            "--file", str(target), url,
        ]  # fmt: skip
        try:
            subprocess.run(command, env=env, check=True, capture_output=True, timeout=PG_TIMEOUT_S)  # noqa: S603
        except FileNotFoundError as exc:
            raise BackupError("pg_dump fehlt: bitte das Paket postgresql-client installieren.") from exc
        except subprocess.CalledProcessError as exc:
            raise BackupError(f"pg_dump ist fehlgeschlagen: {exc.stderr.decode(errors='replace')[:300]}") from exc
    return counts


def create_backup(path: str | os.PathLike) -> BackupSummary:
    """Write a consistent backup of the database and the scans folder to `path` (atomically)."""
    target = Path(path).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    dialect = _dialect()
    if dialect not in ("sqlite", "postgresql"):
        raise BackupError(f"Datenbank {dialect} wird nicht unterstützt.")
    summary = BackupSummary(path=str(target), database=dialect)
    with tempfile.TemporaryDirectory(prefix="mailroom-backup-") as work:
        member = SQLITE_MEMBER if dialect == "sqlite" else PGDUMP_MEMBER
        snapshot = Path(work) / member
        if dialect == "sqlite":
            _snapshot_sqlite(snapshot)
            summary.tables = _sqlite_counts(snapshot)
        else:
            summary.tables = _snapshot_postgres(snapshot)
        db.session.rollback()
        root = _scan_root()
        files = _scan_files()
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".tmp-{target.name}-")
        try:
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as archive:
                archive.add(snapshot, arcname=member)
                for file in files:
                    try:
                        archive.add(file, arcname=SCANS_PREFIX + file.relative_to(root).as_posix())
                    except FileNotFoundError:  # deleted (retention) while we were copying
                        continue
                    summary.files += 1
                manifest = {
                    "format": FORMAT,
                    "version": FORMAT_VERSION,
                    "created_at": now_utc().isoformat(),
                    "database": dialect,
                    "tables": summary.tables,
                    "files": summary.files,
                }
                data = json.dumps(manifest, indent=2).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size = len(data)
                info.mtime = int(now_utc().timestamp())
                archive.addfile(info, io.BytesIO(data))
                archive.fileobj.flush()
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
    summary.bytes = target.stat().st_size
    return summary


def _sqlite_counts(path: Path) -> dict[str, int]:
    connection = sqlite3.connect(path)
    try:
        existing = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return {
            table.name: connection.execute(f'SELECT count(*) FROM "{table.name}"').fetchone()[0]  # noqa: S608
            for table in db.metadata.sorted_tables
            if table.name in existing
        }
    finally:
        connection.close()


# --- restore -----------------------------------------------------------------------------------------


def instance_is_empty() -> tuple[bool, str]:
    """(empty?, why not): no rows in any table of the app and no scan files."""
    filled = {name: count for name, count in table_counts().items() if count}
    db.session.rollback()
    if filled:
        some = ", ".join(f"{name} ({count})" for name, count in list(filled.items())[:4])
        return False, f"die Datenbank enthält Daten: {some}"
    files = _scan_files()
    if files:
        return False, f"der Scan-Ordner enthält {len(files)} Dateien"
    return True, ""


def _read_manifest(archive: tarfile.TarFile) -> dict:
    try:
        member = archive.getmember(MANIFEST)
    except KeyError:
        raise ValidationFailed("Das ist kein mailroom-Backup (manifest.json fehlt).") from None
    handle = archive.extractfile(member)
    manifest = json.loads(handle.read()) if handle else {}
    if manifest.get("format") != FORMAT:
        raise ValidationFailed("Das ist kein mailroom-Backup (unbekanntes Format).")
    if int(manifest.get("version", 0)) > FORMAT_VERSION:
        raise ValidationFailed("Das Backup stammt von einer neueren Version von mailroom.")
    return manifest


def _safe_scan_member(member: tarfile.TarInfo) -> str | None:
    """The path below the scans folder for a regular file member; None for anything else or a traversal."""
    if not member.isfile() or not member.name.startswith(SCANS_PREFIX):
        return None
    relative = Path(member.name[len(SCANS_PREFIX) :])
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        return None
    return relative.as_posix()


def restore_backup(path: str | os.PathLike, *, force: bool = False) -> BackupSummary:
    """Bring a backup back into this instance (refuses a non-empty one unless `force`)."""
    source = Path(path)
    if not source.is_file():
        raise ValidationFailed(f"Die Datei {source} gibt es nicht.")
    dialect = _dialect()
    empty, why = instance_is_empty()
    if not empty and not force:
        raise ValidationFailed(
            f"Die Instanz ist nicht leer ({why}). Wiederherstellen überschreibt alles: nur mit --force."
        )
    try:
        archive = tarfile.open(source, mode="r:gz")  # noqa: SIM115  (closed by the with below)
    except (tarfile.TarError, OSError) as exc:
        raise ValidationFailed(f"Das Backup ist nicht lesbar: {exc}") from exc
    with archive, tempfile.TemporaryDirectory(prefix="mailroom-restore-") as work:
        manifest = _read_manifest(archive)
        if manifest.get("database") != dialect:
            raise ValidationFailed(
                f"Das Backup ist aus einer {manifest.get('database')}-Datenbank; diese Instanz nutzt {dialect}."
            )
        member = SQLITE_MEMBER if dialect == "sqlite" else PGDUMP_MEMBER
        snapshot = Path(work) / member
        handle = archive.extractfile(member)
        if handle is None:
            raise ValidationFailed("Im Backup fehlt die Datenbank.")
        with open(snapshot, "wb") as out:
            shutil.copyfileobj(handle, out)
        db.session.remove()
        db.engine.dispose()
        if dialect == "sqlite":
            _restore_sqlite(snapshot)
        else:
            _restore_postgres(snapshot)
        files = _restore_scans(archive, replace=force)
    summary = BackupSummary(path=str(source), database=dialect, files=files)
    summary.tables = table_counts()
    db.session.rollback()
    return summary


def _restore_sqlite(snapshot: Path) -> None:
    target_path = make_url(str(db.engine.url)).database
    source = sqlite3.connect(snapshot)
    try:
        dest = sqlite3.connect(target_path, timeout=30)
        try:
            source.backup(dest)  # replaces every page of the target: its old content is gone
        finally:
            dest.close()
    finally:
        source.close()


def _restore_postgres(snapshot: Path) -> None:
    url, env = _libpq(db.engine.url)
    command = [
        "pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
        "--exit-on-error", "--dbname", url, str(snapshot),
    ]  # fmt: skip
    try:
        subprocess.run(command, env=env, check=True, capture_output=True, timeout=PG_TIMEOUT_S)  # noqa: S603
    except FileNotFoundError as exc:
        raise BackupError("pg_restore fehlt: bitte das Paket postgresql-client installieren.") from exc
    except subprocess.CalledProcessError as exc:
        raise BackupError(f"pg_restore ist fehlgeschlagen: {exc.stderr.decode(errors='replace')[:300]}") from exc


def _restore_scans(archive: tarfile.TarFile, *, replace: bool) -> int:
    root = _scan_root()
    if replace and root.is_dir():
        for path in sorted(root.rglob("*"), reverse=True):
            if path.is_file() or path.is_symlink():
                path.unlink()
    count = 0
    for member in archive.getmembers():
        relative = _safe_scan_member(member)
        if relative is None:
            continue
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        handle = archive.extractfile(member)
        if handle is None:
            continue
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(handle, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_name, target)
        count += 1
    return count

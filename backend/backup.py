"""Backup and restore of the backend's database: SQLite's online backup API, pg_dump/pg_restore.

A SQLite backup is a plain database file, taken page by page while the server keeps running. A
PostgreSQL backup is pg_dump's custom format. Restore refuses a file of the other kind, replaces
everything in the target database, then applies the migrations, so a backup taken by an older
version comes back on the current schema.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from backend.db import Database, dialect_name
from backend.migrate import prepare

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"
PG_BIN_ENV = "TELECONSULT_PG_BIN"


class BackupError(Exception):
    """A backup or restore that could not be done, with the reason in words."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    kind: str  # "sqlite" or "postgresql"
    size_bytes: int


def _sqlite_file(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def find_pg_tool(tool: str) -> Path:
    """pg_dump/pg_restore: $TELECONSULT_PG_BIN, then the newest /usr/lib/postgresql/N/bin, then PATH.

    The newest version is preferred because pg_dump refuses servers newer than itself.
    """
    candidates: list[Path] = []
    if os.environ.get(PG_BIN_ENV):
        candidates.append(Path(os.environ[PG_BIN_ENV]) / tool)
    versions = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()),
        key=lambda p: int(p.parent.name),
        reverse=True,
    )
    candidates += [v / tool for v in versions]
    on_path = shutil.which(tool)
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise BackupError(f"{tool} not found: install the PostgreSQL client (Debian: postgresql-client)")


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and the environment that carries it."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False, timeout=3600)
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip()
        # Never echo a connection string with a password in it.
        message = re.sub(r"://([^:@/]+):[^@/]+@", r"://\1:***@", message)
        raise BackupError(f"{what} failed: {message}")


def backup(database_url: str, target: Path) -> BackupInfo:
    """Write a consistent copy of the database to `target` (overwritten) while the server runs."""
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    kind = dialect_name(database_url)
    if kind == "sqlite":
        source_file = _sqlite_file(database_url)
        if not source_file.is_file():
            raise BackupError(f"{source_file} does not exist")
        source = sqlite3.connect(f"file:{source_file}?mode=ro", uri=True)
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            copy.close()
            source.close()
    elif kind == "postgresql":
        uri, env = _libpq(make_url(database_url))
        command = [str(find_pg_tool("pg_dump")), "--format=custom", "--no-owner", f"--file={partial}", uri]
        _run(command, env, "pg_dump")
    else:
        raise BackupError(f"unsupported database {kind!r}")
    partial.replace(target)
    return BackupInfo(target, kind, target.stat().st_size)


def backup_kind(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError as exc:
        raise BackupError(f"{path} cannot be read: {exc.strerror}") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is not a teleconsult-server backup (neither SQLite nor pg_dump custom format)")


def restore(database_url: str, source: Path) -> BackupInfo:
    """Replace the database's contents with the backup, then migrate it to the current schema.

    Stop the server first: clients connected during a restore see the data change under them.
    """
    kind = backup_kind(source)
    target_kind = dialect_name(database_url)
    if kind != target_kind:
        raise BackupError(f"{source} is a {kind} backup and cannot be restored into a {target_kind} database")
    if kind == "sqlite":
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as check:
            verdict = check.execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            raise BackupError(f"{source} is damaged: {verdict}")
        target_file = _sqlite_file(database_url)
        target_file.parent.mkdir(parents=True, exist_ok=True)
        backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        live = sqlite3.connect(target_file, timeout=30)
        try:
            backup_db.backup(live)  # page by page under the target's lock; WAL readers stay consistent
        finally:
            live.close()
            backup_db.close()
    else:
        uri, env = _libpq(make_url(database_url))
        command = [
            str(find_pg_tool("pg_restore")),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={uri}",
            str(source),
        ]
        _run(command, env, "pg_restore")
    db = Database(database_url)
    try:
        prepare(db)  # a backup from an older version comes back on the current schema
    finally:
        db.dispose()
    return BackupInfo(source, kind, source.stat().st_size)

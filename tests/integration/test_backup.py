"""teleconsult-server backup / restore, on SQLite and on the real PostgreSQL, through the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from alembic import command
from sqlalchemy import func, inspect, select, text

from backend import audit
from backend.backup import BackupError, backup, restore
from backend.db import Database
from backend.migrate import alembic_config
from backend.models import AuditRecord, User
from backend.server import EmbeddedServer
from backend.users import create_user
from tests.integration.conftest import PostgresServer


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend", *args], capture_output=True, text=True, timeout=110, check=False
    )


def _snapshot(url: str) -> tuple[list[str], int, bool]:
    db = Database(url)
    try:
        with db.transaction(readonly=True) as session:
            users = sorted(session.scalars(select(User.username)))
            records = int(session.scalar(select(func.count()).select_from(AuditRecord)) or 0)
            intact = audit.verify(session).ok
    finally:
        db.dispose()
    return users, records, intact


def _head_revision(url: str) -> str | None:
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        db.dispose()


def test_backup_and_restore_round_trip(database_url: str, tmp_path: Path) -> None:
    # Data in it: the demo users, a user of our own, a sign-in (refresh token and audit records)
    # made through the running server, which stays up while the backup is taken.
    db = Database(database_url)
    try:
        create_user(db, "dr.backup", "pw-123456", "specialist", "Dr Backup", ["radiology"], actor="test")
    finally:
        db.dispose()
    server = EmbeddedServer(database_url)
    server.start()
    try:
        login = httpx.post(
            f"{server.base_url}/api/v1/auth/login", json={"username": "dr.backup", "password": "pw-123456"}
        )
        assert login.status_code == 200, login.text
        before = _snapshot(database_url)
        file = tmp_path / "backup.db"
        done = _cli("backup", "--database-url", database_url, str(file))
        assert done.returncode == 0, done.stderr
        assert "written to" in done.stdout and file.stat().st_size > 0
    finally:
        server.stop()
    assert "dr.backup" in before[0] and before[1] >= 2 and before[2]

    # Life goes on after the backup: a user added, one of the originals deleted.
    db = Database(database_url)
    try:
        create_user(db, "after.backup", "pw-123456", "trainee", None, [], actor="test")
        with db.transaction() as session:
            session.delete(session.scalars(select(User).where(User.username == "dr.backup")).one())
    finally:
        db.dispose()
    changed = _snapshot(database_url)
    assert "after.backup" in changed[0] and "dr.backup" not in changed[0]

    refused = _cli("restore", "--database-url", database_url, str(file))
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert _snapshot(database_url) == changed  # nothing touched without --yes

    done = _cli("restore", "--database-url", database_url, "--yes", str(file))
    assert done.returncode == 0, done.stderr
    assert _snapshot(database_url) == before  # exactly the backed-up state, audit chain intact
    assert _cli("verify-audit", "--database-url", database_url).returncode == 0

    # The restored database serves: the user from the backup signs in again.
    with EmbeddedServer(database_url) as again:
        response = httpx.post(
            f"{again.base_url}/api/v1/auth/login", json={"username": "dr.backup", "password": "pw-123456"}
        )
        assert response.status_code == 200


def test_restore_into_an_empty_database_of_the_same_kind(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    file = tmp_path / "b.db"
    backup(database_url, file)
    before = _snapshot(database_url)
    if database_url.startswith("sqlite"):
        fresh = f"sqlite:///{tmp_path / 'fresh' / 'new.sqlite3'}"
        assert restore(fresh, file).kind == "sqlite"
        assert _snapshot(fresh) == before
        return
    pg: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"tc_restore_{os.getpid()}"
    pg.admin(f"CREATE DATABASE {name}")
    try:
        assert restore(pg.url(name), file).kind == "postgresql"
        assert _snapshot(pg.url(name)) == before
    finally:
        pg.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_a_backup_of_an_older_schema_is_migrated_on_restore(database_url: str, tmp_path: Path) -> None:
    head = _head_revision(database_url)
    assert head is not None
    db = Database(database_url)
    try:
        command.downgrade(alembic_config(db.engine), "base")  # the schema before any migration
    finally:
        db.dispose()
    assert _head_revision(database_url) is None
    file = tmp_path / "old.db"
    backup(database_url, file)
    restore(database_url, file)
    assert _head_revision(database_url) == head
    users, _records, intact = _snapshot(database_url)
    assert users == [] and intact


def test_init_and_serve_upgrade_an_older_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    assert _cli("init", "--database-url", url).returncode == 0
    head = _head_revision(url)
    db = Database(url)
    try:
        command.downgrade(alembic_config(db.engine), "base")
    finally:
        db.dispose()
    assert _head_revision(url) is None
    with EmbeddedServer(url) as server:  # what `serve` runs: migrations first
        health = httpx.get(f"{server.base_url}/api/v1/health")
        assert health.status_code == 200
    assert _head_revision(url) == head


def test_restore_refuses_the_wrong_kind_of_file(database_url: str, tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a backup at all")
    with pytest.raises(BackupError, match="not a teleconsult-server backup"):
        restore(database_url, junk)
    other = tmp_path / "other.db"
    if database_url.startswith("sqlite"):
        other.write_bytes(b"PGDMP" + bytes(100))
    else:
        import sqlite3

        sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    done = _cli("restore", "--database-url", database_url, "--yes", str(other))
    assert done.returncode == 1 and "cannot be restored into" in done.stderr
    assert "dr.chen" in _snapshot(database_url)[0]  # untouched

"""teleconsult-server through subprocesses on SQLite: init, create-user, verify-audit, serve."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.integration.conftest import wait_until


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_init_create_user_verify(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    done = _cli("init", "--database-url", url)
    assert done.returncode == 0, done.stderr
    # The JWT secret lives in a 0600 key file beside the database, not in it.
    key_file = tmp_path / "cli.sqlite3.key"
    assert len(key_file.read_text().strip()) == 64 and key_file.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(tmp_path / "cli.sqlite3") as conn:
        assert conn.execute("SELECT value FROM settings WHERE key='jwt_secret'").fetchone() is None
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert _cli("init", "--database-url", url).returncode == 0  # idempotent
    done = _cli(
        "create-user",
        "--database-url",
        url,
        "--username",
        "dr.he",
        "--role",
        "specialist",
        "--display-name",
        "Dr. He",
        "--specialty",
        "cardiology",
        "--specialty",
        "ultrasound",
        "--password-stdin",
        stdin="correct horse\n",
    )
    assert done.returncode == 0, done.stderr
    assert "created user dr.he" in done.stdout
    with sqlite3.connect(tmp_path / "cli.sqlite3") as conn:
        row = conn.execute(
            "SELECT role, specialties, password_hash FROM users WHERE username='dr.he'"
        ).fetchone()
    assert row[0] == "specialist" and "ultrasound" in row[1] and row[2].startswith("$argon2id$")
    duplicate = _cli(
        "create-user",
        "--database-url",
        url,
        "--username",
        "dr.he",
        "--role",
        "trainee",
        "--password-stdin",
        stdin="x\n",
    )
    assert duplicate.returncode == 1 and "exists" in duplicate.stderr
    assert (
        _cli(
            "create-user",
            "--database-url",
            url,
            "--username",
            "x",
            "--role",
            "king",
            "--password-stdin",
            stdin="x\n",
        ).returncode
        == 2
    )
    weak = _cli(
        "create-user", "--database-url", url, "--username", "dr.ma", "--role", "trainee", "--password-stdin",
        stdin="password123\n",
    )  # fmt: skip
    assert weak.returncode == 2 and "too common" in weak.stderr
    verified = _cli("verify-audit", "--database-url", url)
    assert verified.returncode == 0 and verified.stdout.strip() == "audit chain intact (1 records)"
    # The chain is keyed with a 0600 key beside the JWT key; create-user left a signed checkpoint.
    audit_key = tmp_path / "cli.sqlite3.key.audit"
    assert audit_key.stat().st_mode & 0o777 == 0o600
    checkpoints = (tmp_path / "cli.sqlite3.key.audit-checkpoints").read_text().splitlines()
    assert '"count":1' in checkpoints[-1] and '"mac":' in checkpoints[-1]
    with sqlite3.connect(tmp_path / "cli.sqlite3") as conn:
        conn.execute("UPDATE audit_log SET action='user.delete' WHERE id=1")
    broken = _cli("verify-audit", "--database-url", url)
    assert broken.returncode == 1 and "record 1" in broken.stdout
    # Emptying the table (and its head) is caught against the checkpoint outside the database.
    with sqlite3.connect(tmp_path / "cli.sqlite3") as conn:
        assert conn.execute("SELECT alg FROM audit_log WHERE id=1").fetchone()[0] == "hmac-sha256"
        conn.execute("DELETE FROM audit_log")
        conn.execute("DELETE FROM settings WHERE key='audit_head'")
    emptied = _cli("verify-audit", "--database-url", url)
    assert emptied.returncode == 1 and "record 1" in emptied.stdout and "missing" in emptied.stdout


def test_serve_writes_port_file_and_stops(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'serve.sqlite3'}"
    port_file = tmp_path / "port"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "backend",
            "serve",
            "--database-url",
            url,
            "--port",
            "0",
            "--port-file",
            str(port_file),
            "--seed-demo",
            "--target-wait-minutes",
            "5",
            "--log-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert wait_until(port_file.exists, timeout=30), "no port file"
        port = int(port_file.read_text())
        base = f"http://127.0.0.1:{port}/api/v1"
        assert httpx.get(base + "/health").json()["database"] == "sqlite"
        tokens = httpx.post(base + "/auth/login", json={"username": "dr.chen", "password": "demo"}).json()
        worklist = httpx.get(
            base + "/consults", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        demo = worklist.json()
        # dr.chen has not accepted the demo consult yet: a summary, no identity (backend/access.py).
        assert [(c["identity"], c["patient"], c["summary"]["sex"]) for c in demo] == [("withheld", None, "M")]
        doctor = httpx.post(base + "/auth/login", json={"username": "dr.li", "password": "demo"}).json()
        mine = httpx.get(base + "/consults", headers={"Authorization": f"Bearer {doctor['access_token']}"})
        assert [c["patient"]["name"] for c in mine.json()] == ["Zhang Wei"]
        assert demo[0]["study"]["study_instance_uid"] == "1.2.826.0.1.3680043.10.1234.1"
        assert demo[0]["target_seconds"] == 300.0 and demo[0]["urgency"] == "urgent"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
    assert process.returncode == 0, output
    assert "Traceback" not in output
    # Starting again on the same database re-seeds nothing.
    start = time.monotonic()
    assert _cli("verify-audit", "--database-url", url).returncode == 0
    assert time.monotonic() - start < 30

"""Secrets stay out of logs and out of reach: the room socket authenticates in its first message, the
access log carries no query string, the JWT secret lives in a 0600 key file outside the database, and
every file the server or the embedded backend writes is the user's alone (0600, folders 0700)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from backend.config import ServerSettings
from backend.db import Database
from backend.migrate import SECRET_KEY, prepare
from backend.models import Setting
from backend.server import EmbeddedServer
from core.client.embedded_backend import EmbeddedBackend
from rtc.signalling import WebSocketSignalling
from tests.integration.conftest import Api


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_no_token_in_the_logs_after_a_call_joins(tmp_path: Path) -> None:
    server = EmbeddedServer(f"sqlite:///{tmp_path / 'db.sqlite3'}", seed_demo=True, log_level="info")
    server.start()
    captured = _Lines()
    loggers = [logging.getLogger(name) for name in ("uvicorn.access", "uvicorn.error", "uvicorn", "")]
    for logger in loggers:
        logger.addHandler(captured)
    api = Api(server)
    try:
        cid = api.consult_in_state("in_session")
        specialist, county = api.token("dr.chen"), api.token("dr.li")
        room = api.base_url.replace("http", "ws", 1) + f"/api/v1/rooms/{cid}/signal"

        async def scenario() -> None:
            # The Python client: the token given in the URL goes in the first message instead.
            a = WebSocketSignalling(f"{room}?token={specialist}")
            welcome = await a.connect()
            assert welcome.member_id
            # An old client with the token in the query string is still admitted (deprecated).
            async with connect(f"{room}?token={county}") as b:
                assert json.loads(await asyncio.wait_for(b.recv(), 5))["type"] == "welcome"
            await a.close()

        asyncio.run(scenario())
    finally:
        api.close()
        server.stop()
        for logger in loggers:
            logger.removeHandler(captured)
    text = "\n".join(captured.lines)
    assert "/api/v1/auth/login" in text  # the access log is on
    assert f"/api/v1/rooms/{cid}/signal" in text
    assert specialist not in text and county not in text
    assert "token=" not in text.replace("token=[redacted]", "")


def test_room_auth_first_message(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    import backend.routes.signal as route

    monkeypatch.setattr(route, "AUTH_TIMEOUT_SECONDS", 0.5)
    cid = api.consult_in_state("in_session")
    room = api.base_url.replace("http", "ws", 1) + f"/api/v1/rooms/{cid}/signal"

    async def refused(first: str | None) -> int:
        async with connect(room) as ws:
            if first is not None:
                await ws.send(first)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None
            return closed.value.rcvd.code

    async def scenario() -> None:
        assert await refused(None) == 4401  # nothing within the timeout
        assert await refused(json.dumps({"type": "auth", "token": "nonsense"})) == 4401
        assert await refused(json.dumps({"type": "offer", "payload": {}})) == 4401
        assert await refused("not json") == 4401
        async with connect(room) as ws:
            await ws.send(json.dumps({"type": "auth", "token": api.token("dr.chen")}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "welcome"

    asyncio.run(scenario())


def test_server_files_are_private(tmp_path: Path, umask_022: None) -> None:
    folder = tmp_path / "data"
    with EmbeddedServer(f"sqlite:///{folder / 'db.sqlite3'}", seed_demo=True) as server:
        assert httpx.post(
            f"{server.base_url}/api/v1/auth/login", json={"username": "dr.chen", "password": "demo"}
        ).is_success
        assert _mode(folder) == 0o700
        for path in folder.iterdir():
            assert _mode(path) == 0o600, path
        assert (folder / "db.sqlite3.key").exists()


def test_embedded_backend_files_are_private(tmp_path: Path, umask_022: None) -> None:
    backend = EmbeddedBackend(tmp_path / "workstation" / "backend")
    backend.launch()
    try:
        asyncio.run(backend.wait_ready(60))
        assert httpx.get(f"{backend.base_url}/api/v1/health").is_success
    finally:
        backend.stop()
    assert _mode(backend.data_dir) == 0o700
    for path in (backend.log_file, backend.key_file, backend.data_dir / "backend.sqlite3"):
        assert _mode(path) == 0o600, path


def test_key_file_outside_the_database_and_migrated_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    db = Database(url)
    prepare(db)  # an older version's database: its secret is in the settings table
    with db.transaction(readonly=True) as session:
        row = session.get(Setting, SECRET_KEY)
        assert row is not None
        old_secret = row.value
    db.dispose()
    key_file = tmp_path / "keys" / "jwt.key"
    for _ in range(2):  # the second start reads the key file; the database holds no copy
        server = EmbeddedServer(settings=ServerSettings(database_url=url, key_file=str(key_file)))
        server.start()
        try:
            with server.database.transaction(readonly=True) as session:
                assert session.get(Setting, SECRET_KEY) is None
            assert key_file.read_text().strip() == old_secret
            assert _mode(key_file) == 0o600 and _mode(key_file.parent) == 0o700
            assert old_secret not in repr(server.settings)
        finally:
            server.stop()


def test_tokens_are_signed_with_the_key_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    with EmbeddedServer(url, seed_demo=True) as server:
        body = httpx.post(
            f"{server.base_url}/api/v1/auth/login", json={"username": "dr.chen", "password": "demo"}
        ).json()
    secret = (tmp_path / "db.sqlite3.key").read_text().strip()
    claims = jwt.decode(body["access_token"], secret, algorithms=["HS256"])
    assert claims["typ"] == "access"


def test_cli_init_writes_the_key_file(tmp_path: Path, umask_022: None) -> None:
    key_file = tmp_path / "srv" / "jwt.key"
    done = subprocess.run(
        [sys.executable, "-m", "backend", "init", "--database-url", f"sqlite:///{tmp_path / 'db.sqlite3'}",
         "--jwt-key-file", str(key_file)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert str(key_file) in done.stdout
    assert _mode(key_file) == 0o600 and len(key_file.read_text().strip()) == 64
    assert _mode(tmp_path / "db.sqlite3") == 0o600

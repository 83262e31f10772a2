"""Running the app with uvicorn: in the foreground (CLI) or in a background thread (demo, tests)."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import os
import re
import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from backend import audit
from backend.app import create_app
from backend.config import SECRET_ENV, ServerSettings, resolve_database_url, resolve_key_file, sqlite_path
from backend.db import Database
from backend.migrate import SECRET_KEY, prepare
from backend.models import Setting
from backend.security import read_or_create_key_file

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"(?i)(token|access_token|refresh_token|authorization)=[^&\s\"']*")


def redact(text: str) -> str:
    """A URL or line without its query string's secrets: `token=...` becomes `token=[redacted]`."""
    return _TOKEN.sub(lambda m: f"{m.group(1)}=[redacted]", text)


class RedactFilter(logging.Filter):
    """On uvicorn's loggers: a logged path loses its query string, a `token=` anywhere is redacted.

    uvicorn logs each request's path with its query (access log, and "WebSocket /path?query" on
    uvicorn.error); the room socket's old clients put the access token there."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_strip(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _strip(value) for key, value in record.args.items()}
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def _strip(arg: object) -> object:
    if isinstance(arg, str):
        if arg.startswith("/") and "?" in arg:
            return arg.split("?", 1)[0]
        return redact(arg)
    return arg


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration with RedactFilter on its loggers."""
    config: dict[str, Any] = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config.setdefault("filters", {})["redact"] = {"()": "backend.server.RedactFilter"}
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        config["loggers"].setdefault(name, {})["filters"] = ["redact"]
    return config


def private_sqlite(database_url: str) -> None:
    """A SQLite database file is created 0600 (its -wal and -shm files take its mode), or made 0600."""
    path = sqlite_path(database_url)
    if path is None:
        return
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    if path.exists():
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
    else:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))  # SQLite takes an empty file as new
    for suffix in ("-wal", "-shm", "-journal"):
        side = path.with_name(path.name + suffix)
        if side.exists() and side.stat().st_mode & 0o077:
            os.chmod(side, 0o600)


def resolve_secret(settings: ServerSettings, database: Database) -> str:
    """The JWT secret: settings, TELECONSULT_SECRET, else the key file. A key file that is missing is
    created, holding the secret an older version kept in the database (so its tokens stay valid);
    the database's copy is then removed: the key file is the only one."""
    if settings.secret:
        return settings.secret
    if os.environ.get(SECRET_ENV):
        return os.environ[SECRET_ENV]
    path = resolve_key_file(settings.database_url, settings.key_file)
    with database.transaction() as session:
        row = session.get(Setting, SECRET_KEY)
        stored = row.value if row is not None else None
        migrated = not path.exists() and stored is not None
        secret = read_or_create_key_file(path, stored)
        if row is not None:
            session.delete(row)
    if migrated:
        log.info("moved the JWT secret from the database into the key file %s", path)
    return secret


def prepare_with_secret(settings: ServerSettings, database: Database) -> ServerSettings:
    """Migrate, then the settings with the secret filled in from the key file."""
    private_sqlite(settings.database_url)
    prepare(database)
    private_sqlite(settings.database_url)
    return dataclasses.replace(settings, secret=resolve_secret(settings, database))


def _uvicorn_config(
    settings: ServerSettings,
    host: str,
    port: int,
    database: Database,
    certfile: str | None,
    keyfile: str | None,
    log_level: str,
) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(settings, database=database),
        host=host,
        port=port,
        log_level=log_level,
        access_log=True,  # without query strings: RedactFilter
        log_config=log_config(),
        ws="websockets-sansio",
        # A frame over the room's message limit is refused by the protocol layer (close 1009).
        ws_max_size=settings.max_signal_message_bytes,
        lifespan="off",
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        timeout_graceful_shutdown=3,
        # X-Forwarded-For is resolved by backend.deps.client_address, from trusted_proxies only.
        proxy_headers=False,
    )


def _bound_port(server: uvicorn.Server) -> int:
    for srv in server.servers:
        for sock in srv.sockets:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                return int(sock.getsockname()[1])
    raise RuntimeError("server has no listening socket")


class _PortFileServer(uvicorn.Server):
    """Writes the bound port to a file once listening, so a parent process can find it."""

    def __init__(self, config: uvicorn.Config, port_file: Path | None) -> None:
        super().__init__(config)
        self.port_file = port_file

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.port_file is not None:
            tmp = self.port_file.with_name(self.port_file.name + ".tmp")
            tmp.write_text(f"{_bound_port(self)}\n", encoding="utf-8")
            os.replace(tmp, self.port_file)


def serve(
    settings: ServerSettings,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    certfile: str | None = None,
    keyfile: str | None = None,
    port_file: Path | None = None,
    seed_demo: bool = False,
    log_level: str = "info",
) -> None:
    """Migrate, optionally seed the demo, then serve until interrupted (blocking)."""
    private_sqlite(settings.database_url)
    database = Database(settings.database_url)
    try:
        settings = prepare_with_secret(settings, database)
        if seed_demo:
            from backend.demo import seed_demo as _seed

            _seed(database)
        config = _uvicorn_config(settings, host, port, database, certfile, keyfile, log_level)
        # uvicorn shuts down gracefully, then re-raises the signal it caught: Ctrl+C ends here.
        with contextlib.suppress(KeyboardInterrupt):
            _PortFileServer(config, port_file).run()
    finally:
        audit.shutdown_checkpoint(database)
        database.dispose()


class EmbeddedServer:
    """The real server on a loopback port in a background thread.

    >>> with EmbeddedServer("sqlite:///tmp/x.sqlite3", seed_demo=True) as server:
    ...     httpx.get(server.base_url + "/api/v1/health")
    """

    def __init__(
        self,
        database_url: str | None = None,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        settings: ServerSettings | None = None,
        seed_demo: bool = False,
        certfile: str | None = None,
        keyfile: str | None = None,
        log_level: str = "warning",
    ) -> None:
        if settings is None:
            settings = ServerSettings(database_url=resolve_database_url(database_url))
        elif database_url is not None and database_url != settings.database_url:
            raise ValueError("database_url and settings.database_url differ")
        self.settings = settings
        self.host, self.port = host, port
        self.seed_demo = seed_demo
        self.certfile, self.keyfile, self.log_level = certfile, keyfile, log_level
        self.base_url: str | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._database: Database | None = None

    @property
    def database(self) -> Database:
        if self._database is None:
            raise RuntimeError("server not started")
        return self._database

    def start(self, timeout: float = 30.0) -> str:
        """Start and return the base URL (e.g. "http://127.0.0.1:54321"). Starting twice is harmless."""
        if self.base_url is not None:
            return self.base_url
        private_sqlite(self.settings.database_url)
        self._database = Database(self.settings.database_url)
        # The settings with the secret resolved (tests read `server.settings.secret`; repr hides it).
        settings = self.settings = prepare_with_secret(self.settings, self._database)
        if self.seed_demo:
            from backend.demo import seed_demo as _seed

            _seed(self._database)
        config = _uvicorn_config(
            settings, self.host, self.port, self._database, self.certfile, self.keyfile, self.log_level
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(target=server.run, name="teleconsult-backend", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("embedded backend failed to start")
            time.sleep(0.01)
        self.port = _bound_port(server)
        scheme = "https" if self.certfile else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.base_url = f"{scheme}://{host}:{self.port}"
        return self.base_url

    def stop(self, timeout: float = 10.0) -> None:
        """Stop and release the database. Stopping twice, or before start, is harmless."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(timeout)
        if self._database is not None:
            audit.shutdown_checkpoint(self._database)
            self._database.dispose()
        self._server = self._thread = self._database = None
        self.base_url = None

    def __enter__(self) -> EmbeddedServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

"""Running the app with uvicorn: in the foreground (CLI) or in a background thread (demo, tests)."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn

from backend.app import create_app
from backend.config import ServerSettings, resolve_database_url
from backend.db import Database
from backend.migrate import prepare


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
        access_log=False,  # the signalling URL carries the access token
        ws="websockets-sansio",
        lifespan="off",
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        timeout_graceful_shutdown=3,
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
    database = Database(settings.database_url)
    try:
        prepare(database)
        if seed_demo:
            from backend.demo import seed_demo as _seed

            _seed(database)
        config = _uvicorn_config(settings, host, port, database, certfile, keyfile, log_level)
        # uvicorn shuts down gracefully, then re-raises the signal it caught: Ctrl+C ends here.
        with contextlib.suppress(KeyboardInterrupt):
            _PortFileServer(config, port_file).run()
    finally:
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
        self._database = Database(self.settings.database_url)
        prepare(self._database)
        if self.seed_demo:
            from backend.demo import seed_demo as _seed

            _seed(self._database)
        config = _uvicorn_config(
            self.settings, self.host, self.port, self._database, self.certfile, self.keyfile, self.log_level
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

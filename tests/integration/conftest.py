"""Real servers for the tests: a PostgreSQL 15 started here, SQLite files, EmbeddedServer, Janus.

Every backend test takes `database_url`, parametrised over SQLite and PostgreSQL; each test gets a
fresh database copied from a template that already has the migrations and the demo users.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.config import ServerSettings
from backend.db import Database
from backend.demo import seed_demo
from backend.migrate import prepare
from backend.server import EmbeddedServer
from tests.helpers import free_port
from tests.integration.janus_env import Janus, JanusMissingError

PG_BIN = Path(os.environ.get("TELECONSULT_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_TEMPLATE = "tc_template"


def _as_postgres(cmd: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class PostgresServer:
    def __init__(self) -> None:
        for tool in ("initdb", "pg_ctl"):
            if not (PG_BIN / tool).exists():
                pytest.fail(
                    f"PostgreSQL 15 not found ({PG_BIN / tool} is missing). The backend tests run against a "
                    "real PostgreSQL: `make test` installs it (scripts/system-deps.sh), "
                    "or set TELECONSULT_PG_BIN.",
                    pytrace=False,
                )
        self.root = Path(tempfile.mkdtemp(prefix="tc-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self.data = self.root / "data"
        self.port = free_port()
        self.started = False

    def _run(self, cmd: list[str]) -> None:
        done = subprocess.run(_as_postgres(cmd), capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            log = self.root / "postgres.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{cmd[0]} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n{tail}")

    def start(self) -> None:
        self._run(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--locale=C",
            ]
        )
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        self._run(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.root / "postgres.log"),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
            ]
        )
        self.started = True

    def stop(self) -> None:
        if self.started:
            with contextlib.suppress(Exception):
                self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"])
            self.started = False
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(sql)  # type: ignore[arg-type]


def _prepare_template(url: str) -> None:
    db = Database(url)
    try:
        prepare(db)
        seed_demo(db, with_consult=False)
    finally:
        db.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()
        server.admin(f"CREATE DATABASE {PG_TEMPLATE}")
        _prepare_template(server.url(PG_TEMPLATE))
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    _prepare_template(f"sqlite:///{path}")  # disposing checkpoints the WAL into the file
    return path


_db_counter = itertools.count()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database with the demo users (dr.chen, dr.wang, dr.li, student.zhao, it.admin)."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "backend.sqlite3"
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
        return
    pg: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"tc_test_{os.getpid()}_{next(_db_counter)}"
    pg.admin(f"CREATE DATABASE {name} TEMPLATE {PG_TEMPLATE}")
    try:
        yield pg.url(name)
    finally:
        pg.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class Api:
    """A small client for one running server: signs in the demo users once and keeps their tokens."""

    def __init__(self, server: EmbeddedServer) -> None:
        assert server.base_url is not None
        self.server = server
        self.base_url = server.base_url
        self.api = server.base_url + "/api/v1"
        self.http = httpx.Client(base_url=self.api, timeout=30)
        self.sessions: dict[str, dict[str, Any]] = {}

    def login(self, username: str, password: str = "demo") -> dict[str, Any]:
        response = self.http.post("/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        self.sessions[username] = body
        return body

    def token(self, username: str) -> str:
        if username not in self.sessions:
            self.login(username)
        return str(self.sessions[username]["access_token"])

    def headers(self, username: str | None) -> dict[str, str]:
        return {} if username is None else {"Authorization": f"Bearer {self.token(username)}"}

    def call(self, method: str, path: str, as_: str | None, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path, headers=self.headers(as_), **kwargs)

    def ok(self, method: str, path: str, as_: str | None, expect: int = 200, **kwargs: Any) -> Any:
        response = self.call(method, path, as_, **kwargs)
        assert response.status_code == expect, (
            f"{method} {path} as {as_}: {response.status_code} {response.text}"
        )
        return response.json() if response.content else None

    def add_user(
        self,
        username: str,
        role: str,
        display_name: str,
        specialties: tuple[str, ...] = (),
        password: str = "quiet-lantern-58",
    ) -> None:
        """IT creates an account (and the new user signs in once, so ``token`` works)."""
        body = {"username": username, "password": password, "display_name": display_name, "role": role,
                "specialties": list(specialties)}  # fmt: skip
        self.ok("POST", "/users", "it.admin", 201, json=body)
        self.login(username, password)

    def new_consult(self, specialty: str = "radiology", **overrides: Any) -> dict[str, Any]:
        body = {
            "patient": {"patient_id": "P-1", "name": "Test Patient", "sex": "F", "birth_date": "1970-01-02"},
            "question": "Please review.",
            "urgency": "routine",
            "specialty": specialty,
            "study": None,
            **overrides,
        }
        result: dict[str, Any] = self.ok("POST", "/consults", "dr.li", 201, json=body)
        return result

    def consult_in_state(self, state: str, specialty: str = "radiology") -> int:
        consult_id = int(self.new_consult(specialty)["id"])
        if state in ("accepted", "in_session", "closed"):
            self.ok("POST", f"/consults/{consult_id}/accept", "dr.chen")
        if state in ("in_session", "closed"):
            self.ok("POST", f"/consults/{consult_id}/start", "dr.li")
        if state == "closed":
            self.close_consult(consult_id)
        return consult_id

    def close_consult(
        self, consult_id: int, outcome: str = "done", no_report_reason: str | None = "no report: test consult"
    ) -> dict[str, Any]:
        """The accepting specialist (dr.chen) closes; without a final report closing needs a reason."""
        body = {"outcome": outcome} | ({"no_report_reason": no_report_reason} if no_report_reason else {})
        result: dict[str, Any] = self.ok("POST", f"/consults/{consult_id}/close", "dr.chen", json=body)
        return result

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def make_server(database_url: str) -> Iterator[Callable[..., Api]]:
    """Start EmbeddedServer(s) on the test's database; keyword arguments override ServerSettings."""
    started: list[tuple[EmbeddedServer, Api]] = []

    def make(**overrides: Any) -> Api:
        server = EmbeddedServer(settings=ServerSettings(database_url=database_url, **overrides))
        server.start()
        api = Api(server)
        started.append((server, api))
        return api

    yield make
    for server, api in started:
        api.close()
        server.stop()


@pytest.fixture
def api(make_server: Callable[..., Api]) -> Api:
    return make_server()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where a test writes its screenshots: its own temporary folder, or $TELECONSULT_SHOTS (as in
    tests/gui/conftest.py)."""
    folder = Path(os.environ.get("TELECONSULT_SHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def janus() -> Iterator[Janus]:
    try:
        server = Janus()
    except JanusMissingError as error:
        pytest.fail(str(error), pytrace=False)
    with server:
        yield server


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()

"""GET /api/v1/health queries the database: PostgreSQL stopped gives 503 naming it (and `teleconsult
doctor` fails), PostgreSQL started again gives 200 (the pool recovers). A PostgreSQL of this module's
own, since the session's shared one must stay up for every other test."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from app.doctor import Verdict, check_backend
from backend.app import DependencyProbe
from backend.config import ServerSettings
from backend.server import EmbeddedServer
from tests.integration.conftest import PG_BIN, PostgresServer, _prepare_template

pytestmark = pytest.mark.postgres


class StoppablePostgres(PostgresServer):
    """The conftest's server, stopped and started again on the same data folder and port."""

    def halt(self) -> None:
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def resume(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.root / "postgres.log")
        pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", log, "-w", "-t", "60"]
        self._run([*pg_ctl, "-o", options, "start"])


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[StoppablePostgres]:
    server = StoppablePostgres()
    try:
        server.start()
        server.admin("CREATE DATABASE tc_health")
        _prepare_template(server.url("tc_health"))
        yield server
    finally:
        server.stop()


@pytest.fixture
def backend(own_postgres: StoppablePostgres) -> Iterator[EmbeddedServer]:
    server = EmbeddedServer(settings=ServerSettings(database_url=own_postgres.url("tc_health")))
    server.start()
    try:
        yield server
    finally:
        if not own_postgres.started:
            own_postgres.resume()
            own_postgres.started = True
        server.stop()


def _poll(url: str, status: int, within: float) -> tuple[httpx.Response, float]:
    """GET until the answer has `status`; the last answer and how long it took."""
    start = time.monotonic()
    while True:
        response = httpx.get(url, timeout=10)
        elapsed = time.monotonic() - start
        if response.status_code == status or elapsed > within:
            return response, elapsed
        time.sleep(0.1)


def test_health_follows_postgresql_down_and_up(
    own_postgres: StoppablePostgres, backend: EmbeddedServer
) -> None:
    health = f"{backend.base_url}/api/v1/health"
    up = httpx.get(health, timeout=10)
    assert up.status_code == 200, up.text
    assert up.json()["status"] == "ok" and up.json()["database"] == "postgresql"

    own_postgres.halt()
    own_postgres.started = False
    down, took = _poll(health, 503, within=8.0)
    assert down.status_code == 503, down.text
    assert took < 5.0
    body = down.json()
    assert body["status"] == "unavailable" and body["database"] == "postgresql"
    assert set(body["failed"]) == {"database"}
    # nothing about where the database is or how to reach it
    for secret in (str(own_postgres.port), "127.0.0.1", "postgres@", "tc_health", "psycopg"):
        assert secret not in down.text
    # unauthenticated, and every poll answers quickly while the database stays down
    started = time.monotonic()
    assert [httpx.get(health, timeout=10).status_code for _ in range(5)] == [503] * 5
    assert time.monotonic() - started < 5.0

    doctor = {r.name: r for r in check_backend(backend.base_url or "", timeout=10)}
    assert doctor["Backend"].verdict is Verdict.FAIL and doctor["Backend"].blocking
    assert "unhealthy" in doctor["Backend"].detail and "database" in doctor["Backend"].detail
    assert "PostgreSQL" in doctor["Backend"].action

    own_postgres.resume()
    own_postgres.started = True
    again, _ = _poll(health, 200, within=10.0)
    assert again.status_code == 200, again.text  # the pool replaced its dead connections
    assert again.json()["status"] == "ok"
    doctor = {r.name: r for r in check_backend(backend.base_url or "", timeout=10)}
    assert doctor["Backend"].verdict is Verdict.OK, doctor["Backend"]
    # and the rest of the API works again on the recovered pool
    login = httpx.post(
        f"{backend.base_url}/api/v1/auth/login", json={"username": "dr.chen", "password": "demo"}
    )
    assert login.status_code == 200, login.text


def test_a_hung_dependency_times_out_on_one_thread() -> None:
    release = threading.Event()
    calls: list[float] = []

    def hang() -> None:
        calls.append(time.monotonic())
        release.wait(10)

    probe = DependencyProbe("database", hang, timeout_s=0.3, cache_s=0.0)

    async def polls() -> list[str | None]:
        return list(await asyncio.gather(*(probe.failure() for _ in range(20))))

    started = time.monotonic()
    try:
        reasons = asyncio.run(polls())
        assert time.monotonic() - started < 2.0
        assert reasons == ["no answer within 0.3 s"] * 20
        assert asyncio.run(probe.failure()) == "no answer within 0.3 s"
        assert len(calls) == 1  # the polls waited on the one check in flight; none started another
    finally:
        release.set()
    deadline = time.monotonic() + 5
    while asyncio.run(probe.failure()) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert asyncio.run(probe.failure()) is None  # once it answers, healthy again


def test_a_failing_check_is_cached_briefly_and_never_raises() -> None:
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise RuntimeError("connection to postgresql://user:pw@db:5432/x failed")

    probe = DependencyProbe("database", broken, timeout_s=1.0, cache_s=30.0)
    assert asyncio.run(probe.failure()) == "not reachable"  # the exception's text stays in the log
    assert asyncio.run(probe.failure()) == "not reachable"
    assert len(calls) == 1

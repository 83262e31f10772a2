"""Bounds on what a client may send before and after sign-in: body sizes (413 before the body is read),
JSON depth and Unicode (400, no traceback), the WebSocket frame size, and the OpenAPI statuses."""

from __future__ import annotations

import asyncio
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from backend.server import EmbeddedServer
from tests.integration.conftest import Api

BODY_BYTES = 200 * 1024 * 1024
CHUNK = b"x" * (1024 * 1024)
RSS_LIMIT_KB = 200 * 1024


def _rss_peak_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.fixture
def child_server(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """`teleconsult-server serve` as a child process: (pid, port)."""
    port_file = tmp_path / "port"
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend", "serve", "--port", "0", "--port-file", str(port_file),
         "--database-url", f"sqlite:///{tmp_path / 'db.sqlite3'}", "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip().isdigit()):
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        yield proc.pid, int(port_file.read_text())
    finally:
        proc.terminate()
        proc.wait(10)


def _oversized(port: int, chunked: bool) -> int:
    """POST a 200 MB body to /auth/login; the status the server answers (0: none)."""
    headers = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {BODY_BYTES}"
    head = (
        f"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{headers}\r\n\r\n"
    )
    frame = f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n" if chunked else CHUNK
    reply = b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode())
        sent = 0
        try:
            while sent < BODY_BYTES:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break
                sock.sendall(frame)
                sent += len(CHUNK)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            while b"\r\n" not in reply:
                data = sock.recv(4096)
                if not data:
                    break
                reply += data
        except (ConnectionResetError, TimeoutError):
            pass
    return int(reply.split()[1]) if reply.startswith(b"HTTP/1.1 ") else 0


def test_oversized_bodies_get_413_without_the_server_growing(child_server: tuple[int, int]) -> None:
    pid, port = child_server
    assert httpx.get(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200
    statuses: list[int] = []
    threads = [
        threading.Thread(target=lambda c=chunked: statuses.append(_oversized(port, c)))
        for chunked in [False, True] * 10
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    peak = _rss_peak_kb(pid)
    assert peak < RSS_LIMIT_KB, f"server RSS peaked at {peak // 1024} MB"
    assert statuses.count(413) >= 18, statuses  # a reset may eat a reply; never a 200 or a 500
    assert set(statuses) <= {413, 0}, statuses
    assert httpx.get(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200


def test_body_limits_are_per_route(server: EmbeddedServer) -> None:
    base = f"{server.base_url}/api/v1"
    big = json.dumps({"username": "x" * 20_000, "password": "y"})
    refused = httpx.post(f"{base}/auth/login", content=big, headers={"Content-Type": "application/json"})
    assert refused.status_code == 413 and "larger than" in refused.json()["detail"]
    # A photo may be megabytes: its route's limit is larger (the route itself still checks the type).
    photo = httpx.post(f"{base}/consults/1/photos", content=b"\x89PNG" + b"0" * 2_000_000)
    assert photo.status_code == 401


def test_lone_surrogate_and_bad_utf8_are_400(server: EmbeddedServer) -> None:
    base = f"{server.base_url}/api/v1"
    for body in (b'{"username": "\\ud800", "password": "x"}', b'{"username": "\xff\xfe", "password": "x"}'):
        response = httpx.post(
            f"{base}/auth/login", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, response.text
        assert "Traceback" not in response.text


def test_deep_json_is_400(server: EmbeddedServer) -> None:
    base = f"{server.base_url}/api/v1"
    for path, depth in (("/auth/login", 100), ("/auth/login", 5000), ("/consults", 100_000)):
        body = "[" * depth + "]" * depth
        response = httpx.post(f"{base}{path}", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, response.text
        assert "nested deeper" in response.json()["detail"]


def test_room_frames_over_the_limit_and_deep_json(api: Api) -> None:
    cid = api.consult_in_state("in_session")
    url = api.base_url.replace("http", "ws", 1) + f"/api/v1/rooms/{cid}/signal"
    token = api.token("dr.chen")

    async def scenario() -> None:
        async with connect(url, max_size=None) as ws:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "welcome"
            await ws.send("[" * 200_000)  # under the size limit, far over any parser's depth
            code = None
            try:  # an error reply, or a policy close: never a crash
                error = json.loads(await asyncio.wait_for(ws.recv(), 5))
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd is not None else None
                error = {}
            assert code == 1008 or (error["type"] == "error" and "nested" in error["message"])
        async with connect(url, max_size=None) as ws:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "welcome"
            await ws.send("x" * (300 * 1024))  # over the protocol's 256 KiB
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009

    asyncio.run(scenario())


def test_openapi_lists_every_status(server: EmbeddedServer) -> None:
    schema = httpx.get(f"{server.base_url}/api/v1/openapi.json").json()
    paths = schema["paths"]

    def codes(path: str, method: str) -> set[str]:
        return set(paths[f"/api/v1{path}"][method]["responses"])

    assert {"400", "413", "422", "429"} <= codes("/auth/login", "post")
    assert {"401", "403", "404", "422"} <= codes("/consults/{consult_id}", "get")
    assert {"401", "403", "404", "413", "415"} <= codes("/consults/{consult_id}/photos", "post")
    assert {"401"} <= codes("/me", "get")
    assert "404" not in codes("/me", "get") and "403" not in codes("/auth/login", "post")

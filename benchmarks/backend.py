"""Backend throughput and signalling latency on loopback, against the real server (EmbeddedServer).

Measures: WebSocket relay latency p50/p99 with 200 concurrent clients (100 rooms x 2 members, each
sending timestamped messages to its peer every 50 ms) and the relay's throughput (the same clients
sending as fast as they can), against the peer in the same run: a bare `websockets` relay on the same
machine (BareRelay: forwards each message unparsed to the room's other member; no auth, admission or
validation) carrying the same messages between the same number of clients. Product and bare relay
alternate, several rounds (2 with --quick), medians; the *_ratio_vs_bare_ws_relay figures are ours over
the floor (throughput: the bare relay's messages/s over ours, so above 1 is our overhead everywhere).
Then requests/s for sign-in (Argon2 by design: slow) and for
GET /api/v1/consults (the worklist), with concurrent httpx.AsyncClient requests. Then the peak memory
(VmHWM) of a `teleconsult-server serve` child process while 20 clients at once send it oversized bodies
(200 MB each, 50 MB with --quick; half with Content-Length, half chunked) on sign-in: the goal is under
200 MB, since each is refused with 413 before its body is read.

    python benchmarks/backend.py --quick            # under 45 s on 2 cores
    python benchmarks/backend.py --database-url postgresql+psycopg://...

The server runs in this process (a thread) and shares the interpreter with the clients, so the figures
are a floor for what a dedicated server process delivers. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.config import ServerSettings
from backend.demo import seed_demo
from backend.models import Consult
from backend.server import EmbeddedServer
from benchmarks._common import report

PEER = "bare websockets relay, same machine, same messages (relay); 200 MB goal (oversized bodies)"

# A valid trickled candidate (the room checks the line's shape); the send time rides in usernameFragment,
# the one free-form field a candidate may carry.
CANDIDATE = "candidate:842163049 1 udp 1677729535 192.0.2.7 54321 typ srflx raddr 0.0.0.0 rport 0"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _make_rooms(server: EmbeddedServer, rooms: int, requester: int, specialist: int) -> list[int]:
    now = datetime.now(UTC)
    with server.database.transaction() as session:
        consults = [
            Consult(
                state="accepted",
                patient_id=f"BENCH-{i}",
                patient_name=f"Bench {i}",
                patient_sex="U",
                question="benchmark",
                urgency="routine",
                specialty="cardiology",
                requested_by_id=requester,
                accepted_by_id=specialist,
                created_at=now,
                accepted_at=now,
            )
            for i in range(rooms)
        ]
        session.add_all(consults)
        session.flush()
        return [c.id for c in consults]


async def _login(client: httpx.AsyncClient, username: str) -> str:
    response = await client.post("/auth/login", json={"username": username, "password": "demo"})
    response.raise_for_status()
    return str(response.json()["access_token"])


Joined = tuple[ClientConnection, str]  # a connection and the member id its peer addresses


async def _product_pairs(
    ws_base: str, room_ids: list[int], tokens: tuple[str, str]
) -> list[tuple[Joined, Joined]]:
    """Two members in each product room (auth message, welcome, the presence "join" of the second)."""

    async def join(room: int, token: str) -> Joined:
        ws = await connect(f"{ws_base}/api/v1/rooms/{room}/signal", max_size=2**20)
        await ws.send(json.dumps({"type": "auth", "token": token}))  # the token never goes in the URL
        welcome = json.loads(await ws.recv())
        return ws, welcome["member_id"]

    pairs: list[tuple[Joined, Joined]] = []
    # Join in modest batches: admission is a database transaction (and an audit record).
    for start in range(0, len(room_ids), 20):
        batch = room_ids[start : start + 20]
        firsts = await asyncio.gather(*(join(r, tokens[0]) for r in batch))
        seconds = await asyncio.gather(*(join(r, tokens[1]) for r in batch))
        pairs.extend(zip(firsts, seconds, strict=True))
    for (a, _), _second in pairs:
        json.loads(await a.recv())  # the presence "join" of the second member
    return pairs


async def _bare_pairs(ws_base: str, rooms: int) -> list[tuple[Joined, Joined]]:
    """Two clients per room of the bare relay (no auth, no admission: the floor)."""

    async def join(room: int, member: str) -> Joined:
        return await connect(f"{ws_base}/room/{room}", max_size=2**20), member

    pairs: list[tuple[Joined, Joined]] = []
    for start in range(0, rooms, 20):
        batch = range(start, min(rooms, start + 20))
        firsts = await asyncio.gather(*(join(r, "a") for r in batch))
        seconds = await asyncio.gather(*(join(r, "b") for r in batch))
        pairs.extend(zip(firsts, seconds, strict=True))
    return pairs


async def _relay(
    pairs: list[tuple[Joined, Joined]], messages: int, interval: float
) -> tuple[list[float], float]:
    """Each client sends ``messages`` candidates to its peer, ``interval`` apart (0: as fast as it can);
    the latencies (ms) and the delivered messages per second over the whole exchange."""
    latencies: list[float] = []

    async def receive(ws: ClientConnection, expected: int) -> None:
        for _ in range(expected):
            message = json.loads(await ws.recv())
            sent = int(message["payload"]["usernameFragment"])
            latencies.append((time.perf_counter_ns() - sent) / 1e6)

    async def send(ws: ClientConnection, peer: str) -> None:
        for seq in range(messages):
            body = {
                "v": 1,
                "type": "candidate",
                "to": peer,
                "payload": {
                    "candidate": CANDIDATE,
                    "sdpMid": "0",
                    "sdpMLineIndex": seq % 2,
                    "usernameFragment": str(time.perf_counter_ns()),
                },  # the send time, in ns
            }
            await ws.send(json.dumps(body))
            if interval:
                await asyncio.sleep(interval)

    tasks = []
    for (a, a_id), (b, b_id) in pairs:
        tasks += [receive(a, messages), receive(b, messages), send(a, b_id), send(b, a_id)]
    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=120)
    return latencies, len(latencies) / (time.perf_counter() - started)


async def _close(pairs: list[tuple[Joined, Joined]]) -> None:
    await asyncio.gather(*(ws.close() for pair in pairs for ws, _ in pair))


class BareRelay:
    """The peer: a bare `websockets` relay in its own thread (as EmbeddedServer runs in its own), which
    forwards every text message of a room's member, unparsed, to the room's other members. No auth,
    no admission, no validation, no audit: the floor under any signalling relay on this machine."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.rooms: dict[str, set[Any]] = {}
        self.port = 0
        self._ready = threading.Event()
        self._stop: asyncio.Future[None] | None = None
        self._thread = threading.Thread(target=self._main, name="bare-relay", daemon=True)

    async def _handler(self, ws: Any) -> None:
        members = self.rooms.setdefault(ws.request.path, set())
        members.add(ws)
        try:
            async for message in ws:
                for other in list(members):
                    if other is not ws:
                        await other.send(message)
        finally:
            members.discard(ws)

    async def _serve(self) -> None:
        from websockets.asyncio.server import serve

        self._stop = self.loop.create_future()
        async with serve(self._handler, "127.0.0.1", 0, max_size=2**20) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stop

    def _main(self) -> None:
        self.loop.run_until_complete(self._serve())

    def start(self) -> str:
        self._thread.start()
        self._ready.wait(10)
        return f"ws://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set_result, None)
        self._thread.join(10)


async def _rate(client: httpx.AsyncClient, total: int, concurrency: int, request: object) -> float:
    assert callable(request)
    remaining = list(range(total))

    async def worker() -> None:
        while remaining:
            remaining.pop()
            response = await request(client)
            response.raise_for_status()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return total / (time.perf_counter() - start)


async def _run(
    base_url: str, bare_url: str, room_sets: list[list[int]], args: argparse.Namespace
) -> dict[str, float]:
    async with httpx.AsyncClient(
        base_url=base_url + "/api/v1", timeout=60, limits=httpx.Limits(max_connections=64)
    ) as client:
        county, specialist = await asyncio.gather(_login(client, "dr.li"), _login(client, "dr.wang"))
        ws_base = base_url.replace("http", "ws", 1)
        runs: dict[str, list[dict[str, float]]] = {"product": [], "bare": []}
        for rooms in room_sets:  # alternate, so drift on a shared machine hits both alike
            for name in ("product", "bare"):
                if name == "product":
                    pairs = await _product_pairs(ws_base, rooms, (county, specialist))
                else:
                    pairs = await _bare_pairs(bare_url, len(rooms))
                latencies, _ = await _relay(pairs, args.messages, args.interval)
                _, burst_rate = await _relay(pairs, args.burst, 0.0)
                await _close(pairs)
                runs[name].append({
                    "p50": _percentile(latencies, 0.50),
                    "p99": _percentile(latencies, 0.99),
                    "msgs_per_s": burst_rate,
                })  # fmt: skip
                print(
                    f"relay ({name}): {len(latencies)} messages between {2 * len(rooms)} clients, "
                    f"p50 {runs[name][-1]['p50']:.2f} ms, p99 {runs[name][-1]['p99']:.2f} ms; "
                    f"burst {burst_rate:.0f} messages/s",
                    flush=True,
                )
        login_rps = await _rate(
            client,
            args.logins,
            args.concurrency,
            lambda c: c.post("/auth/login", json={"username": "dr.chen", "password": "demo"}),
        )
        print(f"login: {login_rps:.1f}/s ({args.logins} sign-ins, Argon2id, {args.concurrency} concurrent)")
        headers = {"Authorization": f"Bearer {specialist}"}
        worklist_rps = await _rate(
            client, args.worklists, args.concurrency, lambda c: c.get("/consults", headers=headers)
        )
        print(
            f"worklist: {worklist_rps:.1f}/s ({args.worklists} GET /consults of "
            f"{len(room_sets[0])} items, {args.concurrency} concurrent)"
        )

    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[name])

    figures = {
        "relay_p50_ms": med("product", "p50"),
        "relay_p99_ms": med("product", "p99"),
        "relay_msgs_per_s": med("product", "msgs_per_s"),
        "bare_relay_p50_ms": med("bare", "p50"),
        "bare_relay_p99_ms": med("bare", "p99"),
        "bare_relay_msgs_per_s": med("bare", "msgs_per_s"),
    }
    figures["relay_p50_ratio_vs_bare_ws_relay"] = figures["relay_p50_ms"] / figures["bare_relay_p50_ms"]
    figures["relay_p99_ratio_vs_bare_ws_relay"] = figures["relay_p99_ms"] / figures["bare_relay_p99_ms"]
    # throughput the other way up, so that every ratio reads "ours / peer, above 1 = costlier"
    figures["relay_throughput_ratio_vs_bare_ws_relay"] = (
        figures["bare_relay_msgs_per_s"] / figures["relay_msgs_per_s"]
    )
    print(
        f"relay vs bare websockets relay (medians of {len(room_sets)} rounds): p50 x"
        f"{figures['relay_p50_ratio_vs_bare_ws_relay']:.2f}, "
        f"p99 x{figures['relay_p99_ratio_vs_bare_ws_relay']:.2f}, burst throughput "
        f"{figures['relay_msgs_per_s']:.0f} vs {figures['bare_relay_msgs_per_s']:.0f} messages/s"
    )
    figures["login_rps"] = round(login_rps, 1)
    figures["worklist_rps"] = round(worklist_rps, 1)
    return figures


ROOT = Path(__file__).resolve().parents[1]
RSS_GOAL_MB = 200
OVERSIZED_REQUESTS = 20
_CHUNK = b"x" * (1024 * 1024)


def _peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def _send_oversized(port: int, body_bytes: int, chunked: bool) -> int:
    """POST `body_bytes` to sign-in, stopping once the server answers; its status (0: none came)."""
    length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {body_bytes}"
    head = (
        f"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{length}\r\n\r\n"
    )
    frame = f"{len(_CHUNK):x}\r\n".encode() + _CHUNK + b"\r\n" if chunked else _CHUNK
    reply = b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode())
        try:
            for _ in range(body_bytes // len(_CHUNK)):
                if select.select([sock], [], [], 0)[0]:
                    break  # the server has answered (or closed): the rest would go nowhere
                sock.sendall(frame)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            while b"\r\n" not in reply and (data := sock.recv(4096)):
                reply += data
        except (ConnectionResetError, TimeoutError):
            pass
    return int(reply.split()[1]) if reply.startswith(b"HTTP/1.1 ") else 0


def _oversized(folder: Path, body_mb: int) -> dict[str, float | int]:
    """`teleconsult-server serve` as a child, under OVERSIZED_REQUESTS concurrent bodies: its peak RSS."""
    port_file = folder / "oversized.port"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend", "serve", "--port", "0", "--port-file", str(port_file),
         "--database-url", f"sqlite:///{folder / 'oversized.sqlite3'}", "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip().isdigit()):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server child did not start")
            time.sleep(0.05)
        port = int(port_file.read_text())
        httpx.get(f"http://127.0.0.1:{port}/api/v1/health").raise_for_status()
        idle_mb = _peak_rss_mb(proc.pid)
        statuses: list[int] = []
        threads = [
            threading.Thread(
                target=lambda c=chunked: statuses.append(_send_oversized(port, body_mb << 20, c))
            )
            for chunked in [False, True] * (OVERSIZED_REQUESTS // 2)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        seconds = time.perf_counter() - started
        peak_mb = _peak_rss_mb(proc.pid)
        httpx.get(f"http://127.0.0.1:{port}/api/v1/health").raise_for_status()
    finally:
        proc.terminate()
        proc.wait(10)
    print(
        f"oversized: {OVERSIZED_REQUESTS} x {body_mb} MB bodies in {seconds:.1f} s, {statuses.count(413)} "
        f"refused with 413; server peak RSS {peak_mb:.0f} MB (idle {idle_mb:.0f} MB, goal < {RSS_GOAL_MB} MB)"
    )
    return {
        "oversized_body_mb": body_mb,
        "oversized_requests": OVERSIZED_REQUESTS,
        "oversized_413": statuses.count(413),
        "oversized_idle_rss_mb": round(idle_mb, 1),
        "oversized_peak_rss_mb": round(peak_mb, 1),
        "oversized_rss_goal_mb": RSS_GOAL_MB,
        "oversized_rss_goal_ratio": round(peak_mb / RSS_GOAL_MB, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller run, under 45 s on 2 cores")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--rooms", type=int, default=100)
    args = parser.parse_args()
    args.messages = 20 if args.quick else 100
    args.interval = 0.05
    args.burst = 25 if args.quick else 100
    args.rounds = 2 if args.quick else 3
    args.logins = 30 if args.quick else 200
    args.worklists = 600 if args.quick else 5000
    args.concurrency = 16
    args.oversized_mb = 50 if args.quick else 200

    with tempfile.TemporaryDirectory(prefix="tc-bench-") as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        server = EmbeddedServer(settings=ServerSettings(database_url=url))
        started = time.perf_counter()
        base_url = server.start()
        try:
            users = seed_demo(server.database, with_consult=False)
            # the same rooms each round (members leave at the end of one and join afresh in the next), so
            # the worklist below lists as many consults as before the relay had a peer
            room_ids = _make_rooms(server, args.rooms, users["dr.li"], users["dr.wang"])
            room_sets = [room_ids] * args.rounds
            print(f"server on {base_url} ({server.database.backend}), {args.rooms} rooms a round", flush=True)
            bare = BareRelay()
            bare_url = bare.start()
            try:
                figures: dict[str, float | int | str] = {"peer": PEER}
                figures.update(asyncio.run(_run(base_url, bare_url, room_sets, args)))
            finally:
                bare.stop()
        finally:
            server.stop()
        figures.update(_oversized(Path(folder), args.oversized_mb))
        print(f"total {time.perf_counter() - started:.1f} s")
    report(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Backend throughput and signalling latency on loopback, against the real server (EmbeddedServer).

Measures: WebSocket relay latency p50/p99 with 200 concurrent clients (100 rooms x 2 members, each
sending timestamped messages to its peer), and requests/s for sign-in (Argon2 by design: slow) and for
GET /api/v1/consults (the worklist), with concurrent httpx.AsyncClient requests.

    python benchmarks/backend.py --quick            # under 45 s on 2 cores
    python benchmarks/backend.py --database-url postgresql+psycopg://...

The server runs in this process (a thread) and shares the interpreter with the clients, so the figures
are a floor for what a dedicated server process delivers. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.config import ServerSettings
from backend.demo import seed_demo
from backend.models import Consult
from backend.server import EmbeddedServer


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


async def _relay(
    ws_base: str, room_ids: list[int], tokens: tuple[str, str], messages: int, interval: float
) -> list[float]:
    latencies: list[float] = []

    async def join(room: int, token: str) -> tuple[ClientConnection, str]:
        ws = await connect(f"{ws_base}/api/v1/rooms/{room}/signal?token={token}", max_size=2**20)
        welcome = json.loads(await ws.recv())
        return ws, welcome["member_id"]

    pairs: list[tuple[tuple[ClientConnection, str], tuple[ClientConnection, str]]] = []
    # Join in modest batches: admission is a database transaction (and an audit record).
    for start in range(0, len(room_ids), 20):
        batch = room_ids[start : start + 20]
        firsts = await asyncio.gather(*(join(r, tokens[0]) for r in batch))
        seconds = await asyncio.gather(*(join(r, tokens[1]) for r in batch))
        pairs.extend(zip(firsts, seconds, strict=True))
    for (a, _), _second in pairs:
        json.loads(await a.recv())  # the presence "join" of the second member

    async def receive(ws: ClientConnection, expected: int) -> None:
        for _ in range(expected):
            message = json.loads(await ws.recv())
            latencies.append((time.perf_counter_ns() - message["payload"]["t"]) / 1e6)

    async def send(ws: ClientConnection, peer: str) -> None:
        for seq in range(messages):
            body = {
                "v": 1,
                "type": "candidate",
                "to": peer,
                "payload": {"t": time.perf_counter_ns(), "seq": seq, "candidate": "candidate:1 1 udp 1 x"},
            }
            await ws.send(json.dumps(body))
            await asyncio.sleep(interval)

    tasks = []
    for (a, a_id), (b, b_id) in pairs:
        tasks += [receive(a, messages), receive(b, messages), send(a, b_id), send(b, a_id)]
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=120)
    await asyncio.gather(*(ws.close() for pair in pairs for ws, _ in pair))
    return latencies


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


async def _run(base_url: str, room_ids: list[int], args: argparse.Namespace) -> dict[str, float]:
    async with httpx.AsyncClient(
        base_url=base_url + "/api/v1", timeout=60, limits=httpx.Limits(max_connections=64)
    ) as client:
        county, specialist = await asyncio.gather(_login(client, "dr.li"), _login(client, "dr.wang"))
        ws_base = base_url.replace("http", "ws", 1)
        latencies = await _relay(ws_base, room_ids, (county, specialist), args.messages, args.interval)
        print(
            f"relay: {len(latencies)} messages between {2 * len(room_ids)} clients, "
            f"mean {statistics.fmean(latencies):.2f} ms",
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
            f"{len(room_ids)} items, {args.concurrency} concurrent)"
        )
    return {
        "relay_p50_ms": round(_percentile(latencies, 0.50), 3),
        "relay_p99_ms": round(_percentile(latencies, 0.99), 3),
        "login_rps": round(login_rps, 1),
        "worklist_rps": round(worklist_rps, 1),
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
    args.logins = 30 if args.quick else 200
    args.worklists = 600 if args.quick else 5000
    args.concurrency = 16

    with tempfile.TemporaryDirectory(prefix="tc-bench-") as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        server = EmbeddedServer(settings=ServerSettings(database_url=url))
        started = time.perf_counter()
        base_url = server.start()
        try:
            users = seed_demo(server.database, with_consult=False)
            room_ids = _make_rooms(server, args.rooms, users["dr.li"], users["dr.wang"])
            print(f"server on {base_url} ({server.database.backend}), {len(room_ids)} rooms", flush=True)
            figures = asyncio.run(_run(base_url, room_ids, args))
        finally:
            server.stop()
        print(f"total {time.perf_counter() - started:.1f} s")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

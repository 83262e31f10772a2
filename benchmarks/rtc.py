"""WebRTC call figures: glass-to-glass latency at 1280x720 30 fps, CPU per call, annotation round trip.

Two workstation runtimes (two AsyncRuntime threads, each with its own CallSession) join one consult
room through the real backend (EmbeddedServer, SQLite) on loopback and send 720p30 video both ways.
The sender burns a frame counter into the pixels (rtc/sources.py); the receiver reads it back from
the decoded frame's luma plane, so latency = decoded-at minus generated-at for the same frame
(capture to decoded picture; painting adds one display refresh at most).

Then the same call through a lossy path: 2% loss and 50 ms added delay each way. This kernel has no
netem qdisc (`tc netem` fails), so the path is rtc/relay.py, a user-space UDP relay in its own thread,
in front of a real coturn (relay-only ICE policy), not a network namespace.

CPU: process CPU time over wall time while the call runs, halved: one workstation's share of a 720p30
call in both directions (one encode and one decode). The annotation round trip is an `annotations`
channel message echoed by the peer, measured while the video flows.

    python benchmarks/rtc.py --quick      # under 45 s on 2 cores

The last line is one JSON object.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.server import EmbeddedServer
from benchmarks._common import parse, report
from core.client.backend import BackendClient
from rtc.channels import ChannelMessage
from rtc.relay import UdpRelay
from rtc.runtime import AsyncRuntime
from rtc.session import CallSession, CallState
from rtc.signalling import WebSocketSignalling
from rtc.sources import COUNTER_BITS, SyntheticVideoTrack
from tests.helpers import CONSULT_REQUEST

WIDTH, HEIGHT, FPS = 1280, 720, 30.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def read_counter_luma(frame: av.VideoFrame) -> int:
    """rtc.sources.read_frame_counter on the Y plane of a yuv420p frame: no colour conversion."""
    plane = frame.planes[0]
    luma = np.frombuffer(cast(bytes, plane), dtype=np.uint8).reshape(frame.height, plane.line_size)
    size = max(4, frame.width // COUNTER_BITS)
    value = 0
    for bit in range(COUNTER_BITS):
        x = bit * size
        patch = luma[size // 4 + 1 : size * 3 // 4 + 1, x + size // 4 : x + size * 3 // 4]
        value = (value << 1) | int(patch.mean() > 127)
    return value


class Endpoint:
    """One workstation: its own rtc runtime thread, backend client and call session."""

    def __init__(self, name: str, base_url: str, username: str) -> None:
        self.name, self.base_url, self.username = name, base_url, username
        self.runtime = AsyncRuntime(f"rtc-{name}").start()
        self.client: BackendClient | None = None
        self.session: CallSession | None = None
        self.latencies: list[float] = []
        self.measuring = False
        self.source: SyntheticVideoTrack | None = None
        self.peer_source: SyntheticVideoTrack | None = None
        self.rtt: list[float] = []
        self._pings: dict[str, float] = {}

    def run(self, coro: Any, timeout: float = 60) -> Any:
        return self.runtime.run(coro, timeout)

    async def login(self) -> None:
        self.client = BackendClient(self.base_url)
        await self.client.login(self.username, "demo")

    async def open_session(self, consult_id: int, **options: Any) -> None:
        assert self.client is not None
        client = self.client
        self.source = SyntheticVideoTrack(WIDTH, HEIGHT, fps=FPS)
        signalling = WebSocketSignalling(lambda: client.signal_url(consult_id))
        self.session = CallSession(signalling, video_track=self.source, **options)
        self.session.video_frame_received.connect(self._on_frame)
        self.session.message_received.connect(self._on_message)
        await self.session.start()

    def _on_frame(self, frame: av.VideoFrame) -> None:
        if not self.measuring or self.peer_source is None:
            return
        sent = self.peer_source.sent_at.get(read_counter_luma(frame))
        if sent is not None:
            self.latencies.append(time.monotonic() - sent)

    def _on_message(self, message: ChannelMessage) -> None:
        envelope = message.envelope
        if message.channel != "annotations" or envelope is None or self.session is None:
            return
        if envelope.kind == "ping":  # echo it straight back
            self.session.send("annotations", "pong", envelope.body)
        elif envelope.kind == "pong":
            sent = self._pings.pop(str(envelope.body["id"]), None)
            if sent is not None:
                self.rtt.append(time.monotonic() - sent)

    async def ping(self, count: int, interval: float) -> None:
        assert self.session is not None
        for i in range(count):
            key = f"rtt-{i}"
            self._pings[key] = time.monotonic()
            body = {"op": "update", "id": key, "author": self.name, "lamport": i, "data": {"x": 0.5}}
            self.session.send("annotations", "ping", body)
            await asyncio.sleep(interval)

    async def close_session(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    def close(self) -> None:
        if self.session is not None:
            self.run(self.close_session(), 15)
        if self.client is not None:
            self.run(self.client.aclose(), 10)
        self.runtime.stop()


def new_room(a: Endpoint, b: Endpoint) -> int:
    async def create() -> int:
        assert b.client is not None
        consult = await b.client.create_consult(CONSULT_REQUEST)
        return int(consult["id"])

    async def accept(consult_id: int) -> None:
        assert a.client is not None
        await a.client.transition(consult_id, "accept")

    consult_id: int = b.run(create())
    a.run(accept(consult_id))
    return consult_id


def run_call(
    a: Endpoint,
    b: Endpoint,
    seconds: float,
    warmup: float,
    options_a: dict[str, Any],
    options_b: dict[str, Any],
) -> dict[str, Any]:
    cid = new_room(a, b)
    a.run(a.open_session(cid, **options_a))
    b.run(b.open_session(cid, **options_b))
    assert a.session is not None and b.session is not None
    a.run(a.session.wait_for_state(CallState.CONNECTED, 40), 45)
    b.run(b.session.wait_for_state(CallState.CONNECTED, 40), 45)
    a.peer_source, b.peer_source = b.source, a.source
    time.sleep(warmup)  # bitrate ramp-up and the first keyframes
    for end in (a, b):
        end.latencies.clear()
        end.measuring = True
    cpu0, wall0 = time.process_time(), time.monotonic()
    pings = max(1, int(seconds / 0.05))
    ping = a.runtime.submit(a.ping(pings, 0.05))
    time.sleep(seconds)
    elapsed = time.monotonic() - wall0
    cpu = (time.process_time() - cpu0) / elapsed
    frames = len(b.latencies)
    ping.result(10)
    time.sleep(0.5)
    for end in (a, b):
        end.measuring = False
    sent_size = a.session.video_send_size
    level = a.session.video_send_level
    a.run(a.close_session(), 20)
    b.run(b.close_session(), 20)
    latencies = [x * 1000 for x in a.latencies + b.latencies]
    return {
        "p50": percentile(latencies, 0.5),
        "p95": percentile(latencies, 0.95),
        "n": len(latencies),
        "fps_received": frames / elapsed,
        "cpu_process": cpu,
        "sent_size": sent_size,
        "level": level,
    }


def main() -> int:
    args = parse(__doc__.splitlines()[0])
    seconds, warmup = (8.0, 3.0) if args.quick else (30.0, 5.0)
    root = Path(tempfile.mkdtemp(prefix="tc-bench-rtc-"))
    server = EmbeddedServer(f"sqlite:///{root / 'backend.sqlite3'}", seed_demo=True)
    server.start()
    assert server.base_url is not None
    a = Endpoint("specialist", server.base_url, "dr.chen")
    b = Endpoint("county", server.base_url, "dr.li")
    net = AsyncRuntime("rtc-net").start()
    figures: dict[str, Any] = {}
    try:
        a.run(a.login())
        b.run(b.login())
        print(f"call 1: {WIDTH}x{HEIGHT} {FPS:.0f} fps both ways, loopback, host candidates, {seconds:.0f} s")
        direct = run_call(a, b, seconds, warmup, {"ice_servers": []}, {"ice_servers": []})
        rtt = [x * 1000 for x in a.rtt]
        print(
            f"  glass-to-glass p50 {direct['p50']:.1f} ms, p95 {direct['p95']:.1f} ms "
            f"({direct['n']} frames, {direct['fps_received']:.1f} fps received)"
        )
        print(
            f"  CPU {direct['cpu_process']:.2f} cores for both workstations in this process "
            f"-> {direct['cpu_process'] / 2:.2f} per workstation per call"
        )
        print(
            f"  annotation round trip p50 {percentile(rtt, 0.5):.1f} ms, "
            f"p99 {percentile(rtt, 0.99):.1f} ms ({len(rtt)} messages)"
        )
        figures.update(
            g2g_p50_ms=direct["p50"],
            g2g_p95_ms=direct["p95"],
            cpu_cores_per_call=direct["cpu_process"] / 2,
            channel_rtt_p50_ms=percentile(rtt, 0.5),
            channel_rtt_p99_ms=percentile(rtt, 0.99),
            g2g_fps_received=direct["fps_received"],
        )

        print("call 2: the same through 2% loss and 50 ms added delay each way")
        print(
            "  note: this kernel has no netem qdisc, so the lossy path is rtc/relay.py (a user-space UDP"
        )
        print("  relay in its own thread) in front of a real coturn, relay-only ICE; not tc netem")
        from tests.integration.rtc_env import Coturn

        with Coturn() as turn:
            lossy_path = UdpRelay(("127.0.0.1", turn.port), loss=0.02, delay_s=0.05, seed=1)
            relay: UdpRelay = net.run(lossy_path.start())
            try:
                lossy = run_call(
                    a,
                    b,
                    seconds,
                    warmup,
                    {"ice_servers": turn.ice_servers(relay.port), "ice_transport_policy": "relay"},
                    {"ice_servers": turn.ice_servers(), "ice_transport_policy": "relay"},
                )
            finally:
                counters = relay.counters
                net.run(relay.close())
        print(
            f"  glass-to-glass p50 {lossy['p50']:.1f} ms, p95 {lossy['p95']:.1f} ms ({lossy['n']} frames, "
            f"{lossy['fps_received']:.1f} fps received); relay dropped {counters.dropped} of "
            f"{counters.dropped + counters.forwarded} datagrams; sender at {lossy['sent_size']} "
            f"(adaptation level {lossy['level']})"
        )
        figures.update(g2g_lossy_p50_ms=lossy["p50"], g2g_lossy_p95_ms=lossy["p95"])
        print(
            f"targets: p50 < 80 ms ({'met' if figures['g2g_p50_ms'] < 80 else 'MISSED'}), "
            f"p95 < 150 ms ({'met' if figures['g2g_p95_ms'] < 150 else 'MISSED'}) on loopback"
        )
    finally:
        a.close()
        b.close()
        net.stop()
        server.stop()
    order = [
        "g2g_p50_ms",
        "g2g_p95_ms",
        "g2g_lossy_p50_ms",
        "g2g_lossy_p95_ms",
        "cpu_cores_per_call",
        "channel_rtt_p99_ms",
        "channel_rtt_p50_ms",
        "g2g_fps_received",
    ]
    report({key: float(statistics.fmean([figures[key]])) for key in order if key in figures})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""WebRTC call figures: glass-to-glass latency at 1280x720 30 fps, CPU per call, annotation round trip.

Two workstation runtimes (two AsyncRuntime threads, each with its own CallSession) join one consult
room through the real backend (EmbeddedServer, SQLite) on loopback and send 720p30 video both ways.
The sender burns a frame counter into the pixels (rtc/sources.py); the receiver reads it back from
the decoded frame's luma plane, so latency = decoded-at minus generated-at for the same frame
(capture to decoded picture; painting adds one display refresh at most).

The peer, in the same run and alternating with ours over several rounds (2 with --quick; the figures
are the averages over the rounds): raw aiortc loopback, two bare RTCPeerConnections in one process with
offer and answer handed over in memory (no signalling server, no product code but the same frame source),
720p30 both ways, its own data channel echoed the same way. The *_ratio_vs_raw_aiortc figures are ours
over that floor (latency, CPU per call, channel round trip).

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
import json
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


async def _raw_call(seconds: float, warmup: float) -> dict[str, Any]:
    """The peer: two bare aiortc RTCPeerConnections in one loop, offer and answer handed over in memory
    (no signalling server, no CallSession, no product code but the frame source, so the frames are the
    same), 720p30 VP8 both ways, host candidates, and a data channel whose messages the far end echoes."""
    from aiortc import RTCConfiguration, RTCPeerConnection
    from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

    pc_a = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc_b = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    src_a, src_b = SyntheticVideoTrack(WIDTH, HEIGHT, FPS), SyntheticVideoTrack(WIDTH, HEIGHT, FPS)
    pc_a.addTrack(src_a)
    pc_b.addTrack(src_b)
    channel = pc_a.createDataChannel("annotations")
    measuring = [False]
    received_a: list[float] = []  # latencies of B's frames decoded at A
    received_b: list[float] = []
    tasks: list[asyncio.Task[None]] = []
    pings: dict[str, float] = {}
    rtt: list[float] = []

    async def consume(track: MediaStreamTrack, source: SyntheticVideoTrack, sink: list[float]) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if measuring[0]:
                sent = source.sent_at.get(read_counter_luma(cast(av.VideoFrame, frame)))
                if sent is not None:
                    sink.append(time.monotonic() - sent)

    pc_a.on("track", lambda track: tasks.append(asyncio.ensure_future(consume(track, src_b, received_a))))
    pc_b.on("track", lambda track: tasks.append(asyncio.ensure_future(consume(track, src_a, received_b))))

    @pc_b.on("datachannel")
    def _echo_channel(remote: Any) -> None:
        remote.on("message", remote.send)  # echo every message straight back

    @channel.on("message")
    def _pong(message: str) -> None:
        sent = pings.pop(json.loads(message)["id"], None)
        if sent is not None:
            rtt.append(time.monotonic() - sent)

    try:
        await pc_a.setLocalDescription(await pc_a.createOffer())
        await pc_b.setRemoteDescription(pc_a.localDescription)
        await pc_b.setLocalDescription(await pc_b.createAnswer())
        await pc_a.setRemoteDescription(pc_b.localDescription)
        deadline = time.monotonic() + 40
        while channel.readyState != "open" or pc_a.connectionState != "connected":
            if time.monotonic() > deadline:
                raise RuntimeError("the raw aiortc loopback did not connect")
            await asyncio.sleep(0.05)
        await asyncio.sleep(warmup)  # bitrate ramp-up and the first keyframes, as in run_call
        measuring[0] = True
        cpu0, wall0 = time.process_time(), time.monotonic()

        async def ping(count: int, interval: float) -> None:
            for i in range(count):
                key = f"rtt-{i}"
                pings[key] = time.monotonic()
                body = {"op": "update", "id": key, "author": "raw", "lamport": i, "data": {"x": 0.5}}
                channel.send(json.dumps(body))
                await asyncio.sleep(interval)

        pinger = asyncio.ensure_future(ping(max(1, int(seconds / 0.05)), 0.05))
        await asyncio.sleep(seconds)
        elapsed = time.monotonic() - wall0
        cpu = (time.process_time() - cpu0) / elapsed
        frames = len(received_b)
        await pinger
        await asyncio.sleep(0.5)
        measuring[0] = False
    finally:
        await pc_a.close()
        await pc_b.close()
        for task in tasks:
            task.cancel()
    latencies = [x * 1000 for x in received_a + received_b]
    return {
        "p50": percentile(latencies, 0.5),
        "p95": percentile(latencies, 0.95),
        "n": len(latencies),
        "fps_received": frames / elapsed,
        "cpu_process": cpu,
        "rtt": [x * 1000 for x in rtt],
    }


def main() -> int:
    args = parse(__doc__.splitlines()[0])
    seconds, warmup = (4.0, 2.0) if args.quick else (30.0, 5.0)
    rounds = 2 if args.quick else 3
    root = Path(tempfile.mkdtemp(prefix="tc-bench-rtc-"))
    server = EmbeddedServer(f"sqlite:///{root / 'backend.sqlite3'}", seed_demo=True)
    server.start()
    assert server.base_url is not None
    a = Endpoint("specialist", server.base_url, "dr.chen")
    b = Endpoint("county", server.base_url, "dr.li")
    net = AsyncRuntime("rtc-net").start()
    raw_loop = AsyncRuntime("rtc-raw").start()  # the raw peer's own loop thread, as each Endpoint has one
    runs: dict[str, list[dict[str, float]]] = {"ours": [], "raw": [], "lossy": []}
    from tests.integration.rtc_env import Coturn

    try:
        a.run(a.login())
        b.run(b.login())
        print(
            f"{WIDTH}x{HEIGHT} {FPS:.0f} fps both ways, {seconds:.0f} s measured per call, {rounds} rounds; "
            "each round: ours on loopback, raw aiortc on loopback, ours through the lossy path"
        )
        print("  note: this kernel has no netem qdisc, so the lossy path is rtc/relay.py (a user-space UDP")
        print("  relay in its own thread) in front of a real coturn, relay-only ICE; not tc netem")
        with Coturn() as turn:
            for round_ in range(rounds):  # alternate, so drift on a shared machine hits all alike
                a.rtt.clear()
                direct = run_call(a, b, seconds, warmup, {"ice_servers": []}, {"ice_servers": []})
                rtt = [x * 1000 for x in a.rtt]
                direct.update(rtt_p50=percentile(rtt, 0.5), rtt_p99=percentile(rtt, 0.99))
                runs["ours"].append(direct)
                raw = raw_loop.run(_raw_call(seconds, warmup), seconds + warmup + 60)
                raw.update(rtt_p50=percentile(raw["rtt"], 0.5), rtt_p99=percentile(raw["rtt"], 0.99))
                runs["raw"].append(raw)
                lossy_path = UdpRelay(("127.0.0.1", turn.port), loss=0.02, delay_s=0.05, seed=1 + round_)
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
                runs["lossy"].append(lossy)
                for name, r in (("ours", direct), ("raw aiortc", raw)):
                    print(
                        f"  round {round_ + 1} {name:10s}: glass-to-glass p50 {r['p50']:.1f} ms, "
                        f"p95 {r['p95']:.1f} ms ({r['n']} frames, {r['fps_received']:.1f} fps received); "
                        f"CPU {r['cpu_process']:.2f} cores for both ends; channel round trip "
                        f"p50 {r['rtt_p50']:.1f} ms, p99 {r['rtt_p99']:.1f} ms"
                    )
                print(
                    f"  round {round_ + 1} ours lossy: p50 {lossy['p50']:.1f} ms, p95 {lossy['p95']:.1f} ms "
                    f"({lossy['n']} frames, {lossy['fps_received']:.1f} fps received); relay dropped "
                    f"{counters.dropped} of {counters.dropped + counters.forwarded} datagrams; sender at "
                    f"{lossy['sent_size']} (adaptation level {lossy['level']})"
                )
    finally:
        a.close()
        b.close()
        net.stop()
        raw_loop.stop()
        server.stop()

    def mean(name: str, key: str) -> float:
        return float(statistics.fmean(r[key] for r in runs[name]))  # the average over the rounds

    figures: dict[str, float | int | str] = {
        "peer": "raw aiortc loopback: two RTCPeerConnections in one process, no signalling or product code",
        "g2g_p50_ms": mean("ours", "p50"),
        "g2g_p95_ms": mean("ours", "p95"),
        "g2g_lossy_p50_ms": mean("lossy", "p50"),
        "g2g_lossy_p95_ms": mean("lossy", "p95"),
        # CPU of the whole process while both ends run, halved: one workstation's share of a call
        "cpu_cores_per_call": mean("ours", "cpu_process") / 2,
        "channel_rtt_p99_ms": mean("ours", "rtt_p99"),
        "channel_rtt_p50_ms": mean("ours", "rtt_p50"),
        "g2g_fps_received": mean("ours", "fps_received"),
        "raw_g2g_p50_ms": mean("raw", "p50"),
        "raw_g2g_p95_ms": mean("raw", "p95"),
        "raw_cpu_cores_per_call": mean("raw", "cpu_process") / 2,
        "raw_channel_rtt_p50_ms": mean("raw", "rtt_p50"),
        "raw_g2g_fps_received": mean("raw", "fps_received"),
        "rounds": rounds,
    }
    for key in ("g2g_p50_ms", "g2g_p95_ms", "cpu_cores_per_call", "channel_rtt_p50_ms"):
        peer = float(figures[f"raw_{key}"])
        figures[f"{key.removesuffix('_ms')}_ratio_vs_raw_aiortc"] = (
            float(figures[key]) / peer if peer else 0.0
        )
    print(
        f"ours / raw aiortc: glass-to-glass p50 x{figures['g2g_p50_ratio_vs_raw_aiortc']:.2f}, "
        f"CPU x{figures['cpu_cores_per_call_ratio_vs_raw_aiortc']:.2f}"
    )
    print(
        f"targets: p50 < 80 ms ({'met' if float(figures['g2g_p50_ms']) < 80 else 'MISSED'}), "
        f"p95 < 150 ms ({'met' if float(figures['g2g_p95_ms']) < 150 else 'MISSED'}) on loopback"
    )
    report(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

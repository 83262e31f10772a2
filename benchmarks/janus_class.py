"""A class of ten viewers: the instructor's workstation CPU and outbound bandwidth through Janus (SFU)
against peer-to-peer fan-out, side by side in one run, on loopback.

(a) Janus: a real Janus (Debian `janus`, video room) on 127.0.0.1; the publisher sends ONE stream
    (320x240 at 15 fps, the synthetic pattern, plus the class data channel) and Janus forwards it to
    ten subscribers.
(b) Peer to peer, the peer we compare with: the publisher opens ten RTCPeerConnections itself and
    encodes and sends the same source ten times (aiortc encodes per sender).

The publisher runs in a child process of its own and the ten viewers in another, so the publisher's
CPU is that process's CPU time (utime + stime from /proc) over the measured window, nothing else.
Bandwidth is the publisher's outbound video bytes (aiortc getStats, all outbound-rtp video streams)
over the same window. Janus's own CPU is reported beside it. Everything is on loopback (Janus's API on
127.0.0.1; media between this host's own addresses, since Janus never gathers ICE candidates on a
loopback interface): no real network, so the figures are the workstation's cost, not what a
congested uplink would allow.

    python benchmarks/janus_class.py --quick    # 6 s per mode, under 45 s on 2 cores
    python benchmarks/janus_class.py            # 20 s per mode, under 120 s
    TELECONSULT_CLASS_VIDEO=640x480@30 python benchmarks/janus_class.py   # the call's own size


The last line is one JSON object.
"""

from __future__ import annotations

import asyncio
import faulthandler
import multiprocessing
import os
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import parse, report

VIEWERS = 10


def class_video(spec: str) -> tuple[int, int, float]:
    """WIDTHxHEIGHT@FPS; an environment variable so the spawned publisher and viewers see it too."""
    size, _, fps = spec.partition("@")
    width, _, height = size.partition("x")
    return int(width), int(height), float(fps or 15)


WIDTH, HEIGHT, FPS = class_video(os.environ.get("TELECONSULT_CLASS_VIDEO", "320x240@15"))
CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


def _wake(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)


async def _recv(conn: Connection) -> Any:
    """The next message from the parent, waiting on the loop (not in the executor aiortc encodes in)."""
    loop = asyncio.get_running_loop()
    while not conn.poll():
        ready: asyncio.Future[None] = loop.create_future()
        loop.add_reader(conn.fileno(), _wake, ready)
        try:
            await ready
        finally:
            loop.remove_reader(conn.fileno())
    return conn.recv()


def _outbound_video_bytes(report: Any) -> tuple[int, int]:
    from aiortc.stats import RTCOutboundRtpStreamStats

    streams = [s for s in report.values() if isinstance(s, RTCOutboundRtpStreamStats) and s.kind == "video"]
    return sum(int(s.bytesSent) for s in streams), len(streams)


# --- the publisher process ------------------------------------------------------------------------


def fan_out(source: Any, count: int) -> list[Any]:
    """``count`` tracks that each get their own copy of every frame of ``source``.

    aiortc's MediaRelay hands the SAME av.VideoFrame to every subscriber, and each VP8 encoder then
    reformats it to yuv420p in its own executor thread through the frame's shared reformatter: with
    ten senders that crashed the process (SIGSEGV in aiortc/codecs/vpx.py, measured here). A copy per
    sender is what a real peer-to-peer fan-out pays anyway (each encoder converts its own input)."""
    import av
    from aiortc.mediastreams import MediaStreamTrack

    queues: list[asyncio.Queue[Any]] = [asyncio.Queue(maxsize=2) for _ in range(count)]
    pump: list[asyncio.Task[None]] = []

    async def run() -> None:
        while True:
            frame = await source.recv()
            image = frame.to_ndarray(format="rgb24")
            for queue in queues:
                copy = av.VideoFrame.from_ndarray(image, format="rgb24")
                copy.pts, copy.time_base = frame.pts, frame.time_base
                if queue.full():
                    queue.get_nowait()  # a slow sender drops its oldest frame, as a live source does
                queue.put_nowait(copy)

    class Branch(MediaStreamTrack):
        kind = "video"

        def __init__(self, queue: asyncio.Queue[Any]) -> None:
            super().__init__()
            self.queue = queue

        async def recv(self) -> Any:
            if not pump:
                pump.append(asyncio.ensure_future(run()))
            return await self.queue.get()

    return [Branch(queue) for queue in queues]


async def _publish(conn: Connection, mode: str, base_url: str) -> None:
    from aiortc import RTCPeerConnection, RTCSessionDescription

    from rtc.janus import JanusClient, JanusPublisher, class_message
    from rtc.session import ice_configuration
    from rtc.sources import SyntheticVideoTrack

    track = SyntheticVideoTrack(WIDTH, HEIGHT, FPS)
    client: JanusClient | None = None
    publisher: JanusPublisher | None = None
    pcs: list[RTCPeerConnection] = []
    try:
        if mode == "janus":
            client = JanusClient(base_url)
            room = await client.create_room()
            publisher = JanusPublisher(client, room, track)
            await publisher.start()
            conn.send({"room": room, "feed": publisher.feed_id})
        else:
            channels = []
            for branch in fan_out(track, VIEWERS):
                pc = RTCPeerConnection(ice_configuration([]))
                pc.addTrack(branch)
                channels.append(pc.createDataChannel("class"))
                await pc.setLocalDescription(await pc.createOffer())
                pcs.append(pc)
            conn.send({"offers": [pc.localDescription.sdp for pc in pcs]})
            answers = await _recv(conn)
            for pc, sdp in zip(pcs, answers, strict=True):
                await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

        async def stats() -> tuple[int, int]:
            if publisher is not None:
                got = await publisher.stats()
                return _outbound_video_bytes(got)
            total = [_outbound_video_bytes(await pc.getStats()) for pc in pcs]
            return sum(t[0] for t in total), sum(t[1] for t in total)

        async def ticks() -> None:
            # The class channel carries a counter every 100 ms in both modes.
            counter = 0
            while True:
                counter += 1
                if publisher is not None:
                    publisher.send(class_message(counter))
                else:
                    for channel in channels:
                        if channel.readyState == "open":
                            channel.send(class_message(counter))
                await asyncio.sleep(0.1)

        ticker = asyncio.create_task(ticks())
        assert await _recv(conn) == "begin"
        bytes_0, _ = await stats()
        t0 = time.monotonic()
        conn.send("begun")
        assert await _recv(conn) == "end"
        bytes_1, streams = await stats()
        conn.send({"kbps": (bytes_1 - bytes_0) * 8 / (time.monotonic() - t0) / 1000, "streams": streams})
        ticker.cancel()
        await _recv(conn)  # "close"
    finally:
        if publisher is not None:
            await publisher.close()
        if client is not None:
            await client.close()
        await asyncio.gather(*(pc.close() for pc in pcs))


def publisher_main(conn: Connection, mode: str, base_url: str) -> None:
    faulthandler.enable()  # a crash in a codec shows its traceback in the benchmark's output
    asyncio.run(_publish(conn, mode, base_url))


# --- the viewers process --------------------------------------------------------------------------


async def _view(conn: Connection, mode: str, base_url: str) -> None:
    from aiortc import RTCPeerConnection, RTCSessionDescription
    from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

    from rtc.janus import JanusClient, JanusViewer
    from rtc.session import ice_configuration

    first = await _recv(conn)
    client: JanusClient | None = None
    viewers: list[JanusViewer] = []
    pcs: list[RTCPeerConnection] = []
    p2p_frames = [0] * VIEWERS
    tasks: list[asyncio.Task[None]] = []

    async def consume(track: MediaStreamTrack, index: int) -> None:
        try:
            while True:
                await track.recv()
                p2p_frames[index] += 1
        except MediaStreamError:
            return

    try:
        if mode == "janus":
            client = JanusClient(base_url)
            viewers = [JanusViewer(client, first["room"], first["feed"]) for _ in range(VIEWERS)]
            await asyncio.gather(*(v.start() for v in viewers))
        else:
            answers = []
            for index, sdp in enumerate(first["offers"]):
                pc = RTCPeerConnection(ice_configuration([]))
                pc.on(
                    "track",
                    lambda track, i=index: tasks.append(asyncio.ensure_future(consume(track, i))),
                )
                await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
                await pc.setLocalDescription(await pc.createAnswer())
                answers.append(pc.localDescription.sdp)
                pcs.append(pc)
            conn.send(answers)
        conn.send("ready")

        def counts() -> list[int]:
            return [v.frames_received for v in viewers] if viewers else list(p2p_frames)

        assert await _recv(conn) == "begin"
        before = counts()
        assert await _recv(conn) == "end"
        conn.send([b - a for a, b in zip(before, counts(), strict=True)])
        await _recv(conn)  # "close"
    finally:
        await asyncio.gather(*(v.close() for v in viewers))
        if client is not None:
            await client.close()
        await asyncio.gather(*(pc.close() for pc in pcs))
        for task in tasks:
            task.cancel()


def viewers_main(conn: Connection, mode: str, base_url: str) -> None:
    faulthandler.enable()  # a crash in a codec shows its traceback in the benchmark's output
    asyncio.run(_view(conn, mode, base_url))


# --- the orchestration ----------------------------------------------------------------------------


def run_mode(mode: str, base_url: str, seconds: float, janus_pid: int | None) -> dict[str, float]:
    ctx = multiprocessing.get_context("spawn")
    pub_end, pub_child = ctx.Pipe()
    view_end, view_child = ctx.Pipe()
    publisher = ctx.Process(target=publisher_main, args=(pub_child, mode, base_url), name="publisher")
    viewers = ctx.Process(target=viewers_main, args=(view_child, mode, base_url), name="viewers")
    publisher.start()
    viewers.start()
    # Only the children hold their ends: a child that dies shows as EOF here instead of a hang.
    pub_child.close()
    view_child.close()
    try:
        setup = pub_end.recv()
        view_end.send(setup)
        if mode == "p2p":
            pub_end.send(view_end.recv())
        assert view_end.recv() == "ready"
        time.sleep(1.0)  # let the first keyframes and the bandwidth estimate settle
        assert publisher.pid is not None
        view_end.send("begin")
        pub_end.send("begin")
        assert pub_end.recv() == "begun"
        cpu_0, wall_0 = process_cpu_s(publisher.pid), time.monotonic()
        janus_0 = process_cpu_s(janus_pid) if janus_pid else 0.0
        time.sleep(seconds)
        cpu_1, wall_1 = process_cpu_s(publisher.pid), time.monotonic()
        janus_1 = process_cpu_s(janus_pid) if janus_pid else 0.0
        pub_end.send("end")
        view_end.send("end")
        sent = pub_end.recv()
        frames = view_end.recv()
        pub_end.send("close")
        view_end.send("close")
    finally:
        for process in (publisher, viewers):
            process.join(20)
            if process.is_alive():
                process.terminate()
                process.join(5)
    wall = wall_1 - wall_0
    return {
        "cpu_cores": (cpu_1 - cpu_0) / wall,
        "kbps": float(sent["kbps"]),
        "streams": float(sent["streams"]),
        "frames_min": float(min(frames)),
        "fps_min": min(frames) / wall,
        "janus_cpu_cores": (janus_1 - janus_0) / wall,
    }


def main() -> None:
    args = parse(__doc__ or "")
    seconds = 6.0 if args.quick else 20.0
    from tests.integration.janus_env import Janus

    print(f"Class of {VIEWERS} viewers, {WIDTH}x{HEIGHT} at {FPS:g} fps, {seconds:g} s per mode, on LOOPBACK")
    with Janus() as janus:
        sfu = run_mode("janus", janus.base_url, seconds, janus.pid)
    p2p = run_mode("p2p", "", seconds, None)
    for name, figures in (("janus", sfu), ("p2p", p2p)):
        print(
            f"  {name:5}: publisher {figures['cpu_cores']:.3f} cores, {figures['kbps']:.0f} kbit/s out in "
            f"{figures['streams']:.0f} video stream(s); slowest viewer {figures['fps_min']:.1f} fps"
            + (f"; Janus itself {figures['janus_cpu_cores']:.3f} cores" if name == "janus" else "")
        )
    figures_out: dict[str, float | int | str] = {
        "viewers": VIEWERS,
        "video": f"{WIDTH}x{HEIGHT}@{FPS:g}",
        "publisher_cpu_cores": sfu["cpu_cores"],
        "publisher_kbps": sfu["kbps"],
        "frames_per_viewer_min": int(sfu["frames_min"]),
        "publisher_video_streams": int(sfu["streams"]),
        "janus_server_cpu_cores": sfu["janus_cpu_cores"],
        "p2p_publisher_cpu_cores": p2p["cpu_cores"],
        "p2p_publisher_kbps": p2p["kbps"],
        "p2p_frames_per_viewer_min": int(p2p["frames_min"]),
        "p2p_publisher_video_streams": int(p2p["streams"]),
        "cpu_ratio_janus_vs_p2p": sfu["cpu_cores"] / p2p["cpu_cores"] if p2p["cpu_cores"] else 0.0,
        "kbps_ratio_janus_vs_p2p": sfu["kbps"] / p2p["kbps"] if p2p["kbps"] else 0.0,
        "window_s": seconds,
        "network": "loopback",
    }
    report(figures_out)


if __name__ == "__main__":
    main()

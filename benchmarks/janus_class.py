"""A class of ten viewers: the instructor's workstation CPU and outbound bandwidth through Janus (SFU),
against the product's own peer-to-peer class (the same ClassHost without Janus), side by side, on loopback.

Both modes run the product's class path end to end, rtc/classroom.py ClassHost as the specialist's
workstation composes it (core.teaching.class_policy.ClassRules), through the real backend room
(EmbeddedServer, SQLite, in this process):
(a) Janus: ``ClassHost(janus_url=...)`` with a real Janus (Debian `janus`, video room) on 127.0.0.1; the
    instructor's workstation publishes ONE stream (the bedside's video, re-encoded once, plus the class
    data channel) and Janus forwards it to the ten trainees.
(b) Peer to peer, the peer we compare with: ``ClassHost()`` without Janus, as the product serves a small
    class (and any class when Janus is down): one viewer link per trainee, the bedside's video
    re-encoded per viewer (rtc/forward_tracks.py).

The instructor (its call with the bedside and its class host) runs in a child process of its own; the
bedside and the ten trainees in another (tests/integration/test_classroom.py ``_peers``), so the
instructor's CPU is that process's CPU time over the window, nothing else (ClassHost.measure: the
consult itself, decoding the bedside and encoding the instructor's camera, included in both modes).
Bandwidth is what the class host sent to the viewers (all links, or the Janus publication) over the
window. Janus's own CPU is reported beside it. The modes alternate, several rounds (2 with --quick), and
the figures are the medians. Everything is on loopback (Janus's API on 127.0.0.1; media between this
host's own addresses, since Janus never gathers ICE candidates on a loopback interface): no real network,
so the figures are the workstation's cost, not what a congested uplink would allow.

    python benchmarks/janus_class.py --quick    # 4 s windows, 2 rounds
    python benchmarks/janus_class.py            # 15 s windows, 3 rounds
    TELECONSULT_CLASS_VIDEO=640x480@30 python benchmarks/janus_class.py   # the call's own size

The last line is one JSON object.
"""

from __future__ import annotations

import asyncio
import faulthandler
import multiprocessing
import os
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import median, parse, report

VIEWERS = 10
PEER = "peer-to-peer class: the product's ClassHost (rtc/classroom.py) without Janus, one link per viewer"


def class_video(spec: str) -> tuple[int, int, float]:
    """WIDTHxHEIGHT@FPS; an environment variable so the spawned instructor and peers see it too."""
    size, _, fps = spec.partition("@")
    width, _, height = size.partition("x")
    return int(width), int(height), float(fps or 15)


WIDTH, HEIGHT, FPS = class_video(os.environ.get("TELECONSULT_CLASS_VIDEO", "320x240@15"))
CALL = {"video_size": (WIDTH, HEIGHT), "fps": FPS, "ice_servers": []}
CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


async def _instructor(conn: Connection, base: str, janus_url: str | None, seconds: float) -> None:
    """The specialist's workstation: its call with the bedside and its class host, in this process
    alone; the bedside and the trainees in a spawned one (as instructor_in_call in the tests, but the
    trainees' process is ended as soon as the window is measured)."""
    from core.teaching.class_policy import ClassRules
    from core.teaching.live import ClassModel
    from rtc.classroom import ClassHost
    from rtc.session import CallSession, CallState
    from rtc.signalling import WebSocketSignalling
    from tests.helpers import CONSULT_REQUEST, until
    from tests.integration.test_classroom import REPLACE, _peers, _signed_in

    doctor, specialist = await _signed_in(base, "dr.li"), await _signed_in(base, "dr.chen")
    consult = await doctor.create_consult(CONSULT_REQUEST)
    await specialist.transition(consult["id"], "accept")
    await specialist.transition(consult["id"], "start")  # trainees may join a consult in session
    await doctor.aclose()
    cid = int(consult["id"])
    model = ClassModel()
    host = ClassHost(ClassRules(model), [], replace=REPLACE, janus_url=janus_url)
    instructor = CallSession(WebSocketSignalling(lambda: specialist.signal_url(cid)), **CALL)  # type: ignore[arg-type]
    host.attach(instructor)
    context = multiprocessing.get_context("spawn")
    go = context.Event()
    peers = context.Process(target=_peers, args=(base, cid, VIEWERS, go, 120.0, CALL), name="peers")
    try:
        await instructor.start()
        peers.start()
        await instructor.wait_for_state(CallState.CONNECTED, 40)
        await until(lambda: instructor.frames_received > 30, 30)
        go.set()
        await until(lambda: len(model.viewers) == VIEWERS and all(v.connected for v in model.viewers), 90)
        await asyncio.sleep(1.5)  # past the first keyframes and the bandwidth estimate's ramp
        conn.send("measuring")
        figures = await host.measure(seconds)
        figures["janus"] = float(host.publishing)
        conn.send(figures)
    finally:
        peers.terminate()
        await host.aclose()
        await instructor.close()
        await specialist.aclose()
        await asyncio.to_thread(peers.join, 10)


def instructor_main(conn: Connection, base: str, janus_url: str | None, seconds: float) -> None:
    faulthandler.enable()  # a crash in a codec shows its traceback in the benchmark's output
    asyncio.run(asyncio.wait_for(_instructor(conn, base, janus_url, seconds), 240))


def run_mode(base: str, janus_url: str | None, seconds: float, janus_pid: int | None) -> dict[str, float]:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    instructor = ctx.Process(
        target=instructor_main, args=(child, base, janus_url, seconds), name="instructor"
    )
    instructor.start()
    child.close()  # only the child holds its end: a child that dies shows as EOF here instead of a hang
    try:
        assert parent.recv() == "measuring"
        janus_0 = process_cpu_s(janus_pid) if janus_pid else 0.0
        wall_0 = time.monotonic()
        figures: dict[str, float] = parent.recv()
        wall = time.monotonic() - wall_0
        janus_1 = process_cpu_s(janus_pid) if janus_pid else 0.0
    finally:
        instructor.join(30)
        if instructor.is_alive():
            instructor.terminate()
            instructor.join(5)
    figures["janus_cpu_cores"] = (janus_1 - janus_0) / wall
    return figures


def main() -> None:
    args = parse(__doc__ or "")
    seconds = 4.0 if args.quick else 15.0
    rounds = 2 if args.quick else 3
    from backend.server import EmbeddedServer
    from tests.integration.janus_env import Janus

    print(
        f"Class of {VIEWERS} viewers, {WIDTH}x{HEIGHT} at {FPS:g} fps, {seconds:g} s windows, "
        f"{rounds} rounds alternating Janus and peer to peer, on LOOPBACK"
    )
    runs: dict[str, list[dict[str, float]]] = {"janus": [], "p2p": []}
    with tempfile.TemporaryDirectory(prefix="tc-bench-class-") as folder, Janus() as janus:
        server = EmbeddedServer(f"sqlite:///{Path(folder) / 'backend.sqlite3'}", seed_demo=True)
        server.start()
        assert server.base_url is not None
        try:
            for round_ in range(rounds):  # alternate, so drift on a shared machine hits both alike
                for mode in ("janus", "p2p"):
                    url = janus.base_url if mode == "janus" else None
                    figures = run_mode(server.base_url, url, seconds, janus.pid if url else None)
                    if mode == "janus" and figures["janus"] != 1.0:
                        raise RuntimeError("the class host fell back to peer to peer: Janus did not publish")
                    runs[mode].append(figures)
                    print(
                        f"  round {round_ + 1} {mode:5}: instructor "
                        f"{figures['cpu_percent'] / 100:.3f} cores, "
                        f"{figures['kbps_to_viewers']:.0f} kbit/s to {figures['viewers']:.0f} viewers in "
                        f"{figures['video_streams_out']:.0f} video stream(s)"
                        + (f"; Janus itself {figures['janus_cpu_cores']:.3f} cores" if url else "")
                    )
        finally:
            server.stop()

    def med(mode: str, key: str) -> float:
        return median([r[key] for r in runs[mode]])

    sfu_cpu, p2p_cpu = med("janus", "cpu_percent") / 100, med("p2p", "cpu_percent") / 100
    sfu_kbps, p2p_kbps = med("janus", "kbps_to_viewers"), med("p2p", "kbps_to_viewers")
    figures_out: dict[str, float | int | str] = {
        "peer": PEER,
        "viewers": VIEWERS,
        "video": f"{WIDTH}x{HEIGHT}@{FPS:g}",
        "publisher_cpu_cores": sfu_cpu,
        "publisher_kbps": sfu_kbps,
        "publisher_video_streams": int(med("janus", "video_streams_out")),
        "janus_server_cpu_cores": med("janus", "janus_cpu_cores"),
        "p2p_publisher_cpu_cores": p2p_cpu,
        "p2p_publisher_kbps": p2p_kbps,
        "p2p_publisher_video_streams": int(med("p2p", "video_streams_out")),
        "cpu_ratio_vs_p2p_class_host": sfu_cpu / p2p_cpu if p2p_cpu else 0.0,
        "kbps_ratio_vs_p2p_class_host": sfu_kbps / p2p_kbps if p2p_kbps else 0.0,
        "window_s": seconds,
        "rounds": rounds,
        "network": "loopback",
    }
    print(
        f"Janus / peer to peer (medians): instructor CPU x{figures_out['cpu_ratio_vs_p2p_class_host']:.2f}, "
        f"outbound kbit/s x{figures_out['kbps_ratio_vs_p2p_class_host']:.2f}"
    )
    report(figures_out)


if __name__ == "__main__":
    main()

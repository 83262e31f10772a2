"""View-state round trip for benchmarks/shared_imaging.py: ``measure_viewstate_rtt(quick)`` ->
{"p50_ms", "p99_ms"}.

Two workstation runtimes (two AsyncRuntime threads, each with its own CallSession) join one consult
room through the real backend (EmbeddedServer, SQLite, seeded demo users) on loopback, with small
video flowing both ways as in a call. Site A leads (viewers.viewstate.ViewMirror, "Follow me"); every
50 ms it offers a new view (slice, window, zoom/pan, crosshair, 3D camera), which goes through the
mirror's throttle, the ``control`` data channel (app.wiring.viewstate.MirrorLink), and at site B is
validated and accepted by its follower mirror; B's apply step answers with a small echo on ``control``.
Round trip = A's offer to A's receipt of that echo, so it includes validation and the mirror's
decisions at both ends, not painting (each site renders from its own copy; painting is the views'
own benchmark in benchmarks/imaging.py).

Run alone: ``python benchmarks/_viewstate_rtt.py [--quick]``; the last line is one JSON object.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import parse, report

STUDY = "1.2.826.0.1.3680043.8.498.10"
SERIES = "1.2.826.0.1.3680043.8.498.10.1"
ECHO = "view_echo"  # not a mirror action: MirrorLink ignores it, the benchmark's listener takes it


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class _Site:
    """One workstation: own runtime thread, backend client, call session and view mirror."""

    def __init__(self, name: str, base_url: str) -> None:
        from app.wiring.viewstate import MirrorLink
        from rtc.runtime import AsyncRuntime
        from viewers.viewstate import ViewMirror

        self.name, self.base_url = name, base_url
        self.runtime = AsyncRuntime(f"rtc-{name}").start()
        self.client: Any = None
        self.session: Any = None
        # the app posts to the Qt thread; here the mirror runs on the site's own loop thread
        self.mirror = ViewMirror(lambda action, args: None, name=name, expected_study=lambda: STUDY)
        self.link = MirrorLink(self.runtime.loop, lambda fn: fn(), self.mirror)
        self.offered: dict[int, float] = {}
        self.rtt_ms: list[float] = []

    def run(self, coro: Any, timeout: float = 60) -> Any:
        return self.runtime.run(coro, timeout)

    async def login(self) -> None:
        from core.client.backend import BackendClient

        self.client = BackendClient(self.base_url)
        await self.client.login(self.name, "demo")

    async def open_session(self, consult_id: int) -> None:
        from rtc.session import CallSession
        from rtc.signalling import WebSocketSignalling

        client = self.client
        signalling = WebSocketSignalling(lambda: client.signal_url(consult_id))
        self.session = CallSession(signalling, ice_servers=[], video_size=(320, 240), fps=15.0)
        self.link.attach(self.session)
        self.session.message_received.connect(self._on_echo)
        self.mirror.on_apply.append(self._echo)
        await self.session.start()

    def _echo(self, state: Any) -> None:  # the follower applied a state: answer at once
        self.session.send("control", ECHO, {"action": ECHO, "args": {"seq": state.seq}})

    def _on_echo(self, message: Any) -> None:
        envelope = message.envelope
        if message.channel == "control" and envelope is not None and envelope.body.get("action") == ECHO:
            sent = self.offered.pop(int(envelope.body["args"]["seq"]), None)
            if sent is not None:
                self.rtt_ms.append((time.perf_counter() - sent) * 1000.0)

    async def lead(self, count: int, interval: float) -> None:
        import asyncio

        from viewers.viewstate import Camera, ViewMode, ViewState

        for i in range(count):
            state = ViewState(
                study_uid=STUDY,
                series_uid=SERIES,
                mode=ViewMode.MPR,
                slice_lps=(0.0, 0.0, float(i)),
                window_center=40.0 + i % 7,
                window_width=400.0,
                zoom=1.0 + (i % 5) / 10,
                pan_mm=(float(i % 3), 0.0),
                crosshair_lps=(1.0, 2.0, float(i)),
                camera=Camera(position=(0.0, -500.0, float(i)), focal_point=(0, 0, 0), view_up=(0, 0, 1)),
            )
            seq = self.mirror.sent + 1
            self.offered[seq] = time.perf_counter()
            if not self.mirror.offer(state):  # throttled (never at this pace): not a sample
                self.offered.pop(seq, None)
            await asyncio.sleep(interval)

    def close(self) -> None:
        if self.session is not None:
            self.run(self.session.close(), 15)
        if self.client is not None:
            self.run(self.client.aclose(), 10)
        self.runtime.stop()


def measure_viewstate_rtt(quick: bool) -> dict[str, float]:
    """View-state round trip (ms) between two runtimes over the call's control channel."""
    from backend.server import EmbeddedServer
    from rtc.session import CallState
    from tests.helpers import CONSULT_REQUEST

    count = 150 if quick else 1200
    root = Path(tempfile.mkdtemp(prefix="tc-bench-viewstate-"))
    server = EmbeddedServer(f"sqlite:///{root / 'backend.sqlite3'}", seed_demo=True)
    server.start()
    assert server.base_url is not None
    a, b = _Site("dr.chen", server.base_url), _Site("dr.li", server.base_url)
    try:
        a.run(a.login())
        b.run(b.login())
        consult: dict[str, Any] = b.run(b.client.create_consult(CONSULT_REQUEST))
        a.run(a.client.transition(int(consult["id"]), "accept"))
        a.run(a.open_session(int(consult["id"])))
        b.run(b.open_session(int(consult["id"])))
        a.run(a.session.wait_for_state(CallState.CONNECTED, 40), 45)
        b.run(b.session.wait_for_state(CallState.CONNECTED, 40), 45)

        async def follow_me() -> None:
            a.mirror.follow_me()

        a.run(follow_me())
        deadline = time.monotonic() + 10
        while b.mirror.role.value != "follower" and time.monotonic() < deadline:
            time.sleep(0.02)
        a.run(a.lead(count, 0.05), timeout=count * 0.1 + 30)
        deadline = time.monotonic() + 3
        while a.offered and time.monotonic() < deadline:
            time.sleep(0.02)
        samples = a.rtt_ms
    finally:
        a.close()
        b.close()
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    return {
        "p50_ms": _percentile(samples, 0.5),
        "p99_ms": _percentile(samples, 0.99),
        "n": float(len(samples)),
        "mean_ms": statistics.fmean(samples) if samples else float("nan"),
    }


def main() -> int:
    args = parse(__doc__.splitlines()[0])
    figures = measure_viewstate_rtt(args.quick)
    print(
        f"view-state round trip over the control channel: p50 {figures['p50_ms']:.1f} ms, "
        f"p99 {figures['p99_ms']:.1f} ms ({figures['n']:.0f} states)"
    )
    report({
        "peer": "none: absolute round trip (the goal is shared_imaging.py's)",
        "viewstate_p50_ms": figures["p50_ms"],
        "viewstate_p99_ms": figures["p99_ms"],
    })  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

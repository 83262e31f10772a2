"""Call quality from real aiortc stats reports of an in-process call (rtc/stats.py)."""

from __future__ import annotations

import asyncio
import time

from rtc.session import CallSession, CallState
from rtc.signalling import memory_pair
from rtc.stats import CallQuality, QualityMeter, Thresholds, Verdict, judge
from tests.helpers import until


def test_quality_from_two_real_reports() -> None:
    async def scenario() -> None:
        sig_a, sig_b = memory_pair()
        a = CallSession(sig_a, ice_servers=[], video_size=(320, 240), fps=15)
        b = CallSession(sig_b, ice_servers=[], video_size=(320, 240), fps=15)
        meter = QualityMeter()
        try:
            await a.start()
            await b.start()
            await a.wait_for_state(CallState.CONNECTED, 30)
            await until(lambda: a.frames_received >= 10, 20)
            first_report = await a.stats()
            assert first_report is not None
            first = meter.update(first_report, frames_received=a.frames_received, now=time.monotonic())
            # One report gives no interval: rates are unknown, not zero.
            assert first.bitrate_in_kbps is None and first.fps_in is None and first.interval_s == 0.0
            first_at, first_frames = time.monotonic(), a.frames_received
            # RTCP receiver reports (hence the round trip) come every ~1 s or so in aiortc: the second
            # report is the first one, at least 3 s on, that has a round trip (however long that takes).
            second_report = None

            def has_rtt(report: object) -> bool:
                return any(
                    s.type == "remote-inbound-rtp" and s.roundTripTime is not None
                    for s in report.values()  # type: ignore[attr-defined]
                )

            deadline = time.monotonic() + 60
            while second_report is None or not has_rtt(second_report):
                assert time.monotonic() < deadline, "no round trip in the stats within 60 s"
                await asyncio.sleep(max(0.2, first_at + 3.0 - time.monotonic()))
                second_report = await a.stats()
                assert second_report is not None
            frames_before = a.frames_received
            frame = a.latest_video_frame
            size = (frame.width, frame.height) if frame is not None else None
            quality = meter.update(
                second_report, frames_received=frames_before, frame_size=size, now=time.monotonic()
            )
        finally:
            await a.close()
            await b.close()

        transports = [s for s in second_report.values() if s.type == "transport"]
        assert transports
        assert quality.interval_s >= 3.0
        # The bitrate is the delta of the transport byte counters over the interval.
        old_in = sum(s.bytesReceived for s in first_report.values() if s.type == "transport")
        new_in = sum(s.bytesReceived for s in transports)
        assert quality.bitrate_in_kbps is not None
        assert abs(quality.bitrate_in_kbps - (new_in - old_in) * 8 / quality.interval_s / 1000) < 1e-6
        # 320x240 at 15 fps of VP8 plus Opus: media flows both ways, at most a few thousand kbit/s
        # (how much a loaded machine manages to encode in the interval is not the point here).
        assert 0 < quality.bitrate_in_kbps < 5000
        assert quality.bitrate_out_kbps is not None and 0 < quality.bitrate_out_kbps < 5000
        # The frame rate is the frames decoded over the same interval; never above what is sent.
        assert quality.fps_in is not None
        assert abs(quality.fps_in - (frames_before - first_frames) / quality.interval_s) < 1e-6
        assert 0 < quality.fps_in < 25
        assert quality.loss_in_pct == 0.0  # loopback in one process loses nothing
        # in milliseconds (not seconds): a busy machine may hold RTCP back, but not for a second
        assert quality.rtt_ms is not None and 0 <= quality.rtt_ms < 1000
        assert quality.resolution == (320, 240)
        # the verdict is the thresholds' (test_verdict_thresholds) on these figures
        assert quality.verdict is judge(quality) and quality.verdict is not Verdict.UNKNOWN
        assert meter.latest is quality

    asyncio.run(asyncio.wait_for(scenario(), 150))


def test_verdict_thresholds() -> None:
    t = Thresholds()
    assert judge(CallQuality()) is Verdict.UNKNOWN
    assert judge(CallQuality(rtt_ms=40, loss_in_pct=0.0, fps_in=29)) is Verdict.GOOD
    assert judge(CallQuality(rtt_ms=200, loss_in_pct=0.0, fps_in=29)) is Verdict.FAIR
    assert judge(CallQuality(rtt_ms=40, loss_out_pct=3.0)) is Verdict.FAIR
    assert judge(CallQuality(rtt_ms=40, loss_in_pct=8.0, fps_in=29)) is Verdict.POOR
    assert judge(CallQuality(fps_in=4)) is Verdict.POOR
    assert judge(CallQuality(rtt_ms=t.fair_rtt_ms + 1)) is Verdict.POOR
    assert CallQuality(loss_in_pct=1.0, loss_out_pct=4.0).loss_pct == 4.0
    assert Verdict.GOOD.bars == 3 and Verdict.POOR.bars == 1


def test_counters_that_restart_reset_the_interval() -> None:
    """A fresh peer connection after a reconnect starts its counters at zero: no negative rates."""

    class _T:
        def __init__(self, received: int, sent: int) -> None:
            self.type, self.bytesReceived, self.bytesSent = "transport", received, sent

    meter = QualityMeter()
    meter.update({"t": _T(10_000, 10_000)}, now=1.0)
    assert meter.update({"t": _T(135_000, 60_000)}, now=2.0).bitrate_in_kbps == 1000.0
    restarted = meter.update({"t": _T(500, 500)}, now=3.0)
    assert restarted.bitrate_in_kbps is None
    assert meter.update({"t": _T(13_000, 500)}, now=4.0).bitrate_in_kbps == 100.0

"""Call quality from aiortc's ``getStats()``: round trip, loss, frame rate, bitrates, resolution. Qt-free.

aiortc reports cumulative counters (packets, bytes) per RTP stream and per transport, and the round
trip time from RTCP receiver reports (``remote-inbound-rtp``). Rates and loss are therefore computed
over the interval between two successive reports (:class:`QualityMeter`). aiortc reports neither the
decoded frame rate nor the resolution, so the caller passes its received-frame count and the newest
frame's size (``CallSession.frames_received`` and ``latest_video_frame``).

The verdict follows the usual conversational thresholds: ITU-T G.114 puts 150 ms one way (300 ms round
trip) as the limit for conversation; video conferencing degrades visibly above ~2% loss and is poor
above ~5%.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from collections.abc import Mapping
from typing import Any


class Verdict(enum.Enum):
    UNKNOWN = "unknown"
    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"

    @property
    def bars(self) -> int:
        return {"unknown": 0, "good": 3, "fair": 2, "poor": 1}[self.value]


@dataclasses.dataclass(frozen=True)
class Thresholds:
    good_rtt_ms: float = 150.0
    fair_rtt_ms: float = 300.0
    good_loss_pct: float = 1.0
    fair_loss_pct: float = 5.0
    good_fps: float = 14.0  # consult video is sent at 15 to 30 fps
    fair_fps: float = 8.0


@dataclasses.dataclass(frozen=True)
class CallQuality:
    """One interval's figures; None where the interval gave no basis for it (first report, no video)."""

    rtt_ms: float | None = None
    loss_in_pct: float | None = None  # packets we expected from the peer but did not get
    loss_out_pct: float | None = None  # as the peer reports for what we send (RTCP fraction lost)
    fps_in: float | None = None
    bitrate_in_kbps: float | None = None
    bitrate_out_kbps: float | None = None
    resolution: tuple[int, int] | None = None
    jitter_ms: float | None = None
    interval_s: float = 0.0
    verdict: Verdict = Verdict.UNKNOWN

    @property
    def loss_pct(self) -> float | None:
        values = [v for v in (self.loss_in_pct, self.loss_out_pct) if v is not None]
        return max(values) if values else None


def _grade(good: bool, fair: bool) -> Verdict:
    return Verdict.GOOD if good else Verdict.FAIR if fair else Verdict.POOR


def judge(quality: CallQuality, thresholds: Thresholds = Thresholds()) -> Verdict:
    """Worst of the three criteria that have a value; UNKNOWN when none has."""
    grades: list[Verdict] = []
    if quality.rtt_ms is not None:
        rtt = quality.rtt_ms
        grades.append(_grade(rtt <= thresholds.good_rtt_ms, rtt <= thresholds.fair_rtt_ms))
    loss = quality.loss_pct
    if loss is not None:
        grades.append(_grade(loss <= thresholds.good_loss_pct, loss <= thresholds.fair_loss_pct))
    if quality.fps_in is not None:
        fps = quality.fps_in
        grades.append(_grade(fps >= thresholds.good_fps, fps >= thresholds.fair_fps))
    if not grades:
        return Verdict.UNKNOWN
    order = [Verdict.GOOD, Verdict.FAIR, Verdict.POOR]
    return max(grades, key=order.index)


@dataclasses.dataclass
class _Totals:
    at: float
    bytes_in: int = 0
    bytes_out: int = 0
    packets_in: int = 0
    lost_in: int = 0
    frames_in: int = 0


def _seconds(value: Any) -> float | None:
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    return None


class QualityMeter:
    """Feed it successive reports; each :meth:`update` returns the quality over the last interval."""

    def __init__(self, thresholds: Thresholds = Thresholds()) -> None:
        self.thresholds = thresholds
        self._previous: _Totals | None = None
        self.latest = CallQuality()

    def reset(self) -> None:
        """Forget the counters (a new peer connection starts them from zero)."""
        self._previous = None
        self.latest = CallQuality()

    def update(
        self,
        report: Mapping[str, Any],
        *,
        frames_received: int | None = None,
        frame_size: tuple[int, int] | None = None,
        now: float | None = None,
    ) -> CallQuality:
        totals = _Totals(at=0.0)
        rtts: list[float] = []
        fractions_lost: list[float] = []
        jitters: list[float] = []
        stamp: float | None = None
        for stats in report.values():
            kind = getattr(stats, "type", None)
            stamp = stamp or _seconds(getattr(stats, "timestamp", None))
            if kind == "transport":
                totals.bytes_in += int(stats.bytesReceived)
                totals.bytes_out += int(stats.bytesSent)
            elif kind == "inbound-rtp":
                totals.packets_in += int(stats.packetsReceived)
                totals.lost_in += max(0, int(stats.packetsLost))
                if stats.kind == "audio" and stats.jitter is not None:
                    jitters.append(float(stats.jitter) / 48.0)  # RTP units of the 48 kHz Opus clock -> ms
            elif kind == "remote-inbound-rtp":
                if stats.roundTripTime is not None:
                    rtts.append(float(stats.roundTripTime) * 1000.0)
                if stats.fractionLost is not None:
                    fractions_lost.append(float(stats.fractionLost))
        totals.at = now if now is not None else stamp if stamp is not None else 0.0
        totals.frames_in = frames_received or 0
        previous, self._previous = self._previous, totals
        quality = CallQuality(
            rtt_ms=max(rtts) if rtts else None,
            loss_out_pct=max(fractions_lost) * 100.0 if fractions_lost else None,
            jitter_ms=max(jitters) if jitters else None,
            resolution=frame_size,
        )
        interval = totals.at - previous.at if previous is not None else 0.0
        if previous is not None and interval > 0 and totals.bytes_in >= previous.bytes_in:
            expected = (totals.packets_in - previous.packets_in) + (totals.lost_in - previous.lost_in)
            lost = totals.lost_in - previous.lost_in
            quality = dataclasses.replace(
                quality,
                interval_s=interval,
                bitrate_in_kbps=(totals.bytes_in - previous.bytes_in) * 8 / interval / 1000.0,
                bitrate_out_kbps=max(0, totals.bytes_out - previous.bytes_out) * 8 / interval / 1000.0,
                loss_in_pct=100.0 * lost / expected if expected > 0 else 0.0,
                fps_in=(
                    max(0, totals.frames_in - previous.frames_in) / interval
                    if frames_received is not None
                    else None
                ),
            )
        quality = dataclasses.replace(quality, verdict=judge(quality, self.thresholds))
        self.latest = quality
        return quality

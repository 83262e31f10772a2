"""Sender-side resilience: an adaptive video track and the policy that drives it. Qt-free.

aiortc's VP8 encoder follows REMB for bitrate only; under packet loss the picture then freezes while
retransmissions pile up. :class:`AdaptiveVideoTrack` sits between the local source and the RTP sender
and steps down resolution, then frame rate, when the receiver reports loss (RTCP receiver reports,
surfaced as ``remote-inbound-rtp`` stats), and steps back up once the path is clean again.
:class:`LossPolicy` is the pure decision part, tested without a call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import av
from aiortc import RTCRtpReceiver
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Level:
    scale: float  # of width and height
    frame_divisor: int  # keep one source frame in this many


LEVELS: tuple[Level, ...] = (Level(1.0, 1), Level(0.75, 1), Level(0.5, 1), Level(0.5, 2), Level(0.5, 3))


class LossPolicy:
    """Step down at once when loss is high, step up after a quiet spell; one step per ``hold_s``.

    ``fraction_lost`` is the receiver's report (0..1) for the interval since its previous report.
    """

    def __init__(
        self,
        *,
        degrade_above: float = 0.05,
        recover_below: float = 0.02,
        hold_s: float = 2.0,
        recover_after_s: float = 3.0,
        levels: int = len(LEVELS),
    ) -> None:
        self.degrade_above, self.recover_below = degrade_above, recover_below
        self.hold_s, self.recover_after_s = hold_s, recover_after_s
        self.max_level = levels - 1
        self.level = 0
        self._last_change = float("-inf")
        self._clean_since: float | None = None

    def update(self, fraction_lost: float, now: float) -> int:
        """Feed one report; returns the (possibly new) level."""
        if fraction_lost > self.degrade_above:
            self._clean_since = None
            if self.level < self.max_level and now - self._last_change >= self.hold_s:
                self.level += 1
                self._last_change = now
        elif fraction_lost < self.recover_below:
            if self._clean_since is None:
                self._clean_since = now
            if (
                self.level > 0
                and now - self._clean_since >= self.recover_after_s
                and now - self._last_change >= self.hold_s
            ):
                self.level -= 1
                self._last_change = now
                self._clean_since = now
        else:
            self._clean_since = None
        return self.level


def scaled_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """Even dimensions (yuv420p) no smaller than 32x16."""
    return max(32, int(width * scale) // 2 * 2), max(16, int(height * scale) // 2 * 2)


class AdaptiveVideoTrack(MediaStreamTrack):
    """Passes frames of ``source`` through, scaled and thinned according to :attr:`level`."""

    kind = "video"

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self._source = source
        self.level = 0
        self._count = 0
        self.sent_size: tuple[int, int] | None = None
        self.frames_sent = 0

    @property
    def current(self) -> Level:
        return LEVELS[self.level]

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        while True:
            frame = await self._source.recv()
            if not isinstance(frame, av.VideoFrame):
                raise MediaStreamError("not a video frame")
            self._count += 1
            level = self.current
            if level.frame_divisor > 1 and self._count % level.frame_divisor:
                continue
            if level.scale < 1.0:
                width, height = scaled_size(frame.width, frame.height, level.scale)
                # Straight to the encoder's format: one conversion instead of two.
                scaled = frame.reformat(width=width, height=height, format="yuv420p")
                scaled.pts, scaled.time_base = frame.pts, frame.time_base
                frame = scaled
            self.sent_size = (frame.width, frame.height)
            self.frames_sent += 1
            return frame

    def stop(self) -> None:
        super().stop()
        self._source.stop()


async def repeat_nacks(
    receiver: RTCRtpReceiver, interval: float = 0.15, on_repeat: Callable[[int], None] | None = None
) -> None:
    """Ask again for video packets that are still missing, until they arrive or fall out of the window.

    aiortc NACKs a lost packet once, when it notices the gap. If the retransmission is lost as well,
    its video jitter buffer holds every later frame until 512 packets have piled up (seconds at 720p)
    and only then asks for a keyframe: under a few percent of loss that is a freeze every few seconds.
    libwebrtc repeats NACKs about once per round trip; this does the same from outside aiortc, reading
    its NACK generator (a private attribute: without it, this returns and aiortc behaves as before).
    """
    generator = getattr(receiver, "_RTCRtpReceiver__nack_generator", None)
    if generator is None or not hasattr(generator, "missing"):
        log.debug("nack: aiortc's NACK generator not found, no repeats")
        return
    first_seen: dict[int, float] = {}
    while True:
        await asyncio.sleep(interval)
        missing = set(generator.missing)
        now = time.monotonic()
        for seq in list(first_seen):
            if seq not in missing:
                del first_seen[seq]
        due = []
        for seq in missing:
            seen = first_seen.setdefault(seq, now)
            if now - seen >= interval:  # aiortc already asked once when the gap appeared
                due.append(seq)
        sources = receiver.getSynchronizationSources()
        if due and sources:
            await receiver._send_rtcp_nack(sources[0].source, sorted(due))
            if on_repeat is not None:
                on_repeat(len(due))

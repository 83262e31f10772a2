"""The bedside's decoded media, re-served to the class: one video and one audio track per destination.

The instructor's workstation decodes the bedside's call once; each viewer link (rtc/classroom.py) and the
Janus publication get their own pair of these tracks, fed by the host with every decoded frame and read
by that destination's encoder at its own pace. A slow destination therefore loses frames (newest video
wins, the oldest audio goes) instead of slowing the call or the other trainees. Frames are copied and
re-stamped on the track's own clock because the bedside's timestamps restart on renegotiation and the
encoder marks keyframes on the frame object itself.

A trainee's receive-only session (rtc/class_viewer.py) uses them as idle placeholders: it sends nothing.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections import deque

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

VIDEO_TIME_BASE = fractions.Fraction(1, 90_000)
AUDIO_QUEUE_FRAMES = 25  # 0.5 s of 20 ms frames: a viewer that cannot keep up loses the oldest audio


class ForwardVideoTrack(MediaStreamTrack):
    """The bedside's decoded video for one viewer: newest frame wins; each is copied and re-stamped
    on this track's own clock (the encoder marks keyframes on the frame, and the bedside's timestamps
    restart when its connection is renegotiated)."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self._frame: av.VideoFrame | None = None
        self._ready = asyncio.Event()
        self._start: float | None = None
        self._last_pts = -1
        self.frames_forwarded = 0

    def push(self, frame: av.VideoFrame) -> None:
        self._frame = frame
        self._ready.set()

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        await self._ready.wait()
        self._ready.clear()
        frame = self._frame
        if self.readyState != "live" or frame is None:
            raise MediaStreamError
        if frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0:
            copy = av.VideoFrame.from_ndarray(frame.to_ndarray(), format="yuv420p")
        else:
            copy = frame.reformat(format="yuv420p", width=frame.width // 2 * 2, height=frame.height // 2 * 2)
        now = time.monotonic()
        if self._start is None:
            self._start = now
        self._last_pts = max(int((now - self._start) * 90_000), self._last_pts + 1)
        copy.pts, copy.time_base = self._last_pts, VIDEO_TIME_BASE
        self.frames_forwarded += 1
        return copy

    def stop(self) -> None:
        super().stop()
        self._ready.set()  # wake a pending recv(): it raises MediaStreamError


class ForwardAudioTrack(MediaStreamTrack):
    """The bedside's decoded audio for one viewer: a short queue (oldest dropped), re-stamped."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._frames: deque[av.AudioFrame] = deque(maxlen=AUDIO_QUEUE_FRAMES)
        self._ready = asyncio.Event()
        self._samples = 0

    def push(self, frame: av.AudioFrame) -> None:
        self._frames.append(frame)
        self._ready.set()

    async def recv(self) -> av.AudioFrame:
        while not self._frames:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        if self.readyState != "live":
            raise MediaStreamError
        frame = self._frames.popleft()
        copy = av.AudioFrame.from_ndarray(
            frame.to_ndarray(), format=frame.format.name, layout=frame.layout.name
        )
        copy.sample_rate = frame.sample_rate
        copy.pts, copy.time_base = self._samples, fractions.Fraction(1, frame.sample_rate)
        self._samples += frame.samples
        return copy

    def stop(self) -> None:
        super().stop()
        self._ready.set()

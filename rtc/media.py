"""Local media for a call: switchable proxy tracks, PyAV sources and device lists. Qt-free.

A :class:`CallSession` is given one :class:`SwitchableVideoTrack` and one :class:`SwitchableAudioTrack`
for the whole call. Their source (camera, microphone, a looping file or capture device, the synthetic
pattern) can be swapped and muted at run time: the proxy re-stamps every frame on its own clock, so
timestamps stay monotonic across swaps and no renegotiation is needed. Muted video is black frames,
muted audio is silence, both with correct timestamps, so the far side keeps decoding.

Importing this module loads aiortc and PyAV: the UI imports it inside the functions that start a call.
Sources are opened through PyAV (aiortc's ``MediaPlayer`` runs the demuxer and decoder on its own
thread, off the loop). Device enumeration reads ``/dev/video*`` and ``/proc/asound``; where there are
none (a server, this CI machine) the lists are empty, never an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import fractions
import logging
import math
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

log = logging.getLogger(__name__)

VIDEO_CLOCK = 90_000
AUDIO_RATE = 48_000
AUDIO_FRAME_SAMPLES = AUDIO_RATE // 50  # 20 ms
SOURCE_TIMEOUT_S = 1.0  # a source silent this long is treated as absent (black / silence meanwhile)


class SourceKind(enum.Enum):
    SYNTHETIC = "synthetic"
    ULTRASOUND = "ultrasound"  # the demo's simulated bedside echo
    CAMERA = "camera"
    FILE = "file"  # a video file, looped, or a capture device given by path
    MICROPHONE = "microphone"
    TONE = "tone"


@dataclasses.dataclass(frozen=True)
class MediaSource:
    """Where a track's frames come from; ``location`` is a device path, an ALSA/Pulse name or a file."""

    kind: SourceKind
    label: str
    location: str = ""
    input_format: str | None = None
    options: tuple[tuple[str, str], ...] = ()

    @property
    def is_video(self) -> bool:
        return self.kind in (SourceKind.SYNTHETIC, SourceKind.ULTRASOUND, SourceKind.CAMERA, SourceKind.FILE)


SYNTHETIC_VIDEO = MediaSource(SourceKind.SYNTHETIC, "Test pattern")
SYNTHETIC_AUDIO = MediaSource(SourceKind.TONE, "Test tone")
ULTRASOUND_VIDEO = MediaSource(SourceKind.ULTRASOUND, "Simulated ultrasound")


def file_source(path: str | Path, label: str | None = None) -> MediaSource:
    return MediaSource(SourceKind.FILE, label or Path(path).name, str(path))


# --- device enumeration -----------------------------------------------------------------------
def list_cameras(dev: Path = Path("/dev"), sysfs: Path = Path("/sys/class/video4linux")) -> list[MediaSource]:
    """V4L2 capture devices (``/dev/videoN``) with their driver names; empty where there are none."""
    if not sys.platform.startswith("linux"):
        return []
    found: list[MediaSource] = []
    with contextlib.suppress(OSError):
        paths = sorted(dev.glob("video[0-9]*"), key=lambda p: int(re.sub(r"\D", "", p.name) or 0))
        for path in paths:
            name = path.name
            with contextlib.suppress(OSError):
                name = (sysfs / path.name / "name").read_text(encoding="utf-8").strip() or name
            found.append(MediaSource(SourceKind.CAMERA, f"{name} ({path})", str(path), "v4l2"))
    return found


_CARD_LINE = re.compile(r"^\s*(\d+)\s+\[(\S+)\s*\]:\s*(.*)$")


def list_microphones(proc_asound: Path = Path("/proc/asound")) -> list[MediaSource]:
    """ALSA cards that have a capture device (``pcmCcDp`` with ``c``); empty where there are none."""
    if not sys.platform.startswith("linux"):
        return []
    try:
        text = (proc_asound / "cards").read_text(encoding="utf-8")
    except OSError:
        return []
    found: list[MediaSource] = []
    for line in text.splitlines():
        match = _CARD_LINE.match(line)
        if match is None:
            continue
        index, short, long_name = match.groups()
        card = proc_asound / f"card{index}"
        with contextlib.suppress(OSError):
            for pcm in sorted(card.glob("pcm*c")):
                device = pcm.name.removeprefix("pcm").removesuffix("c")
                label = f"{long_name.split(' - ')[0].strip() or short} (hw:{index},{device})"
                found.append(MediaSource(SourceKind.MICROPHONE, label, f"hw:{index},{device}", "alsa"))
    return found


# --- frames -------------------------------------------------------------------------------------
def black_frame(width: int, height: int) -> av.VideoFrame:
    """A black yuv420p frame (limited range: Y=16, U=V=128)."""
    width, height = width - width % 2, height - height % 2
    planes = np.empty((height * 3 // 2, width), dtype=np.uint8)
    planes[:height] = 16
    planes[height:] = 128
    return av.VideoFrame.from_ndarray(planes, format="yuv420p")


def silence_frame(samples: int = AUDIO_FRAME_SAMPLES) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(np.zeros((1, samples), dtype=np.int16), format="s16", layout="mono")
    frame.sample_rate = AUDIO_RATE
    return frame


def open_source(
    source: MediaSource, *, size: tuple[int, int] = (640, 480), fps: float = 30.0
) -> MediaStreamTrack:
    """A MediaStreamTrack producing ``source``'s frames. Raises ``OSError``/``av.FFmpegError`` when the
    device or file cannot be opened. Stopping the track releases the device."""
    from rtc.sources import SyntheticAudioTrack, SyntheticVideoTrack

    if source.kind is SourceKind.SYNTHETIC:
        return SyntheticVideoTrack(*size, fps=fps)
    if source.kind is SourceKind.ULTRASOUND:
        return UltrasoundVideoTrack(*size, fps=fps)
    if source.kind is SourceKind.TONE:
        return SyntheticAudioTrack()
    from aiortc.contrib.media import MediaPlayer

    options = dict(source.options)
    if source.kind is SourceKind.CAMERA:
        options.setdefault("video_size", f"{size[0]}x{size[1]}")
        options.setdefault("framerate", str(int(fps)))
        player = MediaPlayer(source.location, format=source.input_format or "v4l2", options=options)
        track = player.video
    elif source.kind is SourceKind.FILE:
        # A file loops (a recorded ultrasound clip); a device path such as a capture card plays live.
        is_file = Path(source.location).is_file()
        player = MediaPlayer(
            source.location, format=source.input_format, options=options or None, loop=is_file
        )
        track = player.video
    else:  # MICROPHONE
        player = MediaPlayer(
            source.location or "default", format=source.input_format or "pulse", options=options
        )
        track = player.audio
    if track is None:
        raise OSError(f"{source.label}: no {'video' if source.is_video else 'audio'} stream")
    return track


SourceOpener = Callable[[MediaSource], MediaStreamTrack]


# --- switchable tracks -----------------------------------------------------------------------
class _Switchable(MediaStreamTrack):
    """The part the two proxies share: current source, muting, swapping."""

    def __init__(self, source: MediaStreamTrack | None) -> None:
        super().__init__()
        self._source = source
        self.muted = False
        self.source_changes = 0

    @property
    def source(self) -> MediaStreamTrack | None:
        return self._source

    def set_source(self, source: MediaStreamTrack | None) -> MediaStreamTrack | None:
        """Swap the source (None: black / silence); the old one is stopped and returned."""
        old, self._source = self._source, source
        self.source_changes += 1
        if old is not None and old is not source:
            old.stop()
        return old

    def set_muted(self, muted: bool) -> None:
        self.muted = muted

    async def _pull(self) -> Any:
        """One frame from the source, or None when there is none, it ended, or it stalls."""
        source = self._source
        if source is None:
            return None
        try:
            return await asyncio.wait_for(source.recv(), SOURCE_TIMEOUT_S)
        except (MediaStreamError, TimeoutError):
            if source is self._source and source.readyState == "ended":
                log.warning("media: %s source ended", self.kind)
                self._source = None
            return None
        except Exception as exc:  # a failing device must not end the call
            log.warning("media: %s source failed: %s", self.kind, exc)
            if source is self._source:
                self._source = None
                source.stop()
            return None

    def stop(self) -> None:
        """Stop the proxy and release its source. Calling it twice is harmless."""
        source, self._source = self._source, None
        if source is not None:
            source.stop()
        super().stop()


class SwitchableVideoTrack(_Switchable):
    """The call's outgoing video. Camera off (or muted) sends black frames at ``fps``."""

    kind = "video"

    def __init__(
        self,
        source: MediaStreamTrack | None = None,
        *,
        size: tuple[int, int] = (640, 480),
        fps: float = 30.0,
    ) -> None:
        super().__init__(source)
        self.fps = fps
        self.size = size
        self._start: float | None = None
        self._last_pts = -1
        self._next_due = 0.0
        self._latest: av.VideoFrame | None = None
        self.frames_sent = 0
        self.black_frames_sent = 0

    @property
    def enabled(self) -> bool:
        return not self.muted

    def set_enabled(self, enabled: bool) -> None:
        """Camera on/off. Off keeps draining the source, so no backlog builds up meanwhile."""
        self.muted = not enabled

    def take_frame(self) -> av.VideoFrame | None:
        """The newest frame sent since the last call (the local preview's newest-frame slot)."""
        frame, self._latest = self._latest, None
        return frame

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start, self._next_due = now, now
        frame = await self._pull()
        if self.readyState != "live":
            raise MediaStreamError
        if frame is not None:
            self.size = (frame.width, frame.height)
        if frame is None or self.muted:
            # Black frames are paced here; a source paces its own frames.
            wait = self._next_due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            frame = black_frame(*self.size)
            self.black_frames_sent += 1
        now = time.monotonic()
        self._next_due = max(self._next_due + 1.0 / self.fps, now)
        pts = max(int((now - self._start) * VIDEO_CLOCK), self._last_pts + 1)
        self._last_pts = pts
        frame.pts = pts
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self.frames_sent += 1
        self._latest = frame
        return frame


class SwitchableAudioTrack(_Switchable):
    """The call's outgoing audio: 48 kHz mono s16. Muted (or no source) sends 20 ms frames of silence."""

    kind = "audio"

    def __init__(self, source: MediaStreamTrack | None = None) -> None:
        super().__init__(source)
        self._start: float | None = None
        self._samples = 0
        self._resampler: av.AudioResampler | None = None
        self._pending: list[av.AudioFrame] = []
        self.frames_sent = 0
        self.silent_frames_sent = 0
        self.level = 0.0  # RMS of the last frame sent, 0..1, for a level meter

    def set_source(self, source: MediaStreamTrack | None) -> MediaStreamTrack | None:
        self._resampler = None
        self._pending.clear()
        return super().set_source(source)

    def _normalise(self, frame: av.AudioFrame) -> list[av.AudioFrame]:
        if frame.format.name == "s16" and frame.layout.name == "mono" and frame.sample_rate == AUDIO_RATE:
            return [frame]
        if self._resampler is None:
            self._resampler = av.AudioResampler(format="s16", layout="mono", rate=AUDIO_RATE)
        return list(self._resampler.resample(frame))

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        frame = self._pending.pop(0) if self._pending else None
        while frame is None and self._source is not None:
            pulled = await self._pull()
            if pulled is None:
                break
            frames = self._normalise(pulled)
            if frames:
                frame, self._pending = frames[0], frames[1:]
        if self.readyState != "live":
            raise MediaStreamError
        if frame is None or self.muted:
            if frame is None:  # nothing paced us: keep real time ourselves
                wait = self._start + self._samples / AUDIO_RATE - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            frame = silence_frame(frame.samples if frame is not None else AUDIO_FRAME_SAMPLES)
            self.silent_frames_sent += 1
            self.level = 0.0
        else:
            data = frame.to_ndarray().astype(np.float32)
            self.level = math.sqrt(float(np.mean(data * data))) / 32768.0 if data.size else 0.0
        frame.pts = self._samples
        frame.sample_rate = AUDIO_RATE
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        self._samples += frame.samples
        self.frames_sent += 1
        return frame


class UltrasoundVideoTrack(MediaStreamTrack):
    """Simulated bedside echo: a grey speckle sector whose bright wall beats at 72/min, with the burned-in
    frame counter of :mod:`rtc.sources` (so latency can be read back as with the test pattern).

    Speckle fields are precomputed; a frame is a blend of two of them and a moving ring, cheap at
    640x480 on the loop."""

    kind = "video"

    def __init__(self, width: int = 640, height: int = 480, fps: float = 30.0, seed: int = 7) -> None:
        super().__init__()
        from rtc.sources import COUNTER_BITS

        if width < COUNTER_BITS * 4 or height < 32:
            raise ValueError("frame too small for the burned-in counter")
        self.width, self.height, self.fps = width, height, fps
        rng = np.random.default_rng(seed)
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        apex_x, apex_y = width / 2.0, -height * 0.05
        self._radius = np.hypot(xs - apex_x, ys - apex_y)
        angle = np.arctan2(xs - apex_x, ys - apex_y)
        r_max = height * 1.0
        self._fan = ((np.abs(angle) < math.radians(38)) & (self._radius > height * 0.08)) & (
            self._radius < r_max
        )
        depth_gain = np.clip(1.1 - self._radius / (r_max * 1.2), 0.2, 1.0)
        self._speckle = [
            (rng.rayleigh(0.35, (height, width)) * depth_gain).astype(np.float32) for _ in range(4)
        ]
        self._start: float | None = None
        self.counter = 0

    async def recv(self) -> av.VideoFrame:
        from rtc.sources import burn_counter, pace

        if self.readyState != "live":
            raise MediaStreamError
        self._start = await pace(self._start, self.counter, self.fps)
        self.counter += 1
        t = self.counter / self.fps
        k = self.counter % len(self._speckle)
        mix = 0.5 + 0.5 * math.sin(t * 3.0)
        field = self._speckle[k] * mix + self._speckle[(k + 1) % len(self._speckle)] * (1.0 - mix)
        beat = 0.5 + 0.5 * math.sin(2 * math.pi * 1.2 * t)  # 72 beats per minute
        wall = self.height * (0.45 + 0.05 * beat)
        ring = np.exp(-(((self._radius - wall) / (self.height * 0.03)) ** 2)) * 1.4
        cavity = self._radius < wall - self.height * 0.04
        image = (field + ring) * 150.0
        image[cavity & (self._radius > self.height * 0.3)] *= 0.25
        grey = np.clip(image, 0, 255).astype(np.uint8)
        grey[~self._fan] = 0
        rgb = np.repeat(grey[:, :, None], 3, axis=2)
        burn_counter(rgb, self.counter)
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts = int((self.counter - 1) * VIDEO_CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        return frame

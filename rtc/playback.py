"""Playing the far side's voice: remote audio frames to the sound card, newest wins, off the loop.

Decoded frames arrive on the rtc loop; :meth:`AudioPlayback.feed` only resamples them to 48 kHz stereo
s16 and hands the bytes to a writer thread that feeds ``aplay`` (ALSA's player, raw PCM on stdin). The
backlog is bounded: when the device falls behind, the oldest audio is dropped, so the voice never lags
the picture by more than :data:`MAX_BACKLOG_S`. The level of the latest frame is kept for a meter and
for tests (silence when the other side mutes).

A workstation without a sound card still takes the call; :attr:`available` and
:attr:`unavailable_reason` say why nothing is heard, so the UI can say it instead of staying silent.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

RATE = 48_000
CHANNELS = 2
MAX_BACKLOG_S = 0.2


def audio_output_available() -> tuple[bool, str]:
    """Whether this machine can play sound: ``aplay`` and at least one ALSA sound card."""
    if shutil.which("aplay") is None:
        return False, "aplay (alsa-utils) is not installed"
    try:
        text = Path("/proc/asound/cards").read_text()
    except OSError:
        return False, "no ALSA sound system"
    if "no soundcards" in text or not text.strip():
        return False, "no sound card"
    return True, ""


def frame_level(pcm: np.ndarray) -> float:
    """RMS of int16 PCM as a fraction of full scale (0 = silence)."""
    if pcm.size == 0:
        return 0.0
    return float(np.sqrt(np.mean((pcm.astype(np.float64) / 32768.0) ** 2)))


class AudioPlayback:
    """``feed`` from the loop; ``close`` twice is harmless. ``sink`` replaces the device in tests."""

    def __init__(self, sink: Any = None) -> None:
        import av

        if sink is None:
            self.available, self.unavailable_reason = audio_output_available()
        else:
            self.available, self.unavailable_reason = True, ""
        self._sink = sink
        self._resampler = av.AudioResampler(format="s16", layout="stereo", rate=RATE)
        self._chunks: collections.deque[bytes] = collections.deque()
        self._bytes = 0
        self._cond = threading.Condition()
        self._closed = False
        self.level = 0.0
        self.frames_played = 0
        self.bytes_dropped = 0
        self._thread: threading.Thread | None = None
        if self.available:
            self._thread = threading.Thread(target=self._run, name="audio-playback", daemon=True)
            self._thread.start()

    def feed(self, frame: Any) -> None:
        if self._closed:
            return
        out = []
        for resampled in self._resampler.resample(frame):
            pcm = resampled.to_ndarray().reshape(-1)
            out.append(pcm.astype("<i2").tobytes())
            self.level = frame_level(pcm)
        if not self.available or not out:
            return
        data = b"".join(out)
        limit = int(MAX_BACKLOG_S * RATE * CHANNELS * 2)
        with self._cond:
            self._chunks.append(data)
            self._bytes += len(data)
            while self._bytes > limit and len(self._chunks) > 1:
                dropped = self._chunks.popleft()
                self._bytes -= len(dropped)
                self.bytes_dropped += len(dropped)
            self._cond.notify()

    def flush(self) -> None:
        """Drop what waits to be played (a player paused or jumped: the old sound must not follow)."""
        with self._cond:
            self.bytes_dropped += self._bytes
            self._chunks.clear()
            self._bytes = 0

    def _open_device(self) -> Any:
        return subprocess.Popen(
            ["aplay", "-q", "-t", "raw", "-f", "S16_LE", "-c", str(CHANNELS), "-r", str(RATE)],
            stdin=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def _run(self) -> None:
        process = None
        sink = self._sink
        try:
            if sink is None:
                process = self._open_device()
                sink = process.stdin
            while True:
                with self._cond:
                    while not self._chunks and not self._closed:
                        self._cond.wait(0.5)
                    if self._closed:
                        return
                    data = self._chunks.popleft()
                    self._bytes -= len(data)
                sink.write(data)
                self.frames_played += 1
        except (OSError, ValueError) as exc:  # the device went away: say so once, keep the call
            log.warning("audio playback stopped: %s", exc)
            self.available, self.unavailable_reason = False, f"audio output failed: {exc}"
        finally:
            if process is not None:
                with contextlib.suppress(Exception):
                    process.stdin.close()
                process.terminate()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=2)


class Tempo:
    """Audio at another speed with its pitch kept (FFmpeg's ``atempo`` through PyAV), for replay at
    :data:`MIN_SPEED` to :data:`MAX_SPEED`: a voice or a murmur at 2x still sounds like itself."""

    MIN_SPEED, MAX_SPEED = 0.5, 4.0

    def __init__(self) -> None:
        self._graph: Any = None
        self._key: tuple[Any, ...] | None = None
        self._pts = 0

    @classmethod
    def supports(cls, speed: float) -> bool:
        return cls.MIN_SPEED <= speed <= cls.MAX_SPEED

    def reset(self) -> None:
        """Forget what is buffered (a seek, a pause, a new speed)."""
        self._graph, self._key, self._pts = None, None, 0

    def process(self, frame: Any, speed: float) -> list[Any]:
        """The audio of ``frame`` at ``speed`` (what is ready of it: the filter works on blocks)."""
        if speed == 1.0:
            return [frame]
        if not self.supports(speed):
            raise ValueError(f"tempo {speed} is outside {self.MIN_SPEED}-{self.MAX_SPEED}")
        import av

        key = (speed, frame.format.name, frame.layout.name, frame.sample_rate)
        if key != self._key:
            self._build(key)
        frame.pts = self._pts
        self._pts += frame.samples
        self._graph.push(frame)
        out = []
        while True:
            try:
                out.append(self._graph.pull())
            except (av.error.BlockingIOError, av.error.EOFError):
                return out

    def _build(self, key: tuple[Any, ...]) -> None:
        from fractions import Fraction

        import av.filter

        speed, sample_format, layout, rate = key
        graph = av.filter.Graph()
        source = graph.add_abuffer(format=sample_format, sample_rate=rate, layout=layout,
                                   time_base=Fraction(1, rate))
        tempo = graph.add("atempo", f"{speed:g}")
        # out as it came in (atempo would hand back packed samples for planar ones)
        same = graph.add("aformat",
                         f"sample_fmts={sample_format}:channel_layouts={layout}:sample_rates={rate}")
        sink = graph.add("abuffersink")
        source.link_to(tempo)
        tempo.link_to(same)
        same.link_to(sink)
        graph.configure()
        self._graph, self._key, self._pts = graph, key, 0


"""Synthetic media for demo mode and tests: a moving test pattern with a frame counter, and a tone.

The counter is burned into the pixels as a row of black/white blocks (one per bit, most significant
first), large enough to survive VP8 compression, so a receiver can read back which frame it shows
(:func:`read_frame_counter`) and measure glass-to-glass latency. Frame generation is a numpy roll of a
precomputed pattern: cheap enough to stay on the loop at small sizes.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

COUNTER_BITS = 24
VIDEO_CLOCK = 90_000


def _pattern(width: int, height: int) -> np.ndarray:
    bars = np.array(
        [[192, 192, 192], [192, 192, 0], [0, 192, 192], [0, 192, 0], [192, 0, 192], [192, 0, 0], [0, 0, 192]],
        dtype=np.uint8,
    )
    columns = (np.arange(width) * len(bars) // width).astype(np.intp)
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = bars[columns][None, :, :]
    ramp = np.linspace(0, 255, width, dtype=np.uint8)
    image[height * 3 // 4 :, :, :] = ramp[None, :, None]
    return image


def _block_size(width: int) -> int:
    return max(4, width // COUNTER_BITS)


def burn_counter(image: np.ndarray, counter: int) -> None:
    """Write ``counter`` into the top band of ``image`` (H x W x 3, uint8) in place."""
    width = image.shape[1]
    size = _block_size(width)
    image[: size + 2, :, :] = 0
    for bit in range(COUNTER_BITS):
        if (counter >> (COUNTER_BITS - 1 - bit)) & 1:
            x = bit * size
            image[1 : size + 1, x + 1 : x + size - 1, :] = 255


def read_frame_counter(image: np.ndarray) -> int:
    """Read back the counter written by :func:`burn_counter` from an RGB array (after coding loss)."""
    width = image.shape[1]
    size = _block_size(width)
    value = 0
    for bit in range(COUNTER_BITS):
        x = bit * size
        patch = image[size // 4 + 1 : size * 3 // 4 + 1, x + size // 4 : x + size * 3 // 4]
        value = (value << 1) | int(patch.mean() > 127)
    return value


async def pace(start: float | None, index: int, rate: float) -> float:
    """Real-time pacing for synthetic sources: wait until item ``index`` (frame or sample) is due at
    ``rate`` per second from ``start``; the first call starts the clock. Returns the start time."""
    now = time.monotonic()
    if start is None:
        return now
    wait = start + index / rate - now
    if wait > 0:
        await asyncio.sleep(wait)
    return start


class SyntheticVideoTrack(MediaStreamTrack):
    """A moving colour-bar pattern; frame ``n`` carries ``n`` in its pixels (first frame is 1)."""

    kind = "video"

    def __init__(self, width: int = 640, height: int = 480, fps: float = 30.0) -> None:
        super().__init__()
        if width < COUNTER_BITS * 4 or height < 16:
            raise ValueError("frame too small for the burned-in counter")
        self.width, self.height, self.fps = width, height, fps
        self._pattern = _pattern(width, height)
        self._start: float | None = None
        self.counter = 0
        self.sent_at: dict[int, float] = {}

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        self._start = await pace(self._start, self.counter, self.fps)
        self.counter += 1
        shift = (self.counter * 4) % self.width
        image = np.roll(self._pattern, shift, axis=1)
        burn_counter(image, self.counter)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = int((self.counter - 1) * VIDEO_CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        # Keep a bounded history of send times for latency measurements.
        self.sent_at[self.counter] = time.monotonic()
        self.sent_at.pop(self.counter - 600, None)
        return frame


class SyntheticAudioTrack(MediaStreamTrack):
    """A continuous sine tone, 20 ms frames of mono s16 at 48 kHz."""

    kind = "audio"

    def __init__(self, frequency: float = 440.0, sample_rate: int = 48_000, amplitude: float = 0.2) -> None:
        super().__init__()
        self.frequency, self.sample_rate = frequency, sample_rate
        self._amplitude = int(amplitude * 32767)
        self._samples_per_frame = sample_rate // 50
        self._sent = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        self._start = await pace(self._start, self._sent, self.sample_rate)
        n = self._samples_per_frame
        t = (np.arange(n) + self._sent) / self.sample_rate
        samples = (self._amplitude * np.sin(2 * math.pi * self.frequency * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.sample_rate
        frame.pts = self._sent
        frame.time_base = fractions.Fraction(1, self.sample_rate)
        self._sent += n
        return frame

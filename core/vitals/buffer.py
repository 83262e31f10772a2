"""Numpy ring buffers and the store that holds one per waveform group plus numerics with timestamps.

One writer thread per buffer and any number of reader threads: writes and reads take a short lock and
copy, so a reader never sees a half-written chunk. Samples are addressed by their absolute index
(count of samples ever written), which lets a reader ask for "everything since index N" and notice
when the writer has lapped it. Lost samples are stored as NaN so displays can mark the gap.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from core.vitals.signals import WAVES, Numeric, Wave, WaveDef


@dataclass(frozen=True)
class Chunk:
    """Samples read from a ring: ``values`` is (channels, n); ``start`` the absolute index of column 0."""

    start: int
    values: np.ndarray
    times: np.ndarray

    @property
    def stop(self) -> int:
        return self.start + self.values.shape[1]


class RingBuffer:
    """A fixed-capacity multi-channel ring of float64 samples with a timestamp per sample."""

    def __init__(self, fs: float, channels: int, capacity: int) -> None:
        if capacity <= 0 or channels <= 0 or fs <= 0:
            raise ValueError("fs, channels and capacity must be positive")
        self.fs = float(fs)
        self.channels = channels
        self.capacity = capacity
        self._values = np.full((channels, capacity), np.nan)
        self._times = np.full(capacity, np.nan)
        self._total = 0
        self._gap_samples = 0
        self._lock = threading.Lock()

    @property
    def total(self) -> int:
        """Samples ever written: the absolute index the next sample gets."""
        return self._total

    @property
    def gap_samples(self) -> int:
        return self._gap_samples

    def write(self, values: np.ndarray, t_first: float | None = None) -> None:
        """Append ``values`` ((channels, n) or (n,) for one channel) sampled at ``fs`` from ``t_first``.

        Without ``t_first`` the samples continue the previous timestamp.
        """
        data = np.asarray(values, dtype=np.float64)
        if data.ndim == 1:
            data = data[np.newaxis, :]
        if data.shape[0] != self.channels:
            raise ValueError(f"expected {self.channels} channels, got {data.shape[0]}")
        n = data.shape[1]
        if n == 0:
            return
        with self._lock:
            if t_first is None:
                last = self._times[(self._total - 1) % self.capacity] if self._total else 0.0
                t_first = float(last) + 1.0 / self.fs
            times = t_first + np.arange(n) / self.fs
            if n > self.capacity:
                data, times = data[:, -self.capacity :], times[-self.capacity :]
                self._total += n - self.capacity
                n = self.capacity
            pos = self._total % self.capacity
            first = min(n, self.capacity - pos)
            self._values[:, pos : pos + first] = data[:, :first]
            self._times[pos : pos + first] = times[:first]
            if first < n:
                self._values[:, : n - first] = data[:, first:]
                self._times[: n - first] = times[first:]
            self._total += n

    def write_gap(self, n: int, t_first: float | None = None) -> None:
        """Record ``n`` lost samples as NaN, so readers can mark where data is missing."""
        if n <= 0:
            return
        self.write(np.full((self.channels, n), np.nan), t_first)
        with self._lock:
            self._gap_samples += n

    def read(self, start: int, stop: int | None = None) -> Chunk:
        """Samples with absolute index in [start, stop), clamped to what the ring still holds."""
        with self._lock:
            total = self._total
            stop = total if stop is None else min(stop, total)
            start = max(start, total - self.capacity, 0)
            if stop <= start:
                return Chunk(start, np.empty((self.channels, 0)), np.empty(0))
            idx = np.arange(start, stop) % self.capacity
            return Chunk(start, self._values[:, idx], self._times[idx])

    def latest(self, n: int) -> Chunk:
        total = self._total
        return self.read(max(total - n, 0), total)

    def newest_time(self) -> float | None:
        """The newest sample's time; None before the first one and after :meth:`clear`."""
        with self._lock:
            if not self._total:
                return None
            t = float(self._times[(self._total - 1) % self.capacity])
            return t if np.isfinite(t) else None

    def clear(self) -> None:
        """Forget every sample (NaN values and times); absolute indices go on from where they were, so a
        reader's or writer's position stays valid and nothing of the previous patient can be read back."""
        with self._lock:
            self._values.fill(np.nan)
            self._times.fill(np.nan)
            self._gap_samples = 0


class NumericTrend:
    """Timestamped values of one numeric, kept for trends (default: 4 hours at one value per second)."""

    def __init__(self, capacity: int = 4 * 3600) -> None:
        self._ring = RingBuffer(1.0, 1, capacity)

    def add(self, value: float, t: float) -> None:
        self._ring.write(np.array([value]), t)

    def latest(self) -> tuple[float, float] | None:
        chunk = self._ring.latest(1)
        if chunk.values.shape[1] == 0 or not np.isfinite(chunk.times[0]):
            return None
        return float(chunk.values[0, 0]), float(chunk.times[0])

    def clear(self) -> None:
        self._ring.clear()

    def since(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        chunk = self._ring.latest(self._ring.capacity)
        keep = chunk.times >= t
        return chunk.times[keep], chunk.values[0, keep]


class VitalsStore:
    """Everything one patient's monitor shows: a ring per waveform group, numerics and technical flags.

    ``clock`` gives wall-clock seconds (``time.time``), the time base of sample timestamps; streamed
    data keeps the sender's timestamps, so "newest sample is N s old" spans both sites.

    Numerics a source writes (the monitor's, an HL7 feed's) count as data from the bedside, at the time
    they were measured; those the analysis derives (``derived=True``: HR from the ECG, NEWS2) do not, so
    a monitor that stopped sending never looks live because the engine is still computing.
    """

    def __init__(
        self,
        seconds: float = 60.0,
        waves: Iterable[WaveDef] = WAVES.values(),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self.defs: dict[Wave, WaveDef] = {d.wave: d for d in waves}
        self.rings: dict[Wave, RingBuffer] = {
            d.wave: RingBuffer(d.fs, len(d.channels), round(seconds * d.fs)) for d in self.defs.values()
        }
        self.trends: dict[Numeric, NumericTrend] = {n: NumericTrend() for n in Numeric}
        self._technical: dict[str, bool] = {}
        self._sourced: set[Numeric] = set()  # numerics a source has written (not only the analysis)
        self._lock = threading.Lock()
        # A source holds this while it checks whose data it has and writes it; clear() takes it too, so
        # nothing checked against a patient who just left lands after the store was cleared.
        self.writing = threading.RLock()

    def channel_index(self, wave: Wave, channel: str) -> int:
        return self.defs[wave].channels.index(channel)

    def set_numeric(
        self, numeric: Numeric, value: float, t: float | None = None, derived: bool = False
    ) -> None:
        self.trends[numeric].add(value, self.clock() if t is None else t)
        if not derived and numeric not in self._sourced:
            with self._lock:
                self._sourced.add(numeric)

    def numeric(self, numeric: Numeric, max_age: float | None = None) -> float | None:
        """The latest value, or None when there is none (or it is older than ``max_age`` seconds)."""
        latest = self.trends[numeric].latest()
        if latest is None or not np.isfinite(latest[0]):
            return None
        if max_age is not None and self.clock() - latest[1] > max_age:
            return None
        return latest[0]

    def numeric_time(self, numeric: Numeric) -> float | None:
        latest = self.trends[numeric].latest()
        return None if latest is None else latest[1]

    def set_technical(self, name: str, active: bool) -> None:
        """A condition a source reports itself, e.g. ``ecg_lead_off``."""
        with self._lock:
            self._technical[name] = active

    def technical(self) -> dict[str, bool]:
        with self._lock:
            return dict(self._technical)

    def newest_time(self) -> float | None:
        """The newest waveform sample's or source numeric's time (a feed of numerics only, HL7, has no
        waveforms); None before any data."""
        times = [t for ring in self.rings.values() if (t := ring.newest_time()) is not None]
        with self._lock:
            sourced = list(self._sourced)
        now = self.clock()
        for numeric in sourced:
            latest = self.trends[numeric].latest()
            if latest is not None:
                times.append(min(latest[1], now))  # a sender's clock running ahead never looks live
        return max(times) if times else None

    def newest_age(self) -> float | None:
        """Seconds since the newest data from the source (None before the first, and after a clear)."""
        newest = self.newest_time()
        return None if newest is None else max(0.0, self.clock() - newest)

    def numeric_age(self, numeric: Numeric) -> float | None:
        """Seconds since the latest value of ``numeric`` was measured (None when there is none)."""
        t = self.numeric_time(numeric)
        return None if t is None else max(0.0, self.clock() - t)

    def clear(self) -> None:
        """Forget everything: waveforms, numerics and their trends, technical flags (the patient changed,
        the consult ended). The store object stays, so sources and views keep their reference."""
        with self.writing:
            for ring in self.rings.values():
                ring.clear()
            for trend in self.trends.values():
                trend.clear()
            with self._lock:
                self._technical.clear()
                self._sourced.clear()

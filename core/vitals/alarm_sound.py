"""Alarm sound: the IEC 60601-1-8 burst patterns, synthesised, and a player that runs off the UI thread.

IEC 60601-1-8 (general alarm signals): a pulse has a fundamental between 150 and 1000 Hz with at least
four harmonics, a rise and fall of 10-20 % of its duration; a high-priority burst is ten pulses
(3 + 2, a pause, 3 + 2), a medium-priority burst three pulses, a low-priority burst one or two. High
priority repeats fastest. Audio is what reaches a clinician who is looking elsewhere, so a workstation
that cannot play it says so on screen instead of staying silent without a word.

The player is a thread of its own: a busy UI never delays the sound (the burst plays through ``aplay``
from ALSA's utilities, fed raw PCM on stdin).
"""

from __future__ import annotations

import logging
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.vitals.alarms import Priority
from rtc.playback import audio_output_available

log = logging.getLogger(__name__)

SAMPLE_RATE = 22_050


@dataclass(frozen=True)
class BurstPattern:
    fundamental_hz: float
    pulse_s: float
    # onsets of the pulses within the burst, seconds
    onsets: tuple[float, ...]
    repeat_s: float  # from the start of one burst to the start of the next


def _spaced(
    pulse_s: float, gap_s: float, groups: tuple[int, ...], group_gaps: tuple[float, ...]
) -> tuple[float, ...]:
    onsets: list[float] = []
    t = 0.0
    for gi, count in enumerate(groups):
        for k in range(count):
            onsets.append(t)
            t += pulse_s + (gap_s if k < count - 1 else 0.0)
        if gi < len(group_gaps):
            t += group_gaps[gi]
    return tuple(round(x, 4) for x in onsets)


PATTERNS: dict[Priority, BurstPattern] = {
    # 3 + 2, 0.35 s, 3 + 2: ten pulses of 0.1 s, burst every 5 s
    Priority.HIGH: BurstPattern(523.0, 0.10, _spaced(0.10, 0.08, (3, 2, 3, 2), (0.30, 0.70, 0.30)), 5.0),
    Priority.MEDIUM: BurstPattern(440.0, 0.20, _spaced(0.20, 0.15, (3,), ()), 7.5),
    Priority.LOW: BurstPattern(330.0, 0.20, _spaced(0.20, 0.15, (2,), ()), 16.0),
}


def pulse(
    fundamental_hz: float, duration_s: float, rate: int = SAMPLE_RATE, harmonics: int = 5
) -> np.ndarray:
    """One pulse: the fundamental and ``harmonics - 1`` overtones, 15 % linear rise and fall."""
    n = round(duration_s * rate)
    t = np.arange(n) / rate
    wave = sum(np.sin(2 * np.pi * fundamental_hz * k * t) / k for k in range(1, harmonics + 1))
    ramp = max(1, round(0.15 * n))
    env = np.ones(n)
    env[:ramp] = np.linspace(0.0, 1.0, ramp)
    env[-ramp:] = np.linspace(1.0, 0.0, ramp)
    out = np.asarray(wave) * env
    return out / np.max(np.abs(out))


def burst(priority: Priority, rate: int = SAMPLE_RATE, volume: float = 0.5) -> np.ndarray:
    """The whole burst as int16 PCM (mono), silence between the pulses included."""
    pat = PATTERNS[priority]
    total = pat.onsets[-1] + pat.pulse_s
    pcm = np.zeros(round(total * rate) + 1)
    shape = pulse(pat.fundamental_hz, pat.pulse_s, rate)
    for onset in pat.onsets:
        i = round(onset * rate)
        pcm[i : i + shape.size] += shape
    return np.clip(pcm * volume * 32767, -32768, 32767).astype("<i2")


Play = Callable[[np.ndarray], None]


def _aplay(pcm: np.ndarray) -> None:
    subprocess.run(
        ["aplay", "-q", "-t", "raw", "-f", "S16_LE", "-c", "1", "-r", str(SAMPLE_RATE)],
        input=pcm.tobytes(),
        timeout=10,
        check=False,
    )


class AlarmAudio:
    """Plays the burst of the highest-priority sounding alarm, repeating at its interval, on its own thread.

    :meth:`set_state` is cheap and may be called from any thread (the display calls it every frame).
    ``play`` is injectable so tests can record what would sound.
    """

    def __init__(self, play: Play | None = None, clock: Callable[[], float] | None = None) -> None:
        import time

        available, reason = audio_output_available() if play is None else (True, "")
        self.available = available
        self.unavailable_reason = reason
        self._play = play or _aplay
        self._clock = clock or time.monotonic
        self._priority: Priority | None = None
        self._last_start: dict[Priority, float] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.bursts_played: list[Priority] = []
        if not available:
            log.warning("alarm sound unavailable: %s", reason)

    def start(self) -> AlarmAudio:
        if self.available and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="alarm-audio", daemon=True)
            self._thread.start()
        return self

    def set_state(self, priority: Priority | None) -> None:
        """``priority``: the highest unacknowledged alarm while audio is not paused, else None (silence)."""
        if priority != self._priority:
            self._priority = priority
            self._wake.set()

    def due(self, now: float) -> Priority | None:
        """The burst to start now, if any (the thread asks; tests may too)."""
        priority = self._priority
        if priority is None:
            return None
        last = self._last_start.get(priority)
        if last is None or now - last >= PATTERNS[priority].repeat_s:
            return priority
        return None

    def _run(self) -> None:
        while not self._stop.is_set():
            now = self._clock()
            priority = self.due(now)
            if priority is not None:
                self._last_start[priority] = now
                self.bursts_played.append(priority)
                try:
                    self._play(burst(priority))
                except Exception:
                    log.exception("alarm sound failed")
            self._wake.wait(0.1)
            self._wake.clear()

    def close(self) -> None:
        """Twice is harmless."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

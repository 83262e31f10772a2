"""Alarm sound: IEC 60601-1-8 burst shapes, the repeat schedule and the player thread."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from core.vitals import alarm_sound
from core.vitals.alarm_sound import PATTERNS, SAMPLE_RATE, AlarmAudio, burst
from core.vitals.alarms import Priority
from tests.conftest import read_played_wav


def _pulses(pcm: np.ndarray) -> list[tuple[float, float]]:
    """(start, duration) in seconds of each sounding stretch, from a 5 ms RMS envelope."""
    win = round(0.005 * SAMPLE_RATE)
    x = pcm.astype(np.float64) ** 2
    env = np.sqrt(np.convolve(x, np.ones(win) / win, mode="same"))
    on = env > 0.05 * env.max()
    edges = np.flatnonzero(np.diff(on.astype(int)))
    if on[0]:
        edges = np.concatenate([[0], edges])
    if on[-1]:
        edges = np.concatenate([edges, [on.size - 1]])
    return [(a / SAMPLE_RATE, (b - a) / SAMPLE_RATE) for a, b in zip(edges[::2], edges[1::2], strict=True)]


@pytest.mark.parametrize(
    ("priority", "count"), [(Priority.HIGH, 10), (Priority.MEDIUM, 3), (Priority.LOW, 2)]
)
def test_bursts_have_the_iec_pulse_counts_and_shapes(priority: Priority, count: int) -> None:
    pcm = burst(priority)
    assert pcm.dtype == np.dtype("<i2") and np.abs(pcm).max() > 8000
    pulses = _pulses(pcm)
    assert len(pulses) == count
    low, high = (0.075, 0.2) if priority is Priority.HIGH else (0.125, 0.25)
    for _start, duration in pulses:
        assert low * 0.8 <= duration <= high * 1.1
    # fundamental within 150-1000 Hz and at least four harmonics present
    pat = PATTERNS[priority]
    first = pcm[: round(pat.pulse_s * SAMPLE_RATE)].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(first, n=SAMPLE_RATE))
    peak = int(np.argmax(spectrum))
    assert 150 <= peak <= 1000 and abs(peak - pat.fundamental_hz) < 5
    harmonics = [
        spectrum[round(k * pat.fundamental_hz) - 3 : round(k * pat.fundamental_hz) + 4].max()
        for k in range(2, 6)
    ]
    assert all(h > 0.05 * spectrum[peak] for h in harmonics)


def test_high_priority_groups_three_and_two() -> None:
    starts = [s for s, _ in _pulses(burst(Priority.HIGH))]
    gaps = np.diff(starts)
    # within a group pulses follow closely; between groups the pause is longer
    assert gaps[0] == pytest.approx(gaps[1], abs=0.01) and gaps[2] > gaps[0] + 0.2
    assert gaps[4] > gaps[2] + 0.2  # the pause between the two halves of the burst


def test_repeat_schedule_follows_priority_and_silence() -> None:
    audio = AlarmAudio(play=lambda _pcm: None, clock=lambda: 0.0)
    assert audio.due(0.0) is None
    audio.set_state(Priority.MEDIUM)
    assert audio.due(0.0) is Priority.MEDIUM
    audio._last_start[Priority.MEDIUM] = 0.0
    assert audio.due(PATTERNS[Priority.MEDIUM].repeat_s - 0.1) is None
    assert audio.due(PATTERNS[Priority.MEDIUM].repeat_s) is Priority.MEDIUM
    # escalation to high sounds at once, not after the medium interval
    audio.set_state(Priority.HIGH)
    assert audio.due(1.0) is Priority.HIGH
    assert (
        PATTERNS[Priority.HIGH].repeat_s
        < PATTERNS[Priority.MEDIUM].repeat_s
        < PATTERNS[Priority.LOW].repeat_s
    )
    audio.set_state(None)  # acknowledged or paused
    assert audio.due(100.0) is None


def test_player_thread_plays_off_the_caller_and_stops() -> None:
    played: list[int] = []
    audio = AlarmAudio(play=lambda pcm: played.append(pcm.size)).start()
    try:
        audio.set_state(Priority.HIGH)
        deadline = time.monotonic() + 3
        while not played and time.monotonic() < deadline:
            time.sleep(0.02)
        assert played and audio.bursts_played == [Priority.HIGH]
        audio.set_state(None)
        n = len(played)
        time.sleep(0.3)
        assert len(played) == n
    finally:
        audio.close()
        audio.close()


def test_the_burst_reaches_the_sound_device(
    alsa_default_to_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real player (aplay on ALSA's default device, here a file over ALSA's null device) gets the
    high-priority burst, sample for sample, at its rate, from the player thread."""
    # this machine may have no sound card; ALSA's default device is the file whatever it has
    monkeypatch.setattr(alarm_sound, "audio_output_available", lambda: (True, ""))
    audio = AlarmAudio().start()
    expected = burst(Priority.HIGH).tobytes()
    try:
        assert audio.available
        audio.set_state(Priority.HIGH)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if alsa_default_to_file.exists() and alsa_default_to_file.stat().st_size >= 44 + len(expected):
                break
            time.sleep(0.05)
        audio.set_state(None)
    finally:
        audio.close()
    rate, channels, pcm = read_played_wav(alsa_default_to_file)
    assert (rate, channels) == (SAMPLE_RATE, 1)
    assert pcm[: len(expected)] == expected  # what follows, if anything, is the device's silent padding
    assert not pcm[len(expected) :].strip(b"\0")
    assert audio.bursts_played == [Priority.HIGH]


def test_without_aplay_the_reason_is_given_and_nothing_sounds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alsa_default_to_file: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no aplay to be found
    audio = AlarmAudio().start()
    try:
        assert not audio.available
        assert audio.unavailable_reason == "aplay (alsa-utils) is not installed"
        audio.set_state(Priority.HIGH)
        time.sleep(0.3)
        assert audio.bursts_played == [] and not alsa_default_to_file.exists()
    finally:
        audio.close()


def test_the_device_check_agrees_with_alsa() -> None:
    """Available exactly when ALSA lists a sound card (aplay -l); otherwise the reason is given."""
    listed = subprocess.run(["aplay", "-l"], capture_output=True, text=True, timeout=10, check=False)
    has_card = any(line.startswith("card ") for line in listed.stdout.splitlines())
    audio = AlarmAudio()
    try:
        assert audio.available is has_card, listed.stdout + listed.stderr
        assert has_card or audio.unavailable_reason in ("no sound card", "no ALSA sound system")
    finally:
        audio.close()

"""Remote audio reaches the sound device path: level while the far side talks, silence when it mutes,
a bounded backlog when the device is slow."""

from __future__ import annotations

import asyncio
import io
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rtc import playback as playback_module
from rtc.media import SwitchableAudioTrack
from rtc.playback import CHANNELS, MAX_BACKLOG_S, RATE, AudioPlayback, frame_level
from rtc.session import CallSession, CallState
from rtc.signalling import memory_pair
from rtc.sources import SyntheticAudioTrack
from tests.conftest import read_played_wav
from tests.helpers import SMALL_CALL, until


class RecordingSink(io.RawIOBase):
    def __init__(self) -> None:
        self.data = bytearray()
        self.lock = threading.Lock()

    def write(self, b) -> int:  # type: ignore[no-untyped-def, override]
        with self.lock:
            self.data += b
        return len(b)


def test_far_side_voice_plays_and_mute_is_silence() -> None:
    async def scenario() -> None:
        sig_a, sig_b = memory_pair()
        voice = SwitchableAudioTrack(SyntheticAudioTrack(frequency=440.0, amplitude=0.3))
        a = CallSession(sig_a, **{**SMALL_CALL, "audio_track": voice})  # type: ignore[arg-type]
        b = CallSession(sig_b, **SMALL_CALL)  # type: ignore[arg-type]
        sink = RecordingSink()
        playback = AudioPlayback(sink=sink)
        b.audio_frame_received.connect(playback.feed)
        try:
            await a.start()
            await b.start()
            await b.wait_for_state(CallState.CONNECTED, 20)
            await until(lambda: len(sink.data) > 48_000 * 2 * 2 // 2, 15)  # half a second of sound
            await until(lambda: playback.level > 0.05, 5)
            pcm = np.frombuffer(bytes(sink.data[-9600:]), "<i2").reshape(-1, 2)
            spectrum = np.abs(np.fft.rfft(pcm[:, 0].astype(np.float64)))
            peak_hz = np.argmax(spectrum) * 48_000 / pcm.shape[0]
            assert abs(peak_hz - 440) < 30  # the far side's tone, through Opus and back
            voice.set_muted(True)
            await until(lambda: playback.level < 0.002, 5)
        finally:
            playback.close()
            playback.close()
            await a.close()
            await b.close()

    asyncio.run(scenario())


def test_backlog_is_bounded_when_the_device_stalls() -> None:
    import av

    gate = threading.Event()

    class StalledSink(RecordingSink):
        def write(self, b) -> int:  # type: ignore[no-untyped-def, override]
            gate.wait(5)
            return super().write(b)

    playback = AudioPlayback(sink=StalledSink())
    try:
        for i in range(100):  # 2 s of 20 ms frames while the device is stuck
            frame = av.AudioFrame.from_ndarray(
                np.zeros((1, 960), dtype=np.int16), format="s16", layout="mono"
            )
            frame.sample_rate, frame.pts = 48_000, i * 960
            playback.feed(frame)
        assert playback.bytes_dropped > 0
        assert playback._bytes <= MAX_BACKLOG_S * 48_000 * 2 * 2 + 960 * 2 * 2
    finally:
        gate.set()
        playback.close()


def _tone_frames(
    seconds: float, rate: int = 16_000, hz: float = 440.0, then_silence: float = 0.0
) -> list[Any]:
    """20 ms mono frames of a tone at ``rate`` (not the device's: playback resamples), then silence."""
    import av

    n = rate // 50
    t = np.arange(round(seconds * rate)) / rate
    tone = (0.3 * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16)
    tone = np.concatenate([tone, np.zeros(round(then_silence * rate), np.int16)])
    frames = []
    for i in range(0, tone.size - n + 1, n):
        frame = av.AudioFrame.from_ndarray(tone[None, i : i + n], format="s16", layout="mono")
        frame.sample_rate, frame.pts = rate, i
        frames.append(frame)
    return frames


def test_voice_reaches_the_sound_device_at_its_rate(
    alsa_default_to_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real device path (aplay on ALSA's default device, here a file over ALSA's null device): a
    second of 16 kHz mono voice comes out as a second of 48 kHz stereo with the same pitch. Silence
    follows it, as after a call's last words: ALSA's buffers, lost when the call ends, hold only that."""
    # this machine may have no sound card; ALSA's default device is the file whatever it has
    monkeypatch.setattr(playback_module, "audio_output_available", lambda: (True, ""))
    playback = AudioPlayback()
    try:
        assert playback.available
        for i, frame in enumerate(_tone_frames(1.0, then_silence=1.5)):
            playback.feed(frame)
            deadline = time.monotonic() + 5  # one frame at a time, as a call delivers them: nothing dropped
            while playback.frames_played <= i and time.monotonic() < deadline:
                time.sleep(0.002)
        assert playback.bytes_dropped == 0 and playback.available, playback.unavailable_reason
        expected = RATE * CHANNELS * 2 * 1.1  # the voice and the start of the silence
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if alsa_default_to_file.exists() and alsa_default_to_file.stat().st_size >= 44 + expected:
                break
            time.sleep(0.05)
    finally:
        playback.close()
    rate, channels, data = read_played_wav(alsa_default_to_file)
    assert (rate, channels) == (48_000, 2)
    pcm = np.frombuffer(data[: len(data) // 4 * 4], "<i2").reshape(-1, 2)
    sounding = np.flatnonzero(np.abs(pcm[:, 0]) > 1000)
    seconds = (sounding[-1] - sounding[0]) / rate
    assert abs(seconds - 1.0) < 0.03  # played at the device's rate: a second lasts a second
    assert np.array_equal(pcm[:, 0], pcm[:, 1])  # mono to both ears
    voice = pcm[sounding[0] : sounding[-1], 0].astype(np.float64)
    peak_hz = np.argmax(np.abs(np.fft.rfft(voice))) * rate / voice.size
    assert abs(peak_hz - 440) < 3


def test_without_aplay_the_call_goes_on_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alsa_default_to_file: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no aplay to be found
    playback = AudioPlayback()
    try:
        assert not playback.available
        assert playback.unavailable_reason == "aplay (alsa-utils) is not installed"
        for frame in _tone_frames(0.2):
            playback.feed(frame)  # the call keeps feeding; the meter still moves
        assert playback.level > 0.1 and playback.frames_played == 0
        assert not alsa_default_to_file.exists()
    finally:
        playback.close()


def test_level_and_device_check() -> None:
    assert frame_level(np.zeros(100, np.int16)) == 0.0
    assert abs(frame_level(np.full(100, 16384, np.int16)) - 0.5) < 1e-6
    # available exactly when ALSA lists a sound card (aplay -l); otherwise the reason is given
    listed = subprocess.run(["aplay", "-l"], capture_output=True, text=True, timeout=10, check=False)
    has_card = any(line.startswith("card ") for line in listed.stdout.splitlines())
    playback = AudioPlayback()
    try:
        assert playback.available is has_card, listed.stdout + listed.stderr
        assert has_card or playback.unavailable_reason in ("no sound card", "no ALSA sound system")
    finally:
        playback.close()

"""Remote audio reaches the sound device path: level while the far side talks, silence when it mutes,
a bounded backlog when the device is slow."""

from __future__ import annotations

import asyncio
import io
import threading

import numpy as np

from rtc.media import SwitchableAudioTrack
from rtc.playback import MAX_BACKLOG_S, AudioPlayback, audio_output_available, frame_level
from rtc.session import CallSession, CallState
from rtc.signalling import memory_pair
from rtc.sources import SyntheticAudioTrack
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


def test_level_and_device_check() -> None:
    assert frame_level(np.zeros(100, np.int16)) == 0.0
    assert abs(frame_level(np.full(100, 16384, np.int16)) - 0.5) < 1e-6
    available, reason = audio_output_available()
    assert available or reason
    playback = AudioPlayback()
    assert playback.available is available
    playback.close()

"""Switchable call tracks, PyAV file sources and device lists (rtc/media.py), without Qt."""

from __future__ import annotations

import asyncio
import fractions
import itertools
from pathlib import Path

import av
import numpy as np
import pytest

from rtc.media import (
    AUDIO_RATE,
    MediaSource,
    SourceKind,
    SwitchableAudioTrack,
    SwitchableVideoTrack,
    UltrasoundVideoTrack,
    file_source,
    list_cameras,
    list_microphones,
    open_source,
)
from rtc.session import CallSession, CallState
from rtc.signalling import memory_pair
from rtc.sources import SyntheticAudioTrack, SyntheticVideoTrack, burn_counter, read_frame_counter
from tests.helpers import until


def _is_black(frame: av.VideoFrame) -> bool:
    return float(frame.to_ndarray(format="rgb24").mean()) < 8.0


def test_video_timestamps_stay_monotonic_across_swaps_and_mute() -> None:
    async def scenario() -> None:
        track = SwitchableVideoTrack(SyntheticVideoTrack(160, 120, fps=60), size=(160, 120), fps=60)
        pts: list[int] = []
        kinds: list[str] = []

        async def pull(n: int, label: str) -> None:
            for _ in range(n):
                frame = await track.recv()
                assert frame.time_base == fractions.Fraction(1, 90_000)
                pts.append(frame.pts)
                kinds.append("black" if _is_black(frame) else label)

        await pull(5, "pattern")
        # The new source's own clock restarts at 0: the proxy must not go back in time.
        track.set_source(SyntheticVideoTrack(160, 120, fps=60))
        await pull(5, "pattern")
        track.set_enabled(False)
        await pull(5, "pattern")
        track.set_enabled(True)
        old = track.set_source(None)
        assert old is not None and old.readyState == "ended"  # the replaced source is released
        await pull(5, "none")
        track.set_source(UltrasoundVideoTrack(160, 120, fps=60))
        await pull(5, "us")
        track.stop()
        track.stop()  # twice is harmless
        assert all(b > a for a, b in itertools.pairwise(pts)), pts
        assert kinds[:10] == ["pattern"] * 10
        assert kinds[10:20] == ["black"] * 10  # camera off, then no source at all
        assert kinds[20:] == ["us"] * 5
        assert track.black_frames_sent == 10 and track.frames_sent == 25
        assert track.take_frame() is not None and track.take_frame() is None  # newest-frame slot

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_audio_mute_gives_silence_with_continuous_timestamps() -> None:
    async def scenario() -> None:
        track = SwitchableAudioTrack(SyntheticAudioTrack(frequency=440.0))
        frames: list[av.AudioFrame] = []
        for step in ("tone", "mute", "none"):
            if step == "mute":
                track.set_muted(True)
            if step == "none":
                track.set_muted(False)
                track.set_source(None)
            for _ in range(5):
                frames.append(await track.recv())
        track.stop()
        samples = [f.to_ndarray() for f in frames]
        assert all(f.sample_rate == AUDIO_RATE and f.format.name == "s16" for f in frames)
        assert all(np.abs(s).max() > 1000 for s in samples[:5])  # a 0.2 full-scale tone
        assert all(not s.any() for s in samples[5:])  # exact silence
        expected = 0
        for frame in frames:  # pts is the running sample count: no gap, no overlap
            assert frame.pts == expected
            expected += frame.samples

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_audio_from_another_format_is_resampled() -> None:
    async def scenario() -> None:
        track = SwitchableAudioTrack(SyntheticAudioTrack(frequency=300.0, sample_rate=16_000))
        frames = [await track.recv() for _ in range(6)]
        track.stop()
        assert all(f.sample_rate == AUDIO_RATE for f in frames)
        assert sum(f.samples for f in frames) > 0
        assert track.level > 0.05

    asyncio.run(asyncio.wait_for(scenario(), 30))


def _write_clip(path: Path, frames: int = 6, fps: int = 25) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=fps)  # lossless: the counter reads back exactly
        stream.width, stream.height, stream.pix_fmt = 192, 96, "yuv420p"
        for n in range(1, frames + 1):
            image = np.full((96, 192, 3), 90, dtype=np.uint8)
            burn_counter(image, n)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_a_file_source_loops_like_a_capture_feed(tmp_path: Path) -> None:
    clip = tmp_path / "echo.mkv"
    _write_clip(clip)

    async def scenario() -> None:
        track = SwitchableVideoTrack(open_source(file_source(clip)), size=(192, 96), fps=25)
        counters, pts = [], []
        for _ in range(15):
            frame = await track.recv()
            counters.append(read_frame_counter(frame.to_ndarray(format="rgb24")))
            pts.append(frame.pts)
        source = track.source
        track.stop()
        assert source is not None and source.readyState == "ended"
        assert counters[:6] == [1, 2, 3, 4, 5, 6]
        assert counters[6:12] == [1, 2, 3, 4, 5, 6]  # looped, frame for frame
        assert all(b > a for a, b in itertools.pairwise(pts))

    asyncio.run(asyncio.wait_for(scenario(), 40))


def test_a_missing_device_fails_to_open(tmp_path: Path) -> None:
    with pytest.raises((OSError, av.FFmpegError)):
        open_source(MediaSource(SourceKind.CAMERA, "gone", str(tmp_path / "video9"), "v4l2"))


def test_device_lists(tmp_path: Path) -> None:
    # This machine has no camera and no sound card: both lists are plain lists, possibly empty.
    assert all(s.kind is SourceKind.CAMERA for s in list_cameras())
    assert all(s.kind is SourceKind.MICROPHONE for s in list_microphones())
    assert list_cameras(tmp_path / "nodev") == []
    assert list_microphones(tmp_path / "noasound") == []

    dev, sysfs = tmp_path / "dev", tmp_path / "sys"
    for n in (10, 0, 2):
        (dev / f"video{n}").parent.mkdir(parents=True, exist_ok=True)
        (dev / f"video{n}").touch()
    (sysfs / "video0").mkdir(parents=True)
    (sysfs / "video0" / "name").write_text("Integrated Camera\n")
    cameras = list_cameras(dev, sysfs)
    assert [c.location for c in cameras] == [str(dev / "video0"), str(dev / "video2"), str(dev / "video10")]
    assert cameras[0].label.startswith("Integrated Camera") and cameras[0].input_format == "v4l2"

    asound = tmp_path / "asound"
    (asound / "card0" / "pcm0p").mkdir(parents=True)
    (asound / "card1" / "pcm0c").mkdir(parents=True)
    (asound / "card1" / "pcm0p").mkdir(parents=True)
    (asound / "cards").write_text(
        " 0 [PCH            ]: HDA-Intel - HDA Intel PCH\n                      HDA Intel PCH at 0xf\n"
        " 1 [Webcam         ]: USB-Audio - C920 Webcam\n                      Logitech C920 at usb\n"
    )
    mics = list_microphones(asound)
    assert [(m.location, m.input_format) for m in mics] == [("hw:1,0", "alsa")]  # card 0 only plays
    assert "USB-Audio" in mics[0].label


def test_camera_off_and_mute_reach_the_far_side() -> None:
    async def scenario() -> None:
        sig_a, sig_b = memory_pair()
        video = SwitchableVideoTrack(SyntheticVideoTrack(160, 120, fps=15), size=(160, 120), fps=15)
        audio = SwitchableAudioTrack(SyntheticAudioTrack())
        a = CallSession(sig_a, ice_servers=[], video_track=video, audio_track=audio)
        b = CallSession(sig_b, ice_servers=[], video_size=(160, 120), fps=15)
        try:
            await a.start()
            await b.start()
            await b.wait_for_state(CallState.CONNECTED, 30)
            await until(lambda: b.frames_received >= 5, 20)
            frame = b.latest_video_frame
            assert frame is not None and not _is_black(frame)
            video.set_enabled(False)
            audio.set_muted(True)
            seen = b.frames_received
            await until(lambda: b.frames_received > seen + 10, 20)
            frame = b.latest_video_frame
            assert frame is not None and _is_black(frame)
            assert audio.silent_frames_sent > 0 and audio.level == 0.0
            assert a.state is CallState.CONNECTED  # no renegotiation was needed
            video.set_enabled(True)
            seen = b.frames_received
            await until(lambda: b.frames_received > seen + 10, 20)
            frame = b.latest_video_frame
            assert frame is not None and not _is_black(frame)
        finally:
            await a.close()
            await b.close()

    asyncio.run(asyncio.wait_for(scenario(), 90))

"""Recorder and replay cursor without a call: tracks from several threads, bad lines, the cursor's
transport, and the media recorder fed with synthetic frames (size changes, a full queue)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import av
import numpy as np
import pytest

from core.teaching.replay import Recording, ReplayCursor
from core.teaching.tracks import Manifest, SessionRecorder
from rtc.recording import MediaRecorder, RecordingClock

MS = 1_000_000


class FakeClock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def _frame(width: int, height: int, value: int) -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(np.full((height, width, 3), value, np.uint8), format="rgb24")


def make_recording(folder: Path) -> Path:
    recorder = SessionRecorder(folder, title="t", media=False)

    def writer(track: str, offset: int) -> None:
        for i in range(50):
            t = (i * 20 + offset) * MS
            if track == "chat":
                recorder.chat(f"m{i}", "x", t_ns=t)
            elif track == "vitals":
                recorder.vitals_batch(bytes([i]), t_ns=t)
            else:
                recorder.annotation_op({"op": "pointer", "id": str(i)}, "remote", t_ns=t)

    threads = [threading.Thread(target=writer, args=(name, k)) for k, name in
               enumerate(("chat", "vitals", "annotations"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    recorder.add_chapter("middle", 500 * MS)
    recorder.add_chapter("start", 0)
    manifest = recorder.close()
    assert recorder.close() is manifest
    recorder.chat("after close")  # ignored, no error
    return folder


def test_tracks_round_trip_and_bad_lines(tmp_path: Path) -> None:
    folder = make_recording(tmp_path / "rec")
    manifest = Manifest.read(folder)
    assert {n: t.events for n, t in manifest.tracks.items()} == {"annotations": 50, "vitals": 50, "views": 0,
                                                                  "chat": 50}
    assert manifest.duration_ns >= 982 * MS and manifest.media.file is None
    assert [c.title for c in manifest.chapters] == ["start", "middle"]
    line = json.loads((folder / "chat.jsonl").read_text().splitlines()[3])
    assert line["t_ns"] == 60 * MS and line["pts"] == 60 and line["data"] == {"text": "m3", "author": "x"}
    with (folder / "chat.jsonl").open("a") as handle:
        handle.write('{"t_ns": -5, "data": {}}\n{"t_ns": "soon"}\nnot json\n{"t_ns": 1000')
    recording = Recording.open(folder)
    assert recording.skipped == 4 and len(recording.tracks["chat"]) == 50
    assert recording.tracks["vitals"][7].data == bytes([7])
    merged = recording.events()
    assert [e.t_ns for e in merged] == sorted(e.t_ns for e in merged) and len(merged) == 150
    assert [e.data["text"] for e in recording.events("chat", 100 * MS, 140 * MS)] == ["m5", "m6", "m7"]


def test_manifest_cannot_point_outside(tmp_path: Path) -> None:
    folder = make_recording(tmp_path / "rec")
    raw = json.loads((folder / "manifest.json").read_text())
    raw["tracks"]["chat"]["file"] = "../../etc/passwd"
    (folder / "manifest.json").write_text(json.dumps(raw))
    with pytest.raises(ValueError, match="outside"):
        Recording.open(folder)


def test_cursor_transport(tmp_path: Path) -> None:
    recording = Recording.open(make_recording(tmp_path / "rec"))
    clock = FakeClock()
    cursor = ReplayCursor(recording, clock=clock)
    assert cursor.position_ns == 0 and not cursor.playing
    assert [e.t_ns for e in cursor.poll()] == [0]  # the first chat line, at t = 0
    cursor.play()
    clock.now += 100 * MS
    due = cursor.poll()
    assert cursor.polled_at_ns == 100 * MS
    assert all(0 < e.t_ns <= 100 * MS for e in due) and len(due) == 15
    cursor.set_speed(4.0)
    clock.now += 100 * MS
    assert cursor.position_ns == 500 * MS
    assert min(e.t_ns for e in cursor.poll()) > 100 * MS
    cursor.pause()
    clock.now += 10_000 * MS
    assert cursor.position_ns == 500 * MS and cursor.poll() == []
    # chapters: back within the grace period goes to the chapter before
    assert cursor.previous_chapter(grace_ns=0) is not None and cursor.position_ns == 0
    chapter = cursor.next_chapter()
    assert chapter is not None and chapter.title == "middle" and cursor.position_ns == 500 * MS
    assert cursor.next_chapter() is None
    # play to the end: it pauses itself, everything delivered once
    cursor.seek(0)
    cursor.set_speed(16.0)
    cursor.play()
    total = []
    while cursor.playing:
        clock.now += 5 * MS
        total.extend(cursor.poll())
    assert len(total) == 150 and cursor.finished and cursor.position_ns == cursor.duration_ns
    cursor.play()  # at the end: starts again from the top
    assert cursor.position_ns == 0 and cursor.playing
    cursor.seek(10**15)
    assert cursor.position_ns == cursor.duration_ns
    cursor.close()
    assert cursor.poll() == []


def test_media_recorder_keeps_arrival_times_and_the_first_size(tmp_path: Path) -> None:
    clock = FakeClockRecording()
    recorder = MediaRecorder(tmp_path / "m.mkv", clock, fps=10, audio=False)  # type: ignore[arg-type]
    for i in range(20):
        clock.t = i * 100 * MS + (7 * MS if i == 5 else 0)
        size = (320, 240) if i < 10 else (161, 121)  # the sender scaled down mid-call
        recorder.video(_frame(*size, i * 10))
    clock.t = 2000 * MS
    recorder.video(_frame(320, 240, 0))
    recorder.video(_frame(320, 240, 0))  # the same millisecond: dropped
    recorder.close()
    recorder.close()
    assert recorder.error is None and recorder.stats.video_frames == 21
    with av.open(str(tmp_path / "m.mkv")) as container:
        frames = list(container.decode(video=0))
    assert [(f.width, f.height) for f in frames] == [(320, 240)] * 21
    assert frames[5].pts == 507 and frames[-1].pts == 2000
    recorder.video(_frame(320, 240, 0))  # after close: ignored

    recording_folder = tmp_path / "rec"
    recording_folder.mkdir()
    (tmp_path / "m.mkv").rename(recording_folder / "media.mkv")
    manifest = Manifest(started_at="2026-01-01T00:00:00+00:00", duration_ns=2000 * MS)
    manifest.media.file = "media.mkv"
    manifest.write(recording_folder)
    recording = Recording.open(recording_folder)
    from_1s = list(recording.media_frames("video", 1050 * MS))
    assert [e.t_ns for e in from_1s[:3]] == [1000 * MS, 1100 * MS, 1200 * MS]  # the frame showing, then on


class FakeClockRecording(RecordingClock):
    def __init__(self) -> None:
        super().__init__(0)
        self.t = 0

    def now_ns(self) -> int:
        return self.t


def test_a_full_queue_drops_frames_instead_of_blocking(tmp_path: Path) -> None:
    clock = FakeClockRecording()
    recorder = MediaRecorder(tmp_path / "m.mkv", clock, queue_size=2, audio=False)
    for i in range(400):
        clock.t = i * MS * 33
        recorder.video(_frame(640, 480, i % 255))
    recorder.close()
    assert recorder.stats.dropped > 0
    assert recorder.stats.video_frames + recorder.stats.dropped == 400


def _media_recording(folder: Path, frames: int = 40) -> Path:
    clock = FakeClockRecording()
    folder.mkdir(parents=True)
    recorder = MediaRecorder(folder / "media.mkv", clock, fps=10, audio=False)  # type: ignore[arg-type]
    for i in range(frames):
        clock.t = i * 100 * MS
        recorder.video(av.VideoFrame.from_ndarray(
            np.random.default_rng(i).integers(0, 255, (240, 320, 3), dtype=np.uint8), format="rgb24"))
    recorder.close()
    manifest = Manifest(started_at="2026-01-01T00:00:00+00:00", duration_ns=frames * 100 * MS)
    manifest.media.file = "media.mkv"
    manifest.media.video_frames = frames
    manifest.write(folder)
    return folder


@pytest.mark.parametrize("damage", ["truncated", "garbled"])
def test_a_damaged_media_file_plays_what_it_can(tmp_path: Path, damage: str) -> None:
    folder = _media_recording(tmp_path / "rec")
    media = folder / "media.mkv"
    data = bytearray(media.read_bytes())
    if damage == "truncated":  # the disk filled up, or the workstation lost power mid-recording
        media.write_bytes(bytes(data[: len(data) // 2]))
    else:
        middle = len(data) // 2
        noise = np.random.default_rng(0).integers(0, 255, 4096, dtype=np.uint8)
        data[middle: middle + 4096] = noise.tobytes()
        media.write_bytes(bytes(data))
    clock = FakeClock()
    cursor = ReplayCursor(Recording.open(folder), clock=clock)
    cursor.play()
    frames = []
    while cursor.playing:
        clock.now += 50 * MS
        frames += [e for e in cursor.poll() if e.track == "video"]
    assert 5 < len(frames) <= 40  # what could be decoded, in order, and then the replay goes on to the end
    assert [e.t_ns for e in frames] == sorted(e.t_ns for e in frames)
    assert cursor.finished and not cursor.media_pending
    cursor.close()


def test_the_study_copy_waits_for_close_and_a_failed_one_leaves_nothing(tmp_path: Path) -> None:
    study = tmp_path / "study"
    study.mkdir()
    files = []
    for i in range(3):
        files.append(study / f"IM{i}")
        files[-1].write_bytes(b"DICM" * 100)
    good = SessionRecorder(tmp_path / "good", media=False)
    good.add_imaging_in_background(files)
    manifest = good.close()  # waits for the copy
    assert manifest.imaging == "imaging" and good.imaging_error is None
    copied = sorted(p.name for p in (tmp_path / "good" / "imaging").iterdir())
    assert copied == ["00000.dcm", "00001.dcm", "00002.dcm"]
    assert Manifest.read(tmp_path / "good").imaging == "imaging"

    bad = SessionRecorder(tmp_path / "bad", media=False)
    bad.add_imaging_in_background([files[0], study / "gone"])  # a file removed under it
    manifest = bad.close()
    assert manifest.imaging is None and bad.imaging_error is not None and "gone" in bad.imaging_error
    assert not (tmp_path / "bad" / "imaging").exists()  # no half study
    assert Recording.open(tmp_path / "bad").imaging_path is None

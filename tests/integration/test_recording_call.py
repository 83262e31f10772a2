"""Record 5 s of a real in-process call (two CallSessions over the in-memory room) with annotation ops,
vitals batches, view states and chat, then replay it: the media file, every track's timing after the
round trip, seek, speed, chapters, and the de-identified teaching file made from it."""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import date
from pathlib import Path

import av
import numpy as np
import pytest

from core.annotations.model import AnnotationDocument
from core.consult.patient import Patient
from core.teaching.library import CaseLibrary
from core.teaching.replay import Recording, ReplayCursor, ReplayEvent
from core.teaching.tracks import TRACKS, SessionRecorder
from core.vitals.signals import Wave
from core.vitals.stream import encode_wave
from rtc.session import CallSession, CallState
from rtc.signalling import memory_pair
from tests.helpers import SMALL_CALL, until
from viewers.dicom.synthetic import write_ct_series
from viewers.viewstate import ViewState

FRAME_NS = 33_000_000  # one frame at 30 fps
PATIENT = Patient("P-1", "Wang Min", "F", date(1970, 1, 2))
RECORD_S = 5.0  # at least; a loaded machine records on until the media holds:
MIN_VIDEO_FRAMES = round(0.6 * RECORD_S * 15)  # most of 5 s at 15 fps
MIN_AUDIO_FRAMES = round((RECORD_S - 2.0) * 50)  # 3 s of 20 ms Opus frames
RECORD_MAX_S = 60.0
STUDY_UID = "1.2.826.0.1.3680043.2"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def record_call(folder: Path, dicom: Path) -> tuple[SessionRecorder, dict[str, list[int]], dict[str, int]]:
    """Run the call, record it on B (the specialist); returns the recorder and, per track, the moments
    (on the recording clock) at which the recording site saw each event."""
    seen: dict[str, list[int]] = {name: [] for name in TRACKS}
    counts = {"sent_remote": 0}

    async def scenario() -> SessionRecorder:
        sig_a, sig_b = memory_pair()
        a = CallSession(sig_a, **SMALL_CALL)  # type: ignore[arg-type]
        b = CallSession(sig_b, **SMALL_CALL)  # type: ignore[arg-type]
        doc_a, doc_b = AnnotationDocument("site-a", "dr.li"), AnnotationDocument("site-b", "dr.chen")
        doc_a.op_emitted.connect(lambda op: a.send("annotations", "op", op))
        try:
            await a.start()
            await b.start()
            await a.wait_for_state(CallState.CONNECTED, 20)
            await b.wait_for_state(CallState.CONNECTED, 20)
            await until(lambda: b.frames_received > 0, 10)
            recorder = SessionRecorder(folder, title="FAST exam, Wang Min", specialty="emergency",
                                       tags=["ultrasound", "trauma"], patient=PATIENT, fps=15)
            recorder.add_imaging(sorted(p for p in dicom.rglob("*") if p.is_file()))
            recorder.attach_session(b)
            recorder.attach_document(doc_b)
            clock = recorder.clock

            def on_message(message: object) -> None:  # after the recorder's listener: the same moment
                channel = getattr(message, "channel", "")
                envelope = getattr(message, "envelope", None)
                track = {"annotations": "annotations", "vitals": "vitals", "chat": "chat"}.get(channel)
                if channel == "control" and envelope is not None:
                    track = "views" if envelope.body.get("action") == "view_state" else None
                if track is not None:
                    seen[track].append(clock.now_ns())

            b.message_received.connect(on_message)
            start = time.monotonic()
            step = 0
            media = recorder.media
            assert media is not None

            def enough() -> bool:  # RECORD_S, and on until the media holds what the checks look for
                return (
                    time.monotonic() - start >= RECORD_S
                    and media.stats.video_frames >= MIN_VIDEO_FRAMES
                    and media.stats.audio_frames >= MIN_AUDIO_FRAMES
                )

            while not enough() and time.monotonic() - start < RECORD_MAX_S:
                step += 1
                # remote: from the county doctor's site over the channels
                doc_a.add("marker", "video", [(0.1 * (step % 9), 0.5)], text=f"Wang Min lesion {step}")
                a.send_bytes("vitals", _pleth(step))
                a.send("chat", "text", {"text": f"Wang Min (P-1) update {step}", "author": "dr.li"})
                counts["sent_remote"] += 3
                if step % 2 == 0:
                    state = ViewState(study_uid=STUDY_UID, series_uid="1.2.826.0.1.3680043.2.1",
                                      slice_lps=(0.0, 0.0, float(step)))
                    a.send("control", "view_state", {"action": "view_state",
                                                      "args": state.model_dump(mode="json")})
                    counts["sent_remote"] += 1
                # local: the recording site's own actions
                seen["annotations"].append(clock.now_ns())
                doc_b.add("needle", "patient", [(0.0, 0.0, 0.0), (10.0, 20.0 + step, 30.0)])
                seen["chat"].append(recorder.chat(f"Mrs Wang looks stable ({step})", "dr.chen"))
                seen["views"].append(recorder.view_state(
                    ViewState(study_uid=STUDY_UID, series_uid="1.2.826.0.1.3680043.2.1",
                              slice_lps=(0.0, 0.0, -float(step)))))
                if step == 8:
                    recorder.add_chapter("Free fluid, Wang Min")
                await asyncio.sleep(0.25)
            counts["recorded_ms"] = round((time.monotonic() - start) * 1000)
            await until(lambda: sum(len(v) for v in seen.values()) >= counts["sent_remote"] + 3 * step, 30)
            await asyncio.to_thread(recorder.close)
            b.message_received.disconnect(on_message)
            return recorder
        finally:
            await a.close()
            await b.close()

    recorder = asyncio.run(asyncio.wait_for(scenario(), RECORD_MAX_S + 90))
    return recorder, seen, counts


def _pleth(step: int) -> bytes:
    samples = np.sin(np.linspace(0, 3, 25))[None, :]
    return encode_wave(step, Wave.PLETH, step * 25, 1_700_000_000.0 + step * 0.25, samples)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SessionRecorder, dict[str, list[int]]]:
    root = tmp_path_factory.mktemp("recording")
    dicom = root / "dicom"
    write_ct_series(dicom, (3, 16, 16), patient_name="Wang^Min", patient_id="P-1", study_uid=STUDY_UID)
    recorder, seen, _ = record_call(root / "rec", dicom)
    return root / "rec", recorder, seen


def test_media_file_has_the_call(recorded: tuple[Path, SessionRecorder, dict[str, list[int]]]) -> None:
    folder, recorder, _ = recorded
    manifest = Recording.open(folder).manifest
    assert manifest.media.file == "media.mkv" and manifest.media.error is None
    assert manifest.media.video_codec in ("libx264", "libvpx")
    with av.open(str(folder / "media.mkv")) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (320, 240)
        assert container.streams.audio, "no audio stream"
        duration_s = container.duration / av.time_base
        times = [round(float(f.pts * f.time_base) * 1e9) for f in container.decode(video=0)]
    # at least 5 s (record_call goes on until the media holds enough, however slow the machine), and
    # the file is as long as the frames it holds
    arrivals = recorder.media.stats.video_times_ns if recorder.media else []
    assert arrivals
    assert RECORD_S - 1.0 <= duration_s <= max(arrivals) / 1e9 + 2.0
    assert len(times) == manifest.media.video_frames >= MIN_VIDEO_FRAMES
    # every frame sits where it arrived, on the recording clock
    assert len(arrivals) == len(times)
    assert max(abs(t - r) for t, r in zip(times, arrivals, strict=True)) < FRAME_NS
    with av.open(str(folder / "media.mkv")) as container:
        samples = sum(f.samples for f in container.decode(audio=0))
    assert samples >= 48_000 * (RECORD_S - 2.0)


def test_every_track_replays_within_one_frame(recorded: tuple[Path, SessionRecorder,
                                                                dict[str, list[int]]]) -> None:
    folder, _, seen = recorded
    recording = Recording.open(folder)
    assert recording.skipped == 0
    for name in TRACKS:
        events = recording.tracks[name]
        assert len(events) == len(seen[name]) > 5, name
        # recorded at the moment the recording site saw them
        for event, moment in zip(events, sorted(seen[name]), strict=True):
            assert abs(event.t_ns - moment) < FRAME_NS, name
        origins = {e.origin for e in events}
        assert origins == ({"remote"} if name == "vitals" else {"local", "remote"}), name
    # and replay hands each out when the playhead reaches it: driven at 10 ms steps, at speed 1
    clock = FakeClock()
    cursor = ReplayCursor(recording, clock=clock)
    cursor.play()
    delivered: list[tuple[int, ReplayEvent]] = []
    while cursor.playing:
        clock.now += 10_000_000
        for event in cursor.poll():
            delivered.append((cursor.polled_at_ns, event))
    cursor.close()
    side = [(at, e) for at, e in delivered if e.track in TRACKS]
    assert len(side) == sum(len(recording.tracks[n]) for n in TRACKS)
    assert all(0 <= at - e.t_ns < FRAME_NS for at, e in delivered)
    video = [e for _, e in delivered if e.track == "video"]
    assert len(video) == recording.manifest.media.video_frames
    order = [e.t_ns for _, e in delivered]
    assert order == sorted(order)
    # the vitals batches come back byte for byte
    assert all(isinstance(e.data, bytes) and e.data[:2] == b"VS" for e in recording.tracks["vitals"])


def test_seek_speed_and_chapters(recorded: tuple[Path, SessionRecorder, dict[str, list[int]]]) -> None:
    folder, recorder, _ = recorded
    recording = Recording.open(folder)
    clock = FakeClock()
    cursor = ReplayCursor(recording, clock=clock)
    target = 2_500_000_000
    cursor.seek(target)
    first = cursor.poll()
    frames = [e for e in first if e.track == "video"]
    # the frame showing at 2.5 s: the last one that arrived by then (however far apart a busy machine
    # spaced them)
    arrivals = recorder.media.stats.video_times_ns if recorder.media else []
    # spaced them; the file keeps whole milliseconds)
    assert len(frames) == 1 and abs(frames[0].t_ns - max(t for t in arrivals if t <= target)) < 1_000_000
    assert cursor.state_events("annotations") and all(e.t_ns < target for e in cursor.state_events("chat"))
    cursor.set_speed(2.0)
    cursor.play()
    clock.now += 1_000_000_000
    assert cursor.position_ns == target + 2_000_000_000
    later = cursor.poll()
    assert later and all(target <= e.t_ns <= target + 2_000_000_000 for e in later)
    side = [e for e in later if e.track == "chat"]
    assert len(side) == len(recording.events("chat", target, target + 2_000_000_000))
    cursor.pause()
    clock.now += 5_000_000_000
    assert cursor.position_ns == target + 2_000_000_000 and cursor.poll() == []
    with pytest.raises(ValueError, match="speed"):
        cursor.set_speed(0)
    # chapter markers: the one recorded live, one added on replay; kept in the manifest
    assert [c.title for c in cursor.chapters] == ["Free fluid, Wang Min"]
    cursor.add_chapter("Review", 500_000_000)
    cursor.seek(0)
    assert cursor.next_chapter() is not None and cursor.position_ns == 500_000_000
    reopened = Recording.open(folder)
    assert [c.title for c in reopened.chapters] == ["Review", "Free fluid, Wang Min"]
    cursor.close()
    cursor.close()


def test_teaching_file_leaves_no_identity(recorded: tuple[Path, SessionRecorder, dict[str, list[int]]],
                                         tmp_path: Path) -> None:
    folder, _, _ = recorded
    library = CaseLibrary(tmp_path / "library")
    case = library.add_teaching_case(folder, b"site-salt")
    pseudonym = PATIENT.pseudonymised(b"site-salt")
    assert case.manifest.deidentified and case.manifest.patient is not None
    assert case.manifest.patient.name == pseudonym.name and case.manifest.patient.birth_date is None
    name = re.compile(r"wang|(?<![a-z])min(?![a-z])|P-1(?!\d)", re.IGNORECASE)
    texts = {p.name: p.read_text(encoding="utf-8") for p in case.folder.glob("*.json*")}
    assert set(texts) >= {"manifest.json", *(f"{n}.jsonl" for n in TRACKS)}
    for file, text in texts.items():
        assert not name.search(text), (file, name.search(text))
    assert pseudonym.name in texts["chat.jsonl"] and pseudonym.name in texts["annotations.jsonl"]
    assert "1.2.826.0.1.3680043.2.1" not in texts["views.jsonl"]
    # imaging de-identified, and its UIDs are the ones the view states now name
    images = sorted((case.folder / "imaging").rglob("*.dcm"))
    assert len(images) == 3
    import pydicom

    ds = pydicom.dcmread(images[0])
    assert "Wang" not in str(ds.get("PatientName", "")) and ds.get("PatientID", "") != "P-1"
    views = [json.loads(line)["data"] for line in (case.folder / "views.jsonl").open()]
    assert ds.StudyInstanceUID != STUDY_UID
    assert {v["study_uid"] for v in views} == {str(ds.StudyInstanceUID)}
    # vitals copied unchanged
    original = [json.loads(line)["data"] for line in (folder / "vitals.jsonl").open()]
    copied = [json.loads(line)["data"] for line in (case.folder / "vitals.jsonl").open()]
    assert original == copied
    # the case replays and the library finds it
    assert Recording.open(case.folder).tracks["chat"]
    assert [c.case_id for c in library.search(specialty="Emergency", tags=["trauma"])] == [case.case_id]
    assert library.search("free fluid", deidentified_only=True) and not library.search(specialty="cardiology")
    assert (folder / "manifest.json").read_text().count("Wang Min") >= 1  # the original is untouched

"""The replay player over a real recording (the SessionRecorder writing H.264 media and every track, fed on
a stepped recording clock so the moments are exact): frames advance, annotations appear at their moment
and go again on a scrub back, vitals and chat as they were, speed, chapters, and pause and predict
scored into the score book."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QPoint, Qt, QTranslator
from PySide6.QtWidgets import QApplication

from core.annotations.model import AnnotationDocument
from core.consult.patient import Patient
from core.teaching.replay import Recording
from core.teaching.scoring import ScoreBook, load_pause_points
from core.teaching.tracks import SessionRecorder
from core.vitals.buffer import VitalsStore
from core.vitals.signals import Wave
from core.vitals.simulator import Scenario, Simulator
from core.vitals.stream import StreamSender
from rtc.recording import RecordingClock
from widgets.replay_player import QtReplayPlayer

pytestmark = pytest.mark.gui

S = 1_000_000_000
MS = 1_000_000
FPS = 15
DURATION_S = 3.0
T0 = 1_700_000_000.0  # the bedside's wall clock at the start of the recording
PATIENT = Patient("P-9", "Wang Min", "F", date(1970, 1, 2))
MARKER_AT = (0.3, 0.4)  # the expert's target, drawn at 1.0 s


class SteppedClock(RecordingClock):
    """The recording clock, moved by hand: media frames and track events get exactly the moment set."""

    def __init__(self) -> None:
        super().__init__(0)
        self.now = 0

    def now_ns(self) -> int:
        return self.now


class FakeClock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def _frame(index: int) -> av.VideoFrame:
    """A grey speckled picture with a bright disc that moves one step a frame."""
    rng = np.random.default_rng(index)
    y, x = np.mgrid[0:240, 0:320]
    picture = 40 + rng.integers(0, 30, (240, 320))
    cx, cy = 60 + index * 4, 120
    picture[(x - cx) ** 2 + (y - cy) ** 2 < 30**2] = 200
    return av.VideoFrame.from_ndarray(np.repeat(picture.astype(np.uint8)[:, :, None], 3, axis=2),
                                      format="rgb24")


def make_recording(folder: Path, scenario: Scenario = Scenario.ATRIAL_FIBRILLATION) -> Path:
    """3 s: video at 15 fps; a marker (1.0 s) and an arrow (2.0 s) from the remote site; simulated
    vitals every 100 ms; chat at 0.5 s and 2.5 s; a chapter at 1.0 s. The patient is named in it."""
    clock = SteppedClock()
    recorder = SessionRecorder(folder, title="Pleural tap, Wang Min", specialty="emergency",
                               tags=["ultrasound", "procedure"], patient=PATIENT, fps=FPS, clock=clock)
    remote = AnnotationDocument("site-a", "dr.li")
    remote.op_emitted.connect(lambda op: recorder.annotation_op(op, "remote"))
    store = VitalsStore(seconds=10.0, clock=lambda: T0 + clock.now / S)
    simulator = Simulator(scenario, seed=3, t0=T0)
    sender = StreamSender(store)
    assert recorder.media is not None
    for step in range(int(DURATION_S * 30) + 1):  # 30 steps a second: every other one a frame
        clock.now = round(step * S / 30)
        if step % 2 == 0:
            recorder.media.video(_frame(step // 2))
        if step % 3 == 0:
            simulator.write_until(store, clock.now / S)
            for batch in sender.poll():
                recorder.vitals_batch(batch)
        if step == 15:
            recorder.chat("Wang Min looks pale", "dr.li", "remote")
        if step == 30:
            remote.add("marker", "video", [MARKER_AT], text="effusion")
            recorder.add_chapter("Marker placed")
        if step == 60:
            remote.add("arrow", "video", [(0.7, 0.7), (0.5, 0.6)])
        if step == 75:
            recorder.chat("Needle in", "dr.chen")
    manifest = recorder.close()
    assert manifest.media.error is None and manifest.media.video_frames == int(DURATION_S * FPS) + 1
    return folder


@pytest.fixture(scope="module")
def base_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_recording(tmp_path_factory.mktemp("replay") / "rec")


@pytest.fixture
def recording(base_recording: Path, tmp_path: Path) -> Recording:
    folder = tmp_path / "rec"
    shutil.copytree(base_recording, folder)
    return Recording.open(folder)


def _player(qtbot: Any, recording: Recording, **kwargs: object) -> tuple[QtReplayPlayer, FakeClock]:
    """A player on a fake clock that waits for each decoded frame, so every tick is exact."""
    clock = FakeClock()
    player = QtReplayPlayer(recording, clock=clock, media_wait_s=None, **kwargs)  # type: ignore[arg-type]
    qtbot.addWidget(player)
    player.resize(1200, 780)
    return player, clock


def _advance(player: QtReplayPlayer, clock: FakeClock, to_ns: int, step_ns: int = 100 * MS) -> list[int]:
    """Move the wall clock in steps, ticking the player like its timer would; the frame times shown."""
    shown = []
    while clock.now < to_ns:
        clock.now = min(to_ns, clock.now + step_ns)
        player.tick()
        if player.last_frame_t_ns is not None:
            shown.append(player.last_frame_t_ns)
    return shown


def _video_shapes(player: QtReplayPlayer) -> list[str]:
    return sorted(a.kind for a in player.document.in_space("video"))


def test_play_shows_frames_annotations_vitals_and_chat_in_time(qtbot: Any, recording: Recording) -> None:
    player, clock = _player(qtbot, recording)
    assert player.frames_delivered == 1 and player.last_frame_t_ns == 0  # the first picture, paused
    player.play()
    shown = _advance(player, clock, 900 * MS)
    assert shown == sorted(shown) and shown[-1] > shown[0]  # frames advance with the playhead
    assert 800 * MS < shown[-1] <= 900 * MS
    assert player.frames_delivered >= 13  # 15 fps for 0.9 s, each frame handed out once
    assert _video_shapes(player) == [] and player.chat.count() == 1
    assert "Wang Min looks pale" in player.chat.item(0).text()
    _advance(player, clock, 1100 * MS)
    assert _video_shapes(player) == ["marker"]  # appears at the moment it was drawn
    assert player.document.in_space("video")[0].points[0] == MARKER_AT
    _advance(player, clock, 2100 * MS)
    assert _video_shapes(player) == ["arrow", "marker"]
    # vitals as they were: the store's clock is the recording's, the newest sample is fresh
    assert player.vitals_panel is not None
    store = player.vitals_panel.store
    assert store.rings[Wave.ECG].total > 0
    newest = store.newest_time()
    assert newest is not None and abs(newest - (T0 + 2.1)) < 0.25
    assert player.receiver is not None and player.receiver.lost_batches == 0
    # scrub back: the arrow drawn at 2.0 s is gone, the marker stays; chat and vitals rewind too
    player.seek(1500 * MS)
    assert _video_shapes(player) == ["marker"] and player.chat.count() == 1
    assert player.last_frame_t_ns is not None and 1400 * MS < player.last_frame_t_ns <= 1500 * MS
    newest = player.vitals_panel.store.newest_time()
    assert newest is not None and T0 + 1.3 < newest <= T0 + 1.5
    assert player.receiver.lost_batches == 0 and player.receiver.late_batches == 0
    player.seek(400 * MS)
    assert _video_shapes(player) == [] and player.chat.count() == 0
    player.seek(500 * MS)  # the chat line sent at exactly 0.5 s shows at 0.5 s
    assert player.chat.count() == 1
    _advance(player, clock, clock.now + 2600 * MS)  # to the end: stops by itself
    assert not player.replay.playing and player.chat.count() == 2
    assert player.position_label.text() == "00:03 / 00:03" and player.status.text() == "End of recording"
    player.play()  # from the start again: nothing drawn yet, no chat yet
    assert player.position_ns == 0 and _video_shapes(player) == [] and player.chat.count() == 0
    player.pause()
    player.close_player()
    player.close_player()


def test_real_timer_paints_frames(qtbot: Any, recording: Recording) -> None:
    player = QtReplayPlayer(recording)
    qtbot.addWidget(player)
    player.resize(1000, 700)
    player.show()
    qtbot.waitExposed(player)
    qtbot.mouseClick(player.play_button, Qt.MouseButton.LeftButton)
    assert player.replay.playing and player.play_button.text() == "Pause"
    qtbot.waitUntil(lambda: player.video.frames_shown >= 5, timeout=10_000)
    qtbot.waitUntil(lambda: _video_shapes(player) == ["marker"], timeout=10_000)
    first = player.last_frame_t_ns
    qtbot.mouseClick(player.play_button, Qt.MouseButton.LeftButton)
    assert not player.replay.playing and player.last_frame_t_ns == first
    # the keyboard: arrows on the timeline step a second, Space plays and pauses
    player.seek(0)
    player.slider.setFocus()
    qtbot.keyClick(player.slider, Qt.Key.Key_Right)
    assert player.position_ns == 1000 * MS and _video_shapes(player) == ["marker"]
    qtbot.keyClick(player.slider, Qt.Key.Key_Left)
    assert player.position_ns == 0 and _video_shapes(player) == []
    qtbot.keyClick(player.slider, Qt.Key.Key_Space)
    assert player.replay.playing
    qtbot.keyClick(player.slider, Qt.Key.Key_Space)
    assert not player.replay.playing
    player.close()

def test_seeking_never_waits_for_the_decoder(qtbot: Any, recording: Recording) -> None:
    """The UI thread does not decode: while the decoder is held up, a seek returns at once and the
    overlays and chat move; the picture follows as soon as its frame is decoded, with no play running."""
    release = threading.Event()
    decoding = recording.media_frames

    def held_up(kind: str = "video", start_ns: int = 0) -> Iterator[Any]:
        release.wait(10)
        yield from decoding(kind, start_ns)

    recording.media_frames = held_up  # type: ignore[method-assign]
    player = QtReplayPlayer(recording)
    qtbot.addWidget(player)
    assert player.frames_delivered == 0  # the first picture is not there yet: nothing waited for it
    player.seek(1500 * MS)
    assert player.position_ns == 1500 * MS and _video_shapes(player) == ["marker"]
    assert player.frames_delivered == 0 and player.replay.media_pending and not player.replay.playing
    release.set()
    qtbot.waitUntil(lambda: player.frames_delivered == 1, timeout=5000)
    assert player.last_frame_t_ns is not None and 1400 * MS < player.last_frame_t_ns <= 1500 * MS
    qtbot.waitUntil(lambda: not player.decoding_timer.isActive(), timeout=5000)
    assert player.frames_delivered == 1  # paused: one picture, the one showing at 1.5 s
    player.close_player()


class _Sink:
    """Where the player's sound goes instead of the sound card: the bytes written."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data


def _recording_with_sound(folder: Path) -> Path:
    """2 s: a 440 Hz tone in 20 ms frames, video at 15 fps."""
    clock = SteppedClock()
    recorder = SessionRecorder(folder, title="Auscultation", specialty="cardiology", patient=PATIENT, fps=FPS,
                               clock=clock)
    assert recorder.media is not None
    for step in range(101):  # 20 ms steps
        clock.now = step * 20 * MS
        if step % 10 in (0, 3, 7):  # 15 a second
            recorder.media.video(_frame(step))
        samples = (np.arange(960) + step * 960) / 48_000
        pcm = (0.3 * 32767 * np.sin(2 * np.pi * 440 * samples)).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = 48_000
        recorder.media.audio(frame)
        while recorder.media.backlog > 20:  # faster than real time: let the encoder keep up
            time.sleep(0.002)
    manifest = recorder.close()
    assert manifest.media.error is None and manifest.media.audio_frames == 101
    return folder


def _peak_hz(pcm_bytes: bytes) -> float:
    """The strongest frequency of 48 kHz stereo s16 sound (its left channel)."""
    left = np.frombuffer(pcm_bytes[: len(pcm_bytes) // 4 * 4], dtype="<i2")[::2].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(left * np.hanning(left.size)))
    return float(np.fft.rfftfreq(left.size, 1 / 48_000)[int(np.argmax(spectrum))])


def test_sound_keeps_its_pitch_at_other_speeds(qtbot: Any, tmp_path: Path) -> None:
    sink = _Sink()
    recording = Recording.open(_recording_with_sound(tmp_path / "rec"))
    player, clock = _player(qtbot, recording, audio_sink=sink)
    assert player.sound is not None and not player.sound_button.isHidden() and player.sound_button.isChecked()
    player.play()
    _advance(player, clock, 1000 * MS, step_ns=20 * MS)
    heard = player.audio_frames_fed
    assert 40 <= heard <= 52  # about a second of 20 ms frames (the encoder's own framing)
    assert abs(player.audio_seconds_out - heard * 0.02) < 0.03  # at 1x, as recorded
    qtbot.waitUntil(lambda: len(sink.data) > 100_000, timeout=5000)  # 48 kHz stereo s16: 192 kB a second
    assert player.sound.level > 0.1 and abs(_peak_hz(bytes(sink.data)) - 440) < 10  # the tone
    qtbot.wait(300)  # the writer has written what it had

    # 2x: half a second of the recording in a quarter of a second of sound, still at 440 Hz
    player.set_speed(2.0)
    before, out_before, start = player.audio_frames_fed, player.audio_seconds_out, len(sink.data)
    _advance(player, clock, 1250 * MS, step_ns=20 * MS)
    assert player.replay.position_ns == 1500 * MS and player.audio_frames_fed - before >= 20
    assert 0.15 < player.audio_seconds_out - out_before <= 0.27
    qtbot.waitUntil(lambda: len(sink.data) - start > 48_000 * 4 // 10, timeout=5000)
    assert abs(_peak_hz(bytes(sink.data[start:])) - 440) < 15  # not 880: the pitch is kept

    # beyond 4x: muted; sound off: muted; on again: heard
    player.set_speed(8.0)
    heard = player.audio_frames_fed
    _advance(player, clock, 1300 * MS, step_ns=20 * MS)
    assert player.audio_frames_fed == heard and player.replay.position_ns == 1900 * MS
    player.set_speed(1.0)
    player.seek(500 * MS)
    player.play()
    player.sound_button.click()  # sound off
    _advance(player, clock, 1500 * MS, step_ns=20 * MS)
    assert player.audio_frames_fed == heard
    player.sound_button.click()
    _advance(player, clock, 1700 * MS, step_ns=20 * MS)
    assert player.audio_frames_fed > heard
    player.pause()
    after = player.audio_frames_fed
    _advance(player, clock, 2500 * MS, step_ns=20 * MS)
    assert player.audio_frames_fed == after  # paused: silence
    player.close_player()
    player.close_player()


def test_no_sound_card_is_said_not_silent(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("rtc.playback.audio_output_available", lambda: (False, "no sound card"))
    recording = Recording.open(_recording_with_sound(tmp_path / "rec"))
    player, _clock = _player(qtbot, recording)
    assert not player.sound_button.isEnabled() and not player.sound_button.isChecked()
    assert player.sound_button.toolTip() == "No sound: no sound card"
    player.close_player()


def test_speed_changes_the_rate(qtbot: Any, recording: Recording) -> None:
    player, clock = _player(qtbot, recording)
    player.speed.setCurrentIndex(player.speed.findData(2.0))
    assert player.replay.speed == 2.0
    player.play()
    _advance(player, clock, 500 * MS)
    assert player.position_ns == 1000 * MS
    fast_frames = player.frames_delivered
    player.set_speed(0.5)
    assert player.speed.currentData() == 0.5
    _advance(player, clock, 1500 * MS)  # one more second of wall time at half speed
    assert player.position_ns == 1500 * MS
    slow_frames = player.frames_delivered - fast_frames
    assert fast_frames > 1.6 * slow_frames  # 1 s of picture in 0.5 s against 0.5 s in 1 s
    player.close_player()


def test_chapters(qtbot: Any, recording: Recording) -> None:
    player, _clock = _player(qtbot, recording, can_author=True)
    assert [c.title for c in player.replay.chapters] == ["Marker placed"]
    player.next_button.click()
    assert player.position_ns == 1000 * MS and player.chapter_label.text() == "Chapter: Marker placed"
    assert _video_shapes(player) == ["marker"]  # drawn at exactly this moment
    player.seek(2200 * MS)
    player.chapter_title.setText("Arrow")
    player.add_chapter_button.click()
    assert [c.t_ns for c in player.replay.chapters] == [1000 * MS, 2200 * MS]
    assert len(player.slider.chapter_marks) == 2
    player.seek(0)
    player.next_chapter()
    player.next_chapter()
    assert player.position_ns == 2200 * MS and player.chapter_label.text() == "Chapter: Arrow"
    player.seek(2900 * MS)
    player.previous_chapter()
    assert player.position_ns == 0  # within 2 s of "Arrow": back past it to... before "Marker placed"
    player.seek(2500 * MS)
    player.previous_chapter()
    assert player.position_ns == 0
    reopened = Recording.open(recording.folder)
    assert [c.title for c in reopened.chapters] == ["Marker placed", "Arrow"]
    # an unnamed chapter gets its time as title
    player.seek(500 * MS)
    player.add_chapter()
    assert player.replay.chapters[0].title == "Chapter at 00:00"
    player.close_player()


def _click_on_picture(qtbot: Any, player: QtReplayPlayer, x: float, y: float) -> None:
    rect = player.overlay.picture_rect()
    pos = QPoint(round(rect.x() + x * rect.width()), round(rect.y() + y * rect.height()))
    qtbot.mouseClick(player.overlay, Qt.MouseButton.LeftButton, pos=pos)


def _answer_both(qtbot: Any, recording: Recording, trainee: str, click: tuple[float, float], rhythm: str,
                 shot: Path | None = None) -> list[object]:
    player, clock = _player(qtbot, Recording.open(recording.folder), user=trainee)
    player.show()
    qtbot.waitExposed(player)
    assert not player.editor.isVisible()  # only the instructor adds pause points
    player.play()
    _advance(player, clock, 5 * S, step_ns=40 * MS)
    # the cursor stopped exactly at the first pause point, whatever the tick
    assert player.current_point is not None and player.current_point.kind == "target"
    assert player.position_ns == 800 * MS and not player.replay.playing
    assert player.question.isVisible() and player.question.question.text() == "Where is the effusion?"
    assert _video_shapes(player) == []  # the expert's answer is not on screen yet
    if shot is not None:
        qtbot.waitUntil(lambda: player.video.frames_shown > 0)
        qtbot.wait(300)
        shot.parent.mkdir(parents=True, exist_ok=True)
        player.grab().save(str(shot))
    _click_on_picture(qtbot, player, *click)
    target_text = player.question.result.text()
    assert "mm from the expert's target" in target_text
    assert _video_shapes(player) == ["marker", "marker"]  # the answer and the expert's, side by side
    if shot is not None:
        qtbot.wait(100)
        player.grab().save(str(shot.with_name(shot.stem + "-answered.png")))
    player.question.continue_button.click()
    assert player.replay.playing and player.current_point is None and _video_shapes(player) == []
    _advance(player, clock, clock.now + 5 * S, step_ns=40 * MS)
    assert player.current_point is not None and player.current_point.kind == "rhythm"
    assert player.position_ns == 2500 * MS
    choices = player.question.choices
    values = [choices.item(i).data(Qt.ItemDataRole.UserRole) for i in range(choices.count())]
    choices.setCurrentRow(values.index(rhythm))
    player.question.answer_button.click()
    rhythm_text = player.question.result.text()
    player.question.continue_button.click()
    _advance(player, clock, clock.now + 5 * S)
    assert player.replay.finished
    player.close_player()
    return [target_text, rhythm_text]


def test_pause_and_predict(qtbot: Any, recording: Recording, shots: Path) -> None:
    instructor, _clock = _player(qtbot, recording, user="dr.chen", can_author=True)
    # asked before the expert drew: scored against what the expert did next (the marker at 1.0 s)
    instructor.seek(800 * MS)
    instructor.editor.question.setText("Where is the effusion?")
    instructor.editor.add_button.click()
    instructor.seek(2500 * MS)
    instructor.editor.question.setText("Which rhythm is this?")
    instructor.editor.kind.setCurrentIndex(instructor.editor.kind.findData("rhythm"))
    instructor.editor.rhythm.setCurrentIndex(instructor.editor.rhythm.findData("atrial_fibrillation"))
    instructor.editor.add_button.click()
    assert "Pause point added at 00:02" in instructor.editor.message.text()
    points = load_pause_points(recording.folder)
    assert [(p.t_ns, p.kind) for p in points] == [(800 * MS, "target"), (2500 * MS, "rhythm")]
    assert points[0].expert_target == MARKER_AT and points[0].space == "video"  # the marker, not the arrow
    assert points[1].expert_rhythm == "atrial_fibrillation"
    assert len(instructor.slider.pause_marks) == 2
    instructor.close_player()

    near = _answer_both(qtbot, recording, "trainee.wu", (0.32, 0.4), "normal_sinus_rhythm",
                        shot=shots / "pause-predict.png")
    far = _answer_both(qtbot, recording, "trainee.ma", (0.7, 0.8), "atrial_fibrillation")
    assert "well placed" in str(near[0]) and "well placed" not in str(far[0])
    assert str(near[1]).startswith("Not quite") and str(far[1]).startswith("Correct")

    book = ScoreBook(recording.folder / "scores.json")
    assert book.trainees() == ["trainee.ma", "trainee.wu"]
    wu = {r.kind: r for r in book.results("trainee.wu")}
    ma = {r.kind: r for r in book.results("trainee.ma")}
    assert wu["target"].correct and wu["target"].distance_mm is not None
    assert wu["target"].distance_mm == pytest.approx(2.0, abs=1.0)  # 0.02 of a 100 mm wide picture
    assert not ma["target"].correct and ma["target"].distance_mm is not None
    assert ma["target"].distance_mm > 40.0
    assert not wu["rhythm"].correct and ma["rhythm"].correct and ma["rhythm"].answer == "atrial_fibrillation"
    raw = json.loads((recording.folder / "scores.json").read_text())
    assert set(raw["trainees"]) == {"trainee.wu", "trainee.ma"}


def test_screenshot_mid_replay(qtbot: Any, recording: Recording, shots: Path) -> None:
    player, clock = _player(qtbot, recording)
    player.show()
    qtbot.waitExposed(player)
    player.play()
    _advance(player, clock, 2900 * MS)
    player.pause()
    player.seek(2300 * MS)  # the vitals strips redraw from the rebuilt store
    qtbot.waitUntil(lambda: player.video.frames_shown > 0)
    qtbot.wait(300)  # the vitals panel's own display timer draws what the store holds
    assert _video_shapes(player) == ["arrow", "marker"]
    assert player.grab().save(str(shots / "replay-player.png"))
    player.close_player()


def test_target_question_needs_a_target_on_the_video(qtbot: Any, tmp_path: Path) -> None:
    recorder = SessionRecorder(tmp_path / "plain", title="no shapes", media=False)
    recorder.chat("nothing drawn", "dr.chen", t_ns=100 * MS)
    recorder.annotation_op({"op": "add", "id": "n1", "space": "patient", "author": "dr.chen", "site": "b",
                            "lamport": 1, "data": {"kind": "needle", "points": [[0, 0, 0], [1, 2, 3]]}},
                           t_ns=200 * MS)
    recorder.close()
    player, _clock = _player(qtbot, Recording.open(tmp_path / "plain"), can_author=True)
    assert player.video.has_video is False and player.frames_delivered == 0
    with pytest.raises(ValueError, match="no target"):  # a patient-space needle is not on the picture
        player.add_pause_point("Where?", "target")
    player.editor.add_button.click()
    assert "No target drawn" in player.editor.message.text()
    assert load_pause_points(tmp_path / "plain") == []
    player.close_player()


def test_a_recorded_call_replays_in_sync(qtbot: Any, tmp_path: Path) -> None:
    """A real in-process call (two CallSessions, VP8/H.264 over loopback) recorded as the integration test
    records it, then played: every frame once, and at every tick the shapes shown are exactly those
    drawn up to the playhead."""
    from tests.integration.test_recording_call import record_call
    from viewers.dicom.synthetic import write_ct_series

    dicom = tmp_path / "dicom"
    write_ct_series(dicom, (2, 8, 8), patient_name="Wang^Min", patient_id="P-1")
    record_call(tmp_path / "call", dicom)
    recording = Recording.open(tmp_path / "call")
    adds = [e.t_ns for e in recording.tracks["annotations"]
            if e.data.get("op") == "add" and e.data.get("space") == "video"]
    assert len(adds) > 5
    player, clock = _player(qtbot, recording)
    player.play()
    while player.replay.playing:
        clock.now += 33 * MS
        player.tick()
        position = player.replay.polled_at_ns
        assert len(player.document.in_space("video")) == sum(t <= position for t in adds)
    assert player.frames_delivered == recording.manifest.media.video_frames
    assert player.chat.count() == len(recording.tracks["chat"])
    assert player.receiver is not None and player.receiver.received == len(recording.tracks["vitals"])
    player.close_player()


class _Shouting(QTranslator):
    """A stand-in catalogue: every player and library string in capitals."""

    def translate(self, context: str, source: str, disambiguation: str | None = None, n: int = -1) -> str:
        return source.upper() if context in ("ReplayPlayer", "CaseLibrary") else ""

    def isEmpty(self) -> bool:
        return False


def _announce_language(app: QCoreApplication) -> None:
    """What installTranslator does in a running event loop (not running under pytest): every widget
    gets LanguageChange."""
    QApplication.sendEvent(app, QEvent(QEvent.Type.LanguageChange))
    QApplication.processEvents()


def test_language_change_retranslates(qtbot: Any, recording: Recording, tmp_path: Path) -> None:
    from core.config.roles import Role
    from core.teaching.library import CaseLibrary
    from widgets.case_library import QtCaseLibrary

    player, _clock = _player(qtbot, recording, can_author=True)
    player.seek(1200 * MS)
    library = QtCaseLibrary(CaseLibrary(tmp_path / "library"), role=Role.TRAINEE, user="t", site_salt=b"s")
    qtbot.addWidget(library)
    translator = _Shouting()
    app = QApplication.instance()
    assert app is not None
    app.installTranslator(translator)
    _announce_language(app)
    try:
        assert player.add_chapter_button.text() == "ADD CHAPTER" and player.chat_title.text() == "CHAT"
        assert player.editor.title() == "ADD A PAUSE POINT" and player.editor.labels[0].text() == "QUESTION"
        assert player.editor.rhythm.itemText(player.editor.rhythm.findData("asystole")) == "ASYSTOLE"
        assert player.chapter_label.text() == "CHAPTER: Marker placed"  # the title is the instructor's
        assert player.play_button.text() == "PLAY"
        assert library.open_button.text() == "OPEN" and library.specialty.itemText(0) == "ALL SPECIALTIES"
        assert library.empty.text().startswith("THE CASE LIBRARY IS EMPTY")
    finally:
        app.removeTranslator(translator)
        _announce_language(app)
    assert player.add_chapter_button.text() == "Add chapter" and player.play_button.text() == "Play"
    assert library.windowTitle() == "Case library"
    player.close_player()
    library.close()

"""QtReplayPlayer: a recorded session played back with every track in sync.

The player observes a :class:`core.teaching.replay.ReplayCursor` (Qt-free) and only shows what its
``poll()`` hands out on a display timer: the newest video frame (a :class:`QtVideoView` pulls it), the
annotation operations merged into a local :class:`AnnotationDocument` drawn by a
:class:`QtAnnotationOverlay`, the vitals batches fed through a :class:`StreamReceiver` into a remote
vitals panel whose clock is the recording's (so "as they were", numerics included), the chat lines, and
(when the recording carries the study) the instructor's imaging view states, applied to the recording's
imaging in a :class:`QtReplayImaging` beside the video. A seek rebuilds the document, the chat, the
vitals and the imaging view from what came before the new position.

Pause and predict (core/teaching/scoring.py): the instructor adds pause points at the cursor; on replay
the cursor stops at each one (``ReplayCursor.stop_ns``), the question shows, and the answer (a click on
the picture in the video's normalised coordinates, or a rhythm from the list) is scored and kept in the
recording's score book under the user's name.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from PySide6.QtCore import QEvent, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QKeyEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSlider,
    QSplitter,
    QStyle,
    QStyleOptionSlider,
    QVBoxLayout,
    QWidget,
)

from core.annotations.model import AnnotationDocument, Space
from core.i18n import tr
from core.teaching.replay import Recording, ReplayCursor, ReplayEvent
from core.teaching.scoring import (
    PausePoint,
    ScoreBook,
    ScoreResult,
    expert_target_from_ops,
    load_pause_points,
    save_pause_points,
)
from core.vitals.buffer import NumericTrend, RingBuffer, VitalsStore
from core.vitals.simulator import Scenario
from core.vitals.stream import ProtocolError, StreamReceiver, WaveBatch, decode
from rtc.playback import AudioPlayback, Tempo
from widgets.annotation_overlay import QtAnnotationOverlay
from widgets.video_view import QtVideoView

if TYPE_CHECKING:
    from viewers.replay_imaging import QtReplayImaging
    from widgets.vitals.panel import QtVitalsPanel

log = logging.getLogger(__name__)

SPEEDS = (0.5, 1.0, 1.5, 2.0, 4.0)
SCORES_FILE = "scores.json"
VITALS_HISTORY_NS = 60_000_000_000  # what the vitals store holds: rebuilt from this much before a seek
TICK_MS = 20
ANSWER_COLOUR, EXPERT_COLOUR = "#00c8ff", "#7cff4f"


def format_time(t_ns: int) -> str:
    seconds = max(0, t_ns) // 1_000_000_000
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def rhythm_title(value: str) -> str:
    titles = {
        Scenario.NORMAL.value: tr("ReplayPlayer", "Normal sinus rhythm"),
        Scenario.SINUS_TACHYCARDIA.value: tr("ReplayPlayer", "Sinus tachycardia"),
        Scenario.ATRIAL_FIBRILLATION.value: tr("ReplayPlayer", "Atrial fibrillation"),
        Scenario.ST_ELEVATION.value: tr("ReplayPlayer", "ST elevation"),
        Scenario.DESATURATION.value: tr("ReplayPlayer", "Desaturation"),
        Scenario.HYPOTENSION.value: tr("ReplayPlayer", "Hypotension"),
        Scenario.APNOEA.value: tr("ReplayPlayer", "Apnoea"),
        Scenario.ASYSTOLE.value: tr("ReplayPlayer", "Asystole"),
        Scenario.LEAD_OFF.value: tr("ReplayPlayer", "ECG lead off"),
    }
    return titles.get(value, value)


def vitals_offset_s(recording: Recording) -> float | None:
    """Sender wall-clock seconds minus recording seconds, from the first waveform batch: the vitals
    store's clock runs on the replay position shifted by this, so sample ages read as they did live."""
    for event in recording.tracks.get("vitals", []):
        try:
            batch = decode(event.data)
        except (ProtocolError, TypeError, ValueError):
            continue
        if isinstance(batch, WaveBatch):
            from core.vitals.signals import WAVES

            fs = WAVES[batch.wave].fs
            return batch.t_first + batch.values.shape[1] / fs - event.t_ns / 1e9
    return None


def expert_target_at(recording: Recording, t_ns: int, space: Space = "video") -> tuple[float, ...]:
    """The expert's target for a question asked at ``t_ns``: the first needle, trajectory, marker,
    landmark, ruler or arrow added in ``space`` ("video": normalised picture coordinates; "patient":
    LPS millimetres on the imaging) at or after ``t_ns``, else the best one before."""
    ops = [e for e in recording.events("annotations")
           if isinstance(e.data, dict) and e.data.get("space") == space and e.data.get("op") == "add"]
    for event in ops:
        if event.t_ns >= t_ns:
            try:
                return expert_target_from_ops([event.data])
            except ValueError:
                continue  # not a shape that marks a target
    return expert_target_from_ops(e.data for e in ops if e.t_ns < t_ns)


class QtTimelineSlider(QSlider):
    """A horizontal slider that also paints chapter markers (orange) and pause points (cyan)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.chapter_marks: list[int] = []
        self.pause_marks: list[int] = []
        self.setMinimumHeight(24)

    def set_marks(self, chapters: list[int], pauses: list[int]) -> None:
        self.chapter_marks, self.pause_marks = chapters, pauses
        self.update()

    def mark_x(self, value: int) -> int:
        option = QStyleOptionSlider()
        self.initStyleOption(option)
        style = self.style()
        groove = style.subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                      QStyle.SubControl.SC_SliderGroove, self)
        handle = style.subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                      QStyle.SubControl.SC_SliderHandle, self)
        span = max(1, groove.width() - handle.width())
        offset = QStyle.sliderPositionFromValue(self.minimum(), self.maximum(), value, span)
        return groove.x() + handle.width() // 2 + offset

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        painter = QPainter(self)
        for marks, colour in ((self.chapter_marks, QColor("#ff9f1a")), (self.pause_marks, QColor("#00c8ff"))):
            for value in marks:
                x = self.mark_x(value)
                painter.fillRect(QRect(x - 1, 1, 3, self.height() - 2), colour)
        painter.end()


class QtPauseQuestion(QFrame):
    """The question of a pause point, the means to answer it, the score, and Continue."""

    sig_rhythm_chosen = Signal(str)
    sig_continue = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pauseQuestion")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#pauseQuestion { background: #1d2b3a; border: 2px solid #00c8ff; }"
                           " #pauseQuestion QLabel { color: #f0f4f8; }")
        self.title = QLabel()
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.question = QLabel()
        self.question.setWordWrap(True)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.choices = QListWidget()
        self.choices.setMaximumHeight(150)
        self.answer_button = QPushButton()
        self.answer_button.clicked.connect(self._answer)
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setObjectName("pauseResult")
        self.continue_button = QPushButton()
        self.continue_button.clicked.connect(self.sig_continue.emit)
        layout = QVBoxLayout(self)
        for widget in (self.title, self.question, self.hint, self.choices, self.answer_button, self.result,
                       self.continue_button):
            layout.addWidget(widget)
        self.point: PausePoint | None = None
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(tr("ReplayPlayer", "Pause and predict"))
        self.answer_button.setText(tr("ReplayPlayer", "Answer"))
        self.continue_button.setText(tr("ReplayPlayer", "Continue"))
        if self.point is not None and self.answer_button.isEnabled():
            self._show_hint(self.point)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def _show_hint(self, point: PausePoint) -> None:
        if point.kind == "rhythm":
            self.hint.setText(tr("ReplayPlayer", "Choose the rhythm, then Answer."))
        elif point.space == "patient":
            self.hint.setText(tr("ReplayPlayer", "Click where you would place the target on the imaging."))
        else:
            self.hint.setText(tr("ReplayPlayer", "Click where you would place the target on the picture."))

    def ask(self, point: PausePoint) -> None:
        self.point = point
        self.question.setText(point.question)
        rhythm = point.kind == "rhythm"
        self._show_hint(point)
        self.choices.clear()
        for value in point.choices if rhythm else []:
            self.choices.addItem(rhythm_title(value))
            self.choices.item(self.choices.count() - 1).setData(Qt.ItemDataRole.UserRole, value)
        self.choices.setVisible(rhythm)
        self.answer_button.setVisible(rhythm)
        self.answer_button.setEnabled(True)
        self.result.setText("")
        self.show()

    def _answer(self) -> None:
        item = self.choices.currentItem()
        if item is None:
            self.result.setText(tr("ReplayPlayer", "Choose a rhythm first."))
            return
        self.sig_rhythm_chosen.emit(str(item.data(Qt.ItemDataRole.UserRole)))

    def show_result(self, point: PausePoint, result: ScoreResult) -> None:
        self.answer_button.setEnabled(False)
        self.result.show()
        score = f"{round(result.score * 100)}"
        if result.kind == "target":
            distance = f"{result.distance_mm or 0.0:.1f}"
            text = (tr("ReplayPlayer", "%1 mm from the expert's target: well placed (score %2 %).")
                    if result.correct else
                    tr("ReplayPlayer", "%1 mm from the expert's target (score %2 %)."))
            self.result.setText(text.replace("%1", distance).replace("%2", score))
        elif result.correct:
            self.result.setText(tr("ReplayPlayer", "Correct: %1.").replace(
                "%1", rhythm_title(point.expert_rhythm or "")))
        else:
            self.result.setText(tr("ReplayPlayer", "Not quite: the expert saw %1.").replace(
                "%1", rhythm_title(point.expert_rhythm or "")))


class QtPausePointEditor(QGroupBox):
    """The instructor's form: a question at the cursor, answered on the picture or with a rhythm."""

    sig_add = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.question = QLineEdit()
        self.kind = QComboBox()
        self.kind.addItem("", "target")
        self.kind.addItem("", "rhythm")
        self.kind.addItem("", "imaging_target")  # shown when the recording carries its study
        self.rhythm = QComboBox()
        for scenario in Scenario:
            self.rhythm.addItem("", scenario.value)
        self.width_mm = QDoubleSpinBox()
        self.height_mm = QDoubleSpinBox()
        for spin, value in ((self.width_mm, 100.0), (self.height_mm, 75.0)):
            spin.setRange(1.0, 1000.0)
            spin.setDecimals(0)
            spin.setValue(value)
            spin.setSuffix(" mm")
        self.tolerance = QDoubleSpinBox()
        self.tolerance.setRange(0.5, 200.0)
        self.tolerance.setDecimals(1)
        self.tolerance.setValue(10.0)
        self.tolerance.setSuffix(" mm")
        self.add_button = QPushButton()
        self.add_button.setObjectName("addPausePoint")
        self.add_button.clicked.connect(self._add)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.labels = [QLabel() for _ in range(5)]
        form = QFormLayout(self)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.addRow(self.labels[0], self.question)
        form.addRow(self.labels[1], self.kind)
        form.addRow(self.labels[2], self.rhythm)
        self._fov = QWidget()
        fov = QHBoxLayout(self._fov)
        fov.setContentsMargins(0, 0, 0, 0)
        fov.addWidget(self.width_mm)
        fov.addWidget(QLabel("×"))
        fov.addWidget(self.height_mm)
        form.addRow(self.labels[3], self._fov)
        form.addRow(self.labels[4], self.tolerance)
        form.addRow(self.add_button)
        form.addRow(self.message)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.set_imaging_available(False)
        self._kind_changed()
        self.retranslate()

    def set_imaging_available(self, available: bool) -> None:
        """Offer targets on the imaging (scored in patient millimetres) when the recording has it."""
        index = self.kind.findData("imaging_target")
        view = self.kind.view()
        view.setRowHidden(index, not available)  # type: ignore[attr-defined]
        if not available and self.kind.currentIndex() == index:
            self.kind.setCurrentIndex(0)

    def retranslate(self) -> None:
        self.setTitle(tr("ReplayPlayer", "Add a pause point"))
        self.question.setPlaceholderText(tr("ReplayPlayer", "Where would you place the needle?"))
        self.kind.setItemText(0, tr("ReplayPlayer", "Target on the picture"))
        self.kind.setItemText(1, tr("ReplayPlayer", "Rhythm"))
        self.kind.setItemText(2, tr("ReplayPlayer", "Target on the imaging"))
        for index in range(self.rhythm.count()):
            self.rhythm.setItemText(index, rhythm_title(str(self.rhythm.itemData(index))))
        for label, text in zip(self.labels, (
            tr("ReplayPlayer", "Question"), tr("ReplayPlayer", "Answer by"),
            tr("ReplayPlayer", "Expert's rhythm"), tr("ReplayPlayer", "Picture size"),
            tr("ReplayPlayer", "Tolerance"),
        ), strict=True):
            label.setText(text)
        self.add_button.setText(tr("ReplayPlayer", "Add pause point here"))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def _kind_changed(self) -> None:
        kind = self.kind.currentData()
        self.rhythm.setEnabled(kind == "rhythm")
        self._fov.setEnabled(kind == "target")  # the imaging has its own millimetres
        self.tolerance.setEnabled(kind != "rhythm")

    def _add(self) -> None:
        self.sig_add.emit({
            "question": self.question.text().strip() or self.question.placeholderText(),
            "kind": str(self.kind.currentData()),
            "expert_rhythm": str(self.rhythm.currentData()),
            "video_mm": (self.width_mm.value(), self.height_mm.value()),
            "tolerance_mm": self.tolerance.value(),
        })


class QtReplayPlayer(QWidget):
    """Plays ``recording``: video with its annotations, vitals, chat, a timeline, pause and predict.

    ``user`` names whoever answers pause points (their results go to the score book under that name);
    ``can_author`` shows the instructor's pause-point form. ``clock`` (monotonic ns) drives the cursor.
    Video is decoded on the cursor's own thread: with ``media_wait_s=0`` (the default) a tick never waits
    for it, and a frame still being decoded after a seek is shown on the tick after it is ready; a test
    that steps a fake clock passes None to wait for each frame. The recorded sound plays at 0.5-4x with its
    pitch kept (:class:`rtc.playback.Tempo`) through ``audio_sink`` (a file-like ``write``; None: the
    sound card).
    """

    sig_position_changed = Signal(object)  # ns: past the range of a C int
    sig_paused_at_point = Signal(object)
    sig_answered = Signal(object)

    def __init__(
        self,
        recording: Recording,
        *,
        user: str = "",
        can_author: bool = False,
        score_book: Path | None = None,
        clock: Callable[[], int] = time.monotonic_ns,
        media_wait_s: float | None = 0.0,
        audio_sink: Any = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("replayPlayer")
        self.recording = recording
        self.user = user or "trainee"
        self.can_author = can_author
        has_audio = recording.media_path is not None and recording.manifest.media.audio_frames > 0
        self.replay = ReplayCursor(recording, clock=clock, media_wait_s=media_wait_s, audio=has_audio)
        self.sound: AudioPlayback | None = AudioPlayback(sink=audio_sink) if has_audio else None
        self.audio_frames_fed = 0  # recorded frames played
        self.audio_seconds_out = 0.0  # what went to the sound card, after the tempo
        self._tempo = Tempo()
        self.book = ScoreBook(score_book or recording.folder / SCORES_FILE)
        self.pause_points: list[PausePoint] = load_pause_points(recording.folder)
        self.current_point: PausePoint | None = None
        self._feedback: list[str] = []  # ids of the answer and expert markers shown after an answer
        self._closed = False
        self._frame: Any = None  # newest decoded frame for the view to pull
        self.frames_delivered = 0
        self.last_frame_t_ns: int | None = None
        self._dragging = False
        self._updating_slider = False

        # video and annotations
        self.video = QtVideoView(interval_ms=TICK_MS)
        self.video.set_source(self._take_frame)
        self.document = AnnotationDocument("replay", self.user)
        self.overlay = QtAnnotationOverlay(self.video, self.document)

        # imaging: the study the recording carries, as the instructor's view states show it
        self.imaging: QtReplayImaging | None = None
        imaging_folder = recording.imaging_path
        if imaging_folder is not None and recording.tracks.get("views"):
            from viewers.replay_imaging import QtReplayImaging  # VTK and the DICOM loaders: only if used

            self.imaging = QtReplayImaging(imaging_folder, show_identity=can_author)
            self.imaging.panel.attach_annotations(self.document)  # landmarks, trajectories... as drawn

        # vitals
        self._vitals_offset = vitals_offset_s(recording)
        self.vitals_box = QWidget()
        self._vitals_layout = QVBoxLayout(self.vitals_box)
        self._vitals_layout.setContentsMargins(0, 0, 0, 0)
        self.vitals_panel: QtVitalsPanel | None = None
        self.receiver: StreamReceiver | None = None
        self._vitals_fed_ns = -1
        self._new_vitals_panel()

        # chat
        self.chat = QListWidget()
        self.chat.setObjectName("replayChat")
        self.chat.setWordWrap(True)
        self.chat_title = QLabel()

        # pause and predict
        self.question = QtPauseQuestion()
        self.question.hide()
        self.question.sig_rhythm_chosen.connect(self.answer)
        self.question.sig_continue.connect(self.continue_after_question)
        self.editor = QtPausePointEditor()
        self.editor.sig_add.connect(self._add_pause_point_from_form)
        self.editor.setVisible(can_author)
        self.editor.set_imaging_available(self.imaging is not None)

        # timeline
        self.play_button = QPushButton()
        self.play_button.setObjectName("replayPlay")
        self.play_button.clicked.connect(self.toggle)
        self.slider = QtTimelineSlider()
        self.slider.setRange(0, max(1, recording.duration_ns // 1_000_000))
        self.slider.setSingleStep(1000)  # arrow keys: a second; Page Up/Down: five
        self.slider.setPageStep(5000)
        self.slider.sliderPressed.connect(self._slider_pressed)
        self.slider.sliderReleased.connect(self._slider_released)
        self.slider.valueChanged.connect(self._slider_moved)
        self.position_label = QLabel()
        self.position_label.setObjectName("replayPosition")
        self.speed = QComboBox()
        self.speed.setObjectName("replaySpeed")
        for value in SPEEDS:
            self.speed.addItem(f"{value:g}×", value)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.currentIndexChanged.connect(lambda _i: self.set_speed(float(self.speed.currentData())))
        self.sound_button = QPushButton()
        self.sound_button.setObjectName("replaySound")
        self.sound_button.setCheckable(True)
        self.sound_button.setChecked(self.sound is not None and self.sound.available)
        self.sound_button.setEnabled(self.sound is not None and self.sound.available)
        self.sound_button.setVisible(self.sound is not None)
        self.sound_button.toggled.connect(self._sound_toggled)
        self.previous_button = QPushButton()
        self.previous_button.clicked.connect(self.previous_chapter)
        self.next_button = QPushButton()
        self.next_button.clicked.connect(self.next_chapter)
        self.chapter_title = QLineEdit()
        self.chapter_title.setMaximumWidth(180)
        self.add_chapter_button = QPushButton()
        self.add_chapter_button.clicked.connect(lambda: self.add_chapter(self.chapter_title.text()))
        self.chapter_label = QLabel()
        self.chapter_label.setObjectName("replayChapter")
        self.status = QLabel()
        self.status.setObjectName("replayStatus")

        # layout: video (left, over the vitals) | chat and pause and predict (right); timeline below
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(4, 0, 0, 0)
        side_layout.addWidget(self.question)
        side_layout.addWidget(self.chat_title)
        side_layout.addWidget(self.chat, 1)
        side_layout.addWidget(self.editor)
        side.setMinimumWidth(330)
        pictures = QSplitter(Qt.Orientation.Horizontal)
        pictures.addWidget(self.video)
        if self.imaging is not None:
            pictures.addWidget(self.imaging)
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(pictures)
        left.addWidget(self.vitals_box)
        left.setStretchFactor(0, 3)
        left.setStretchFactor(1, 2)
        left.setSizes([440, 300])
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(left)
        top.addWidget(side)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 1)
        timeline = QHBoxLayout()
        timeline.addWidget(self.play_button)
        timeline.addWidget(self.slider, 1)
        timeline.addWidget(self.position_label)
        timeline.addWidget(self.speed)
        timeline.addWidget(self.sound_button)
        chapters = QHBoxLayout()
        chapters.addWidget(self.previous_button)
        chapters.addWidget(self.next_button)
        chapters.addWidget(self.chapter_label, 1)
        chapters.addWidget(self.status)
        chapters.addWidget(self.chapter_title)
        chapters.addWidget(self.add_chapter_button)
        self.chapter_title.setVisible(can_author)
        self.add_chapter_button.setVisible(can_author)
        self.header = QLabel()
        self.header.setObjectName("replayHeader")
        header_font = self.header.font()
        header_font.setBold(True)
        self.header.setFont(header_font)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.header)
        layout.addWidget(top, 1)
        layout.addLayout(timeline)
        layout.addLayout(chapters)

        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self.tick)
        self.decoding_timer = QTimer(self)  # paused, but the frame to show is still being decoded
        self.decoding_timer.setSingleShot(True)
        self.decoding_timer.setInterval(TICK_MS)
        self.decoding_timer.timeout.connect(self.tick)
        self._arm_stop(0, inclusive=True)
        self._refresh_marks()
        self.retranslate()
        self.tick()  # the first frame, before any play

    def retranslate(self) -> None:
        self.video.set_placeholder(tr("ReplayPlayer", "No video in this recording"))
        self.chat_title.setText(tr("ReplayPlayer", "Chat"))
        self.previous_button.setText(tr("ReplayPlayer", "◀ Chapter"))
        self.previous_button.setToolTip(tr("ReplayPlayer", "Previous chapter"))
        self.next_button.setText(tr("ReplayPlayer", "Chapter ▶"))
        self.next_button.setToolTip(tr("ReplayPlayer", "Next chapter"))
        self.sound_button.setText(tr("ReplayPlayer", "Sound"))
        if self.sound is not None and not self.sound.available:
            reason = self.sound.unavailable_reason
            self.sound_button.setToolTip(tr("ReplayPlayer", "No sound: %1").replace("%1", reason))
        else:
            self.sound_button.setToolTip(tr("ReplayPlayer", "The recorded sound, at its pitch, 0.5× to 4×"))
        self.chapter_title.setPlaceholderText(tr("ReplayPlayer", "Chapter title"))
        self.add_chapter_button.setText(tr("ReplayPlayer", "Add chapter"))
        self.header.setText(self._header_text())
        self._show_state()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # --- transport --------------------------------------------------------------------------------
    @property
    def position_ns(self) -> int:
        return self.replay.position_ns

    def play(self) -> None:
        if self._closed:
            return
        if self.current_point is not None:
            self.continue_after_question()
            return
        if self.replay.at_stop:
            self._reached_point()
            return
        if self.replay.position_ns >= self.recording.duration_ns:
            self.seek(0)  # again from the start, with the overlays and chat of the start
        self.replay.play()
        self.timer.start()
        self._show_state()

    def pause(self) -> None:
        self.replay.pause()
        self._silence()
        self.timer.stop()
        self.tick()
        self._show_state()

    def toggle(self) -> None:
        self.pause() if self.replay.playing else self.play()

    def set_speed(self, speed: float) -> None:
        if speed != self.replay.speed:
            self._silence()
        self.replay.set_speed(speed)
        index = self.speed.findData(speed)
        if index >= 0 and index != self.speed.currentIndex():
            self.speed.setCurrentIndex(index)

    def seek(self, t_ns: int) -> None:
        """Jump: the annotations, chat and vitals are rebuilt as they were at ``t_ns``."""
        self._close_question()
        self._silence()
        self.replay.seek(t_ns)
        position = self.replay.position_ns
        self.document.reset()
        for event in self.replay.state_events("annotations"):
            self._annotation(event)
        self.chat.clear()
        for event in self.replay.state_events("chat"):
            self._chat(event)
        views = self.replay.state_events("views")
        if views and self.imaging is not None:
            self.imaging.show_state(views[-1].data)
        if position <= self._vitals_fed_ns or position - self._vitals_fed_ns > VITALS_HISTORY_NS:
            self._clear_vitals()
        since = max(self._vitals_fed_ns + 1, position - VITALS_HISTORY_NS)
        for event in self.recording.events("vitals", since, position - 1):
            self._vitals(event)
        self._arm_stop(position, inclusive=True)
        self.tick()

    def _slider_pressed(self) -> None:
        self._dragging = True

    def _slider_released(self) -> None:
        self._dragging = False
        self.seek(self.slider.value() * 1_000_000)

    def _slider_moved(self, value: int) -> None:
        if self._updating_slider:
            return
        if self._dragging:  # a drag seeks once, on release; meanwhile the label follows
            self.position_label.setText(self._position_text(value * 1_000_000))
            return
        self.seek(value * 1_000_000)

    # --- chapters -----------------------------------------------------------------------------------
    def add_chapter(self, title: str = "") -> None:
        position = self.replay.position_ns
        text = title.strip() or tr("ReplayPlayer", "Chapter at %1").replace("%1", format_time(position))
        self.replay.add_chapter(text, position)
        self.chapter_title.clear()
        self._refresh_marks()
        self._show_state()

    def next_chapter(self) -> None:
        chapter = next((c for c in self.replay.chapters if c.t_ns > self.replay.position_ns), None)
        if chapter is not None:
            self.seek(chapter.t_ns)

    def previous_chapter(self) -> None:
        position = self.replay.position_ns
        earlier = [c for c in self.replay.chapters if c.t_ns < position - 2_000_000_000]
        self.seek(earlier[-1].t_ns if earlier else 0)

    # --- pause and predict --------------------------------------------------------------------------
    def add_pause_point(
        self,
        question: str,
        kind: str,
        *,
        expert_rhythm: str | None = None,
        video_mm: tuple[float, float] = (100.0, 75.0),
        tolerance_mm: float = 10.0,
        space: str = "video",
    ) -> PausePoint:
        """A pause point at the cursor, saved at once. A target question is scored against what the
        expert did next: the first target drawn in ``space`` ("video", or "patient": on the imaging, in
        millimetres) from here on (else the last one drawn before); ValueError when there is none."""
        position = self.replay.position_ns
        if kind == "target" and space == "patient":
            if self.imaging is None:
                raise ValueError("this recording carries no imaging to place a target on")
            target = expert_target_at(self.recording, position, "patient")
            point = PausePoint(t_ns=position, question=question, kind="target", space="patient",
                               expert_target=target, tolerance_mm=tolerance_mm)
        elif kind == "target":
            target = expert_target_at(self.recording, position, "video")
            point = PausePoint(t_ns=position, question=question, kind="target", space="video",
                               expert_target=target, video_mm=video_mm, tolerance_mm=tolerance_mm)
        else:
            point = PausePoint(t_ns=position, question=question, kind="rhythm", expert_rhythm=expert_rhythm)
        self.pause_points = sorted([*self.pause_points, point], key=lambda p: p.t_ns)
        save_pause_points(self.recording.folder, self.pause_points)
        self._arm_stop(position, inclusive=False)
        self._refresh_marks()
        return point

    def _add_pause_point_from_form(self, values: dict[str, Any]) -> None:
        imaging = values["kind"] == "imaging_target"
        try:
            self.add_pause_point(values["question"], "target" if imaging else values["kind"],
                                 expert_rhythm=values["expert_rhythm"], video_mm=values["video_mm"],
                                 tolerance_mm=values["tolerance_mm"], space="patient" if imaging else "video")
        except ValueError as exc:
            log.info("pause point refused: %s", exc)
            if "target" not in str(exc):
                self.editor.message.setText(str(exc)[:200])
            elif imaging:
                self.editor.message.setText(
                    tr("ReplayPlayer", "No target drawn on the imaging in this recording."))
            else:
                self.editor.message.setText(
                    tr("ReplayPlayer", "No target drawn on the video before this moment."))
            return
        added = format_time(self.replay.position_ns)
        self.editor.message.setText(tr("ReplayPlayer", "Pause point added at %1.").replace("%1", added))

    def _arm_stop(self, position: int, *, inclusive: bool) -> None:
        upcoming = [p.t_ns for p in self.pause_points
                    if p.t_ns > position or (inclusive and p.t_ns == position)]
        self.replay.stop_ns = upcoming[0] if upcoming else None

    def _reached_point(self) -> None:
        position = self.replay.position_ns
        point = next((p for p in self.pause_points if p.t_ns == position), None)
        if point is None:
            return
        self.current_point = point
        self.timer.stop()
        self.question.ask(point)
        if point.kind == "target" and point.space == "video":
            self.overlay.pick_point(self._picked)
        elif point.kind == "target" and self.imaging is not None:
            self.imaging.panel.slice_view.pick_point(self._picked)
        self._show_state()
        self.sig_paused_at_point.emit(point)

    def answer(self, value: Any) -> ScoreResult | None:
        """The user's answer to the question shown: a normalised ``(x, y)`` on the picture, an LPS point
        (mm) on the imaging, or a rhythm."""
        point = self.current_point
        if point is None:
            return None
        self._stop_picking()
        answer = value if isinstance(value, str) else tuple(float(v) for v in value)
        result = self.book.answer(point, self.user, answer)
        self.question.show_result(point, result)
        if point.kind == "target" and point.expert_target is not None and not isinstance(answer, str):
            self._show_feedback(answer, point.expert_target, point.space)
        self.sig_answered.emit(result)
        return result

    def _picked(self, point: Any) -> None:
        self.answer(point)

    def _stop_picking(self) -> None:
        self.overlay.pick_point(None)
        if self.imaging is not None:
            self.imaging.panel.slice_view.pick_point(None)

    def continue_after_question(self) -> None:
        position = self.replay.position_ns
        self._close_question()
        self._arm_stop(position, inclusive=False)
        self.play()

    def _show_feedback(
        self, answer: tuple[float, ...], expert: tuple[float, ...], space: Space = "video"
    ) -> None:
        """The answer and the expert's target side by side on the picture (or the imaging), until the
        replay goes on (local shapes of the replay's own document: nothing is sent or stored)."""
        self._clear_feedback()
        kind: Literal["marker", "landmark"] = "marker" if space == "video" else "landmark"
        # Only the expert's is labelled: two labels side by side would cover each other on a near miss.
        for where, text, colour in ((answer, "", ANSWER_COLOUR), (expert, tr("ReplayPlayer", "Expert"),
                                                                  EXPERT_COLOUR)):
            shape = self.document.add(kind, space, [list(where)], text=text, colour=colour)
            self._feedback.append(shape.id)
        self.question.hint.setText(tr("ReplayPlayer", "Blue: your answer. Green: the expert's target."))

    def _clear_feedback(self) -> None:
        ids, self._feedback = self._feedback, []
        for annotation_id in ids:
            self.document.delete(annotation_id)

    def _close_question(self) -> None:
        self._clear_feedback()
        self.current_point = None
        self._stop_picking()
        self.question.hide()

    # --- delivery -----------------------------------------------------------------------------------
    def tick(self) -> None:
        """Show what the cursor hands out now (the timer calls this while playing)."""
        if self._closed:
            return
        was_playing = self.replay.playing
        speed = self.replay.speed
        sounding = was_playing and Tempo.supports(speed) and self.sound_button.isChecked()
        view: ReplayEvent | None = None
        for event in self.replay.poll():
            if event.track == "video":
                self._frame = event.data
                self.frames_delivered += 1
                self.last_frame_t_ns = event.t_ns
            elif event.track == "annotations":
                self._annotation(event)
            elif event.track == "vitals":
                self._vitals(event)
            elif event.track == "chat":
                self._chat(event)
            elif event.track == "views":
                view = event  # only the newest of a tick is shown
            elif event.track == "audio" and sounding:
                assert self.sound is not None
                for out in self._tempo.process(event.data, speed):
                    self.sound.feed(out)
                    self.audio_seconds_out += out.samples / out.sample_rate
                self.audio_frames_fed += 1
        if view is not None and self.imaging is not None:
            self.imaging.show_state(view.data)
        if was_playing and not self.replay.playing:
            self.timer.stop()
            if self.replay.at_stop:
                self._reached_point()
        if not self.replay.playing and self.replay.media_pending:
            self.decoding_timer.start()
        self._show_state()

    def _sound_toggled(self, on: bool) -> None:
        if not on:
            self._silence()

    def _silence(self) -> None:
        self._tempo.reset()
        if self.sound is not None:
            self.sound.flush()

    def _take_frame(self) -> Any:
        frame, self._frame = self._frame, None
        return frame

    def _annotation(self, event: ReplayEvent) -> None:
        if isinstance(event.data, dict) and event.data.get("op") != "pointer":
            self.document.apply_remote(event.data)

    def _chat(self, event: ReplayEvent) -> None:
        data = event.data if isinstance(event.data, dict) else {}
        author = str(data.get("author", "")) or tr("ReplayPlayer", "unknown")
        self.chat.addItem(f"[{format_time(event.t_ns)}] {author}: {data.get('text', '')}")
        self.chat.scrollToBottom()

    def _vitals(self, event: ReplayEvent) -> None:
        if self.receiver is not None and isinstance(event.data, bytes):
            self.receiver.feed(event.data)
        self._vitals_fed_ns = max(self._vitals_fed_ns, event.t_ns)

    def _vitals_clock(self) -> float:
        offset = self._vitals_offset if self._vitals_offset is not None else time.time()
        return offset + self.replay.position_ns / 1e9

    def _clear_vitals(self) -> None:
        """Empty the store in place (fresh rings and trends) for a rebuild from before the seek: much
        cheaper than a new panel. The engine and the strips look the rings up in the store each time;
        the strips rebuild their traces when their layout is invalidated (set_sweep there and back)."""
        panel = self.vitals_panel
        if panel is None:
            return
        store = panel.store
        for wave, ring in list(store.rings.items()):
            store.rings[wave] = RingBuffer(ring.fs, ring.channels, ring.capacity)
        for numeric in list(store.trends):
            store.trends[numeric] = NumericTrend()
        for strips in (panel.strips, panel.twelve):
            sweep = strips.sweep
            strips.set_sweep(not sweep)
            strips.set_sweep(sweep)
        self.receiver = StreamReceiver(store)
        self._vitals_fed_ns = -1

    def _new_vitals_panel(self) -> None:
        from widgets.vitals import create_remote_vitals_panel

        old = self.vitals_panel
        if old is not None:
            old.close_model()
            self._vitals_layout.removeWidget(old)
            old.deleteLater()
        store = VitalsStore(seconds=60.0, clock=self._vitals_clock)
        self.receiver = StreamReceiver(store)
        self.vitals_panel = create_remote_vitals_panel(store=store)
        self._vitals_layout.addWidget(self.vitals_panel)
        self._vitals_fed_ns = -1

    # --- display ------------------------------------------------------------------------------------
    def _position_text(self, position: int) -> str:
        return (tr("ReplayPlayer", "%1 / %2")
                .replace("%1", format_time(position)).replace("%2", format_time(self.recording.duration_ns)))

    def _header_text(self) -> str:
        manifest = self.recording.manifest
        parts = [manifest.title or tr("ReplayPlayer", "Untitled recording"), manifest.started_at[:10],
                 format_time(manifest.duration_ns)]
        if manifest.patient is not None:
            parts.append(manifest.patient.name)
        if manifest.deidentified:
            parts.append(tr("ReplayPlayer", "de-identified teaching file"))
        return " · ".join(p for p in parts if p)

    def _refresh_marks(self) -> None:
        self.slider.set_marks([c.t_ns // 1_000_000 for c in self.replay.chapters],
                              [p.t_ns // 1_000_000 for p in self.pause_points])

    def _show_state(self) -> None:
        position = self.replay.position_ns
        playing = self.replay.playing
        self.play_button.setText(tr("ReplayPlayer", "Pause") if playing else tr("ReplayPlayer", "Play"))
        if not self._dragging:
            self._updating_slider = True
            self.slider.setValue(position // 1_000_000)
            self._updating_slider = False
            self.position_label.setText(self._position_text(position))
        current = [c for c in self.replay.chapters if c.t_ns <= position]
        self.chapter_label.setText(tr("ReplayPlayer", "Chapter: %1").replace("%1", current[-1].title)
                                   if current else "")
        if self.current_point is not None:
            self.status.setText(tr("ReplayPlayer", "Paused for a question"))
        elif self.replay.finished and not playing:
            self.status.setText(tr("ReplayPlayer", "End of recording"))
        else:
            self.status.setText("")
        self.sig_position_changed.emit(position)

    def sizeHint(self) -> QSize:
        return QSize(1200, 780)

    # --- life ---------------------------------------------------------------------------------------
    def close_player(self) -> None:
        """Stop the timer, the video pull, the overlay, the vitals engine and the decoder. Twice is
        harmless."""
        if self._closed:
            return
        self._closed = True
        self.timer.stop()
        self.decoding_timer.stop()
        self.video.close_view()
        self.overlay.close_overlay()
        if self.vitals_panel is not None:
            self.vitals_panel.close_model()
        if self.imaging is not None:
            self.imaging.close_pane()
        if self.sound is not None:
            self.sound.close()
        self.replay.close()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Space plays and pauses (reaching here from any child that does not take it: the timeline,
        the video; a text field or a focused button keeps its own meaning)."""
        if event.key() == Qt.Key.Key_Space:
            self.toggle()
            event.accept()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: Any) -> None:
        self.close_player()
        super().closeEvent(event)


__all__ = ["QtPauseQuestion", "QtReplayPlayer", "QtTimelineSlider", "format_time", "vitals_offset_s"]

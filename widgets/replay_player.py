"""QtReplayPlayer: a recorded session played back with every track in sync.

The player observes a :class:`core.teaching.replay.ReplayCursor` (Qt-free) and only shows what its
``poll()`` hands out on a display timer: the newest video frame (a :class:`QtVideoView` pulls it), the
annotation operations merged into a local :class:`AnnotationDocument` drawn by a
:class:`QtAnnotationOverlay`, the vitals batches fed through a :class:`StreamReceiver` into a remote
vitals panel whose clock is the recording's (so "as they were", numerics included), the chat lines, and
(when the recording carries the study) the instructor's imaging view states, applied to the recording's
imaging in a view beside the video. A seek rebuilds the document, the chat, the vitals and the imaging
view from what came before the new position.

Pause and predict (core/teaching/scoring.py): the instructor adds pause points at the cursor; on replay
the cursor stops at each one (``ReplayCursor.stop_ns``), the question shows, and the answer (a click on
the picture in the video's normalised coordinates, or a rhythm from the list) is scored and kept in the
recording's score book under the user's name.

This module builds the player, lays it out and routes each tick's events; the rest is by concern:
widgets/replay_transport.py (play, pause, seek, speed, chapters, the timeline), widgets/replay_tracks.py
(each track shown and rebuilt after a seek; what the player asks of the imaging view) and
widgets/replay_pause_points.py (pause and predict). The imaging view comes from the composer
(``imaging_factory``: app/ passes viewers.replay_imaging's QtReplayImaging), since widgets never import
viewers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from core.annotations.model import AnnotationDocument
from core.i18n import tr
from core.teaching.replay import Recording, ReplayCursor, ReplayEvent
from core.teaching.scoring import PausePoint, ScoreBook, load_pause_points
from core.vitals.stream import StreamReceiver
from rtc.playback import AudioPlayback, Tempo
from widgets.annotation_overlay import QtAnnotationOverlay
from widgets.replay_pause_points import (
    SCORES_FILE,
    QtPausePointEditor,
    QtPauseQuestion,
    ReplayPausePoints,
    expert_target_at,
    rhythm_title,
)
from widgets.replay_tracks import ReplayImagingFactory, ReplayImagingView, ReplayTracks, vitals_offset_s
from widgets.replay_transport import SPEEDS, TICK_MS, QtTimelineSlider, ReplayTransport, format_time
from widgets.video_view import QtVideoView

if TYPE_CHECKING:
    from widgets.vitals.panel import QtVitalsPanel


class QtReplayPlayer(ReplayTransport, ReplayTracks, ReplayPausePoints, QWidget):
    """Plays ``recording``: video with its annotations, vitals, chat, a timeline, pause and predict.

    ``user`` names whoever answers pause points (their results go to the score book under that name);
    ``can_author`` shows the instructor's pause-point form. ``clock`` (monotonic ns) drives the cursor.
    Video is decoded on the cursor's own thread: with ``media_wait_s=0`` (the default) a tick never waits
    for it, and a frame still being decoded after a seek is shown on the tick after it is ready; a test
    that steps a fake clock passes None to wait for each frame. The recorded sound plays at 0.5-4x with its
    pitch kept (:class:`rtc.playback.Tempo`) through ``audio_sink`` (a file-like ``write``; None: the
    sound card). ``imaging_factory`` makes the view of the recording's imaging, called only when the
    recording carries the study and the instructor's view states (None: the imaging is not shown).
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
        imaging_factory: ReplayImagingFactory | None = None,
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
        self.imaging: ReplayImagingView | None = None
        imaging_view: QWidget | None = None
        imaging_folder = recording.imaging_path
        if imaging_factory is not None and imaging_folder is not None and recording.tracks.get("views"):
            view = imaging_factory(imaging_folder, show_identity=can_author)  # VTK and DICOM: only if used
            if not isinstance(view, QWidget):
                raise TypeError(f"the replay's imaging view must be a QWidget, not {type(view).__name__}")
            view.attach_annotations(self.document)  # landmarks, trajectories... as drawn
            self.imaging = imaging_view = view

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
        if imaging_view is not None:
            pictures.addWidget(imaging_view)
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

    # --- display ------------------------------------------------------------------------------------
    def _header_text(self) -> str:
        manifest = self.recording.manifest
        parts = [manifest.title or tr("ReplayPlayer", "Untitled recording"), manifest.started_at[:10],
                 format_time(manifest.duration_ns)]
        if manifest.patient is not None:
            parts.append(manifest.patient.name)
        if manifest.deidentified:
            parts.append(tr("ReplayPlayer", "de-identified teaching file"))
        return " · ".join(p for p in parts if p)

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


__all__ = [
    "QtPausePointEditor",
    "QtPauseQuestion",
    "QtReplayPlayer",
    "QtTimelineSlider",
    "ReplayImagingFactory",
    "ReplayImagingView",
    "expert_target_at",
    "format_time",
    "rhythm_title",
    "vitals_offset_s",
]

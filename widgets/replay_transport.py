"""The replay player's transport: play, pause, seek, speed, chapters, and the timeline that shows them.

Held apart from widgets/replay_player.py so that moving the playhead reads in one place: what a
play, a pause, a seek or a drag on the timeline does to the cursor (core.teaching.replay
ReplayCursor, which decodes the media on its own thread) and to the display timers that drive the
player's ``tick``. :class:`ReplayTransport` is a mixin of :class:`widgets.replay_player.QtReplayPlayer`
(it owns no state of its own: the player makes the widgets and the cursor); a seek asks the tracks
(widgets/replay_tracks.py) to rebuild what was showing and the pause points
(widgets/replay_pause_points.py) to arm the next stop. :class:`QtTimelineSlider` paints the chapters
and pause points on the timeline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QSlider, QStyle, QStyleOptionSlider, QWidget

from core.i18n import tr

if TYPE_CHECKING:
    from PySide6.QtCore import QTimer, SignalInstance
    from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QPushButton

    from core.teaching.replay import Recording, ReplayCursor
    from core.teaching.scoring import PausePoint

SPEEDS = (0.5, 1.0, 1.5, 2.0, 4.0)
TICK_MS = 20


def format_time(t_ns: int) -> str:
    seconds = max(0, t_ns) // 1_000_000_000
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


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


class ReplayTransport:
    """The player's transport and timeline (a mixin of QtReplayPlayer, which sets what is declared
    below)."""

    if TYPE_CHECKING:  # what this part uses of the player
        recording: Recording
        replay: ReplayCursor
        timer: QTimer
        slider: QtTimelineSlider
        position_label: QLabel
        play_button: QPushButton
        speed: QComboBox
        chapter_title: QLineEdit
        chapter_label: QLabel
        status: QLabel
        pause_points: list[PausePoint]
        current_point: PausePoint | None
        sig_position_changed: SignalInstance
        _closed: bool
        _dragging: bool
        _updating_slider: bool

        def tick(self) -> None: ...
        def continue_after_question(self) -> None: ...
        def _reached_point(self) -> None: ...
        def _close_question(self) -> None: ...
        def _arm_stop(self, position: int, *, inclusive: bool) -> None: ...
        def _silence(self) -> None: ...
        def _restore_tracks(self, position: int) -> None: ...

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
        self._restore_tracks(position)
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

    # --- the timeline shown -------------------------------------------------------------------------
    def _position_text(self, position: int) -> str:
        return (tr("ReplayPlayer", "%1 / %2")
                .replace("%1", format_time(position)).replace("%2", format_time(self.recording.duration_ns)))

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


__all__ = ["SPEEDS", "TICK_MS", "QtTimelineSlider", "ReplayTransport", "format_time"]

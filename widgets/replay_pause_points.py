"""Pause and predict in the replay player: the question at a pause point, the instructor's form, the
scoring.

Held apart from widgets/replay_player.py so that the teaching exercise (core/teaching/scoring.py) reads
in one place: the instructor adds pause points at the cursor (:class:`QtPausePointEditor`, saved with
the recording at once); on replay the cursor stops at each one (``ReplayCursor.stop_ns``, armed here),
:class:`QtPauseQuestion` shows the question, and the answer (a click on the picture in the video's
normalised coordinates, a click on the imaging in patient millimetres, or a rhythm from the list) is
scored against what the expert did and kept in the recording's score book under the user's name, the
answer and the expert's target shown side by side until the replay goes on. :class:`ReplayPausePoints`
is a mixin of :class:`widgets.replay_player.QtReplayPlayer`, which makes the widgets and the cursor.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

from PySide6.QtCore import QEvent, Qt, Signal
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
    QVBoxLayout,
    QWidget,
)

from core.annotations.model import Space
from core.i18n import tr
from core.teaching.replay import Recording
from core.teaching.scoring import PausePoint, ScoreResult, expert_target_from_ops, save_pause_points
from core.vitals.simulator import Scenario
from widgets.replay_transport import format_time

if TYPE_CHECKING:
    from PySide6.QtCore import QTimer, SignalInstance

    from core.annotations.model import AnnotationDocument
    from core.teaching.replay import ReplayCursor
    from core.teaching.scoring import ScoreBook
    from widgets.annotation_overlay import QtAnnotationOverlay
    from widgets.replay_tracks import ReplayImagingView

log = logging.getLogger(__name__)

SCORES_FILE = "scores.json"
ANSWER_COLOUR, EXPERT_COLOUR = "#00c8ff", "#7cff4f"


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


class ReplayPausePoints:
    """The player's pause and predict (a mixin of QtReplayPlayer, which sets what is declared below)."""

    if TYPE_CHECKING:  # what this part uses of the player
        recording: Recording
        replay: ReplayCursor
        timer: QTimer
        document: AnnotationDocument
        overlay: QtAnnotationOverlay
        imaging: ReplayImagingView | None
        book: ScoreBook
        user: str
        question: QtPauseQuestion
        editor: QtPausePointEditor
        pause_points: list[PausePoint]
        current_point: PausePoint | None
        sig_paused_at_point: SignalInstance
        sig_answered: SignalInstance
        _feedback: list[str]

        def play(self) -> None: ...
        def _refresh_marks(self) -> None: ...
        def _show_state(self) -> None: ...

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
            self.imaging.pick_point(self._picked)
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
            self.imaging.pick_point(None)

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


__all__ = [
    "ANSWER_COLOUR",
    "EXPERT_COLOUR",
    "SCORES_FILE",
    "QtPausePointEditor",
    "QtPauseQuestion",
    "ReplayPausePoints",
    "expert_target_at",
    "rhythm_title",
]

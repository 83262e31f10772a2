"""The instructor's class strip in the call panel (issue 11) and the recording indicator every site shows.

:class:`QtClassStrip` shows who follows the call (core.teaching.live.ClassViewer rows), per trainee
"Hand over pointer", "Hand over annotation" and "Take back"; "Record" with "● REC mm:ss" and
"Add chapter" while recording; and the vitals simulator's scenarios for the bedside. It only shows what
it is given and emits what the instructor asked for (``sig_*``); app/wiring/classroom.py does the work.
Without trainees it collapses to one row (recording and scenarios still serve the bedside).

:class:`QtRecIndicator` is the red "● REC" (with the elapsed time when it knows the start).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.i18n import tr

if TYPE_CHECKING:
    from core.teaching.live import ClassViewer

REC_STYLE = (
    "#recIndicator { color: white; background: #c0392b; border-radius: 3px; padding: 1px 6px;"
    " font-weight: 700; }"
)


def format_elapsed(seconds: float) -> str:
    seconds = max(0, int(seconds))
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes:02d}:{seconds:02d}"


class QtRecIndicator(QLabel):
    """Red "● REC" while a session is recorded; with ``started_at`` (monotonic) it counts mm:ss."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recIndicator")
        self.setStyleSheet(REC_STYLE)
        self.recording = False
        self.started_at: float | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self._render)
        self.hide()

    def set_recording(self, on: bool, started_at: float | None = None) -> None:
        self.recording, self.started_at = on, started_at if on else None
        if on and started_at is not None:
            self._timer.start()
        else:
            self._timer.stop()
        self._render()
        self.setVisible(on)

    def _render(self) -> None:
        self.setToolTip(tr("ClassStrip", "This session is being recorded"))
        if self.started_at is None:
            self.setText(tr("ClassStrip", "● REC"))
        else:
            elapsed = format_elapsed(time.monotonic() - self.started_at)
            self.setText(tr("ClassStrip", "● REC %1").replace("%1", elapsed))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self._render()
        super().changeEvent(event)

    def close_indicator(self) -> None:
        self._timer.stop()


class _ViewerRow(QWidget):
    def __init__(self, strip: QtClassStrip, viewer: ClassViewer) -> None:
        super().__init__()
        self.member_id = viewer.member_id
        self.name = QLabel()
        self.name.setObjectName("classViewerName")
        self.name.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Preferred)  # never clipped
        self.holds = QLabel()
        self.holds.setObjectName("classViewerTool")
        self.pointer = QPushButton()
        self.annotate = QPushButton()
        self.take_back = QPushButton()
        for button in (self.pointer, self.annotate, self.take_back):
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        member = viewer.member_id
        self.pointer.clicked.connect(lambda: strip.sig_grant.emit(member, "pointer"))
        self.annotate.clicked.connect(lambda: strip.sig_grant.emit(member, "annotate"))
        self.take_back.clicked.connect(lambda: strip.sig_take_back.emit(member))
        # two lines (who, then the hand-over buttons) so the strip fits a narrow dock
        who = QHBoxLayout()
        who.setContentsMargins(0, 0, 0, 0)
        who.setSpacing(6)
        who.addWidget(self.name)
        who.addWidget(self.holds)
        who.addStretch(1)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(14, 0, 0, 0)
        buttons.setSpacing(6)
        for button in (self.pointer, self.annotate, self.take_back):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(who)
        layout.addLayout(buttons)
        self.show_viewer(viewer)

    def show_viewer(self, viewer: ClassViewer) -> None:
        self.viewer = viewer
        dot = "●" if viewer.connected else "○"
        self.name.setText(f"{dot} {viewer.username}")
        self.name.setToolTip(
            tr("ClassStrip", "Watching") if viewer.connected else tr("ClassStrip", "Connecting...")
        )
        holds = {
            "pointer": tr("ClassStrip", "has the pointer"),
            "annotate": tr("ClassStrip", "has the annotation tools"),
        }.get(viewer.tool or "", tr("ClassStrip", "view only"))
        self.holds.setText(holds)
        self.holds.setStyleSheet("color: #b7791f; font-weight: 600;" if viewer.tool else "color: #6b7078;")
        self.pointer.setText(tr("ClassStrip", "Hand over pointer"))
        self.annotate.setText(tr("ClassStrip", "Hand over annotation"))
        self.take_back.setText(tr("ClassStrip", "Take back"))
        self.pointer.setEnabled(viewer.tool != "pointer")
        self.annotate.setEnabled(viewer.tool != "annotate")
        self.take_back.setEnabled(viewer.tool is not None)


class QtClassStrip(QFrame):
    sig_grant = Signal(str, str)  # member id, tool ("pointer" | "annotate")
    sig_take_back = Signal(str)  # member id
    sig_record = Signal(bool)  # start (True) or stop recording
    sig_chapter = Signal()
    sig_scenario = Signal(str)  # core.vitals.simulator.Scenario value, for the bedside's simulator

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("classStrip")
        self.setStyleSheet(
            "#classStrip { background: palette(alternate-base); border-bottom: 1px solid palette(mid); }"
        )
        self.viewers: list[ClassViewer] = []
        self.rows: dict[str, _ViewerRow] = {}
        self.title = QLabel()
        self.title.setObjectName("classTitle")
        self.title.setStyleSheet("#classTitle { font-weight: 600; }")
        self.record_button = QPushButton()
        self.record_button.setObjectName("classRecord")
        self.record_button.setCheckable(True)
        self.record_button.clicked.connect(lambda checked: self.sig_record.emit(bool(checked)))
        self.rec = QtRecIndicator()
        self.chapter_button = QPushButton()
        self.chapter_button.clicked.connect(lambda: self.sig_chapter.emit())
        self.chapter_button.hide()
        self.scenario_button = QToolButton()
        self.scenario_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.scenario_menu = QMenu(self.scenario_button)
        self.scenario_menu.aboutToShow.connect(self._fill_scenarios)
        self.scenario_button.setMenu(self.scenario_menu)
        self.scenario: str | None = None  # the scenario last sent
        self.message = QLabel()
        self.message.setObjectName("classMessage")
        self.message.setStyleSheet("#classMessage { color: #e67e22; }")
        self.message.setWordWrap(True)
        self.message.hide()

        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.setSpacing(8)
        head.addWidget(self.title)
        head.addStretch(1)
        head.addWidget(self.rec)
        actions = QHBoxLayout()
        actions.setContentsMargins(0, 0, 0, 0)
        actions.setSpacing(8)
        for widget in (self.record_button, self.chapter_button, self.scenario_button):
            actions.addWidget(widget)
        actions.addStretch(1)
        self._rows = QVBoxLayout()
        self._rows.setContentsMargins(12, 0, 0, 0)
        self._rows.setSpacing(2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(3)
        layout.addLayout(head)
        layout.addLayout(actions)
        layout.addLayout(self._rows)
        layout.addWidget(self.message)
        self.retranslate()

    # model -------------------------------------------------------------------------------------
    def set_viewers(self, viewers: Sequence[ClassViewer]) -> None:
        """Show these trainees (rows are kept for those still there, so a click is never lost)."""
        self.viewers = list(viewers)
        present = {v.member_id for v in self.viewers}
        for member_id in [m for m in self.rows if m not in present]:
            row = self.rows.pop(member_id)
            self._rows.removeWidget(row)
            row.deleteLater()
        for viewer in self.viewers:
            existing = self.rows.get(viewer.member_id)
            if existing is None:
                row = _ViewerRow(self, viewer)
                self.rows[viewer.member_id] = row
                self._rows.addWidget(row)
            else:
                existing.show_viewer(viewer)
        self._render_title()

    def set_recording(self, on: bool, started_at: float | None = None) -> None:
        self.record_button.setChecked(on)
        self.rec.set_recording(on, started_at)
        self.chapter_button.setVisible(on)
        self._render_record()

    @property
    def recording(self) -> bool:
        return self.rec.recording

    def show_message(self, text: str | None) -> None:
        self.message.setText(text or "")
        self.message.setVisible(bool(text))

    # scenarios ---------------------------------------------------------------------------------
    def _fill_scenarios(self) -> None:
        from core.vitals.simulator import Scenario
        from widgets.vitals.panel import scenario_name  # pyqtgraph: only once the menu opens

        self.scenario_menu.clear()
        for scenario in Scenario:
            action = self.scenario_menu.addAction(scenario_name(scenario))
            action.setCheckable(True)
            action.setChecked(scenario.value == self.scenario)
            action.triggered.connect(lambda _checked=False, s=scenario.value: self.choose_scenario(s))

    def choose_scenario(self, name: str) -> None:
        self.scenario = name
        self.sig_scenario.emit(name)

    # rendering ---------------------------------------------------------------------------------
    def _render_title(self) -> None:
        count = len(self.viewers)
        if count == 0:
            self.title.setText(tr("ClassStrip", "Class: no trainees following"))
        elif count == 1:
            self.title.setText(tr("ClassStrip", "Class: 1 trainee following"))
        else:
            self.title.setText(tr("ClassStrip", "Class: %1 trainees following").replace("%1", str(count)))

    def _render_record(self) -> None:
        on = self.record_button.isChecked()
        self.record_button.setText(tr("ClassStrip", "Stop recording") if on else tr("ClassStrip", "Record"))
        self.record_button.setToolTip(
            tr("ClassStrip", "Record the video, audio, annotations, vitals and views for the case library")
        )

    def retranslate(self) -> None:
        self._render_title()
        self._render_record()
        self.chapter_button.setText(tr("ClassStrip", "Add chapter"))
        self.chapter_button.setToolTip(tr("ClassStrip", "Mark this moment in the recording"))
        self.scenario_button.setText(tr("ClassStrip", "Scenario"))
        self.scenario_button.setToolTip(tr("ClassStrip", "Drive the bedside's vitals simulator"))
        for row in self.rows.values():
            row.show_viewer(row.viewer)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def close_strip(self) -> None:
        """Stop the recording clock. Calling it twice is harmless."""
        self.rec.close_indicator()

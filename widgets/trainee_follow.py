"""The trainee's side of a live class in the call panel (issue 11).

:class:`QtTraineeFollow` lists the live sessions the trainee may follow (consults in session of their
specialty, titles pseudonymised by the backend) with "Follow" and "Stop following".
:class:`QtTraineeBanner` says whom the trainee follows and what they may do ("view only", or the tool
the instructor handed over) and shows "● REC" while the instructor records. Both only show what they
are given and emit what the trainee asked for; app/wiring/classroom.py does the work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.i18n import tr
from widgets.class_strip import QtRecIndicator
from widgets.worklist_panel import patient_label

if TYPE_CHECKING:
    from core.worklist.model import ConsultItem

LIVE_STATES = ("in_session",)

_BANNER = {
    None: ("#2c3e50", "#e8eef5"),
    "pointer": ("#7a5a00", "#fff6d8"),
    "annotate": ("#1f6b3a", "#e8ffef"),
}


def live_sessions(items: Sequence[ConsultItem]) -> list[ConsultItem]:
    """The consults a trainee can follow now (the backend already limits them to their specialties)."""
    return [item for item in items if item.state in LIVE_STATES]


class QtTraineeFollow(QFrame):
    sig_follow = Signal(int)  # consult id
    sig_stop = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("traineeFollow")
        self.setStyleSheet(
            "#traineeFollow { background: palette(alternate-base); border-bottom: 1px solid palette(mid); }"
        )
        self.items: list[ConsultItem] = []
        self.following: int | None = None
        self.title = QLabel()
        self.title.setObjectName("traineeFollowTitle")
        self.title.setStyleSheet("#traineeFollowTitle { font-weight: 600; }")
        self.sessions = QListWidget()
        self.sessions.setObjectName("liveSessions")
        self.sessions.setAlternatingRowColors(True)
        self.sessions.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.sessions.setTextElideMode(Qt.TextElideMode.ElideRight)  # the tooltip has the whole question
        self.sessions.setUniformItemSizes(True)
        self.sessions.itemSelectionChanged.connect(self._render_buttons)
        self.sessions.itemDoubleClicked.connect(lambda _item: self._follow_clicked())
        self.follow_button = QPushButton()
        self.follow_button.setObjectName("traineeFollowButton")
        self.follow_button.setStyleSheet(
            "#traineeFollowButton { background: #1f7a45; color: white; border-radius: 4px;"
            " padding: 4px 14px; } #traineeFollowButton:disabled { background: #3d5245; color: #aaa; }"
        )
        self.follow_button.clicked.connect(self._follow_clicked)
        self.stop_button = QPushButton()
        self.stop_button.clicked.connect(lambda: self.sig_stop.emit())
        self.empty = QLabel()
        self.empty.setObjectName("traineeFollowEmpty")
        self.empty.setStyleSheet("#traineeFollowEmpty { color: #9aa0a6; }")
        self.empty.setWordWrap(True)

        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.title)
        buttons.addStretch(1)
        buttons.addWidget(self.follow_button)
        buttons.addWidget(self.stop_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(3)
        layout.addLayout(buttons)
        layout.addWidget(self.sessions)
        layout.addWidget(self.empty)
        self.retranslate()

    # model -------------------------------------------------------------------------------------
    def set_sessions(self, items: Sequence[ConsultItem]) -> None:
        """Show these consults (filtered to the live ones); the selection survives a refresh."""
        selected = self.selected()
        self.items = live_sessions(items)
        self.sessions.blockSignals(True)
        self.sessions.clear()
        for item in self.items:
            row = QListWidgetItem(self._describe(item))
            row.setData(Qt.ItemDataRole.UserRole, item.id)
            row.setToolTip(f"{patient_label(item)} - {item.question}")
            self.sessions.addItem(row)
            if item.id in (selected, self.following):
                row.setSelected(True)
                self.sessions.setCurrentItem(row)
        if self.sessions.currentItem() is None and self.sessions.count():
            self.sessions.setCurrentRow(0)
        self.sessions.blockSignals(False)
        # a few rows are enough: the video is what the trainee came for
        rows = max(1, min(3, self.sessions.count()))
        row_height = max(self.sessions.sizeHintForRow(0), self.fontMetrics().height() + 6)
        self.sessions.setFixedHeight(rows * row_height + 2 * self.sessions.frameWidth() + 2)
        self._render_buttons()

    def set_following(self, consult_id: int | None) -> None:
        self.following = consult_id
        self.set_sessions(self.items)

    def selected(self) -> int | None:
        item = self.sessions.currentItem()
        return None if item is None else int(item.data(Qt.ItemDataRole.UserRole))

    def _describe(self, item: ConsultItem) -> str:
        teacher = item.accepted_by or "-"
        text = f"{patient_label(item)} - {item.question}"
        if len(text) > 90:
            text = text[:89] + "…"
        line = tr("TraineeFollow", "%1 (%2, with %3)")
        line = line.replace("%1", text).replace("%2", item.specialty).replace("%3", teacher)
        if item.id == self.following:
            line = tr("TraineeFollow", "▶ %1").replace("%1", line)
        return line

    def _follow_clicked(self) -> None:
        consult_id = self.selected()
        if consult_id is not None and consult_id != self.following:
            self.sig_follow.emit(consult_id)

    # rendering ---------------------------------------------------------------------------------
    def _render_buttons(self) -> None:
        selected = self.selected()
        self.follow_button.setEnabled(selected is not None and selected != self.following)
        self.stop_button.setVisible(self.following is not None)
        self.sessions.setVisible(bool(self.items))
        self.empty.setVisible(not self.items)

    def retranslate(self) -> None:
        self.title.setText(tr("TraineeFollow", "Live sessions"))
        self.follow_button.setText(tr("TraineeFollow", "Follow"))
        self.follow_button.setToolTip(tr("TraineeFollow", "Watch this consult live (view only)"))
        self.stop_button.setText(tr("TraineeFollow", "Stop following"))
        self.empty.setText(
            tr("TraineeFollow", "No live session of your specialties now. This list refreshes by itself.")
        )
        self.set_sessions(self.items)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)


class QtTraineeBanner(QFrame):
    """"Following Dr ... — view only", or the tool handed over, and "● REC" while recorded."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("traineeBanner")
        self.instructor = ""
        self.tool: str | None = None
        self.recording = False
        self.text = QLabel()
        self.text.setObjectName("traineeBannerText")
        self.text.setWordWrap(True)
        self.rec = QtRecIndicator()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.rec)
        self.hide()

    def set_state(self, instructor: str, tool: str | None, recording: bool) -> None:
        self.instructor, self.tool, self.recording = instructor, tool, recording
        self._render()
        self.show()

    def _render(self) -> None:
        teacher = self.instructor or tr("TraineeFollow", "the instructor")
        if self.tool == "pointer":
            text = tr("TraineeFollow", "Following %1 — you have the pointer tool")
        elif self.tool == "annotate":
            text = tr("TraineeFollow", "Following %1 — you have the annotation tools")
        else:
            text = tr("TraineeFollow", "Following %1 — view only")
        self.text.setText(text.replace("%1", teacher))
        background, foreground = _BANNER.get(self.tool, _BANNER[None])
        self.setStyleSheet(
            f"#traineeBanner {{ background: {background}; }}"
            f" #traineeBannerText {{ color: {foreground}; font-weight: 600; }}"
        )
        if self.rec.recording != self.recording:
            self.rec.set_recording(self.recording)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self._render()
        super().changeEvent(event)

    def sizeHint(self) -> QSize:
        return QSize(480, 30)

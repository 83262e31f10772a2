"""The worklist: live consultation requests, their waiting time against target, and what one can do.

An open request the backend withholds the identity of (a specialist who has not accepted it) shows as
"Female, 60-69 — question": no name, patient id or birth date reaches the workstation before accepting."""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import QEvent, Qt, QTimer, Signal, SignalInstance
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.config.roles import specialty_text
from core.i18n import tr
from core.worklist.model import ConsultItem, WorklistModel, format_wait
from widgets.empty_state import QtEmptyState

URGENCY_COLOURS = {"emergency": "#ff7b72", "urgent": "#f0b429", "routine": "#8b949e"}


def urgency_text(urgency: str) -> str:
    return {
        "emergency": tr("Worklist", "Emergency"),
        "urgent": tr("Worklist", "Urgent"),
        "routine": tr("Worklist", "Routine"),
    }.get(urgency, urgency)


def state_text(state: str) -> str:
    return {
        "open": tr("Worklist", "Open"),
        "accepted": tr("Worklist", "Accepted"),
        "in_session": tr("Worklist", "In session"),
        "answered": tr("Worklist", "Answered"),
        "closed": tr("Worklist", "Closed"),
    }.get(state, state)


def study_text(item: ConsultItem, study: tuple[str, float, str] | None) -> str:
    """The Study column: whether the consult's study is on this workstation (see core.worklist.prefetch)."""
    if not item.study_uid:
        return ""
    if study is None:  # nobody fetches it here (the requesting site): it is attached to the request
        return tr("Worklist", "Attached")
    state, fraction, _error = study
    return {
        "downloading": tr("Worklist", "Downloading %1%").replace("%1", str(int(fraction * 100))),
        "ready": tr("Worklist", "Ready"),
        "failed": tr("Worklist", "Failed"),
    }.get(state, tr("Worklist", "Not here"))


def report_badge(item: object) -> tuple[str, str]:
    """The Report column: (text, colour) from the consult's ``report_status`` ("none", "draft",
    "pending", "final") and ``report_acknowledged``; empty where the consult says nothing of a report."""
    status = getattr(item, "report_status", None)
    acknowledged = bool(getattr(item, "report_acknowledged", False))
    if status == "final":
        if acknowledged:
            return tr("Worklist", "Report acknowledged"), "#8b949e"
        return tr("Worklist", "Report final — acknowledge"), "#3fb950"
    if status == "pending":
        return tr("Worklist", "Report: awaiting second signature"), "#f0b429"
    if status == "draft":
        return tr("Worklist", "Report: draft"), "#8b949e"
    return "", "#8b949e"


STUDY_COLOURS = {"ready": "#3fb950", "failed": "#ff7b72", "downloading": "#58a6ff"}
QUESTION_CHARS = 80  # of the question shown in the Patient column of a withheld item


def sex_text(sex: str) -> str:
    return {
        "F": tr("Worklist", "Female"),
        "M": tr("Worklist", "Male"),
        "O": tr("Worklist", "Other sex"),
    }.get(sex, tr("Worklist", "Sex unknown"))


def summary_text(item: ConsultItem) -> str:
    """What may be said of a patient whose identity the backend withheld: "Female, 60-69"."""
    sex = item.summary.sex if item.summary else item.patient.sex
    band = item.summary.age_band if item.summary else None
    age = band or tr("Worklist", "age unknown")
    return tr("Worklist", "%1, %2").replace("%1", sex_text(sex)).replace("%2", age)


def patient_label(item: ConsultItem) -> str:
    """Who the consult is about, as far as this reader may know: the name, else the summary."""
    return summary_text(item) if item.withheld else item.patient.name


def patient_text(item: ConsultItem) -> str:
    """The Patient column: "Name (ID)"; for a withheld identity "Female, 60-69 — question"."""
    if not item.withheld:
        return f"{item.patient.name} ({item.patient.patient_id})"
    question = " ".join(item.question.split())
    if len(question) > QUESTION_CHARS:
        question = question[: QUESTION_CHARS - 1] + "…"
    return tr("Worklist", "%1 — %2").replace("%1", summary_text(item)).replace("%2", question)


class QtWorklistPanel(QWidget):
    sig_accept = Signal(int)
    sig_start = Signal(int)
    sig_close = Signal(int, str)
    sig_open = Signal(int)
    sig_refresh = Signal()
    sig_new_request = Signal()  # the county doctor asks for a new consult request form
    sig_answer = Signal(int)  # the accepting specialist answers in writing (store-and-forward)

    COLUMNS = 7
    WAIT_COLUMN = 3
    STUDY_COLUMN = 5
    REPORT_COLUMN = 6

    def __init__(
        self,
        model: WorklistModel,
        can_accept: bool,
        can_close: bool,
        parent: QWidget | None = None,
        can_request: bool = False,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.can_accept, self.can_close = can_accept, can_close
        self.table = QTableWidget(0, self.COLUMNS)
        self.table.setObjectName("worklistTable")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.details = QLabel()
        self.details.setObjectName("worklistDetails")
        self.details.setWordWrap(True)
        self.details.setStyleSheet("padding: 4px; background: #22262c;")
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(lambda _item: self._open_selected())
        self.empty = QtEmptyState(
            lambda: tr("Worklist", "No consultation requests"),
            lambda: self.model.error or tr("Worklist", "New requests appear here as soon as they are sent."),
        )
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.table)
        self.accept_button = QPushButton()
        self.accept_button.clicked.connect(lambda: self._emit_selected(self.sig_accept))
        self.start_button = QPushButton()
        self.start_button.clicked.connect(lambda: self._emit_selected(self.sig_start))
        self.outcome_dialog: QInputDialog | None = None
        # Asked before a close is sent: False when the caller takes the close over (e.g. to ask why the
        # consult closes without a final report); None: closes go out as sig_close.
        self.close_check: Callable[[int, str], bool] | None = None
        self.close_button = QPushButton()
        self.answer_button = QPushButton()
        self.answer_button.setObjectName("worklistAnswer")
        self.answer_button.clicked.connect(lambda: self._emit_selected(self.sig_answer))
        self.close_button.clicked.connect(lambda: self._ask_outcome())
        self.refresh_button = QPushButton()
        self.refresh_button.clicked.connect(self.sig_refresh.emit)
        self.request_button = QPushButton()
        self.request_button.setObjectName("worklistNewRequest")
        self.request_button.clicked.connect(self.sig_new_request.emit)
        self.request_button.setVisible(can_request)
        self.summary = QLabel()
        self.summary.setObjectName("worklistSummary")
        buttons = QHBoxLayout()
        buttons.addWidget(self.request_button)
        for button in (self.accept_button, self.start_button, self.answer_button, self.close_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)
        self.accept_button.setVisible(can_accept)
        self.close_button.setVisible(can_close)
        self.answer_button.setVisible(can_close)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.details)
        layout.addLayout(buttons)
        self._ticker = QTimer(self)
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self._tick)
        self._ticker.start()
        model.changed.connect(self._rebuild)
        self.retranslate()

    # rendering -------------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.table.setHorizontalHeaderLabels(
            [
                tr("Worklist", "Urgency"),
                tr("Worklist", "Patient"),
                tr("Worklist", "Specialty"),
                tr("Worklist", "Waiting"),
                tr("Worklist", "State"),
                tr("Worklist", "Study"),
                tr("Worklist", "Report"),
            ]
        )
        self.accept_button.setText(tr("Worklist", "Accept"))
        self.start_button.setText(tr("Worklist", "Start session"))
        self.close_button.setText(tr("Worklist", "Close with outcome..."))
        self.answer_button.setText(tr("Worklist", "Answer in writing…"))
        self.refresh_button.setText(tr("Worklist", "Refresh"))
        self.request_button.setText(tr("Worklist", "New request…"))
        self._rebuild()

    def _rebuild(self) -> None:
        selected = self.selected_id()
        items = self.model.items
        self.stack.setCurrentWidget(self.table if items else self.empty)
        self.empty.retranslate()
        self.table.setRowCount(len(items))
        for row, item in enumerate(items):
            cells = [
                urgency_text(item.urgency),
                patient_text(item),
                specialty_text(item.specialty),
                "",
                state_text(item.state),
                study_text(item, self.model.studies.get(item.id)),
                report_badge(item)[0],
            ]
            for column, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                cell.setData(Qt.ItemDataRole.UserRole, item.id)
                if column == 0:
                    cell.setForeground(QBrush(QColor(URGENCY_COLOURS.get(item.urgency, "#e6e8eb"))))
                if column == 1:
                    cell.setToolTip(item.question)
                if column == 4 and item.state == "answered":
                    cell.setForeground(QBrush(QColor("#3fb950")))
                if column == self.STUDY_COLUMN and item.study_uid:
                    study = self.model.studies.get(item.id)
                    colour = STUDY_COLOURS.get(study[0] if study else "", "#8b949e")
                    cell.setForeground(QBrush(QColor(colour)))
                    cell.setToolTip(item.study_uid + ("\n" + study[2] if study and study[2] else ""))
                if column == self.REPORT_COLUMN:
                    cell.setForeground(QBrush(QColor(report_badge(item)[1])))
                self.table.setItem(row, column, cell)
            if item.id == selected:
                self.table.selectRow(row)
        self._tick()
        self._update_buttons()

    def _tick(self) -> None:
        overdue = 0
        for row, item in enumerate(self.model.items):
            cell = self.table.item(row, self.WAIT_COLUMN)
            if cell is None:
                continue
            waited = item.waiting_now()
            late = item.overdue()
            overdue += late
            text = format_wait(waited) + " / " + format_wait(item.target_seconds)
            if late:
                text += "  " + tr("Worklist", "OVERDUE")
            cell.setText(text)
            cell.setForeground(QBrush(QColor("#ff7b72" if late else "#e6e8eb")))
        waiting = sum(1 for item in self.model.items if item.state == "open")
        self.summary.setText(
            tr("Worklist", "%1 waiting, %2 past the target")
            .replace("%1", str(waiting))
            .replace("%2", str(overdue))
        )

    # actions ---------------------------------------------------------------------------------
    def selected_id(self) -> int | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        cell = self.table.item(rows[0].row(), 0)
        return None if cell is None else int(cell.data(Qt.ItemDataRole.UserRole))

    def selected(self) -> ConsultItem | None:
        consult_id = self.selected_id()
        return None if consult_id is None else self.model.get(consult_id)

    def select(self, consult_id: int) -> None:
        for row, item in enumerate(self.model.items):
            if item.id == consult_id:
                self.table.selectRow(row)

    def _update_buttons(self) -> None:
        item = self.selected()
        state = item.state if item else None
        if item is None:
            self.details.setText(tr("Worklist", "Select a request to see its question."))
        else:
            if item.withheld:
                lines = [f"<b>{html.escape(summary_text(item))}</b> - {html.escape(item.question)}"]
                lines.append(tr("Worklist", "The patient's identity is shown once you accept the request."))
            else:
                lines = [f"<b>{item.patient.name}</b> - {item.question}"]
            lines.append(tr("Worklist", "Requested by %1").replace("%1", item.requested_by))
            if item.accepted_by:
                lines.append(tr("Worklist", "Accepted by %1").replace("%1", item.accepted_by))
            if item.answer_text:
                lines.append(tr("Worklist", "Answer: %1").replace("%1", html.escape(item.answer_text)))
            if item.outcome:
                lines.append(tr("Worklist", "Outcome: %1").replace("%1", item.outcome))
            self.details.setText("<br>".join(lines))
        self.accept_button.setEnabled(self.can_accept and state == "open")
        self.start_button.setEnabled(state == "accepted")
        self.close_button.setEnabled(self.can_close and state in ("accepted", "in_session", "answered"))
        self.answer_button.setEnabled(self.can_close and state in ("accepted", "in_session"))

    def _open_selected(self) -> None:
        """Open the selected consult, unless its identity is withheld (not accepted yet): there is no
        patient to show and nothing of its record to read until the specialist accepts it."""
        item = self.selected()
        if item is not None and not item.withheld:
            self.sig_open.emit(item.id)

    def _emit_selected(self, signal: SignalInstance) -> None:
        consult_id = self.selected_id()
        if consult_id is not None:
            signal.emit(consult_id)

    def _ask_outcome(self, why_not: str = "", text: str = "") -> QInputDialog | None:
        """Ask for the outcome (not modal to the app: the call goes on); an empty one is not saved, and
        the dialog comes back saying why rather than closing the consult without a word."""
        item = self.selected()
        if item is None:
            return None
        dialog = QInputDialog(self)
        dialog.setObjectName("outcomeDialog")
        dialog.setOption(QInputDialog.InputDialogOption.UsePlainTextEditForTextInput)
        dialog.setWindowTitle(tr("Worklist", "Close consultation"))
        label = tr("Worklist", "Outcome for %1:").replace("%1", patient_label(item))
        dialog.setLabelText(f"{why_not}\n\n{label}" if why_not else label)
        dialog.setTextValue(text)

        def done() -> None:
            outcome = dialog.textValue().strip()
            if outcome:
                if self.close_check is None or self.close_check(item.id, outcome):
                    self.sig_close.emit(item.id, outcome)
            else:
                why = tr(
                    "Worklist",
                    "An empty outcome cannot be saved: the record must say what was decided "
                    "(for example: treated locally, transferred, follow-up in 2 weeks).",
                )
                self._ask_outcome(why)

        dialog.accepted.connect(done)
        dialog.open()
        self.outcome_dialog = dialog
        return dialog

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def close_model(self) -> None:
        self._ticker.stop()
        self.model.changed.disconnect(self._rebuild)

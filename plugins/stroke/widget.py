"""The stroke panel: NIHSS items as choice boxes with the time each was scored; the door-to-needle clock.

It works on the consult in context (named at the top) and empties itself when that changes or ends."""

from __future__ import annotations

import time

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from plugins.api import ConsultInfo, PluginContext, consult_label
from plugins.stroke.logic import (
    NIHSS_ITEMS,
    UNTESTABLE,
    DoorToNeedle,
    NihssExam,
    format_clock,
    severity_text,
)

CONTEXT = "Stroke"  # the NIHSS texts in plugins.stroke.logic are marked for this context


def tr(context: str, text: str) -> str:
    return QCoreApplication.translate(context, text)


def _stamp(at: float | None) -> str:
    return "" if at is None else time.strftime("%H:%M:%S", time.localtime(at))


class QtStrokePanel(QWidget):
    def __init__(
        self, ctx: PluginContext, exam: NihssExam, timer: DoorToNeedle, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("strokePanel")
        self.ctx, self.exam, self.timer = ctx, exam, timer
        self._closed = False

        self.consult_label = QLabel()
        self.consult_label.setObjectName("pluginConsult")
        self.consult_label.setStyleSheet("color:#607080; font-size:11px;")
        self.body = QWidget()  # everything that holds the consult's data; off while none is open

        # door-to-needle ----------------------------------------------------------------------------
        clock_box = QGroupBox(tr("Stroke", "Door to needle (target 60 min)"))
        clock = QGridLayout(clock_box)
        self.elapsed = QLabel()
        self.elapsed.setObjectName("dtnElapsed")
        font = self.elapsed.font()
        font.setPointSizeF(font.pointSizeF() * 2.0)
        font.setBold(True)
        self.elapsed.setFont(font)
        self.clock_state = QLabel()
        self.clock_state.setWordWrap(True)
        self.door_button = QPushButton(tr("Stroke", "Door (arrival)"))
        self.door_button.clicked.connect(lambda: self._mark("door"))
        self.ct_button = QPushButton(tr("Stroke", "CT done"))
        self.ct_button.clicked.connect(lambda: self._mark("ct"))
        self.needle_button = QPushButton(tr("Stroke", "Needle (bolus)"))
        self.needle_button.clicked.connect(lambda: self._mark("needle"))
        clock.addWidget(self.elapsed, 0, 0, 2, 1)
        clock.addWidget(self.clock_state, 0, 1, 1, 3)
        clock.addWidget(self.door_button, 1, 1)
        clock.addWidget(self.ct_button, 1, 2)
        clock.addWidget(self.needle_button, 1, 3)
        clock.setColumnStretch(0, 1)

        # NIHSS -------------------------------------------------------------------------------------
        form = QWidget()
        grid = QGridLayout(form)
        grid.setContentsMargins(4, 4, 4, 4)
        self.boxes: dict[str, QComboBox] = {}
        self.item_stamps: dict[str, QLabel] = {}
        for r, item in enumerate(NIHSS_ITEMS):
            grid.addWidget(QLabel(f"<b>{item.code}</b>"), r, 0)
            grid.addWidget(QLabel(QCoreApplication.translate(CONTEXT, item.title)), r, 1)
            box = QComboBox()
            box.setObjectName(f"nihss_{item.code}")
            box.addItem("—", None)
            for score, meaning in item.choices:
                box.addItem(f"{score}  {QCoreApplication.translate(CONTEXT, meaning)}", score)
            if item.untestable_allowed:
                box.addItem(tr("Stroke", "UN  untestable"), UNTESTABLE)
            box.currentIndexChanged.connect(lambda _i, code=item.code: self._scored(code))
            grid.addWidget(box, r, 2)
            stamp = QLabel("")
            stamp.setMinimumWidth(64)
            grid.addWidget(stamp, r, 3)
            self.boxes[item.code] = box
            self.item_stamps[item.code] = stamp
        grid.setColumnStretch(2, 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(form)

        self.total = QLabel()
        self.total.setObjectName("nihssTotal")
        font = self.total.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.4)
        self.total.setFont(font)
        reset = QPushButton(tr("Stroke", "New exam"))
        reset.clicked.connect(self.reset_exam)
        total_row = QHBoxLayout()
        total_row.addWidget(self.total, 1)
        total_row.addWidget(reset)

        nihss_box = QGroupBox(tr("Stroke", "NIH Stroke Scale"))
        nihss_layout = QVBoxLayout(nihss_box)
        nihss_layout.addLayout(total_row)
        nihss_layout.addWidget(scroll, 1)

        outer = QVBoxLayout(self)
        outer.addWidget(self.consult_label)
        outer.addWidget(self.body, 1)
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(clock_box)
        layout.addWidget(nihss_box, 1)

        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self.refresh_clock)
        self._tick.start()
        self.consult_changed(ctx.consult())
        ctx.subscribe_consult(self.consult_changed)

    # the consult -------------------------------------------------------------------------------
    def consult_changed(self, info: ConsultInfo | None) -> None:
        """Show the exam and clock as they are now (the plugin reset them for a new consult)."""
        self.consult_label.setText(consult_label(info))
        self.body.setEnabled(info is not None and info.is_open)
        for code, box in self.boxes.items():
            box.blockSignals(True)
            value = self.exam.scores.get(code)
            box.setCurrentIndex(0 if value is None else max(0, box.findData(value)))
            box.blockSignals(False)
        self.refresh_exam()
        self.refresh_clock()

    # NIHSS -------------------------------------------------------------------------------------
    def _scored(self, code: str) -> None:
        score = self.boxes[code].currentData()
        if score is None:
            self.exam.clear(code)
        else:
            self.exam.set(code, score)
        self.refresh_exam()

    def set_score(self, code: str, score: int | str) -> None:
        box = self.boxes[code]
        box.setCurrentIndex(box.findData(score))

    def reset_exam(self) -> None:
        for box in self.boxes.values():
            box.setCurrentIndex(0)

    def refresh_exam(self) -> None:
        for code, stamp in self.item_stamps.items():
            stamp.setText(_stamp(self.exam.scored_at.get(code)))
        total = self.exam.total
        missing = len(self.exam.missing)
        text = tr("Stroke", "NIHSS %1 / 42 · %2").replace("%1", str(total))
        text = text.replace("%2", severity_text(total, not missing))
        if missing:
            text += " · " + tr("Stroke", "%1 item(s) to score").replace("%1", str(missing))
        self.total.setText(text)

    # clock -------------------------------------------------------------------------------------
    def _mark(self, which: str) -> None:
        if which == "door":
            self.timer.mark_door()
        elif which == "ct":
            self.timer.mark_ct()
        else:
            self.timer.mark_needle()
        self.refresh_clock()

    def refresh_clock(self) -> None:
        t = self.timer
        elapsed = t.elapsed_s()
        self.ct_button.setEnabled(t.door_at is not None and t.needle_at is None)
        self.needle_button.setEnabled(t.door_at is not None and t.needle_at is None)
        self.elapsed.setText("--:--" if elapsed is None else format_clock(elapsed))
        state = t.state
        remaining = t.remaining_s() or 0.0
        lines = {
            "idle": tr("Stroke", "Press Door when the patient arrives."),
            "running": tr("Stroke", "%1 left to the 60-minute target.").replace(
                "%1", format_clock(remaining)
            ),
            "overdue": tr("Stroke", "Target missed by %1.").replace("%1", format_clock(-remaining)),
            "met": tr("Stroke", "Needle within target."),
            "missed": tr("Stroke", "Needle after the 60-minute target."),
        }
        detail = [lines[state]]
        if t.door_at is not None:
            detail.append(tr("Stroke", "Door %1").replace("%1", _stamp(t.door_at)))
        ct = t.door_to_ct_s()
        if ct is not None:
            detail.append(tr("Stroke", "door-to-CT %1 (target 25:00)").replace("%1", format_clock(ct)))
        self.clock_state.setText("\n".join(detail))
        colour = {"running": "#2e7d32", "met": "#2e7d32", "overdue": "#c62828", "missed": "#c62828"}
        if state == "running" and remaining < 15 * 60:
            colour["running"] = "#b35900"
        self.elapsed.setStyleSheet(f"color:{colour.get(state, '#555')};")

    def close_model(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._tick.stop()
        self.ctx.unsubscribe_consult(self.consult_changed)

"""The FAST checklist panel: one row per window with its finding buttons and the time it was ticked.

It works on the consult in context (named at the top) and empties itself when that changes or ends."""

from __future__ import annotations

import time

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from plugins.api import ConsultInfo, PluginContext, consult_label
from plugins.ultrasound.logic import (
    DEPTH_PRESETS,
    FAST_WINDOWS,
    FastExam,
    Finding,
    looks_for,
    result_text,
    window_title,
)

FINDING_COLOURS = {"positive": "#c62828", "negative": "#2e7d32", "indeterminate": "#8a6d00"}


def tr(context: str, text: str) -> str:
    return QCoreApplication.translate(context, text)


class QtFastPanel(QWidget):
    def __init__(self, ctx: PluginContext, exam: FastExam, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("fastPanel")
        self.ctx, self.exam = ctx, exam
        self._closed = False

        self.consult_label = QLabel()
        self.consult_label.setObjectName("pluginConsult")
        self.consult_label.setStyleSheet("color:#607080; font-size:11px;")
        self.body = QWidget()  # everything that holds the consult's data; off while none is open

        self.extended = QCheckBox(tr("Ultrasound", "eFAST: include both lung windows"))
        self.extended.setChecked(exam.extended)
        self.extended.toggled.connect(self._set_extended)

        box = QGroupBox(tr("Ultrasound", "Windows"))
        grid = QGridLayout(box)
        self.groups: dict[str, QButtonGroup] = {}
        self.stamps: dict[str, QLabel] = {}
        self.rows: dict[str, list[QWidget]] = {}
        findings = (
            (Finding.NEGATIVE, tr("Ultrasound", "Negative")),
            (Finding.POSITIVE, tr("Ultrasound", "Positive")),
            (Finding.INDETERMINATE, tr("Ultrasound", "Inadequate view")),
        )
        for r, window in enumerate(FAST_WINDOWS):
            title = QLabel(f"<b>{window_title(window)}</b><br><small>{looks_for(window)}</small>")
            group = QButtonGroup(self)
            group.setExclusive(False)
            widgets: list[QWidget] = [title]
            grid.addWidget(title, r, 0)
            for c, (finding, text) in enumerate(findings):
                button = QPushButton(text)
                button.setCheckable(True)
                button.setObjectName(f"{window.window_id}_{finding.value}")
                group.addButton(button, c)
                grid.addWidget(button, r, c + 1)
                widgets.append(button)
                button.clicked.connect(
                    lambda checked, w=window, f=finding: self.tick(w.window_id, f if checked else None)
                )
            stamp = QLabel("")
            stamp.setMinimumWidth(70)
            grid.addWidget(stamp, r, 4)
            widgets.append(stamp)
            self.groups[window.window_id] = group
            self.stamps[window.window_id] = stamp
            self.rows[window.window_id] = widgets
        grid.setColumnStretch(0, 1)

        depth_box = QGroupBox(tr("Ultrasound", "Depth preset (sent to the bedside)"))
        depth_row = QHBoxLayout(depth_box)
        self.depth_buttons: dict[str, QPushButton] = {}
        self.depth_group = depth_group = QButtonGroup(self)
        for preset in DEPTH_PRESETS:
            button = QPushButton(f"{self._preset_title(preset.preset_id)} {preset.depth_cm:g} cm")
            button.setCheckable(True)
            depth_group.addButton(button)
            button.clicked.connect(lambda _c=False, d=preset.depth_cm: self.set_depth(d))
            self.depth_buttons[preset.preset_id] = button
            depth_row.addWidget(button)
        self.depth_label = QLabel()

        self.result = QLabel()
        self.result.setObjectName("fastResult")
        font = self.result.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.result.setFont(font)

        outer = QVBoxLayout(self)
        outer.addWidget(self.consult_label)
        outer.addWidget(self.body, 1)
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.extended)
        layout.addWidget(box)
        layout.addWidget(depth_box)
        layout.addWidget(self.depth_label)
        layout.addWidget(self.result)
        layout.addStretch(1)
        self.consult_changed(ctx.consult())
        ctx.subscribe_consult(self.consult_changed)

    def consult_changed(self, info: ConsultInfo | None) -> None:
        """Show the exam as it is now (the plugin reset it for a new consult)."""
        self.consult_label.setText(consult_label(info))
        self.body.setEnabled(info is not None and info.is_open)
        self.extended.blockSignals(True)
        self.extended.setChecked(self.exam.extended)
        self.extended.blockSignals(False)
        self._set_extended(self.exam.extended)

    def close_model(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.ctx.unsubscribe_consult(self.consult_changed)

    @staticmethod
    def _preset_title(preset_id: str) -> str:
        return {
            "lung": tr("Ultrasound", "Lung"),
            "pelvis": tr("Ultrasound", "Pelvis"),
            "abdomen": tr("Ultrasound", "Abdomen"),
            "cardiac": tr("Ultrasound", "Cardiac"),
            "deep": tr("Ultrasound", "Deep"),
        }[preset_id]

    def _set_extended(self, on: bool) -> None:
        self.exam.extended = on
        for window in FAST_WINDOWS:
            for widget in self.rows[window.window_id]:
                widget.setVisible(on or not window.optional)
        self.refresh()

    def tick(self, window_id: str, finding: Finding | None) -> None:
        if finding is None:
            self.exam.untick(window_id)
        else:
            self.exam.tick(window_id, finding)
            window = next(w for w in FAST_WINDOWS if w.window_id == window_id)
            if self.exam.depth_cm is None or self.exam.depth_cm != window.depth_cm:
                self.set_depth(window.depth_cm)
        self.refresh()

    def set_depth(self, depth_cm: float) -> None:
        self.exam.set_depth(depth_cm)
        self.ctx.send_control({"type": "ultrasound.depth", "depth_cm": depth_cm})
        self.refresh()

    def refresh(self) -> None:
        for window in FAST_WINDOWS:
            tick = self.exam.ticks.get(window.window_id)
            for button in self.groups[window.window_id].buttons():
                on = tick is not None and button.objectName().endswith(tick.finding.value)
                button.setChecked(on)
                finding = button.objectName().rsplit("_", 1)[-1]
                button.setStyleSheet(f"background:{FINDING_COLOURS[finding]}; color:white;" if on else "")
            self.stamps[window.window_id].setText(
                "" if tick is None else time.strftime("%H:%M:%S", time.localtime(tick.at))
            )
        self.depth_group.setExclusive(False)  # an exclusive group never lets its checked button go
        for preset in DEPTH_PRESETS:
            self.depth_buttons[preset.preset_id].setChecked(self.exam.depth_cm == preset.depth_cm)
        self.depth_group.setExclusive(True)
        self.depth_label.setText(
            tr("Ultrasound", "Depth: %1 cm").replace("%1", f"{self.exam.depth_cm:g}")
            if self.exam.depth_cm is not None
            else tr("Ultrasound", "Depth: not set")
        )
        result = self.exam.result
        pending = len(self.exam.pending)
        text = result_text(result)
        if pending:
            text += " · " + tr("Ultrasound", "%1 window(s) to go").replace("%1", str(pending))
        self.result.setText(text)
        colour = {"positive": "#c62828", "negative": "#2e7d32"}.get(result, "#8a6d00")
        self.result.setStyleSheet(f"color:{colour};")

"""Per-patient alarm limits: a form over :class:`AlarmLimits`; the engine validates, applies and audits."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from core.i18n import tr
from core.vitals.engine import AlarmLimits, MonitorEngine

# (field, unit, minimum, maximum, step, decimals)
FIELDS: tuple[tuple[str, str, float, float, float, int], ...] = (
    ("hr_low", "/min", 15, 300, 5, 0),
    ("hr_high", "/min", 15, 300, 5, 0),
    ("spo2_low", "%", 50, 100, 1, 0),
    ("sys_low", "mmHg", 30, 300, 5, 0),
    ("sys_high", "mmHg", 30, 300, 5, 0),
    ("rr_low", "/min", 2, 80, 1, 0),
    ("rr_high", "/min", 2, 80, 1, 0),
    ("etco2_low", "mmHg", 5, 100, 1, 0),
    ("etco2_high", "mmHg", 5, 100, 1, 0),
    ("temp_high", "°C", 35, 43, 0.1, 1),
    ("asystole_s", "s", 2, 12, 1, 0),
    ("apnoea_s", "s", 10, 60, 5, 0),
)


def field_label(key: str) -> str:
    labels = {
        "hr_low": tr("QtLimitsDialog", "Heart rate low"),
        "hr_high": tr("QtLimitsDialog", "Heart rate high"),
        "spo2_low": tr("QtLimitsDialog", "SpO2 low"),
        "sys_low": tr("QtLimitsDialog", "Systolic pressure low"),
        "sys_high": tr("QtLimitsDialog", "Systolic pressure high"),
        "rr_low": tr("QtLimitsDialog", "Respiration rate low"),
        "rr_high": tr("QtLimitsDialog", "Respiration rate high"),
        "etco2_low": tr("QtLimitsDialog", "etCO2 low"),
        "etco2_high": tr("QtLimitsDialog", "etCO2 high"),
        "temp_high": tr("QtLimitsDialog", "Temperature high"),
        "asystole_s": tr("QtLimitsDialog", "Asystole after"),
        "apnoea_s": tr("QtLimitsDialog", "Apnoea after"),
    }
    return labels[key]


class QtLimitsDialog(QDialog):
    def __init__(self, engine: MonitorEngine, user: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("limitsDialog")
        self.engine, self.user = engine, user
        self.setWindowTitle(tr("QtLimitsDialog", "Alarm limits for this patient"))
        form = QFormLayout()
        self.spins: dict[str, QDoubleSpinBox] = {}
        for key, unit, lo, hi, step, decimals in FIELDS:
            spin = QDoubleSpinBox()
            spin.setObjectName(key)
            spin.setRange(lo, hi)
            spin.setSingleStep(step)
            spin.setDecimals(decimals)
            spin.setSuffix(f" {unit}")
            spin.setValue(float(getattr(engine.limits, key)))
            spin.valueChanged.connect(self._check)
            form.addRow(field_label(key), spin)
            self.spins[key] = spin
        self.problems = QLabel()
        self.problems.setObjectName("limitsProblems")
        self.problems.setStyleSheet("color: #ff6060;")
        self.problems.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problems)
        layout.addWidget(self.buttons)
        self._check()

    def limits(self) -> AlarmLimits:
        return replace(self.engine.limits, **{k: s.value() for k, s in self.spins.items()})

    def _check(self) -> None:
        problems = self.limits().problems()
        self.problems.setText("\n".join(problems))
        self.problems.setVisible(bool(problems))
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(not problems)

    def accept(self) -> None:
        try:
            self.engine.set_limits(self.limits(), user=self.user)
        except ValueError as exc:
            self.problems.setText(str(exc))
            self.problems.setVisible(True)
            return
        super().accept()

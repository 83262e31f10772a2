"""The 12-lead ECG panel: observes the cardiology analyser's results, computes nothing itself.

It shows measurements only while a consult is open (named at the top) and empties itself when that
changes or ends."""

from __future__ import annotations

import time

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from plugins.api import AnalyserResult, ConsultInfo, PluginContext, consult_label
from plugins.cardiology.logic import CONTIGUOUS, EcgMeasurements, report_text, st_elevation

# The conventional 3 x 4 print layout of a 12-lead ECG.
ST_GRID = (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6"))


def tr(context: str, text: str) -> str:
    return QCoreApplication.translate(context, text)


def flag_text(flag: str) -> str:
    return {
        "af": tr("Cardiology", "Atrial fibrillation?"),
        "brady": tr("Cardiology", "Bradycardia"),
        "tachy": tr("Cardiology", "Tachycardia"),
        "st_elevation": tr("Cardiology", "ST elevation"),
        "long_qtc": tr("Cardiology", "Long QTc"),
    }.get(flag, flag)


class QtCardiologyPanel(QWidget):
    def __init__(
        self,
        ctx: PluginContext,
        analyser_id: str,
        initial: EcgMeasurements | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("cardiologyPanel")
        self.ctx, self.analyser_id = ctx, analyser_id
        self.measurements: EcgMeasurements | None = None
        self._closed = False

        self.consult_label = QLabel()
        self.consult_label.setObjectName("pluginConsult")
        self.consult_label.setStyleSheet("color:#607080; font-size:11px;")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.flags = QLabel()
        self.flags.setObjectName("ecgFlags")
        self.flags.setWordWrap(True)
        self.flags.setTextFormat(Qt.TextFormat.RichText)

        intervals = QGroupBox(tr("Cardiology", "Rate, intervals and axis"))
        grid = QGridLayout(intervals)
        self.values: dict[str, QLabel] = {}
        rows = [
            ("hr", tr("Cardiology", "Heart rate")),
            ("pr", tr("Cardiology", "PR")),
            ("qrs", tr("Cardiology", "QRS")),
            ("qt", tr("Cardiology", "QT")),
            ("axis", tr("Cardiology", "Frontal axis")),
            ("bazett", tr("Cardiology", "QTc Bazett")),
            ("fridericia", tr("Cardiology", "QTc Fridericia")),
            ("framingham", tr("Cardiology", "QTc Framingham")),
        ]
        for i, (key, title) in enumerate(rows):
            value = QLabel("-")
            value.setObjectName(f"ecg_{key}")
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            font = value.font()
            font.setBold(True)
            value.setFont(font)
            self.values[key] = value
            row, col = i % 4, (i // 4) * 2
            grid.addWidget(QLabel(title), row, col)
            grid.addWidget(value, row, col + 1)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        grid.setHorizontalSpacing(24)

        st_box = QGroupBox(tr("Cardiology", "ST deviation at J+60 ms (mV)"))
        st_grid = QGridLayout(st_box)
        self.st_cells: dict[str, QLabel] = {}
        for r, row_leads in enumerate(ST_GRID):
            for c, lead in enumerate(row_leads):
                cell = QLabel(f"{lead}  -")
                cell.setObjectName(f"st_{lead}")
                cell.setFrameShape(QFrame.Shape.StyledPanel)
                cell.setAlignment(Qt.AlignmentFlag.AlignCenter)
                cell.setMinimumWidth(80)
                self.st_cells[lead] = cell
                st_grid.addWidget(cell, r, c)

        self.report = QPlainTextEdit()
        self.report.setObjectName("ecgReport")
        self.report.setReadOnly(True)
        self.report.setPlaceholderText(
            tr("Cardiology", "The report section appears with the first measurement.")
        )
        report_box = QGroupBox(tr("Cardiology", "Report section"))
        QVBoxLayout(report_box).addWidget(self.report)

        layout = QVBoxLayout(self)
        layout.addWidget(self.consult_label)
        layout.addWidget(self.status)
        layout.addWidget(self.flags)
        layout.addWidget(intervals)
        layout.addWidget(st_box)
        self.report.setMinimumHeight(110)
        self.report.setMaximumHeight(180)
        layout.addWidget(report_box)
        layout.addStretch(1)

        ctx.subscribe_analysis(analyser_id, self.show_result)
        ctx.subscribe_consult(self.consult_changed)
        self.consult_label.setText(consult_label(ctx.consult()))
        self.show_measurements(initial if ctx.consult().is_open else None)

    def consult_changed(self, info: ConsultInfo | None) -> None:
        self.consult_label.setText(consult_label(info))
        self.show_measurements(None)  # the next result is the new consult's

    def show_result(self, result: AnalyserResult) -> None:
        detail = result.detail
        measured = detail if isinstance(detail, EcgMeasurements) else None
        self.show_measurements(measured if self.ctx.consult().is_open else None)

    def show_measurements(self, m: EcgMeasurements | None) -> None:
        self.measurements = m
        if m is None:
            self.status.setText(
                tr("Cardiology", "Waiting for an ECG: measurements need 10 s of signal with visible beats.")
            )
            self.flags.setText("")
            for value in self.values.values():
                value.setText("-")
            for lead, cell in self.st_cells.items():
                cell.setText(f"{lead}  -")
                cell.setStyleSheet("")
            self.report.setPlainText("")
            return
        self.status.setText(
            tr("Cardiology", "Measured at %1 from the median of %2 beats.")
            .replace("%1", time.strftime("%H:%M:%S"))
            .replace("%2", str(m.beats))
        )

        def ms(v: float | None) -> str:
            return "-" if v is None else f"{v * 1000:.0f} ms"

        self.values["hr"].setText(f"{m.hr_bpm:.0f} /min")
        self.values["pr"].setText(ms(m.pr_s))
        self.values["qrs"].setText(ms(m.qrs_s))
        self.values["qt"].setText(ms(m.qt_s))
        self.values["axis"].setText("-" if m.axis_deg is None else f"{m.axis_deg:+.0f}°")
        for key in ("bazett", "fridericia", "framingham"):
            self.values[key].setText(ms(m.qtc_s.get(key)))
        elevated = {lead for territory in st_elevation(m.st_mv) for lead in _territory_leads(territory)}
        for lead, cell in self.st_cells.items():
            st = m.st_mv.get(lead)
            cell.setText(f"{lead}  " + ("-" if st is None else f"{st:+.2f}"))
            hot = st is not None and lead in elevated and st >= 0.1
            cell.setStyleSheet("background:#ffcdd2; color:#b71c1c; font-weight:bold;" if hot else "")
        if m.flags:
            chips = " ".join(
                f"<span style='background:#c62828; color:white;'>&nbsp;{flag_text(f)}&nbsp;</span>"
                for f in m.flags
            )
            self.flags.setText(chips)
        else:
            self.flags.setText(tr("Cardiology", "No rhythm flags."))
        self.report.setPlainText(report_text(m) or "")

    def close_model(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.ctx.unsubscribe_analysis(self.analyser_id, self.show_result)
        self.ctx.unsubscribe_consult(self.consult_changed)


def _territory_leads(territory: str) -> tuple[str, ...]:
    return CONTIGUOUS.get(territory, ())

"""The RECIST panel: a table of target lesions with baseline and follow-up diameters; the logic decides.

It works on the consult in context (named at the top) and empties itself when that changes or ends."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from plugins.api import ConsultInfo, PluginContext, consult_label
from plugins.oncology.logic import (
    MAX_TARGETS,
    Lesion,
    RecistRecord,
    Response,
    Timepoint,
    assess,
    check_targets,
    reason_text,
    response_name,
)

COL_ID, COL_ORGAN, COL_NODE, COL_BASE, COL_FOLLOW = range(5)
COLOURS = {Response.CR: "#1b5e20", Response.PR: "#2e7d32", Response.SD: "#8a6d00", Response.PD: "#c62828"}


def tr(context: str, text: str) -> str:
    return QCoreApplication.translate(context, text)


def issue_text(code: str, subject: str, value: float) -> str:
    template = {
        "none": tr("Oncology", "No target lesions."),
        "too_many": tr("Oncology", "%2 target lesions: at most 5."),
        "per_organ": tr("Oncology", "%2 target lesions in %1: at most 2 per organ."),
        "duplicate_id": tr("Oncology", "Lesion name %1 is used %2 times."),
        "no_baseline": tr("Oncology", "%1: no baseline measurement."),
        "small_node": tr("Oncology", "%1: node short axis %2 mm < 15 mm is not measurable."),
        "small_lesion": tr("Oncology", "%1: longest diameter %2 mm < 10 mm is not measurable."),
    }[code]
    return template.replace("%1", subject).replace("%2", f"{value:g}")


def _number(text: str) -> float | None:
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        return None
    return value if value >= 0 else None


class QtRecistPanel(QWidget):
    def __init__(self, ctx: PluginContext, plugin: RecistRecord, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recistPanel")
        self.ctx, self.plugin = ctx, plugin
        self._updating = False
        self._closed = False

        self.consult_label = QLabel()
        self.consult_label.setObjectName("pluginConsult")
        self.consult_label.setStyleSheet("color:#607080; font-size:11px;")
        self.body = QWidget()  # everything that holds the consult's data; off while none is open

        self.baseline_label = QLineEdit()
        self.baseline_label.setPlaceholderText(tr("Oncology", "Baseline study (date)"))
        self.follow_label = QLineEdit()
        self.follow_label.setPlaceholderText(tr("Oncology", "Follow-up study (date)"))
        top = QHBoxLayout()
        top.addWidget(QLabel(tr("Oncology", "Baseline:")))
        top.addWidget(self.baseline_label, 1)
        top.addWidget(QLabel(tr("Oncology", "Follow-up:")))
        top.addWidget(self.follow_label, 1)

        self.table = QTableWidget(0, 5)
        self.table.setObjectName("lesionTable")
        self.table.setHorizontalHeaderLabels(
            [
                tr("Oncology", "Lesion"),
                tr("Oncology", "Organ"),
                tr("Oncology", "Node"),
                tr("Oncology", "Baseline mm"),
                tr("Oncology", "Follow-up mm"),
            ]
        )
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COL_NODE, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setVisible(False)
        self.table.itemChanged.connect(self._recompute)

        self.add_button = QPushButton(tr("Oncology", "Add lesion"))
        self.add_button.clicked.connect(lambda: self.add_lesion())
        self.remove_button = QPushButton(tr("Oncology", "Remove lesion"))
        self.remove_button.clicked.connect(self.remove_selected)
        self.take_button = QPushButton(tr("Oncology", "Use last measurement"))
        self.take_button.setToolTip(
            tr("Oncology", "Put the newest length measured in the imaging view into the selected cell.")
        )
        self.take_button.clicked.connect(self.take_measurement)
        buttons = QHBoxLayout()
        for b in (self.add_button, self.remove_button, self.take_button):
            buttons.addWidget(b)
        buttons.addStretch(1)

        self.new_lesions = QCheckBox(tr("Oncology", "New lesion(s) at follow-up"))
        self.non_target = QCheckBox(tr("Oncology", "Unequivocal progression of non-target lesions"))
        for box in (self.new_lesions, self.non_target):
            box.toggled.connect(self._recompute)

        self.sums = QLabel()
        self.sums.setObjectName("recistSums")
        self.response = QLabel()
        self.response.setObjectName("recistResponse")
        font = self.response.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.response.setFont(font)
        self.reasons = QLabel()
        self.reasons.setWordWrap(True)
        self.problems = QLabel()
        self.problems.setObjectName("recistProblems")
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color:#b35900;")

        outer = QVBoxLayout(self)
        outer.addWidget(self.consult_label)
        outer.addWidget(self.body, 1)
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.new_lesions)
        layout.addWidget(self.non_target)
        layout.addWidget(self.sums)
        layout.addWidget(self.response)
        layout.addWidget(self.reasons)
        layout.addWidget(self.problems)
        self._load(ctx.consult())
        ctx.subscribe_consult(self.consult_changed)

    # the consult ---------------------------------------------------------------------------------
    def consult_changed(self, info: ConsultInfo | None) -> None:
        """The plugin has dropped the previous consult's lesions: show the (empty) record of this one."""
        self._load(info)

    def _load(self, info: ConsultInfo | None) -> None:
        self.consult_label.setText(consult_label(info))
        self.body.setEnabled(info is not None and info.is_open)
        studies = info.study_uids if info is not None else ()
        timepoints = self.plugin.timepoints
        self._updating = True
        self.table.setRowCount(0)
        self.baseline_label.setText(studies[0] if studies else "")
        self.follow_label.setText(studies[1] if len(studies) > 1 else "")
        for box, on in (
            (self.new_lesions, len(timepoints) > 1 and timepoints[1].new_lesions),
            (self.non_target, len(timepoints) > 1 and timepoints[1].non_target_progression),
        ):
            box.blockSignals(True)
            box.setChecked(on)
            box.blockSignals(False)
        self._updating = False
        for lesion in list(self.plugin.lesions):
            self.add_lesion(lesion)
        self._recompute()

    def close_model(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.ctx.unsubscribe_consult(self.consult_changed)

    # editing -------------------------------------------------------------------------------------
    def add_lesion(self, lesion: Lesion | None = None) -> None:
        if lesion is None:
            lesion = Lesion(f"T{self.table.rowCount() + 1}", "", False, (None, None))
        self._updating = True
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setItem(row, COL_ID, QTableWidgetItem(lesion.lesion_id))
        self.table.setItem(row, COL_ORGAN, QTableWidgetItem(lesion.organ))
        node = QTableWidgetItem()
        flags = Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        node.setFlags(flags)
        node.setCheckState(Qt.CheckState.Checked if lesion.is_node else Qt.CheckState.Unchecked)
        self.table.setItem(row, COL_NODE, node)
        for col, tp in ((COL_BASE, 0), (COL_FOLLOW, 1)):
            value = lesion.at(tp)
            item = QTableWidgetItem("" if value is None else f"{value:g}")
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, col, item)
        self._updating = False
        self._recompute()

    def remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True)
        for row in rows:
            self.table.removeRow(row)
        self._recompute()

    def take_measurement(self) -> None:
        found = self.ctx.measurements()
        item = self.table.currentItem()
        if not found or item is None or item.column() not in (COL_BASE, COL_FOLLOW):
            self.problems.setText(
                tr("Oncology", "Select a baseline or follow-up cell first.")
                if found
                else tr("Oncology", "No measurement in the imaging view yet.")
            )
            return
        item.setText(f"{found[-1].length_mm:.1f}")

    # model -------------------------------------------------------------------------------------
    def lesions(self) -> list[Lesion]:
        out = []
        for row in range(self.table.rowCount()):

            def text(col: int, r: int = row) -> str:
                item = self.table.item(r, col)
                return item.text() if item is not None else ""

            node_item = self.table.item(row, COL_NODE)
            is_node = node_item is not None and node_item.checkState() == Qt.CheckState.Checked
            out.append(
                Lesion(
                    text(COL_ID) or f"T{row + 1}",
                    text(COL_ORGAN),
                    is_node,
                    (_number(text(COL_BASE)), _number(text(COL_FOLLOW))),
                )
            )
        return out

    def timepoints(self) -> list[Timepoint]:
        return [
            Timepoint(self.baseline_label.text() or "Baseline"),
            Timepoint(
                self.follow_label.text() or "Follow-up",
                new_lesions=self.new_lesions.isChecked(),
                non_target_progression=self.non_target.isChecked(),
            ),
        ]

    def _recompute(self, *_args: object) -> None:
        if self._updating:
            return
        lesions, timepoints = self.lesions(), self.timepoints()
        self.plugin.lesions, self.plugin.timepoints = lesions, timepoints
        check = check_targets(lesions)
        self.add_button.setEnabled(len(lesions) < MAX_TARGETS)
        self.problems.setText("\n".join(issue_text(*issue) for issue in check.issues) if lesions else "")
        results = assess(lesions, timepoints) if lesions else []
        if not results:
            self.sums.setText(tr("Oncology", "Enter every target lesion's baseline diameter."))
            self.response.setText("")
            self.reasons.setText("")
            return
        base = results[0]
        if len(results) < 2:
            self.sums.setText(
                tr("Oncology", "Sum of diameters: baseline %1 mm.").replace("%1", f"{base.sum_mm:g}")
            )
            self.response.setText(tr("Oncology", "Awaiting follow-up measurements"))
            self.response.setStyleSheet("")
            self.reasons.setText("")
            return
        follow = results[1]
        assert follow.response is not None
        self.sums.setText(
            tr("Oncology", "Sum of diameters: baseline %1 mm, follow-up %2 mm (%3 %), nadir %4 mm.")
            .replace("%1", f"{base.sum_mm:g}")
            .replace("%2", f"{follow.sum_mm:g}")
            .replace("%3", f"{follow.change_from_baseline * 100:+.0f}")
            .replace("%4", f"{follow.nadir_mm:g}")
        )
        self.response.setText(response_name(follow.response))
        self.response.setStyleSheet(f"color:{COLOURS[follow.response]};")
        self.reasons.setText("; ".join(reason_text(code, follow) for code in follow.codes))

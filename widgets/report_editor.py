"""The consult report editor: the request at the top, what the specialist writes, what the workstation
filled in (measurements, key images, vitals, the plugins' sections), and the step that comes next.

Thin: it shows a :class:`core.report.model.Report` and says what the user asked for through signals;
the wiring (app/wiring/report.py) talks to the backend and tells it how that went (:meth:`set_busy`,
:meth:`fail`, :meth:`set_report`). Who may do what is the wiring's to say (``role``); the widget only
shows the buttons of that role in the report's status:

- the author: *Save draft* and *Sign and send for second signature* while a draft (Sign is disabled,
  with a hint, while the impression is empty); *New addendum / amendment / correction* once final;
- a second specialist of the specialty: *Co-sign* a pending report;
- the county doctor (the reader): *Acknowledge receipt* of a final report.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.config.roles import specialty_text
from core.i18n import tr
from core.report.model import URGENCIES, Kind, Measurement, Report, Section, Status, VitalsSnapshot

AUTHOR, COSIGNER, READER = "author", "cosigner", "reader"
STATUS_COLOURS = {Status.DRAFT: "#8b949e", Status.PENDING: "#f0b429", Status.FINAL: "#3fb950"}
THUMB = 120


def status_text(status: Status) -> str:
    return {
        Status.DRAFT: tr("Report", "Draft"),
        Status.PENDING: tr("Report", "Awaiting second signature"),
        Status.FINAL: tr("Report", "Final"),
    }[status]


def kind_text(kind: Kind) -> str:
    return {
        Kind.ORIGINAL: tr("Report", "Report"),
        Kind.ADDENDUM: tr("Report", "Addendum"),
        Kind.AMENDMENT: tr("Report", "Amendment"),
        Kind.CORRECTION: tr("Report", "Correction"),
    }[kind]


def badge_text(report: Report) -> str:
    """ "Draft · Report, version 1"."""
    return (
        tr("Report", "%1 · %2, version %3")
        .replace("%1", status_text(report.status))
        .replace("%2", kind_text(report.kind))
        .replace("%3", str(report.version))
    )


def urgency_label(urgency: str) -> str:
    return {
        "routine": tr("Report", "Routine"),
        "urgent": tr("Report", "Urgent"),
        "emergency": tr("Report", "Emergency"),
    }.get(urgency, urgency)


def person_name(name: str) -> str:
    """A DICOM person name (``Zhang^Wei``) as it is read."""
    return " ".join(part for part in name.replace("=", " ").split("^") if part).strip()


def figure_text(value: float, unit: str) -> str:
    shown = {"mm2": "mm²", "cm2": "cm²", "deg": "°", "Cel": "°C", "mm[Hg]": "mmHg", "/min": "/min"}
    number = f"{value:.2f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:.0f}"
    unit_shown = shown.get(unit, unit)
    return f"{number}{unit_shown}" if unit_shown in ("°", "%") else f"{number} {unit_shown}"


def vitals_text(vitals: VitalsSnapshot | None) -> str:
    """One line: "HR 112 /min · SpO₂ 93 % · … · NEWS2 7 (09:30)"."""
    if vitals is None:
        return tr("Report", "No vital signs known for this consult.")
    names = {
        "hr": tr("Report", "HR"),
        "spo2": tr("Report", "SpO₂"),
        "rr": tr("Report", "RR"),
        "sys": tr("Report", "Sys"),
        "dia": tr("Report", "Dia"),
        "map": tr("Report", "MAP"),
        "temp": tr("Report", "Temp"),
    }
    parts = [f"{names.get(v.name, v.name)} {figure_text(v.value, v.unit)}" for v in vitals.values]
    if vitals.news2 is not None:
        news = tr("Report", "NEWS2 %1").replace("%1", str(vitals.news2))
        if vitals.news2_missing:
            news += " " + tr("Report", "(at least: %1 not measured)").replace(
                "%1", ", ".join(names.get(m, m) for m in vitals.news2_missing)
            )
        parts.append(news)
    when = vitals.taken_at.astimezone().strftime("%H:%M")
    return " · ".join(parts) + "  " + tr("Report", "(taken at %1)").replace("%1", when)


class QtReportEditor(QWidget):
    sig_save = Signal(object)  # Report: save as draft
    sig_sign = Signal(object)  # Report: sign and send for the second signature
    sig_cosign = Signal()
    sig_new_version = Signal(str)  # Kind value: addendum | amendment | correction
    sig_acknowledge = Signal()
    sig_view = Signal()  # open the signed PDF in the viewer
    sig_add_key_image = Signal()  # add the image the imaging panel shows

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reportEditor")
        self._report: Report | None = None
        self.role = READER
        self.acknowledged = False
        self._busy = False
        # header
        self.patient = QLabel()
        self.patient.setObjectName("reportPatient")
        self.patient.setTextFormat(Qt.TextFormat.RichText)
        self.badge = QLabel()
        self.badge.setObjectName("reportStatus")
        header = QHBoxLayout()
        header.addWidget(self.patient, 1)
        header.addWidget(self.badge)
        # the request
        self.request_box = QGroupBox()
        self.request = QLabel()
        self.request.setObjectName("reportRequest")
        self.request.setWordWrap(True)
        self.request.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        QVBoxLayout(self.request_box).addWidget(self.request)
        # what the specialist writes
        self.findings = self._text("reportFindings", 90)
        self.impression = self._text("reportImpression", 60)
        self.recommendations = self._text("reportRecommendations", 60)
        self.follow_up = self._text("reportFollowUp", 40)
        self.urgency = QComboBox()
        self.urgency.setObjectName("reportUrgency")
        for value in URGENCIES:
            self.urgency.addItem("", value)
        self.impression_hint = QLabel()
        self.impression_hint.setObjectName("reportImpressionHint")
        self.impression_hint.setStyleSheet("color: #f0b429;")
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.form_labels = [QLabel() for _ in range(5)]
        for label, field in zip(
            self.form_labels,
            (self.findings, self.impression, self.recommendations, self.follow_up, self.urgency),
            strict=True,
        ):
            self.form.addRow(label, field)
        self.form.insertRow(2, "", self.impression_hint)
        # what the workstation filled in
        self.measures_box = QGroupBox()
        self.measures = QTableWidget(0, 4)
        self.measures.setObjectName("reportMeasurements")
        self.measures.verticalHeader().setVisible(False)
        self.measures.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.measures.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.measures.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.measures_empty = QLabel()
        self.measures_empty.setStyleSheet("color: #8b949e;")
        box = QVBoxLayout(self.measures_box)
        box.addWidget(self.measures)
        box.addWidget(self.measures_empty)
        self.images_box = QGroupBox()
        self.images = QListWidget()
        self.images.setObjectName("reportKeyImages")
        self.images.setViewMode(QListWidget.ViewMode.IconMode)
        self.images.setIconSize(QSize(THUMB, THUMB))
        self.images.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.images.setWrapping(False)
        self.images.setFixedHeight(THUMB + 48)
        self.images.setWordWrap(True)
        self.add_image = QPushButton()
        self.add_image.setObjectName("reportAddKeyImage")
        self.add_image.clicked.connect(self.sig_add_key_image.emit)
        box = QVBoxLayout(self.images_box)
        box.addWidget(self.images)
        box.addWidget(self.add_image, 0, Qt.AlignmentFlag.AlignLeft)
        self.vitals = QLabel()
        self.vitals.setObjectName("reportVitals")
        self.vitals.setWordWrap(True)
        self.vitals_box = QGroupBox()
        QVBoxLayout(self.vitals_box).addWidget(self.vitals)
        self.sections_box = QGroupBox()
        self.sections_layout = QVBoxLayout(self.sections_box)
        self.section_tables: list[QTableWidget] = []
        # the body scrolls; the header and the buttons stay
        body = QWidget()
        column = QVBoxLayout(body)
        column.addWidget(self.request_box)
        column.addLayout(self.form)
        for w in (self.measures_box, self.images_box, self.vitals_box, self.sections_box):
            column.addWidget(w)
        column.addStretch(1)
        self.body_scroll = QScrollArea()
        self.body_scroll.setWidgetResizable(True)
        self.body_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.body_scroll.setWidget(body)
        # what comes next
        self.save_button = QPushButton()
        self.save_button.setObjectName("reportSave")
        self.save_button.clicked.connect(lambda: self.sig_save.emit(self.report()))
        self.sign_button = QPushButton()
        self.sign_button.setObjectName("reportSign")
        self.sign_button.clicked.connect(self._sign)
        self.cosign_button = QPushButton()
        self.cosign_button.setObjectName("reportCosign")
        self.cosign_button.clicked.connect(self.sig_cosign.emit)
        self.version_button = QToolButton()
        self.version_button.setObjectName("reportNewVersion")
        self.version_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.version_menu = QMenu(self.version_button)
        self.version_actions = {
            kind: self.version_menu.addAction("") for kind in (Kind.ADDENDUM, Kind.AMENDMENT, Kind.CORRECTION)
        }
        for kind, action in self.version_actions.items():
            action.triggered.connect(lambda _c=False, k=kind: self.sig_new_version.emit(k.value))
        self.version_button.setMenu(self.version_menu)
        self.ack_button = QPushButton()
        self.ack_button.setObjectName("reportAcknowledge")
        self.ack_button.clicked.connect(self.sig_acknowledge.emit)
        self.view_button = QPushButton()
        self.view_button.setObjectName("reportView")
        self.view_button.clicked.connect(self.sig_view.emit)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(120)
        self.progress.setVisible(False)
        self.message = QLabel()
        self.message.setObjectName("reportMessage")
        self.message.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress)
        buttons.addWidget(self.message, 1)
        for b in (
            self.view_button,
            self.save_button,
            self.sign_button,
            self.cosign_button,
            self.version_button,
            self.ack_button,
        ):
            buttons.addWidget(b)
        self.empty = QLabel()
        self.empty.setObjectName("reportEmpty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setStyleSheet("color: #8b949e;")
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.empty, 1)
        layout.addWidget(self.body_scroll, 1)
        layout.addLayout(buttons)
        self.impression.textChanged.connect(self._update_buttons)
        self.retranslate()
        self.clear()

    @staticmethod
    def _text(name: str, height: int) -> QPlainTextEdit:
        edit = QPlainTextEdit()
        edit.setObjectName(name)
        edit.setMinimumHeight(height)
        edit.setMaximumHeight(height + 40)
        edit.setTabChangesFocus(True)
        return edit

    # what it shows --------------------------------------------------------------------------------
    def set_report(self, report: Report, role: str = READER, *, acknowledged: bool = False) -> None:
        """Show ``report`` for ``role`` (author, cosigner or reader); ``acknowledged``: the county doctor
        has confirmed receipt of this final version."""
        self._report, self.role, self.acknowledged = report, role, acknowledged
        self.findings.setPlainText(report.findings)
        self.impression.setPlainText(report.impression)
        self.recommendations.setPlainText(report.recommendations)
        self.follow_up.setPlainText(report.follow_up)
        index = self.urgency.findData(report.urgency)
        self.urgency.setCurrentIndex(max(0, index))
        self._fill_measurements(report.measurements)
        self._fill_images(report)
        self._fill_sections(report.sections)
        self.message.clear()
        self._render()

    def clear(self) -> None:
        """Nothing of any patient stays: the consult ended (closed, switched, signed out, locked)."""
        self._report = None
        self.role, self.acknowledged, self._busy = READER, False, False
        for edit in (self.findings, self.impression, self.recommendations, self.follow_up):
            edit.clear()
        self.measures.setRowCount(0)
        self.images.clear()
        self._fill_sections(())
        self.message.clear()
        self.progress.setVisible(False)
        self._render()

    def report(self) -> Report | None:
        """The report as edited: the written fields, the urgency and the measurements ticked."""
        r = self._report
        if r is None:
            return None
        keep = []
        for row, m in enumerate(r.measurements):
            cell = self.measures.item(row, 0)
            if cell is None or cell.checkState() == Qt.CheckState.Checked:
                keep.append(m)
        return replace(
            r,
            findings=self.findings.toPlainText().strip(),
            impression=self.impression.toPlainText().strip(),
            recommendations=self.recommendations.toPlainText().strip(),
            follow_up=self.follow_up.toPlainText().strip(),
            urgency=str(self.urgency.currentData() or r.urgency),
            measurements=tuple(keep),
        )

    @property
    def editable(self) -> bool:
        r = self._report
        return r is not None and self.role == AUTHOR and r.status is Status.DRAFT and not self._busy

    def set_busy(self, text: str) -> None:
        """A long step runs (signing, co-signing): say which, and take no second click meanwhile."""
        self._busy = True
        self.progress.setVisible(True)
        self._say(text, "#58a6ff")
        self._render()

    def done(self, text: str = "") -> None:
        self._busy = False
        self.progress.setVisible(False)
        self._say(text, "#3fb950")
        self._render()

    def fail(self, text: str) -> None:
        """What went wrong, in plain words; the user may try again."""
        self._busy = False
        self.progress.setVisible(False)
        self._say(text, "#ff7b72")
        self._render()

    def _say(self, text: str, colour: str) -> None:
        self.message.setStyleSheet(f"color: {colour};")
        self.message.setText(text)

    # filling ---------------------------------------------------------------------------------------
    def _fill_measurements(self, measurements: tuple[Measurement, ...]) -> None:
        self.measures.setRowCount(len(measurements))
        for row, m in enumerate(measurements):
            image = m.images[0].sop_instance_uid if m.images else ""
            cells = [m.label, figure_text(m.value, m.unit), m.method, image[-12:]]
            for column, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                if column == 0:
                    cell.setFlags(cell.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                    cell.setCheckState(Qt.CheckState.Checked)
                if column == 3 and image:
                    cell.setToolTip(image)
                self.measures.setItem(row, column, cell)
        _fit_height(self.measures, min(len(measurements), 6))

    def _fill_images(self, report: Report) -> None:
        self.images.clear()
        for key in report.key_images:
            pixmap = QPixmap()
            if key.png:
                pixmap.loadFromData(key.png, "PNG")
            icon = (
                QIcon(pixmap.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio)) if key.png else QIcon()
            )
            item = QListWidgetItem(icon, key.caption or key.ref.sop_instance_uid[-12:])
            item.setToolTip("\n".join((key.caption, *key.annotations)))
            self.images.addItem(item)

    def _fill_sections(self, sections: tuple[Section, ...] | list[Section]) -> None:
        while self.sections_layout.count():
            item = self.sections_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.section_tables = []
        for section in sections:
            title = QLabel(f"<b>{_html(section.title)}</b>")
            self.sections_layout.addWidget(title)
            width = max([len(section.columns), *(len(r) for r in section.rows)])
            table = QTableWidget(len(section.rows), width)
            table.setObjectName("reportSection")
            table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
            table.verticalHeader().setVisible(False)
            if section.columns:
                table.setHorizontalHeaderLabels(list(section.columns))
            else:
                table.horizontalHeader().setVisible(False)
            table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
            for r, row in enumerate(section.rows):
                for c, text in enumerate(row):
                    table.setItem(r, c, QTableWidgetItem(text))
            _fit_height(table, len(section.rows))
            self.sections_layout.addWidget(table)
            self.section_tables.append(table)
            if section.note:
                note = QLabel(section.note)
                note.setWordWrap(True)
                self.sections_layout.addWidget(note)

    # state -----------------------------------------------------------------------------------------
    def _render(self) -> None:
        r = self._report
        shown = r is not None
        self.body_scroll.setVisible(shown)
        self.empty.setVisible(not shown)
        if r is None:
            self.patient.clear()
            self.badge.clear()
            self.badge.setStyleSheet("")
            self.request.clear()
            self.vitals.clear()
        else:
            p = r.patient
            details = " · ".join(
                x
                for x in (
                    tr("Report", "ID %1").replace("%1", p.patient_id),
                    p.sex if p.sex in ("M", "F") else "",
                    p.birth_date.isoformat() if p.birth_date else "",
                    specialty_text(r.specialty),
                )
                if x
            )
            self.patient.setText(
                f"<b style='font-size: 15px'>{_html(person_name(p.name))}</b>&nbsp;&nbsp;{details}"
            )
            colour = STATUS_COLOURS[r.status]
            self.badge.setText(badge_text(r))
            self.badge.setStyleSheet(
                f"border: 1px solid {colour}; color: {colour}; border-radius: 4px; padding: 2px 8px;"
            )
            lines = [f"<b>{tr('Report', 'Question')}:</b> {_html(r.question)}"]
            if r.history:
                lines.append(f"<b>{tr('Report', 'History')}:</b> {_html(r.history)}")
            if r.requested_by is not None:
                lines.append(
                    tr("Report", "Requested by %1").replace("%1", _html(r.requested_by.display_name))
                )
            self.request.setText("<br>".join(lines))
            self.vitals.setText(vitals_text(r.vitals))
        self.measures_box.setVisible(shown)
        self.measures.setVisible(bool(r and r.measurements))
        self.measures_empty.setVisible(not (r and r.measurements))
        self.images_box.setVisible(bool(r and (r.key_images or self.editable)))
        self.images.setVisible(bool(r and r.key_images))
        self.sections_box.setVisible(bool(r and r.sections))
        editable = self.editable
        for edit in (self.findings, self.impression, self.recommendations, self.follow_up):
            edit.setReadOnly(not editable)
        self.urgency.setEnabled(editable)
        self.measures.setEnabled(shown)
        for row in range(self.measures.rowCount()):
            cell = self.measures.item(row, 0)
            if cell is not None:
                flags = cell.flags()
                checkable = Qt.ItemFlag.ItemIsUserCheckable
                cell.setFlags(flags | checkable if editable else flags & ~checkable)
        self.add_image.setVisible(editable)
        self._update_buttons()

    def _update_buttons(self) -> None:
        r, role, busy = self._report, self.role, self._busy
        status = r.status if r is not None else None
        draft_author = r is not None and role == AUTHOR and status is Status.DRAFT
        self.save_button.setVisible(draft_author)
        self.sign_button.setVisible(draft_author)
        has_impression = bool(self.impression.toPlainText().strip())
        self.sign_button.setEnabled(draft_author and has_impression and not busy)
        self.save_button.setEnabled(draft_author and not busy)
        self.impression_hint.setVisible(draft_author and not has_impression)
        self.sign_button.setToolTip(
            "" if has_impression else tr("Report", "Write the impression before signing.")
        )
        self.cosign_button.setVisible(r is not None and role == COSIGNER and status is Status.PENDING)
        self.cosign_button.setEnabled(not busy)
        self.version_button.setVisible(r is not None and role == AUTHOR and status is Status.FINAL)
        self.version_button.setEnabled(not busy)
        self.ack_button.setVisible(
            r is not None and role == READER and status is Status.FINAL and not self.acknowledged
        )
        self.ack_button.setEnabled(not busy)
        self.view_button.setVisible(r is not None and status in (Status.PENDING, Status.FINAL))
        self.view_button.setEnabled(not busy)

    def _sign(self) -> None:
        report = self.report()
        if report is not None and not self._busy and report.impression:
            self.sig_sign.emit(report)

    # language --------------------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.request_box.setTitle(tr("Report", "The request"))
        texts = (
            tr("Report", "Findings"),
            tr("Report", "Impression *"),
            tr("Report", "Recommendations"),
            tr("Report", "Follow-up"),
            tr("Report", "Urgency"),
        )
        for label, text in zip(self.form_labels, texts, strict=True):
            label.setText(text)
        for i, value in enumerate(URGENCIES):
            self.urgency.setItemText(i, urgency_label(value))
        self.findings.setPlaceholderText(tr("Report", "What you saw."))
        self.impression.setPlaceholderText(tr("Report", "Your conclusion, in one or two lines."))
        self.recommendations.setPlaceholderText(tr("Report", "What the county doctor should do."))
        self.follow_up.setPlaceholderText(tr("Report", "When and how to call back."))
        self.impression_hint.setText(
            tr("Report", "The impression is needed before the report can be signed.")
        )
        self.measures_box.setTitle(tr("Report", "Measurements (ticked ones go into the report)"))
        self.measures.setHorizontalHeaderLabels(
            [
                tr("Report", "Measurement"),
                tr("Report", "Value"),
                tr("Report", "Method"),
                tr("Report", "Image"),
            ]
        )
        self.measures_empty.setText(tr("Report", "No measurements were made on the images."))
        self.images_box.setTitle(tr("Report", "Key images"))
        self.add_image.setText(tr("Report", "Add the image shown"))
        self.vitals_box.setTitle(tr("Report", "Vital signs"))
        self.sections_box.setTitle(tr("Report", "Specialty sections"))
        self.save_button.setText(tr("Report", "Save draft"))
        self.sign_button.setText(tr("Report", "Sign and send for second signature"))
        self.cosign_button.setText(tr("Report", "Co-sign"))
        self.version_button.setText(tr("Report", "New version ▾"))
        self.version_actions[Kind.ADDENDUM].setText(tr("Report", "Addendum (adds to the report)"))
        self.version_actions[Kind.AMENDMENT].setText(tr("Report", "Amendment (new information)"))
        self.version_actions[Kind.CORRECTION].setText(tr("Report", "Correction (corrects an error)"))
        self.ack_button.setText(tr("Report", "Acknowledge receipt"))
        self.view_button.setText(tr("Report", "View signed PDF"))
        self.empty.setText(tr("Report", "No consult open: a report belongs to a consult."))
        self._render()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)


def _fit_height(table: QTableWidget, rows: int) -> None:
    """A small table shows all its rows (up to ``rows``) without a scroll bar."""
    header = table.horizontalHeader()
    head = header.sizeHint().height() if header.isVisible() or not header.isHidden() else 0
    each = table.verticalHeader().defaultSectionSize()
    table.setFixedHeight(head + each * max(1, rows) + 2 * table.frameWidth() + 2)


def _html(text: str) -> str:
    import html

    return html.escape(text).replace("\n", "<br>")

"""Two identities side by side: the consult's patient and a study's. The imaging panel's refusal notice
and the "Link this study to this patient" dialog (the reason typed by the clinician) are built on it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.i18n import tr
from viewers.study_identity import Identity

MIN_REASON = 10  # characters: a reason, not a keystroke


def _field_names() -> list[tuple[str, str]]:
    return [
        ("patient_id", tr("StudyIdentity", "Patient ID")),
        ("name", tr("StudyIdentity", "Name")),
        ("birth_date", tr("StudyIdentity", "Birth date")),
        ("sex", tr("StudyIdentity", "Sex")),
        ("issuer", tr("StudyIdentity", "Issuer of the ID")),
    ]


class QtIdentityCompare(QFrame):
    """A grid: one row per identity field, the consult's patient left, the study's right; rows that
    differ are marked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("identityCompare")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.grid = QGridLayout(self)
        self.grid.setHorizontalSpacing(16)
        self.labels: dict[tuple[str, int], QLabel] = {}

    def clear(self) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:  # out of the widget tree now, not at the next event loop turn
                widget.setParent(None)
                widget.deleteLater()
        self.labels.clear()

    def show_identities(self, consult: Identity, study: Identity, ours: str | None = None) -> None:
        """``ours``: the left column's title (default: the consult's patient)."""
        self.clear()
        left = ours or tr("StudyIdentity", "This consult's patient")
        heads = (left, tr("StudyIdentity", "The study's patient"))
        for column, head in enumerate(heads, start=1):
            label = QLabel(f"<b>{head}</b>")
            self.grid.addWidget(label, 0, column)
        row = 1
        for key, title in _field_names():
            ours, theirs = str(getattr(consult, key)), str(getattr(study, key))
            if key == "issuer" and not ours and not theirs:
                continue
            differs = ours.strip().casefold() != theirs.strip().casefold()
            self.grid.addWidget(QLabel(title), row, 0)
            for column, text in ((1, ours), (2, theirs)):
                cell = QLabel(text or "—")
                cell.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                if differs:
                    cell.setStyleSheet("QLabel { color: #b00020; font-weight: bold; }")
                self.grid.addWidget(cell, row, column)
                self.labels[(key, column)] = cell
            row += 1


class QtIdentityNotice(QFrame):
    """The imaging panel's refusal: what was not opened and why, both identities, and (for a participant
    of the consult) the button that links the study to the consult's patient."""

    sig_link = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("identityNotice")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("QFrame#identityNotice { background: #fff4f4; border: 1px solid #b00020; }")
        self.title = QLabel()
        self.title.setObjectName("identityNoticeTitle")
        self.title.setWordWrap(True)
        self.reason = QLabel()
        self.reason.setObjectName("identityNoticeReason")
        self.reason.setWordWrap(True)
        self.compare = QtIdentityCompare(self)
        self.link_button = QPushButton()
        self.link_button.setObjectName("identityLinkButton")
        self.link_button.clicked.connect(self.sig_link.emit)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.link_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.reason)
        layout.addWidget(self.compare)
        layout.addLayout(buttons)
        self.setVisible(False)
        self.retranslate()

    def retranslate(self) -> None:
        self.link_button.setText(tr("StudyIdentity", "Link this study to this patient…"))

    def show_refusal(self, consult: Identity, study: Identity, reason: str, can_link: bool) -> None:
        self.title.setText(
            tr(
                "StudyIdentity",
                "Not opened: this study is not of the consult's patient. Nothing of it is shown.",
            )
        )
        self.reason.setText(tr("StudyIdentity", "Why: %1.").replace("%1", reason))
        self.compare.show_identities(consult, study)
        self.link_button.setVisible(can_link)
        self.setVisible(True)

    def clear(self) -> None:
        self.setVisible(False)
        self.title.clear()
        self.reason.clear()
        self.compare.clear()


class QtLinkStudyDialog(QDialog):
    """Link another patient's study to the consult's patient: both identities side by side and a reason
    the clinician types; "Link" is offered once the reason is there. The link is audited by the caller."""

    def __init__(self, consult: Identity, study: Identity, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("linkStudyDialog")
        self.setWindowTitle(tr("StudyIdentity", "Link this study to this patient"))
        self.consult, self.study = consult, study
        self.explain = QLabel(
            tr(
                "StudyIdentity",
                "The study's identity differs from the consult's patient. Link it only if you are sure it"
                " is this patient's (for example an emergency registration under a temporary ID). The"
                " link, both identities and your reason are recorded in the audit log.",
            )
        )
        self.explain.setWordWrap(True)
        self.compare = QtIdentityCompare(self)
        self.compare.show_identities(consult, study)
        self.reason = QPlainTextEdit()
        self.reason.setObjectName("linkReason")
        self.reason.setPlaceholderText(
            tr("StudyIdentity", "Why is this study this patient's? (at least %1 characters)").replace(
                "%1", str(MIN_REASON)
            )
        )
        self.reason.setMinimumHeight(70)
        self.reason.textChanged.connect(self._update)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.link_button = self.buttons.addButton(
            tr("StudyIdentity", "Link and open"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.link_button.setObjectName("linkConfirm")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.explain)
        layout.addWidget(self.compare)
        layout.addWidget(QLabel(tr("StudyIdentity", "Reason:")))
        layout.addWidget(self.reason)
        layout.addWidget(self.buttons)
        self.resize(620, 420)
        self._update()

    def reason_text(self) -> str:
        return self.reason.toPlainText().strip()

    def _update(self) -> None:
        self.link_button.setEnabled(len(self.reason_text()) >= MIN_REASON)

    def accept(self) -> None:
        if len(self.reason_text()) >= MIN_REASON:
            super().accept()

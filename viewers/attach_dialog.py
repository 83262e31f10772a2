"""Attach a study to a consult request: pick a local folder or a study already loaded, send it to the
site's archive (STOW-RS, :mod:`viewers.dicom.stow`) with a progress bar and cancel, off the UI thread.

``QtAttachStudyWidget`` does the attaching; ``QtConsultRequestDialog`` is the county doctor's request
form around it (patient, question, urgency, specialty, study) and returns the request body.

The request is for one patient, and so is its study: a study whose headers name another patient (Patient
ID within its issuer, name and birth date compared tolerantly by core.consult.identity) is refused, with
both identities side by side, and is neither sent nor attached. The form asks for the birth date, and
the sex has no default: it must be chosen.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.config.roles import specialty_text
from core.consult.identity import same_patient
from core.consult.patient import Patient
from core.i18n import tr
from viewers.dicom.dicomweb import DicomWebClient
from viewers.dicom.pacs import PacsSettings
from viewers.dicom.stow import LocalStudy, StowUploader, UploadCancelledError, UploadResult, scan_study
from viewers.identity_views import QtIdentityCompare
from viewers.study_identity import Identity


class _Relay(QObject):
    # emitted from the worker thread; queued to the widget on the UI thread
    sig_scanned = Signal(object)  # LocalStudy or Exception
    sig_progress = Signal(int, int)
    sig_done = Signal(object)  # UploadResult or Exception


def _dicom_date(value: str) -> str:
    v = value.strip()
    return f"{v[:4]}-{v[4:6]}-{v[6:8]}" if len(v) == 8 and v.isdigit() else v


def parse_birth_date(text: str, today: date | None = None) -> date | None:
    """A birth date typed as YYYY-MM-DD (or YYYYMMDD); None when it is not a date or is in the future."""
    digits = text.strip().replace("-", "").replace("/", "").replace(".", "")
    if len(digits) != 8 or not digits.isdigit():
        return None
    try:
        born = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None
    return born if born <= (today or date.today()) and born.year >= 1880 else None


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


class QtAttachStudyWidget(QWidget):
    """Choose a study and send it; ``sig_attached(study_uid, archive_name)`` once it is verified there."""

    sig_attached = Signal(str, str)
    sig_busy = Signal(bool)
    sig_checked = Signal()  # the chosen study was (re)checked against the request's patient

    def __init__(
        self,
        endpoints: Sequence[Any],
        loaded: Sequence[Path] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        # STOW-RS needs a DICOMweb archive; DIMSE endpoints are for retrieving only here
        self.endpoints = [e for e in endpoints if str(e.kind) == "dicomweb"]
        self.loaded = [Path(p) for p in loaded]
        self.study: LocalStudy | None = None
        self.result: UploadResult | None = None
        self.attached: tuple[str, str] | None = None
        self.busy = False
        self.patient: Patient | None = None  # the request's patient: the study must be theirs
        self.refusal: str | None = None  # why the chosen study is not the patient's
        self._cancel: threading.Event | None = None
        self._relay = _Relay(self)
        self._relay.sig_scanned.connect(self._scanned)
        self._relay.sig_progress.connect(self._progress)
        self._relay.sig_done.connect(self._done)

        self.loaded_combo = QComboBox()
        self.loaded_combo.setObjectName("attachLoaded")
        self.loaded_combo.addItem(tr("AttachStudy", "(choose)"), None)
        for folder in self.loaded:
            self.loaded_combo.addItem(folder.name or str(folder), folder)
        self.loaded_combo.currentIndexChanged.connect(self._loaded_chosen)
        self.folder_button = QPushButton(tr("AttachStudy", "Folder…"))
        self.folder_button.clicked.connect(self._choose_folder)
        self.summary = QLabel(tr("AttachStudy", "No study chosen."))
        self.summary.setObjectName("attachSummary")
        self.summary.setWordWrap(True)
        self.archive_combo = QComboBox()
        self.archive_combo.setObjectName("attachArchive")
        for endpoint in self.endpoints:
            self.archive_combo.addItem(str(endpoint.name), endpoint)
        self.upload_button = QPushButton(tr("AttachStudy", "Send to archive"))
        self.upload_button.setObjectName("attachUpload")
        self.upload_button.clicked.connect(self.start_upload)
        self.cancel_button = QPushButton(tr("AttachStudy", "Cancel upload"))
        self.cancel_button.clicked.connect(self.cancel)
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("attachProgress")
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.status = QLabel()
        self.status.setObjectName("attachStatus")
        self.status.setWordWrap(True)
        self.refused = QLabel()
        self.refused.setObjectName("attachRefused")
        self.refused.setWordWrap(True)
        self.refused.setStyleSheet("QLabel { color: #b00020; font-weight: bold; }")
        self.compare = QtIdentityCompare(self)
        self.refused.setVisible(False)
        self.compare.setVisible(False)

        source = QHBoxLayout()
        source.addWidget(QLabel(tr("AttachStudy", "Loaded study:")))
        source.addWidget(self.loaded_combo, 1)
        source.addWidget(self.folder_button)
        archive = QHBoxLayout()
        archive.addWidget(QLabel(tr("AttachStudy", "Archive:")))
        archive.addWidget(self.archive_combo, 1)
        archive.addWidget(self.upload_button)
        archive.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(source)
        layout.addWidget(self.summary)
        layout.addWidget(self.refused)
        layout.addWidget(self.compare)
        layout.addLayout(archive)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status)
        if not self.endpoints:
            self.status.setText(
                tr("AttachStudy", "No DICOMweb archive is configured for this site (ask IT).")
            )
        self._update()

    # choosing --------------------------------------------------------------------------------
    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, tr("AttachStudy", "Choose the study folder"))
        if folder:
            self.choose([Path(folder)])

    def _loaded_chosen(self, index: int) -> None:
        folder = self.loaded_combo.itemData(index)
        if isinstance(folder, Path):
            self.choose([folder])

    def choose(self, paths: Sequence[Path]) -> None:
        """Scan ``paths`` for one study (in the background); the summary shows what was found."""
        if self.busy:
            return
        self.study = None
        self.result = None
        self.attached = None
        self.summary.setText(tr("AttachStudy", "Reading the study…"))
        self._set_busy(True)
        relay, chosen = self._relay, list(paths)

        def work() -> None:
            try:
                found: object = scan_study(chosen)
            except Exception as exc:  # shown to the user, never raised on the thread
                found = exc
            relay.sig_scanned.emit(found)

        threading.Thread(target=work, name="attach-scan", daemon=True).start()

    def _scanned(self, found: object) -> None:
        self._set_busy(False)
        if isinstance(found, LocalStudy):
            self.study = found
            self.summary.setText(
                tr("AttachStudy", "%1 (%2) - %3 instance(s), %4 - Study Instance UID %5")
                .replace("%1", found.patient_name or "?")
                .replace("%2", found.patient_id or "?")
                .replace("%3", str(len(found.instances)))
                .replace("%4", _human_size(found.size))
                .replace("%5", found.study_instance_uid)
            )
            self.status.setText("")
        else:
            self.summary.setText(tr("AttachStudy", "No study: %1").replace("%1", str(found)))
        self._check()

    # whose study -----------------------------------------------------------------------------
    def set_patient(self, patient: Patient | None) -> None:
        """The request's patient (None while the form lacks an ID): the chosen study must be theirs."""
        self.patient = patient
        self._check()

    @property
    def matches_patient(self) -> bool:
        """A study is chosen and it is the request's patient's."""
        return self.study is not None and self.patient is not None and self.refusal is None

    def _check(self) -> None:
        study, patient = self.study, self.patient
        self.refusal = None
        if study is not None and patient is not None:
            match = same_patient(
                patient, study.patient_id, study.patient_name, study.patient_birth_date, study.issuer
            )
            if not match.same:
                self.refusal = match.reason
        refused = self.refusal is not None and study is not None and patient is not None
        if refused and study is not None and patient is not None:
            self.refused.setText(
                tr("AttachStudy", "Refused: this study is not of the request's patient (%1).").replace(
                    "%1", self.refusal or ""
                )
            )
            theirs = Identity(
                study.patient_id,
                " ".join(study.patient_name.replace("^", " ").split()),
                _dicom_date(study.patient_birth_date),
                study.patient_sex,
                study.issuer,
            )
            ours = tr("AttachStudy", "The request's patient")
            self.compare.show_identities(Identity.of_patient(patient), theirs, ours)
        self.refused.setVisible(refused)
        self.compare.setVisible(refused)
        self._update()
        self.sig_checked.emit()

    # sending ---------------------------------------------------------------------------------
    def start_upload(self) -> None:
        endpoint = self.archive_combo.currentData()
        study = self.study
        if self.busy or study is None or endpoint is None or not self.matches_patient:
            return
        settings = endpoint if isinstance(endpoint, PacsSettings) else PacsSettings.from_endpoint(endpoint)
        assert settings.url is not None
        self._cancel = cancel = threading.Event()
        self.progress_bar.setRange(0, max(1, len(study.instances)))
        self.progress_bar.setValue(0)
        self.status.setText(tr("AttachStudy", "Sending…"))
        self._set_busy(True)
        relay = self._relay

        def work() -> None:
            client = DicomWebClient(
                settings.url or "",
                username=settings.username,
                password=settings.password,
                timeout_s=settings.timeout_s,
            )
            try:
                outcome: object = StowUploader(client).upload(
                    study,
                    progress=lambda done, total, _b: relay.sig_progress.emit(done, total),
                    cancel=cancel,
                )
            except Exception as exc:  # shown to the user, never raised on the thread
                outcome = exc
            finally:
                client.close()
            relay.sig_done.emit(outcome)

        threading.Thread(target=work, name="attach-upload", daemon=True).start()

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()

    def _progress(self, done: int, total: int) -> None:
        self.progress_bar.setRange(0, max(1, total))
        self.progress_bar.setValue(done)
        self.status.setText(
            tr("AttachStudy", "Sending… %1 of %2 instance(s)")
            .replace("%1", str(done))
            .replace("%2", str(total))
        )

    def _done(self, outcome: object) -> None:
        self._set_busy(False)
        self._cancel = None
        if isinstance(outcome, UploadResult):
            self.result = outcome
            name = str(self.archive_combo.currentText())
            self.attached = (outcome.study_instance_uid, name)
            self.progress_bar.setValue(self.progress_bar.maximum())
            self.status.setText(
                tr(
                    "AttachStudy",
                    "Verified: the archive holds all %1 instance(s) (%2 sent, %3 already there).",
                )
                .replace("%1", str(outcome.total))
                .replace("%2", str(outcome.sent))
                .replace("%3", str(outcome.skipped))
            )
            self.sig_attached.emit(outcome.study_instance_uid, name)
        elif isinstance(outcome, UploadCancelledError):
            self.status.setText(tr("AttachStudy", "Cancelled. Send again to resume where it stopped."))
        else:
            self.status.setText(
                tr("AttachStudy", "Not sent: %1. Send again to resume where it stopped.").replace(
                    "%1", str(outcome)
                )
            )
        self._update()

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.sig_busy.emit(busy)
        self._update()

    def _update(self) -> None:
        uploading = self._cancel is not None
        self.upload_button.setEnabled(
            not self.busy and self.matches_patient and bool(self.endpoints) and self.attached is None
        )
        self.cancel_button.setEnabled(uploading)
        self.folder_button.setEnabled(not self.busy)
        self.loaded_combo.setEnabled(not self.busy and bool(self.loaded))

    def close_model(self) -> None:
        """Cancel an upload in progress; calling it twice is harmless."""
        self.cancel()


URGENCIES = ("routine", "urgent", "emergency")
SPECIALTIES = ("radiology", "cardiology", "ultrasound", "oncology", "stroke")
SEXES = ("F", "M", "O", "U")


class QtConsultRequestDialog(QDialog):
    """The county doctor's consult request: patient, question, urgency, specialty and a study.

    ``request_body()`` is the JSON the backend's ``POST /consults`` takes; its ``study`` is set only
    once the study is verified in the archive."""

    def __init__(
        self,
        endpoints: Sequence[Any],
        loaded: Sequence[Path] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("consultRequestDialog")
        self.setWindowTitle(tr("AttachStudy", "New consultation request"))
        self.patient_id = QLineEdit()
        self.patient_name = QLineEdit()
        self.birth_date = QLineEdit()
        self.birth_date.setObjectName("requestBirthDate")
        self.birth_date.setPlaceholderText(tr("AttachStudy", "YYYY-MM-DD"))
        self.sex = QComboBox()
        self.sex.setObjectName("requestSex")
        self.sex.addItem(tr("AttachStudy", "(choose)"), None)  # no default: the doctor says which
        for sex, label in zip(
            SEXES,
            (tr("AttachStudy", "Female"), tr("AttachStudy", "Male"), tr("AttachStudy", "Other"),
             tr("AttachStudy", "Unknown")),
            strict=True,
        ):
            self.sex.addItem(label, sex)
        self.question = QPlainTextEdit()
        self.question.setPlaceholderText(tr("AttachStudy", "What should the specialist answer?"))
        self.question.setMinimumHeight(80)
        self.urgency = QComboBox()
        for urgency, label in zip(
            URGENCIES,
            (tr("Worklist", "Routine"), tr("Worklist", "Urgent"), tr("Worklist", "Emergency")),
            strict=True,
        ):
            self.urgency.addItem(label, urgency)
        self.specialty = QComboBox()
        for specialty in SPECIALTIES:
            self.specialty.addItem(specialty_text(specialty), specialty)
        form = QFormLayout()
        form.addRow(tr("AttachStudy", "Patient ID:"), self.patient_id)
        form.addRow(tr("AttachStudy", "Name:"), self.patient_name)
        form.addRow(tr("AttachStudy", "Birth date:"), self.birth_date)
        form.addRow(tr("AttachStudy", "Sex:"), self.sex)
        form.addRow(tr("AttachStudy", "Question:"), self.question)
        form.addRow(tr("AttachStudy", "Urgency:"), self.urgency)
        form.addRow(tr("AttachStudy", "Specialty:"), self.specialty)
        self.attach = QtAttachStudyWidget(endpoints, loaded)
        group = QGroupBox(tr("AttachStudy", "Study (optional)"))
        QVBoxLayout(group).addWidget(self.attach)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.send_button = self.buttons.addButton(
            tr("AttachStudy", "Send request"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(group)
        layout.addWidget(self.buttons)
        for edit in (self.patient_id, self.patient_name, self.birth_date):
            edit.textChanged.connect(self._patient_changed)
        self.sex.currentIndexChanged.connect(lambda _i: self._patient_changed())
        self.question.textChanged.connect(self._update)
        self.attach.sig_busy.connect(lambda _busy: self._update())
        self.attach.sig_attached.connect(lambda _uid, _name: self._update())
        self.attach.sig_checked.connect(self._update)
        self.resize(640, 600)
        self._patient_changed()

    def patient(self) -> Patient | None:
        """The patient as typed so far; None without a Patient ID."""
        patient_id = self.patient_id.text().strip()
        if not patient_id:
            return None
        sex = self.sex.currentData()
        born = parse_birth_date(self.birth_date.text())
        return Patient(patient_id, self.patient_name.text().strip(), str(sex or "U"), born)

    def _patient_changed(self) -> None:
        typed = self.birth_date.text().strip()
        bad = bool(typed) and parse_birth_date(typed) is None
        self.birth_date.setStyleSheet("QLineEdit { border: 1px solid #b00020; }" if bad else "")
        self.attach.set_patient(self.patient())
        self._update()

    def _update(self) -> None:
        fields = (self.patient_id.text(), self.patient_name.text(), self.question.toPlainText())
        complete = all(text.strip() for text in fields)
        complete = complete and self.sex.currentData() is not None
        complete = complete and parse_birth_date(self.birth_date.text()) is not None
        study_ok = self.attach.study is None or self.attach.matches_patient  # a refused study blocks it
        self.send_button.setEnabled(complete and study_ok and not self.attach.busy)

    def request_body(self) -> dict[str, Any]:
        attached = self.attach.attached if self.attach.matches_patient else None
        born = parse_birth_date(self.birth_date.text())
        return {
            "patient": {
                "patient_id": self.patient_id.text().strip(),
                "name": self.patient_name.text().strip(),
                "sex": self.sex.currentData(),
                "birth_date": born.isoformat() if born is not None else None,
            },
            "question": self.question.toPlainText().strip(),
            "urgency": self.urgency.currentData(),
            "specialty": self.specialty.currentData(),
            "study": {"study_instance_uid": attached[0], "source": attached[1]} if attached else None,
        }

    def done(self, result: int) -> None:
        self.attach.close_model()
        super().done(result)


def request_consult(
    parent: QWidget | None,
    endpoints: Sequence[Any],
    loaded: Sequence[Path],
    submit: Callable[[dict[str, Any]], object],
) -> QtConsultRequestDialog:
    """Open the request dialog (non-modal); ``submit(body)`` runs when the doctor sends it."""
    dialog = QtConsultRequestDialog(endpoints, loaded, parent)
    dialog.accepted.connect(lambda: submit(dialog.request_body()))
    dialog.show()
    return dialog

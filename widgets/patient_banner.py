"""The patient banner: always visible while a patient is open, so nobody acts on the wrong patient."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from core.consult.context import ConsultContext
from core.consult.patient import Patient
from core.i18n import tr


class QtPatientBanner(QWidget):
    def __init__(
        self, context: ConsultContext, pseudonym_salt: bytes | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("patientBanner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(
            "#patientBanner { background: #1f3b57; border-bottom: 2px solid #f0b429; }"
            "#patientBanner QLabel { color: white; font-size: 14px; }"
            "#patientName { font-weight: 700; font-size: 16px; }"
            "#patientDeid { color: #f0b429; font-weight: 600; }"
        )
        self._context = context
        self._salt = pseudonym_salt  # set: trainee view, identity replaced by a pseudonym
        self.name = QLabel()
        self.name.setObjectName("patientName")
        self.patient_id = QLabel()
        self.patient_id.setObjectName("patientId")
        self.sex = QLabel()
        self.sex.setObjectName("patientSex")
        self.birth = QLabel()
        self.birth.setObjectName("patientBirth")
        self.deid = QLabel()
        self.deid.setObjectName("patientDeid")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        layout.setSpacing(24)
        for label in (self.name, self.patient_id, self.sex, self.birth):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            layout.addWidget(label)
        layout.addStretch(1)
        layout.addWidget(self.deid)
        context.changed.connect(self._show)
        self._show(context.patient)

    def shown_patient(self) -> Patient | None:
        patient = self._context.patient
        if patient is None or self._salt is None:
            return patient
        return patient.pseudonymised(self._salt)

    def _show(self, _patient: Patient | None = None) -> None:
        patient = self.shown_patient()
        if patient is None:
            # The window hides the bar that holds the banner; nothing of the last patient stays in it.
            for label in (self.name, self.patient_id, self.sex, self.birth, self.deid):
                label.clear()
            return
        sexes = {
            "M": tr("PatientBanner", "Male"),
            "F": tr("PatientBanner", "Female"),
            "O": tr("PatientBanner", "Other"),
        }
        self.name.setText(patient.name)
        self.patient_id.setText(tr("PatientBanner", "ID: %1").replace("%1", patient.patient_id))
        self.sex.setText(sexes.get(patient.sex, tr("PatientBanner", "Sex unknown")))
        if patient.birth_date is not None:
            age = patient.age_on(date.today())
            self.birth.setText(
                tr("PatientBanner", "Born %1 (%2 y)")
                .replace("%1", patient.birth_date.isoformat())
                .replace("%2", str(age))
            )
        else:
            self.birth.setText("")
        self.deid.setText(tr("PatientBanner", "De-identified (teaching)") if self._salt is not None else "")

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self._show()
        super().changeEvent(event)

    def close_model(self) -> None:
        self._context.changed.disconnect(self._show)

"""The patient of a consult. The banner shows it; trainees see a stable pseudonym, never the identity."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Patient:
    patient_id: str
    name: str
    sex: str  # DICOM codes: M, F, O, U
    birth_date: date | None
    # The backend's pseudonym code for this patient (given to the consult's participants): a class the
    # instructor teaches then sees the same "Patient CODE" the backend shows trainees.
    pseudonym_code: str | None = field(default=None, compare=False)
    # Who issued patient_id (DICOM Issuer of Patient ID, HL7 PID-3.4); empty when unknown.
    issuer: str = ""

    def age_on(self, today: date) -> int | None:
        if self.birth_date is None:
            return None
        born = self.birth_date
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    def pseudonymised(self, site_salt: bytes) -> Patient:
        """A de-identified stand-in: same across sessions at a site, irreversible without the salt.

        A patient the backend has already pseudonymised (a trainee's worklist) is kept as it is, so the
        banner, the imaging copy and the worklist all show the same pseudonym."""
        if self.patient_id.startswith("ANON-") and self.name.startswith("Patient "):
            return Patient(patient_id=self.patient_id, name=self.name, sex=self.sex, birth_date=None)
        code = self.pseudonym_code
        if not code:
            digest = hmac.new(site_salt, self.patient_id.encode("utf-8"), hashlib.sha256).hexdigest()
            code = digest[:8].upper()
        return Patient(patient_id=f"ANON-{code}", name=f"Patient {code}", sex=self.sex, birth_date=None)

"""Whose study is this? The patients a discovery found, checked against the consult in context. Qt-free.

The imaging panel opens a study in a consult only when its patient is the consult's patient (the
matching itself is :func:`core.consult.identity.same_patient`: Patient ID within its issuer, names and
birth dates compared tolerantly). Files of other patients found with it are left closed. A study of
another patient opens only once a clinician has linked it to the consult's patient, with a reason, and
the backend has recorded that in the audit chain (:class:`StudyLink`); until then it is refused and
both identities are shown. With no consult in context (a folder opened outside any consult) a study
opens as it is, and the panel says that no consult is open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import Enum

from core.consult.identity import same_patient
from core.consult.patient import Patient
from viewers.dicom.discovery import DiscoveryResult
from viewers.dicom.discovery import Patient as StudyPatient

IdentityKey = tuple[str, str, str, str]


def _dicom_date(value: str) -> str:
    """YYYY-MM-DD for a DICOM DA (YYYYMMDD); anything else as it is."""
    digits = value.strip()
    return f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}" if len(digits) == 8 and digits.isdigit() else digits


@dataclass(frozen=True)
class Identity:
    """A patient identity as a person reads it, from the consult or from a study's headers."""

    patient_id: str
    name: str  # readable: DICOM's ^ turned into spaces
    birth_date: str  # YYYY-MM-DD when known
    sex: str
    issuer: str = ""

    @classmethod
    def of_patient(cls, patient: Patient) -> Identity:
        born = patient.birth_date.isoformat() if isinstance(patient.birth_date, date) else ""
        return cls(patient.patient_id, patient.name, born, patient.sex, patient.issuer)

    @classmethod
    def of_study(cls, patient: StudyPatient) -> Identity:
        name = " ".join(str(patient.patient_name).replace("^", " ").split())
        return cls(patient.patient_id, name, _dicom_date(patient.birth_date), patient.sex, patient.issuer)

    def as_json(self) -> dict[str, str]:
        return {
            "patient_id": self.patient_id,
            "name": self.name,
            "birth_date": self.birth_date,
            "sex": self.sex,
            "issuer": self.issuer,
        }


def study_key(patient: StudyPatient) -> IdentityKey:
    """What a link is made to: the study patient's identity as its headers give it."""
    return (patient.patient_id, patient.issuer, str(patient.patient_name), patient.birth_date)


class Status(Enum):
    UNBOUND = "unbound"  # the panel follows no consult context (a standalone viewer)
    NO_CONSULT = "no_consult"  # bound, but no consult is open: opened as it is
    MATCH = "match"  # every study opened is the consult's patient's
    LINKED = "linked"  # at least one opened study is another patient's, linked with a reason
    REFUSED = "refused"  # nothing opened: no study is the consult's patient's


@dataclass(frozen=True)
class Refusal:
    """A patient of the files who is not the consult's: who, and why not (in words a clinician reads)."""

    study: Identity
    reason: str
    key: IdentityKey
    study_uids: tuple[str, ...]


@dataclass
class Verdict:
    status: Status
    result: DiscoveryResult  # what may be opened: only the patients that match (or were linked)
    consult: Identity | None = None
    refused: list[Refusal] = field(default_factory=list)  # patients left closed
    linked: set[IdentityKey] = field(default_factory=set)  # opened by link, not by match

    @property
    def opens(self) -> bool:
        return self.status is not Status.REFUSED and bool(self.result.patients)


def check_study(
    result: DiscoveryResult,
    consult_patient: Patient | None,
    *,
    bound: bool = True,
    linked: set[IdentityKey] | frozenset[IdentityKey] = frozenset(),
) -> Verdict:
    """Which patients of ``result`` may open in the consult of ``consult_patient``."""
    if not bound:
        return Verdict(Status.UNBOUND, result)
    if consult_patient is None:
        return Verdict(Status.NO_CONSULT, result)
    kept: list[StudyPatient] = []
    refused: list[Refusal] = []
    linked_here: set[IdentityKey] = set()
    for patient in result.patients:
        match = same_patient(
            consult_patient, patient.patient_id, str(patient.patient_name), patient.birth_date, patient.issuer
        )
        key = study_key(patient)
        if match.same:
            kept.append(patient)
        elif key in linked:
            kept.append(patient)
            linked_here.add(key)
        else:
            uids = tuple(st.study_instance_uid for st in patient.studies)
            refused.append(Refusal(Identity.of_study(patient), match.reason, key, uids))
    allowed = DiscoveryResult(kept, list(result.rejected), list(result.warnings))
    status = Status.REFUSED if not kept else Status.LINKED if linked_here else Status.MATCH
    return Verdict(status, allowed, Identity.of_patient(consult_patient), refused, linked_here)


@dataclass(frozen=True)
class StudyLink:
    """A clinician's decision to open another patient's study in this consult, and why."""

    consult: Identity
    study: Identity
    study_uids: tuple[str, ...]
    reason: str
    key: IdentityKey

    def body(self) -> dict[str, object]:
        """What ``POST /consults/{id}/study-links`` takes."""
        return {
            "study_instance_uid": self.study_uids[0] if self.study_uids else "",
            "study_patient": self.study.as_json(),
            "reason": self.reason,
        }

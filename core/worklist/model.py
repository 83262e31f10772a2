"""The consultation worklist as the UI shows it: requests, waiting time against target. Qt-free.

The backend decides how much of each patient a reader sees (backend/access.py): the identity for the
consult's participants, a pseudonym for trainees, and for a specialist deciding whether to accept an open
consult only a summary (``"identity": "withheld"``, ``"patient": null``, ``"summary": {"age_band",
"sex"}``). Such an item's patient is a stand-in with no identity (empty name and id, no birth date) and
its ``summary`` says what may be shown."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from core.consult.patient import Patient
from core.observable import Event

URGENCY_ORDER = {"emergency": 0, "urgent": 1, "routine": 2}
STATE_ORDER = {"open": 0, "accepted": 1, "in_session": 2, "answered": 3, "closed": 4}


@dataclass(frozen=True)
class PatientSummary:
    """What a reader the identity is withheld from knows of the patient."""

    age_band: str | None  # "60-69", "90+"; None when the birth date is unknown
    sex: str  # DICOM codes: M, F, O, U


@dataclass(frozen=True)
class ConsultItem:
    id: int
    state: str
    patient: Patient
    question: str
    urgency: str
    specialty: str
    requested_by: str
    accepted_by: str | None
    waiting_seconds: float  # as the server computed it at fetched_at
    target_seconds: float
    outcome: str | None
    study_uid: str | None
    fetched_at: float  # monotonic
    study_source: str = ""  # the archive the study was sent to (a site PACS name)
    # store-and-forward: the specialist's written answer and its key images (study/series/SOP UIDs)
    answer_text: str | None = None
    key_images: tuple[dict[str, str], ...] = ()
    # set when the backend withheld the identity (then `patient` is a stand-in with no identity)
    summary: PatientSummary | None = None
    # usernames of the requester and the accepting specialist
    participants: frozenset[str] = frozenset()
    # the consult report's newest version: "none" | "draft" | "pending" | "final" (None: not told)
    report_status: str | None = None
    report_acknowledged: bool = False

    @property
    def withheld(self) -> bool:
        return self.summary is not None

    @classmethod
    def from_json(cls, data: dict[str, Any], fetched_at: float) -> ConsultItem:
        study = data.get("study") or {}
        accepted = data.get("accepted_by") or {}
        requested = data.get("requested_by") or {}
        answer = data.get("answer") or {}
        patient, summary = _patient_of(data)
        participants = frozenset(
            str(user["username"]) for user in (requested, accepted) if user.get("username")
        )
        return cls(
            id=int(data["id"]),
            state=str(data["state"]),
            patient=patient,
            question=str(data.get("question", "")),
            urgency=str(data.get("urgency", "routine")),
            specialty=str(data.get("specialty", "")),
            requested_by=str(requested.get("display_name") or requested.get("username") or ""),
            accepted_by=(str(accepted.get("display_name") or accepted.get("username")) if accepted else None),
            waiting_seconds=float(data.get("waiting_seconds", 0.0)),
            target_seconds=float(data.get("target_seconds", 900.0)),
            outcome=data.get("outcome"),
            study_uid=study.get("study_instance_uid"),
            fetched_at=fetched_at,
            study_source=str(study.get("source") or ""),
            answer_text=answer.get("text"),
            key_images=tuple({k: str(v) for k, v in ref.items()} for ref in answer.get("key_images", [])),
            summary=summary,
            participants=participants,
            report_status=data.get("report_status"),
            report_acknowledged=bool(data.get("report_acknowledged", False)),
        )

    def waiting_now(self, now: float | None = None) -> float:
        """Waiting keeps counting between refreshes while the request is still open."""
        if self.state != "open":
            return self.waiting_seconds
        now = time.monotonic() if now is None else now
        return self.waiting_seconds + max(0.0, now - self.fetched_at)

    def overdue(self, now: float | None = None) -> bool:
        return self.state == "open" and self.waiting_now(now) > self.target_seconds


def _patient_of(data: dict[str, Any]) -> tuple[Patient, PatientSummary | None]:
    """The item's patient, and the summary when the identity was withheld (the patient is then a
    stand-in that carries none of it)."""
    patient = data.get("patient")
    if data.get("identity") == "withheld" or not patient:
        shown = data.get("summary") or {}
        sex = str(shown.get("sex") or "U")
        band = shown.get("age_band")
        summary = PatientSummary(age_band=str(band) if band else None, sex=sex)
        return Patient(patient_id="", name="", sex=sex, birth_date=None), summary
    birth = patient.get("birth_date")
    return (
        Patient(
            patient_id=str(patient["patient_id"]),
            name=str(patient["name"]),
            sex=str(patient.get("sex") or "U"),
            birth_date=date.fromisoformat(birth) if birth else None,
            pseudonym_code=str(patient["pseudonym_code"]) if patient.get("pseudonym_code") else None,
        ),
        None,
    )


def format_wait(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class WorklistModel:
    def __init__(self) -> None:
        self.changed: Event[[]] = Event()
        self.items: list[ConsultItem] = []
        self.error: str | None = None
        # per consult, whether its study is here (core.worklist.prefetch): (state, fraction done, error)
        self.studies: dict[int, tuple[str, float, str]] = {}

    def replace(self, consults: list[dict[str, Any]], fetched_at: float | None = None) -> None:
        stamp = time.monotonic() if fetched_at is None else fetched_at
        items = [ConsultItem.from_json(c, stamp) for c in consults]
        # Open before the rest; within open, most urgent then longest waiting first.
        items.sort(
            key=lambda c: (STATE_ORDER.get(c.state, 9), URGENCY_ORDER.get(c.urgency, 9), -c.waiting_seconds)
        )
        self.items = items
        self.error = None
        self.changed.emit()

    def fail(self, error: str) -> None:
        self.error = error
        self.changed.emit()

    def set_study(self, consult_id: int, state: str, fraction: float = 0.0, error: str = "") -> None:
        if self.studies.get(consult_id) != (state, fraction, error):
            self.studies[consult_id] = (state, fraction, error)
            self.changed.emit()

    def get(self, consult_id: int) -> ConsultItem | None:
        return next((c for c in self.items if c.id == consult_id), None)

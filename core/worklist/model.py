"""The consultation worklist as the UI shows it: requests, waiting time against target. Qt-free."""

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

    @classmethod
    def from_json(cls, data: dict[str, Any], fetched_at: float) -> ConsultItem:
        patient = data["patient"]
        birth = patient.get("birth_date")
        study = data.get("study") or {}
        accepted = data.get("accepted_by") or {}
        requested = data.get("requested_by") or {}
        answer = data.get("answer") or {}
        return cls(
            id=int(data["id"]),
            state=str(data["state"]),
            patient=Patient(
                patient_id=str(patient["patient_id"]),
                name=str(patient["name"]),
                sex=str(patient.get("sex") or "U"),
                birth_date=date.fromisoformat(birth) if birth else None,
                pseudonym_code=str(patient["pseudonym_code"]) if patient.get("pseudonym_code") else None,
            ),
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
        )

    def waiting_now(self, now: float | None = None) -> float:
        """Waiting keeps counting between refreshes while the request is still open."""
        if self.state != "open":
            return self.waiting_seconds
        now = time.monotonic() if now is None else now
        return self.waiting_seconds + max(0.0, now - self.fetched_at)

    def overdue(self, now: float | None = None) -> bool:
        return self.state == "open" and self.waiting_now(now) > self.target_seconds


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

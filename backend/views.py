"""Rows to response bodies. Trainees see a stable pseudonym instead of the patient's identity, and every
text they read of a consult (question, answer, outcome, notes, chat, annotation ops, vitals labels) passes
through the consult's scrubber (backend/pseudonym.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from backend.audit import record_fields
from backend.models import AuditRecord, Consult, RoomRecord, User
from backend.pseudonym import Scrubber, pseudonym_code, pseudonym_for, scrubber_for
from backend.schemas import (
    AnnotationOut,
    AuditOut,
    ChatOut,
    ConsultOut,
    NoteOut,
    PatientOut,
    StudyOut,
    UserOut,
)


def user_out(user: User) -> UserOut:
    return UserOut.model_validate(
        {
            "id": user.id,
            "username": user.username,
            "display_name": user.display_name,
            "role": user.role,
            "specialties": list(user.specialties or []),
        }
    )


def sees_identity(viewer: User) -> bool:
    """Trainees never receive the patient's identity, whatever the route."""
    return viewer.role != "trainee"


def consult_scrubber(consult: Consult, viewer: User, salt: bytes) -> Scrubber | None:
    """The scrubber for what `viewer` reads of this consult; None when they may see the identity."""
    if sees_identity(viewer):
        return None
    return scrubber_for(consult.patient_id, consult.patient_name, consult.patient_birth_date, salt)


def identified_patient_out(consult: Consult, salt: bytes) -> PatientOut:
    return PatientOut.model_validate(
        {
            "patient_id": consult.patient_id,
            "name": consult.patient_name,
            "sex": consult.patient_sex,
            "birth_date": consult.patient_birth_date,
            "pseudonym_code": pseudonym_code(consult.patient_id, salt),
        }
    )


def _patient_out(consult: Consult, viewer: User, salt: bytes) -> PatientOut:
    if not sees_identity(viewer):
        pseudonym = pseudonym_for(consult.patient_id, salt)
        return PatientOut.model_validate(
            {
                "patient_id": pseudonym.patient_id,
                "name": pseudonym.name,
                "sex": consult.patient_sex,
                "birth_date": None,
            }
        )
    return identified_patient_out(consult, salt)


def _scrubbed(scrub: Scrubber | None, value: str) -> str:
    return scrub.text(value) if scrub else value


def _answer_out(consult: Consult, scrub: Scrubber | None) -> dict[str, object] | None:
    if consult.answer_text is None or consult.answered_at is None:
        return None
    return {
        "text": _scrubbed(scrub, consult.answer_text),
        "key_images": list(consult.answer_key_images or []),
        "answered_by": user_out(consult.accepted_by) if consult.accepted_by else None,
        "answered_at": consult.answered_at,
    }


def consult_out(consult: Consult, viewer: User, target_seconds: float, salt: bytes) -> ConsultOut:
    until = consult.accepted_at or datetime.now(UTC)
    waiting = max(0.0, (until - consult.created_at).total_seconds())
    study = None
    if consult.study_instance_uid and consult.study_source:
        study = StudyOut(study_instance_uid=consult.study_instance_uid, source=consult.study_source)
    scrub = consult_scrubber(consult, viewer, salt)
    return ConsultOut.model_validate(
        {
            "id": consult.id,
            "state": consult.state,
            "patient": _patient_out(consult, viewer, salt),
            "question": _scrubbed(scrub, consult.question),
            "urgency": consult.urgency,
            "specialty": consult.specialty,
            "study": study,
            "requested_by": user_out(consult.requested_by),
            "accepted_by": user_out(consult.accepted_by) if consult.accepted_by else None,
            "created_at": consult.created_at,
            "accepted_at": consult.accepted_at,
            "started_at": consult.started_at,
            "closed_at": consult.closed_at,
            "outcome": _scrubbed(scrub, consult.outcome) if consult.outcome is not None else None,
            "vitals": scrub.value(consult.vitals_snapshot) if scrub else consult.vitals_snapshot,
            "answer": _answer_out(consult, scrub),
            "waiting_seconds": waiting,
            "target_seconds": target_seconds,
            "overdue": waiting > target_seconds,
        }
    )


def record_out(record: RoomRecord, scrub: Scrubber | None = None) -> NoteOut | ChatOut | AnnotationOut:
    """A stored note, chat message or annotation operation; `scrub` (trainees) pseudonymises its text
    and every string inside an annotation's op (text labels, names typed into a marker)."""
    common = {
        "seq": record.id,
        "op_id": record.op_id,
        "consult_id": record.consult_id,
        "author": user_out(record.author),
        "created_at": record.created_at,
        "received_at": record.received_at,
    }
    if record.kind == "annotation":
        op = record.op or {}
        return AnnotationOut.model_validate(
            {**common, "lamport": record.lamport, "op": scrub.value(op) if scrub else op}
        )
    text = _scrubbed(scrub, record.text or "")
    if record.kind == "chat":
        return ChatOut.model_validate({**common, "text": text})
    return NoteOut.model_validate({**common, "text": text})


def audit_out(record: AuditRecord) -> AuditOut:
    try:
        details = json.loads(record.details)
    except ValueError:
        details = {"unparseable": record.details}
    if not isinstance(details, dict):
        details = {"value": details}
    shown = {**record_fields(record), "details": details, "prev_hash": record.prev_hash, "hash": record.hash}
    return AuditOut.model_validate(shown)

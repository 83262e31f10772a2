"""Rows to response bodies. Trainees see a stable pseudonym instead of the patient's identity."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

from backend.audit import record_fields
from backend.models import AuditRecord, Consult, RoomRecord, User
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


def _patient_out(consult: Consult, viewer: User, salt: bytes) -> PatientOut:
    if viewer.role == "trainee":
        code = hmac.new(salt, consult.patient_id.encode("utf-8"), hashlib.sha256).hexdigest()[:8].upper()
        return PatientOut.model_validate(
            {
                "patient_id": f"ANON-{code}",
                "name": f"Patient {code}",
                "sex": consult.patient_sex,
                "birth_date": None,
            }
        )
    return PatientOut.model_validate(
        {
            "patient_id": consult.patient_id,
            "name": consult.patient_name,
            "sex": consult.patient_sex,
            "birth_date": consult.patient_birth_date,
        }
    )


def _answer_out(consult: Consult) -> dict[str, object] | None:
    if consult.answer_text is None or consult.answered_at is None:
        return None
    return {
        "text": consult.answer_text,
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
    return ConsultOut.model_validate(
        {
            "id": consult.id,
            "state": consult.state,
            "patient": _patient_out(consult, viewer, salt),
            "question": consult.question,
            "urgency": consult.urgency,
            "specialty": consult.specialty,
            "study": study,
            "requested_by": user_out(consult.requested_by),
            "accepted_by": user_out(consult.accepted_by) if consult.accepted_by else None,
            "created_at": consult.created_at,
            "accepted_at": consult.accepted_at,
            "started_at": consult.started_at,
            "closed_at": consult.closed_at,
            "outcome": consult.outcome,
            "vitals": consult.vitals_snapshot,
            "answer": _answer_out(consult),
            "waiting_seconds": waiting,
            "target_seconds": target_seconds,
            "overdue": waiting > target_seconds,
        }
    )


def record_out(record: RoomRecord) -> NoteOut | ChatOut | AnnotationOut:
    common = {
        "seq": record.id,
        "op_id": record.op_id,
        "consult_id": record.consult_id,
        "author": user_out(record.author),
        "created_at": record.created_at,
        "received_at": record.received_at,
    }
    if record.kind == "annotation":
        return AnnotationOut.model_validate({**common, "lamport": record.lamport, "op": record.op or {}})
    if record.kind == "chat":
        return ChatOut.model_validate({**common, "text": record.text or ""})
    return NoteOut.model_validate({**common, "text": record.text or ""})


def audit_out(record: AuditRecord) -> AuditOut:
    try:
        details = json.loads(record.details)
    except ValueError:
        details = {"unparseable": record.details}
    if not isinstance(details, dict):
        details = {"value": details}
    shown = {**record_fields(record), "details": details, "prev_hash": record.prev_hash, "hash": record.hash}
    return AuditOut.model_validate(shown)

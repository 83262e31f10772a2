"""Rows to response bodies, as each reader may see them (backend/access.py decides who sees what).

Participants read the consult as written. Trainees see a stable pseudonym instead of the patient's
identity, and every text they read of a consult (question, answer, outcome, notes, chat, annotation ops,
vitals labels) passes through the consult's scrubber (backend/pseudonym.py). Anyone else who may see the
consult (a specialist deciding whether to accept it) reads a summary: ``patient`` null, ``summary`` with
the age band and sex, the question with the identifiers taken out, no vitals, answer or outcome."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import object_session

from backend.access import identity_view
from backend.audit import record_fields
from backend.models import AuditRecord, Consult, Report, RoomRecord, User
from backend.pseudonym import (
    Scrubber,
    age_band,
    pseudonym_code,
    pseudonym_for,
    scrubber_for,
    withholding_scrubber,
)
from backend.schemas import (
    AnnotationOut,
    AuditOut,
    ChatOut,
    ConsultOut,
    IdentityShown,
    NoteOut,
    PatientOut,
    PatientSummaryOut,
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


def consult_scrubber(consult: Consult, viewer: User, salt: bytes) -> Scrubber | None:
    """The scrubber for what `viewer` reads of this consult; None when they may see the identity."""
    shown = identity_view(consult, viewer)
    if shown == "full":
        return None
    if shown == "pseudonym":
        return scrubber_for(consult.patient_id, consult.patient_name, consult.patient_birth_date, salt)
    return withholding_scrubber(consult.patient_id, consult.patient_name, consult.patient_birth_date)


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


def _patient_out(consult: Consult, shown: IdentityShown, salt: bytes) -> PatientOut | None:
    if shown == "withheld":
        return None
    if shown == "pseudonym":
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


def summary_out(consult: Consult) -> PatientSummaryOut:
    today = datetime.now(UTC).date()
    return PatientSummaryOut.model_validate(
        {"age_band": age_band(consult.patient_birth_date, today), "sex": consult.patient_sex}
    )


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


def report_summary(consult: Consult) -> tuple[str, bool]:
    """The consult's report for its body: the latest version's status ("none" without one), and whether
    the requesting doctor acknowledged the latest final version (backend/routes/reports.py)."""
    session = object_session(consult)
    if session is None:
        return "none", False
    latest = session.scalar(
        select(Report.status).where(Report.consult_id == consult.id).order_by(Report.version.desc()).limit(1)
    )
    acknowledged = session.scalar(
        select(Report.acknowledged_at)
        .where(Report.consult_id == consult.id, Report.status == "final")
        .order_by(Report.version.desc())
        .limit(1)
    )
    return latest or "none", acknowledged is not None


def consult_out(consult: Consult, viewer: User, target_seconds: float, salt: bytes) -> ConsultOut:
    until = consult.accepted_at or datetime.now(UTC)
    waiting = max(0.0, (until - consult.created_at).total_seconds())
    study = None
    if consult.study_instance_uid and consult.study_source:
        # Kept in the summary too: a DICOM reference, not the patient's identity, and the accepting
        # workstation shows (and prefetches) the study from it.
        study = StudyOut(study_instance_uid=consult.study_instance_uid, source=consult.study_source)
    shown = identity_view(consult, viewer)
    withheld = shown == "withheld"
    scrub = consult_scrubber(consult, viewer, salt)
    vitals = scrub.value(consult.vitals_snapshot) if scrub else consult.vitals_snapshot
    outcome = _scrubbed(scrub, consult.outcome) if consult.outcome is not None else None
    report_status, report_acknowledged = report_summary(consult)
    return ConsultOut.model_validate(
        {
            "id": consult.id,
            "state": consult.state,
            "identity": shown,
            "patient": _patient_out(consult, shown, salt),
            "summary": summary_out(consult) if withheld else None,
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
            "outcome": None if withheld else outcome,
            "vitals": None if withheld else vitals,
            "answer": None if withheld else _answer_out(consult, scrub),
            "waiting_seconds": waiting,
            "target_seconds": target_seconds,
            "overdue": waiting > target_seconds,
            "report_status": report_status,
            "report_acknowledged": report_acknowledged,
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

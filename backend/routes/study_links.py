"""Study links: a clinician opens another patient's study in a consult, deliberately and on the record.

A workstation opens a study in a consult only when the study's patient is the consult's patient. When
the identities differ (a mistyped ID at the county hospital, a study registered under a temporary
emergency ID) a participant of the consult may link the study to the consult's patient with a reason
typed by hand; the link is written to the audit chain with both identities (the study's as its headers
give it, the consult's from the database) and the reason, in the same transaction that answers. Nothing
else is stored: the audit chain is the record of the decision.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, StringConstraints

from backend import audit
from backend.deps import ConsultId, Participant, StateDep, client_address
from backend.routes.consults import _existing
from backend.routes.teaching import is_participant
from backend.schemas import Input

router = APIRouter(prefix="/consults", tags=["study-links"])

ACTION = "study.link"
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]


class StudyPatientIn(Input):
    """The study's patient as its DICOM headers give it (any field may be empty)."""

    patient_id: Short = ""
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    birth_date: Annotated[str, StringConstraints(strip_whitespace=True, max_length=16)] = ""
    sex: Annotated[str, StringConstraints(strip_whitespace=True, max_length=16)] = ""
    issuer: Short = ""


class StudyLinkIn(Input):
    study_instance_uid: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[0-9.]+$")
    ]
    study_patient: StudyPatientIn
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=2000)]


class StudyLinkOut(BaseModel):
    audit_id: int
    consult_id: int
    study_instance_uid: str
    linked_at: datetime


@router.post(
    "/{consult_id}/study-links",
    response_model=StudyLinkOut,
    status_code=status.HTTP_201_CREATED,
    responses={403: {}, 404: {}, 409: {}, 422: {}},
)
def link_study(
    consult_id: ConsultId, body: StudyLinkIn, user: Participant, request: Request, state: StateDep
) -> StudyLinkOut:
    """Record that ``user`` links the study to the consult's patient, with both identities and why."""
    with state.db.transaction() as session:
        consult = _existing(session, consult_id, user)
        if not is_participant(consult, user):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "only the consult's participants link studies")
        if consult.state == "closed":
            raise HTTPException(status.HTTP_409_CONFLICT, "the consult is closed")
        born = consult.patient_birth_date
        record = audit.by_user(
            session,
            ACTION,
            user,
            client_address(request),
            consult_id=consult_id,
            details={
                "study_instance_uid": body.study_instance_uid,
                "study_patient": body.study_patient.model_dump(),
                "consult_patient": {
                    "patient_id": consult.patient_id,
                    "name": consult.patient_name,
                    "birth_date": born.isoformat() if born is not None else "",
                    "sex": consult.patient_sex,
                },
                "reason": body.reason,
            },
        )
        return StudyLinkOut(
            audit_id=record.id,
            consult_id=consult_id,
            study_instance_uid=body.study_instance_uid,
            linked_at=datetime.fromisoformat(record.ts),
        )

"""The worklist: consult requests and their state machine open -> accepted -> in_session -> closed.

Who may see a consult is `visible_clause`; how much of its patient they see is backend/access.py's rule
(a specialist deciding whether to accept an open consult reads a summary, backend/views.py).

Store-and-forward (backend/routes/store_forward.py) adds accepted | in_session -> answered -> closed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend import audit
from backend.access import identity_view, is_visible, not_found, visible_clause
from backend.db import execute_rowcount
from backend.deps import (
    ClinicalUser,
    ConsultId,
    CountyDoctor,
    Participant,
    Specialist,
    StateDep,
    client_address,
)
from backend.models import Consult, User
from backend.routes.reports import has_final_report
from backend.schemas import CloseIn, ConsultIn, ConsultOut, ConsultState, vitals_json
from backend.state import AppState
from backend.views import consult_out

router = APIRouter(prefix="/consults", tags=["consults"])


def load_visible(session: Session, consult_id: ConsultId, user: User) -> Consult:
    """The consult if `user` may see it; 404 alike when it does not exist and when it is not theirs, so
    the answer does not tell which ids exist."""
    consult = session.get(Consult, consult_id)
    if consult is None or not is_visible(session, consult_id, user):
        raise not_found()
    return consult


def _out(state: AppState, consult: Consult, user: User) -> ConsultOut:
    return consult_out(consult, user, state.settings.target_wait_minutes * 60.0, state.pseudonym_salt())


@router.post("", response_model=ConsultOut, status_code=status.HTTP_201_CREATED)
def create_consult(body: ConsultIn, user: CountyDoctor, request: Request, state: StateDep) -> ConsultOut:
    with state.db.transaction() as session:
        consult = Consult(
            state="open",
            patient_id=body.patient.patient_id,
            patient_name=body.patient.name,
            patient_sex=body.patient.sex,
            patient_birth_date=body.patient.birth_date,
            question=body.question,
            urgency=body.urgency,
            specialty=body.specialty,
            study_instance_uid=body.study.study_instance_uid if body.study else None,
            study_source=body.study.source if body.study else None,
            vitals_snapshot=vitals_json(body.vitals) if body.vitals else None,
            requested_by_id=user.id,
            created_at=datetime.now(UTC),
        )
        session.add(consult)
        session.flush()
        session.refresh(consult)
        audit.by_user(
            session,
            "consult.create",
            user,
            client_address(request),
            consult_id=consult.id,
            details={"specialty": consult.specialty, "urgency": body.urgency}
            | ({"vitals_snapshot": True} if body.vitals else {}),
        )
        return _out(state, consult, user)


@router.get("", response_model=list[ConsultOut])
def list_consults(
    user: ClinicalUser,
    state: StateDep,
    # `state` is the documented query parameter; the Python name avoids the app state's.
    state_filter: Annotated[ConsultState | None, Query(alias="state")] = None,
) -> list[ConsultOut]:
    query = select(Consult).where(visible_clause(user)).order_by(Consult.id)
    if state_filter is not None:
        query = query.where(Consult.state == state_filter)
    with state.db.transaction(readonly=True) as session:
        return [_out(state, c, user) for c in session.scalars(query).unique()]


@router.get("/{consult_id}", response_model=ConsultOut)
def get_consult(consult_id: ConsultId, user: ClinicalUser, request: Request, state: StateDep) -> ConsultOut:
    with state.db.transaction() as session:
        consult = load_visible(session, consult_id, user)
        audit.by_user(
            session,
            "record.access",
            user,
            client_address(request),
            consult_id=consult.id,
            details={"identity": identity_view(consult, user)},
        )
        return _out(state, consult, user)


def _existing(session: Session, consult_id: int, user: User) -> Consult:
    """The consult, if `user` may see it at all; 404 alike for a missing consult and for one that is not
    theirs (a 403 would say that the id exists). What they may do with a visible one is the caller's."""
    consult = session.get(Consult, consult_id)
    if consult is None or not is_visible(session, consult_id, user):
        raise not_found()
    return consult


def _transition(
    session: Session,
    consult: Consult,
    from_states: tuple[str, ...],
    values: dict[str, Any],
    action: str,
    user: User,
    request: Request,
    details: dict[str, Any] | None = None,
) -> None:
    """Conditional UPDATE ... WHERE state IN from_states: atomic on both databases; 409 if it lost.
    The change is audited as ``consult.<action>`` in the same transaction."""
    changed = execute_rowcount(
        session,
        update(Consult).where(Consult.id == consult.id, Consult.state.in_(from_states)).values(**values),
    )
    if changed != 1:
        wanted = " or ".join(from_states)
        raise HTTPException(status.HTTP_409_CONFLICT, f"consult is {consult.state}, not {wanted}")
    session.refresh(consult)
    audit.by_user(
        session, f"consult.{action}", user, client_address(request), consult_id=consult.id, details=details
    )


@router.post("/{consult_id}/accept", response_model=ConsultOut, responses={409: {}})
def accept_consult(consult_id: ConsultId, user: Specialist, request: Request, state: StateDep) -> ConsultOut:
    with state.db.transaction() as session:
        consult = session.get(Consult, consult_id)
        # A consult of the specialist's specialty was on their worklist while open: a lost race is a
        # 409. Any other consult is not theirs to know of: 404, as for one that does not exist.
        if consult is None or consult.specialty not in (user.specialties or []):
            raise not_found()
        _transition(
            session,
            consult,
            ("open",),
            {"state": "accepted", "accepted_by_id": user.id, "accepted_at": datetime.now(UTC)},
            "accept",
            user,
            request,
        )
        return _out(state, consult, user)


@router.post("/{consult_id}/start", response_model=ConsultOut, responses={409: {}})
def start_consult(consult_id: ConsultId, user: Participant, request: Request, state: StateDep) -> ConsultOut:
    with state.db.transaction() as session:
        consult = _existing(session, consult_id, user)
        if user.id not in (consult.accepted_by_id, consult.requested_by_id):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "not a member of this consult")
        values = {"state": "in_session", "started_at": datetime.now(UTC)}
        _transition(session, consult, ("accepted",), values, "start", user, request)
        return _out(state, consult, user)


@router.post("/{consult_id}/close", response_model=ConsultOut, responses={409: {}})
def close_consult(
    consult_id: ConsultId, body: CloseIn, user: Specialist, request: Request, state: StateDep
) -> ConsultOut:
    with state.db.transaction() as session:
        consult = _existing(session, consult_id, user)
        if consult.accepted_by_id != user.id:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "only the accepting specialist closes a consult")
        # A consult closes with its final report, or with a reason for closing without one (audited).
        final = has_final_report(session, consult.id)
        reason = (body.no_report_reason or "").strip()
        if not final and not reason:
            raise HTTPException(
                status.HTTP_409_CONFLICT, "a final report or a reason for closing without one is needed"
            )
        recording_since = consult.recording_since
        now = datetime.now(UTC)
        _transition(
            session,
            consult,
            ("accepted", "in_session", "answered"),
            {"state": "closed", "closed_at": now, "outcome": body.outcome, "recording_since": None},
            "close",
            user,
            request,
            details={"final_report": True} if final else {"final_report": False, "no_report_reason": reason},
        )
        if recording_since is not None:  # closing ends the session and its recording
            audit.by_user(
                session,
                "recording.stopped",
                user,
                client_address(request),
                consult_id=consult.id,
                details={"since": recording_since.isoformat(), "reason": "closed"},
            )
        return _out(state, consult, user)

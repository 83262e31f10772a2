"""The worklist: consult requests and their state machine open -> accepted -> in_session -> closed.

Who may see a consult is `visible_clause`; how much of its patient they see is backend/access.py's rule
(a specialist deciding whether to accept an open consult reads a summary, backend/views.py).

Store-and-forward (backend/routes/store_forward.py) adds accepted | in_session -> answered -> closed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from sqlalchemy import ColumnElement, and_, false, or_, select, update
from sqlalchemy.orm import Session

from backend import audit
from backend.access import identity_view
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
from backend.schemas import CloseIn, ConsultIn, ConsultOut, ConsultState, vitals_json
from backend.state import AppState
from backend.views import consult_out

router = APIRouter(prefix="/consults", tags=["consults"])


def visible_clause(user: User) -> ColumnElement[bool]:
    """Which consults `user` may see (the worklist rules; it_admin sees no clinical data)."""
    specialties = list(user.specialties or [])
    if user.role == "specialist":
        return or_(
            and_(Consult.state == "open", Consult.specialty.in_(specialties)),
            Consult.accepted_by_id == user.id,
        )
    if user.role == "county_doctor":
        return Consult.requested_by_id == user.id
    if user.role == "trainee":
        return and_(Consult.state.in_(("in_session", "closed")), Consult.specialty.in_(specialties))
    return false()


def is_visible(session: Session, consult_id: int, user: User) -> bool:
    """Whether `user` may see the consult at all (the worklist rules)."""
    found = session.scalar(select(Consult.id).where(Consult.id == consult_id, visible_clause(user)))
    return found is not None


def load_visible(session: Session, consult_id: ConsultId, user: User) -> Consult:
    """The consult if `user` may see it: 404 when it does not exist, 403 when it is not theirs."""
    consult = _existing(session, consult_id)
    if not is_visible(session, consult_id, user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "not your consult")
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


def _existing(session: Session, consult_id: int) -> Consult:
    consult = session.get(Consult, consult_id)
    if consult is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such consult")
    return consult


def _transition(
    session: Session,
    consult: Consult,
    from_states: tuple[str, ...],
    values: dict[str, Any],
    action: str,
    user: User,
    request: Request,
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
    audit.by_user(session, f"consult.{action}", user, client_address(request), consult_id=consult.id)


@router.post("/{consult_id}/accept", response_model=ConsultOut, responses={409: {}})
def accept_consult(consult_id: ConsultId, user: Specialist, request: Request, state: StateDep) -> ConsultOut:
    with state.db.transaction() as session:
        consult = _existing(session, consult_id)
        if consult.specialty not in (user.specialties or []):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"not a {consult.specialty} specialist")
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
        consult = _existing(session, consult_id)
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
        consult = _existing(session, consult_id)
        if consult.accepted_by_id != user.id:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "only the accepting specialist closes a consult")
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

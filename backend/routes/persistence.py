"""Notes, chat and annotation operations: idempotent on the client's op_id (an outbox may resend).

Only the consult's participants read them as written and trainees pseudonymised; anyone else is refused
and the refusal audited (backend/access.py)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend import audit
from backend.access import identity_refused, is_participant, is_visible, not_found
from backend.audit import canonical_json
from backend.deps import ClinicalUser, ConsultId, Participant, StateDep, client_address
from backend.models import Consult, RoomRecord, User
from backend.routes.consults import _existing
from backend.schemas import AnnotationIn, AnnotationOut, ChatIn, ChatOut, NoteIn, NoteOut
from backend.state import AppState
from backend.views import consult_scrubber, record_out

router = APIRouter(prefix="/consults/{consult_id}", tags=["persistence"])
ROUTES = {"note": "notes", "chat": "chat", "annotation": "annotations"}  # what a refusal's audit names


def _find(session: Session, consult_id: ConsultId, kind: str, op_id: str) -> RoomRecord | None:
    return session.scalar(
        select(RoomRecord).where(
            RoomRecord.consult_id == consult_id, RoomRecord.kind == kind, RoomRecord.op_id == op_id
        )
    )


def _store(
    state: AppState,
    request: Request,
    response: Response,
    user: User,
    consult_id: ConsultId,
    kind: str,
    op_id: str,
    fields: dict[str, Any],
) -> RoomRecord:
    """Insert once; a resend of the same op_id returns the stored record with 200 instead of 201."""
    try:
        with state.db.transaction() as session:
            consult = _existing(session, consult_id, user)
            if user.id not in (consult.requested_by_id, consult.accepted_by_id):
                raise HTTPException(status.HTTP_403_FORBIDDEN, "only room members write to a consult")
            existing = _find(session, consult_id, kind, op_id)
            if existing is not None:
                response.status_code = status.HTTP_200_OK
                return existing
            now = datetime.now(UTC)
            record = RoomRecord(
                consult_id=consult_id,
                kind=kind,
                op_id=op_id,
                author_id=user.id,
                received_at=now,
                **{"created_at": now, **fields},
            )
            session.add(record)
            session.flush()
            session.refresh(record)
            content = canonical_json(fields.get("op") or fields.get("text"))
            digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
            audit.by_user(
                session,
                f"{kind}.add",
                user,
                client_address(request),
                consult_id=consult_id,
                details={
                    "op_id": op_id,
                    "seq": record.id,
                    "sha256": digest,
                    "lamport": fields.get("lamport"),
                },
            )
            response.status_code = status.HTTP_201_CREATED
            return record
    except IntegrityError:
        # The same op_id arrived twice at once (PostgreSQL): the other request stored it.
        with state.db.transaction(readonly=True) as session:
            existing = _find(session, consult_id, kind, op_id)
        if existing is None:
            raise
        response.status_code = status.HTTP_200_OK
        return existing


def _list(state: AppState, request: Request, user: User, consult_id: ConsultId, kind: str) -> list[Any]:
    """The consult's records of one kind as `user` may read them: as written for the participants,
    pseudonymised for trainees who may see the consult; anyone else is refused (audited
    ``identity.refused``): notes, chat and annotation labels carry the identity."""
    with state.db.transaction(readonly=True) as session:
        consult = session.get(Consult, consult_id)
        if consult is None:
            raise not_found()
        visible = is_visible(session, consult_id, user)
        if visible and (user.role == "trainee" or is_participant(consult, user)):
            scrub = consult_scrubber(consult, user, state.pseudonym_salt())
            records = session.scalars(
                select(RoomRecord)
                .where(RoomRecord.consult_id == consult_id, RoomRecord.kind == kind)
                .order_by(RoomRecord.id)
            ).unique()
            return [record_out(r, scrub) for r in records]
    asked = {"route": ROUTES[kind]}
    raise identity_refused(state, user, consult_id, asked, client_address(request), visible=visible)


@router.post("/notes", response_model=NoteOut, status_code=status.HTTP_201_CREATED)
def add_note(
    consult_id: ConsultId,
    body: NoteIn,
    user: Participant,
    request: Request,
    response: Response,
    state: StateDep,
) -> Any:
    fields: dict[str, Any] = {"text": body.text}
    if body.created_at is not None:
        fields["created_at"] = body.created_at
    return record_out(_store(state, request, response, user, consult_id, "note", str(body.op_id), fields))


@router.get("/notes", response_model=list[NoteOut], responses={403: {}, 404: {}})
def list_notes(consult_id: ConsultId, user: ClinicalUser, request: Request, state: StateDep) -> Any:
    return _list(state, request, user, consult_id, "note")


@router.post("/chat", response_model=ChatOut, status_code=status.HTTP_201_CREATED)
def add_chat(
    consult_id: ConsultId,
    body: ChatIn,
    user: Participant,
    request: Request,
    response: Response,
    state: StateDep,
) -> Any:
    fields = {"text": body.text}
    return record_out(_store(state, request, response, user, consult_id, "chat", str(body.op_id), fields))


@router.get("/chat", response_model=list[ChatOut], responses={403: {}, 404: {}})
def list_chat(consult_id: ConsultId, user: ClinicalUser, request: Request, state: StateDep) -> Any:
    return _list(state, request, user, consult_id, "chat")


@router.post("/annotations", response_model=AnnotationOut, status_code=status.HTTP_201_CREATED)
def add_annotation(
    consult_id: ConsultId,
    body: AnnotationIn,
    user: Participant,
    request: Request,
    response: Response,
    state: StateDep,
) -> Any:
    fields = {"lamport": body.lamport, "op": body.op}
    record = _store(state, request, response, user, consult_id, "annotation", str(body.op_id), fields)
    return record_out(record)


@router.get("/annotations", response_model=list[AnnotationOut], responses={403: {}, 404: {}})
def list_annotations(consult_id: ConsultId, user: ClinicalUser, request: Request, state: StateDep) -> Any:
    return _list(state, request, user, consult_id, "annotation")

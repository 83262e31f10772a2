"""Teaching: the patient's identity for the consult's participants only, and the instructor's recording.

Who reads what of a consult is backend/access.py's rule. The identity itself is one route,
``GET /consults/{id}/identity``: the requesting county doctor and the accepting specialist get it
(audited ``identity.access``); anyone else gets 403 and an ``identity.refused`` record. The refusal is
committed in its own transaction before the 403 goes out, so it survives the error.

The accepting specialist is the instructor: only they switch recording on and off (audited
``recording.started`` / ``recording.stopped``); every member who may see the consult reads the state, so
each site shows the recording indicator. The state lives in the database (``consults.recording_since``),
not in a process: backends behind a load balancer agree on it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from sqlalchemy import update

from backend import audit
from backend.access import identity_refused, is_participant, is_visible, not_found
from backend.db import execute_rowcount
from backend.deps import AnyUser, ClinicalUser, ConsultId, Specialist, StateDep, client_address
from backend.models import Consult
from backend.routes.consults import _existing, load_visible
from backend.schemas import PatientOut, RecordingIn, RecordingOut
from backend.views import identified_patient_out

log = logging.getLogger(__name__)
router = APIRouter(prefix="/consults", tags=["teaching"])

RECORDING_STATES = ("accepted", "in_session")


@router.get("/{consult_id}/identity", response_model=PatientOut, responses={403: {}, 404: {}})
def patient_identity(consult_id: ConsultId, user: AnyUser, request: Request, state: StateDep) -> PatientOut:
    client = client_address(request)
    with state.db.transaction() as session:
        consult = session.get(Consult, consult_id)
        if consult is None:
            raise not_found()
        visible = is_visible(session, consult_id, user)
        if visible and is_participant(consult, user):
            audit.by_user(session, "identity.access", user, client, consult_id=consult_id)
            return identified_patient_out(consult, state.pseudonym_salt())
    raise identity_refused(state, user, consult_id, {"route": "identity"}, client, visible=visible)


def _recording_out(consult: Consult) -> RecordingOut:
    return RecordingOut(on=consult.recording_since is not None, since=consult.recording_since)


@router.get("/{consult_id}/recording", response_model=RecordingOut, responses={403: {}, 404: {}})
def get_recording(consult_id: ConsultId, user: ClinicalUser, state: StateDep) -> RecordingOut:
    with state.db.transaction(readonly=True) as session:
        return _recording_out(load_visible(session, consult_id, user))


@router.post("/{consult_id}/recording", response_model=RecordingOut, responses={403: {}, 404: {}, 409: {}})
def set_recording(
    consult_id: ConsultId, body: RecordingIn, user: Specialist, request: Request, state: StateDep
) -> RecordingOut:
    """Switch recording on or off; asking for the state it is already in changes (and audits) nothing."""
    with state.db.transaction() as session:
        consult = _existing(session, consult_id, user)
        if consult.accepted_by_id != user.id:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "only the instructor (the accepting specialist)")
        now = datetime.now(UTC)
        if body.on:
            # Conditional UPDATE: two concurrent starts audit once, and a closed consult never records.
            statement = (
                update(Consult)
                .where(
                    Consult.id == consult_id,
                    Consult.recording_since.is_(None),
                    Consult.state.in_(RECORDING_STATES),
                )
                .values(recording_since=now)
            )
        else:
            statement = (
                update(Consult)
                .where(Consult.id == consult_id, Consult.recording_since.is_not(None))
                .values(recording_since=None)
            )
        since = consult.recording_since
        changed = execute_rowcount(session, statement)
        session.refresh(consult)
        if changed != 1:
            if body.on and consult.recording_since is None:
                raise HTTPException(status.HTTP_409_CONFLICT, f"consult is {consult.state}, not live")
            return _recording_out(consult)
        details: dict[str, Any] = {}
        if not body.on and since is not None:
            details = {"since": since.isoformat(), "seconds": round((now - since).total_seconds(), 3)}
        audit.by_user(
            session,
            "recording.started" if body.on else "recording.stopped",
            user,
            client_address(request),
            consult_id=consult_id,
            details=details,
        )
        return _recording_out(consult)

"""Who sees the patient's identity: the server decides, per consult and per reader.

The identity (name, patient id, birth date) and what may carry it (notes, chat, annotation labels,
photos, the vitals snapshot, the written answer and outcome) go to the consult's **participants**: the
requesting county doctor and the accepting specialist (MDT members invited later join here, in
`is_participant`). IT reads the audit log, which names consults, never patients. Everyone else gets less:

* a trainee of the specialty watching a live or closed consult reads it **pseudonymised**
  (backend/views.py, backend/pseudonym.py), exactly as a class shows it;
* a specialist deciding whether to accept an open consult of their specialty reads a **summary**
  (age band, sex, urgency, specialty, state, waiting time, the question with the identifiers taken out):
  the identity is **withheld**;
* a route that would carry only identifying data (``/identity``, ``/notes``, ``/chat``,
  ``/annotations``, ``/photos``) refuses anyone but the participants (trainees keep their pseudonymised
  notes, chat and annotations) with 403, audited as ``identity.refused``.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from fastapi import HTTPException, status
from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session

from backend import audit
from backend.models import Consult, User
from backend.schemas import IdentityShown
from backend.state import AppState

log = logging.getLogger(__name__)

REFUSED_DETAIL = "the patient's identity is not shown to you"
# One answer for "no such consult" and "not yours", so an id tells nobody whether the consult exists.
NOT_FOUND_DETAIL = "no such consult"

RoomPlace = Literal["participant", "viewer"]


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


def not_found() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND_DETAIL)


def room_place(session: Session, consult: Consult, user: User) -> RoomPlace | None:
    """Where `user` sits in the consult's signalling room, or None when not admitted. The room follows
    the REST rules exactly: only a reader of GET /consults/{id} may join, the room of a closed consult
    is shut, the participants join as members and a trainee (who reads it pseudonymised) as a viewer;
    a specialist reading an open consult's summary does not join."""
    if consult.state == "closed" or not is_visible(session, consult.id, user):
        return None
    if is_participant(consult, user):
        return "participant"
    if user.role == "trainee":
        return "viewer"
    return None


def is_participant(consult: Consult, user: User) -> bool:
    """The requesting county doctor and the accepting specialist: the readers of the identity."""
    return user.role != "trainee" and user.id in (consult.requested_by_id, consult.accepted_by_id)


def identity_view(consult: Consult, viewer: User) -> IdentityShown:
    """How `viewer` reads this consult's patient: ``full``, ``pseudonym`` (trainees) or ``withheld``."""
    if is_participant(consult, viewer):
        return "full"
    if viewer.role == "trainee":
        return "pseudonym"
    return "withheld"


def identity_refused(
    state: AppState, user: User, consult_id: int, asked: dict[str, Any], client: str, *, visible: bool = True
) -> HTTPException:
    """Audit a refused request for identifying data (committed now, in its own transaction, so the record
    survives the error) and return the error to raise: 403 for a consult `user` may see otherwise, 404
    for one that is not theirs at all (the answer for a missing one). Nothing identifying is recorded."""
    with state.db.transaction() as session:
        audit.by_user(
            session,
            "identity.refused",
            user,
            client,
            consult_id=consult_id,
            details={"asked": asked, "role": user.role},
        )
    log.info("identity refused: %s (%s) asked %s of consult %s", user.username, user.role, asked, consult_id)
    return HTTPException(status.HTTP_403_FORBIDDEN, REFUSED_DETAIL) if visible else not_found()

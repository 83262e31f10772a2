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
from typing import Any

from fastapi import HTTPException, status

from backend import audit
from backend.models import Consult, User
from backend.schemas import IdentityShown
from backend.state import AppState

log = logging.getLogger(__name__)

REFUSED_DETAIL = "the patient's identity is not shown to you"


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
    state: AppState, user: User, consult_id: int, asked: dict[str, Any], client: str
) -> HTTPException:
    """Audit a refused request for identifying data (committed now, in its own transaction, so the record
    survives the error) and return the 403 to raise. Nothing identifying goes into the record."""
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
    return HTTPException(status.HTTP_403_FORBIDDEN, REFUSED_DETAIL)

"""WebSocket /api/v1/rooms/{consult_id}/signal?token=ACCESS_TOKEN: admission, then the relay loop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, HTTPException, WebSocket
from starlette.concurrency import run_in_threadpool

from backend import audit
from backend.deps import MAX_ID, user_from_token
from backend.models import Consult
from backend.signalling import CLOSE_BAD_TOKEN, CLOSE_FORBIDDEN, Member, new_member_id
from backend.state import AppState
from backend.views import consult_scrubber

router = APIRouter(tags=["signalling"])


@dataclass(frozen=True)
class Admission:
    user_id: int
    username: str
    role: str
    viewer: bool
    scrub: Callable[[Any], Any] | None = None


class RefusedError(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


def _admit(state: AppState, consult_id: int, token: str | None, client: str) -> Admission:
    """Who may join: the requesting county doctor, the accepting specialist, trainees of the specialty."""
    if not token:
        raise RefusedError(CLOSE_BAD_TOKEN, "missing token")
    if not 0 < consult_id <= MAX_ID:
        raise RefusedError(CLOSE_FORBIDDEN, "no open room for this consult")
    with state.db.transaction() as session:
        try:
            user = user_from_token(state, session, token)
        except HTTPException as exc:
            raise RefusedError(CLOSE_BAD_TOKEN, str(exc.detail)) from exc
        consult = session.get(Consult, consult_id)
        viewer = False
        if consult is None or consult.state == "closed":
            raise RefusedError(CLOSE_FORBIDDEN, "no open room for this consult")
        if user.id in (consult.requested_by_id, consult.accepted_by_id):
            viewer = False
        elif user.role == "trainee" and consult.specialty in (user.specialties or []):
            viewer = True
        else:
            raise RefusedError(CLOSE_FORBIDDEN, "not admitted to this room")
        audit.by_user(session, "room.join", user, client, consult_id=consult_id, details={"viewer": viewer})
        scrubber = consult_scrubber(consult, user, state.pseudonym_salt())
        return Admission(user.id, user.username, user.role, viewer, scrubber.value if scrubber else None)


def _left(state: AppState, consult_id: int, admission: Admission, client: str) -> None:
    with state.db.transaction() as session:
        audit.append(
            session,
            "room.leave",
            actor_id=admission.user_id,
            actor=admission.username,
            consult_id=consult_id,
            client=client,
        )


@router.websocket("/rooms/{consult_id}/signal")
async def signal(websocket: WebSocket, consult_id: int, token: str | None = None) -> None:
    state: AppState = websocket.app.state.backend
    client = websocket.client.host if websocket.client else "unknown"
    # Accept first, then close with an application code: a close before accept becomes a bare
    # HTTP 403 and the client never learns why.
    await websocket.accept()
    try:
        admission = await run_in_threadpool(_admit, state, consult_id, token, client)
    except RefusedError as refused:
        await websocket.close(code=refused.code, reason=refused.reason)
        return
    member = Member(
        new_member_id(),
        admission.user_id,
        admission.username,
        admission.role,
        admission.viewer,
        websocket,
        scrub=admission.scrub,
    )
    rooms = state.rooms
    await rooms.join(consult_id, member)
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            await rooms.handle(
                consult_id,
                member,
                message.get("text")
                if "text" in message and message["text"] is not None
                else message.get("bytes"),
                state.settings.max_signal_message_bytes,
            )
    finally:
        await rooms.leave(consult_id, member)
        await run_in_threadpool(_left, state, consult_id, admission, client)

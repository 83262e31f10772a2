"""WebSocket /api/v1/rooms/{consult_id}/signal: authentication (first message), admission, the relay loop.

The access token comes in the first message, ``{"type": "auth", "token": "..."}``, within
AUTH_TIMEOUT_SECONDS, never in the URL (URLs end up in proxies' and servers' logs). The ``token`` query
parameter of older clients is still read, but deprecated; the access log never records query strings.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, HTTPException, WebSocket
from starlette.concurrency import run_in_threadpool

from backend import audit
from backend.access import room_place
from backend.deps import MAX_ID, user_from_token
from backend.models import Consult
from backend.signalling import CLOSE_BAD_TOKEN, CLOSE_FORBIDDEN, PROTOCOL_VERSION, Member, new_member_id
from backend.state import AppState
from backend.views import consult_scrubber

log = logging.getLogger(__name__)
router = APIRouter(tags=["signalling"])
AUTH_TIMEOUT_SECONDS = 5.0
MAX_AUTH_MESSAGE_BYTES = 8 * 1024


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
        # The room follows REST's visibility exactly (backend/access.py), and one refusal for "no such
        # consult" and "not yours", so the room does not reveal which consult ids exist either.
        place = room_place(session, consult, user) if consult is not None else None
        if consult is None or place is None:
            raise RefusedError(CLOSE_FORBIDDEN, "no open room for this consult")
        viewer = place == "viewer"
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


def _token_of(message: Mapping[str, Any]) -> str | None:
    raw = message.get("text")
    if raw is None:
        raw = message.get("bytes")
    if raw is None or len(raw) > MAX_AUTH_MESSAGE_BYTES:
        return None
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(body, dict) or body.get("type") != "auth":
        return None
    token = body.get("token")
    return token if isinstance(token, str) and token else None


async def _first_message_token(websocket: WebSocket) -> str | None:
    try:
        message = await asyncio.wait_for(websocket.receive(), AUTH_TIMEOUT_SECONDS)
    except TimeoutError:
        return None
    if message["type"] != "websocket.receive":
        return None
    return _token_of(message)


@router.websocket("/rooms/{consult_id}/signal")
async def signal(websocket: WebSocket, consult_id: int, token: str | None = None) -> None:
    state: AppState = websocket.app.state.backend
    client = websocket.client.host if websocket.client else "unknown"
    # Accept first, then close with an application code: a close before accept becomes a bare
    # HTTP 403 and the client never learns why.
    await websocket.accept()
    if not token:
        token = await _first_message_token(websocket)
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
            raw = message.get("text") if message.get("text") is not None else message.get("bytes")
            try:
                await rooms.handle(consult_id, member, raw, state.settings.max_signal_message_bytes)
            except RecursionError:
                # JSON nested deeper than the parser's recursion limit: an error reply, no traceback.
                log.info(
                    "signalling: message nested too deeply from %s in room %s", admission.username, consult_id
                )
                await member.send(
                    {"v": PROTOCOL_VERSION, "type": "error", "message": "message nested too deeply"}
                )
    finally:
        await rooms.leave(consult_id, member)
        await run_in_threadpool(_left, state, consult_id, admission, client)

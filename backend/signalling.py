"""WebSocket signalling rooms, one per consult, kept in memory in this process.

Past one machine the rooms fan out through Redis pub/sub (DESIGN.md, Scale): the relay below is the
only place that would publish instead of sending directly. Everything runs on the server's event loop,
so the room dictionaries need no lock; each socket has its own send lock.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.websockets import WebSocket

from backend.schemas import SignalIn

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
CLOSE_BAD_TOKEN = 4401
CLOSE_FORBIDDEN = 4403


@dataclass(eq=False)
class Member:
    member_id: str
    user_id: int
    username: str
    role: str
    viewer: bool
    websocket: WebSocket
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Viewers (trainees) get what other members send pseudonymised (backend/pseudonym.py).
    scrub: Callable[[Any], Any] | None = None

    def info(self) -> dict[str, Any]:
        return {
            "member_id": self.member_id,
            "user_id": self.user_id,
            "username": self.username,
            "role": self.role,
            "viewer": self.viewer,
        }

    async def send(self, message: dict[str, Any]) -> bool:
        try:
            async with self.send_lock:
                await self.websocket.send_text(json.dumps(message, separators=(",", ":")))
            return True
        except Exception:  # the peer went away; its own loop notices and leaves
            log.debug("send to %s failed", self.member_id, exc_info=True)
            return False


def new_member_id() -> str:
    return secrets.token_hex(8)


class Rooms:
    def __init__(self) -> None:
        self._rooms: dict[int, dict[str, Member]] = {}

    def members(self, consult_id: int) -> list[Member]:
        return list(self._rooms.get(consult_id, {}).values())

    async def join(self, consult_id: int, member: Member) -> None:
        room = self._rooms.setdefault(consult_id, {})
        room[member.member_id] = member
        await member.send(
            {
                "v": PROTOCOL_VERSION,
                "type": "welcome",
                "member_id": member.member_id,
                "members": [m.info() for m in room.values()],
            }
        )
        await self._broadcast(consult_id, member, {"event": "join"})

    async def leave(self, consult_id: int, member: Member) -> None:
        room = self._rooms.get(consult_id)
        if room is None or room.pop(member.member_id, None) is None:
            return
        if not room:
            del self._rooms[consult_id]
        await self._broadcast(consult_id, member, {"event": "leave"})

    async def _broadcast(self, consult_id: int, member: Member, event: dict[str, Any]) -> None:
        message = {"v": PROTOCOL_VERSION, "type": "presence", **event, "member": member.info()}
        await asyncio.gather(*(m.send(message) for m in self.members(consult_id) if m is not member))

    async def handle(self, consult_id: int, sender: Member, raw: str | bytes | None, max_bytes: int) -> None:
        """Validate one client message and relay it; a bad one gets an error reply, nothing more."""
        error = await self._relay(consult_id, sender, raw, max_bytes)
        if error is not None:
            log.info("signalling: bad message from %s in room %s: %s", sender.username, consult_id, error)
            await sender.send({"v": PROTOCOL_VERSION, "type": "error", "message": error})

    async def _relay(
        self, consult_id: int, sender: Member, raw: str | bytes | None, max_bytes: int
    ) -> str | None:
        if not isinstance(raw, str):
            return "binary frames are not accepted; send JSON text"
        if len(raw) > max_bytes:
            return f"message larger than {max_bytes} bytes"
        try:
            data = json.loads(raw)
        except ValueError:
            return "message is not valid JSON"
        try:
            message = SignalIn.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'message'}: {err['msg']}" for err in exc.errors()
            )
            return f"invalid message: {problems}"
        out = {
            "v": PROTOCOL_VERSION,
            "type": message.type,
            "from": sender.member_id,
            "to": message.to,
            "payload": message.payload,
        }
        room = self._rooms.get(consult_id, {})
        if message.to is not None:
            target = room.get(message.to)
            if target is None or target is sender:
                return f"no other member {message.to!r} in this room"
            if sender.viewer and target.viewer:
                return "a viewer may only send to a non-viewer member (the instructor)"
            await target.send(_for(target, out))
            return None
        if sender.viewer:
            return "a viewer may not broadcast; address the instructor with 'to'"
        await asyncio.gather(*(m.send(_for(m, out)) for m in room.values() if m is not sender))
        return None


# Session descriptions and ICE candidates carry no patient data, and rewriting them would break them.
_NEGOTIATION = ("offer", "answer", "candidate")


def _for(member: Member, out: dict[str, Any]) -> dict[str, Any]:
    """The message as `member` may receive it: pseudonymised payloads for viewers."""
    if member.scrub is None or out["type"] in _NEGOTIATION:
        return out
    return {**out, "payload": member.scrub(out["payload"])}

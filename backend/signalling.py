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
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.websockets import WebSocket

from backend.ratelog import RateLimitedLog
from backend.schemas import SignalIn

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
CLOSE_BAD_TOKEN = 4401
CLOSE_FORBIDDEN = 4403
# A message nested deeper than MAX_DEPTH (the parser would recurse until RecursionError) closes the socket.
CLOSE_POLICY = 1008
# A member that does not read what the room sends it (its queue is full) is dropped: the others keep going.
CLOSE_TOO_SLOW = 4408
MAX_DEPTH = 32
# What may wait for one member: a few seconds of normal negotiation and chat, or 16 full-size messages.
SEND_QUEUE_MESSAGES = 256
SEND_QUEUE_BYTES = 4 * 1024 * 1024
CLOSE_WAIT_SECONDS = 10.0


@dataclass(eq=False)
class Member:
    """One socket in a room. What the room sends it goes through a bounded queue that its own writer
    task drains, so a member that stops reading holds up nobody but itself; when its queue overflows it
    is closed with CLOSE_TOO_SLOW (`on_drop`, set by the room, takes it out of the room at once)."""

    member_id: str
    user_id: int
    username: str
    role: str
    viewer: bool
    websocket: WebSocket
    # Viewers (trainees) get what other members send pseudonymised (backend/pseudonym.py).
    scrub: Callable[[Any], Any] | None = None
    max_queue_messages: int = SEND_QUEUE_MESSAGES
    max_queue_bytes: int = SEND_QUEUE_BYTES
    on_drop: Callable[[], Awaitable[None]] | None = None
    _queue: deque[str] = field(default_factory=deque, init=False, repr=False)
    _queued_bytes: int = field(default=0, init=False, repr=False)
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    _writer: asyncio.Task[None] | None = field(default=None, init=False, repr=False)
    _closing: asyncio.Task[None] | None = field(default=None, init=False, repr=False)
    closed: bool = field(default=False, init=False)

    def info(self) -> dict[str, Any]:
        return {
            "member_id": self.member_id,
            "user_id": self.user_id,
            "username": self.username,
            "role": self.role,
            "viewer": self.viewer,
        }

    async def send(self, message: dict[str, Any]) -> bool:
        """Queue `message` for this member; never waits for the socket. False if it was not queued."""
        if self.closed:
            return False
        text = json.dumps(message, separators=(",", ":"))
        full = len(self._queue) >= self.max_queue_messages
        if full or self._queued_bytes + len(text) > self.max_queue_bytes:
            log.warning("signalling: %s (%s) is not reading; dropping it", self.member_id, self.username)
            self.close(CLOSE_TOO_SLOW, "not reading fast enough")
            return False
        self._queue.append(text)
        self._queued_bytes += len(text)
        self._wake.set()
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name=f"signal-writer-{self.member_id}")
        return True

    async def _write(self) -> None:
        while not self.closed:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            text = self._queue[0]
            try:
                await self.websocket.send_text(text)
            except Exception:  # the peer went away; its own loop notices and leaves
                log.debug("send to %s failed", self.member_id, exc_info=True)
                self.closed = True
                return
            self._queue.popleft()
            self._queued_bytes -= len(text)

    def close(self, code: int, reason: str) -> None:
        """Stop sending to this member and close its socket with `code` (in the background: a socket
        that is not read cannot take even a close frame until its reader wakes up)."""
        if self._closing is not None:
            return
        self.closed = True
        self._queue.clear()
        self._queued_bytes = 0
        if self._writer is not None and self._writer is not asyncio.current_task():
            self._writer.cancel()
        self._closing = asyncio.create_task(self._close(code, reason), name=f"signal-close-{self.member_id}")

    async def _close(self, code: int, reason: str) -> None:
        if self.on_drop is not None:
            await self.on_drop()
        try:
            await asyncio.wait_for(self.websocket.close(code=code, reason=reason), CLOSE_WAIT_SECONDS)
        except Exception:
            log.debug("close of %s failed", self.member_id, exc_info=True)

    def stop(self) -> None:
        """The connection is over: stop the writer."""
        self.closed = True
        if self._writer is not None and self._writer is not asyncio.current_task():
            self._writer.cancel()


def json_depth(value: Any, limit: int) -> int:
    """How deeply `value` nests lists and objects, counted without recursion, up to `limit` + 1."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def new_member_id() -> str:
    return secrets.token_hex(8)


class Rooms:
    def __init__(self) -> None:
        self._rooms: dict[int, dict[str, Member]] = {}
        # One line per bad message would let a client flood the log: a few, then a count.
        self._bad_log = RateLimitedLog(log)

    def members(self, consult_id: int) -> list[Member]:
        return list(self._rooms.get(consult_id, {}).values())

    async def join(self, consult_id: int, member: Member) -> None:
        room = self._rooms.setdefault(consult_id, {})
        room[member.member_id] = member

        async def drop() -> None:
            await self.leave(consult_id, member)

        member.on_drop = drop
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
        if member._closing is None:
            member.stop()  # the connection ended (a member dropped for its pace still gets its close frame)
        if room is None or room.get(member.member_id) is not member:
            return
        del room[member.member_id]
        if not room:
            del self._rooms[consult_id]
        self._bad_log.summarise("signalling: bad messages")
        await self._broadcast(consult_id, member, {"event": "leave"})

    async def _broadcast(self, consult_id: int, member: Member, event: dict[str, Any]) -> None:
        message = {"v": PROTOCOL_VERSION, "type": "presence", **event, "member": member.info()}
        await asyncio.gather(*(m.send(message) for m in self.members(consult_id) if m is not member))

    async def handle(self, consult_id: int, sender: Member, raw: str | bytes | None, max_bytes: int) -> None:
        """Validate one client message and relay it; a bad one gets an error reply, nothing more."""
        try:
            error = await self._relay(consult_id, sender, raw, max_bytes)
        except _TooDeepError as exc:
            self._bad_log.info("signalling: %s in room %s sent %s", sender.username, consult_id, exc)
            sender.close(CLOSE_POLICY, str(exc))
            return
        if error is not None:
            self._bad_log.info(
                "signalling: bad message from %s in room %s: %s", sender.username, consult_id, error
            )
            await sender.send({"v": PROTOCOL_VERSION, "type": "error", "message": error})

    async def _relay(
        self, consult_id: int, sender: Member, raw: str | bytes | None, max_bytes: int
    ) -> str | None:
        if not isinstance(raw, str):
            return "binary frames are not accepted; send JSON text"
        if len(raw) > max_bytes:
            return f"message larger than {max_bytes} bytes"
        if sender.closed or self._rooms.get(consult_id, {}).get(sender.member_id) is not sender:
            return None  # dropped (too slow, or closed): what it still sends goes nowhere
        try:
            data = json.loads(raw)
        except RecursionError:
            raise _TooDeepError(f"message nested deeper than {MAX_DEPTH} levels") from None
        except ValueError:
            return "message is not valid JSON"
        if json_depth(data, MAX_DEPTH) > MAX_DEPTH:
            raise _TooDeepError(f"message nested deeper than {MAX_DEPTH} levels")
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


class _TooDeepError(Exception):
    """A message nested beyond MAX_DEPTH: refused, and its sender closed with CLOSE_POLICY."""


# Session descriptions and ICE candidates carry no patient data, and rewriting them would break them.
_NEGOTIATION = ("offer", "answer", "candidate")


def _for(member: Member, out: dict[str, Any]) -> dict[str, Any]:
    """The message as `member` may receive it: pseudonymised payloads for viewers."""
    if member.scrub is None or out["type"] in _NEGOTIATION:
        return out
    return {**out, "payload": member.scrub(out["payload"])}

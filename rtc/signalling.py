"""Signalling seam: an ABC, the WebSocket client for the backend room, and an in-memory room for tests.

The wire format is the backend's room protocol (backend/signalling.py): the server sends ``welcome``,
``presence`` and ``error`` messages and relays ``offer``/``answer``/``candidate``/``bye``/``message``
with the sender's ``from`` added. Every received message is validated; a malformed one is logged and
skipped, it never ends the connection. Qt-free; runs on the rtc loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
CLOSE_BAD_TOKEN = 4401
CLOSE_FORBIDDEN = 4403
MAX_MESSAGE_BYTES = 256 * 1024

RelayType = Literal["offer", "answer", "candidate", "bye", "message"]


class _Incoming(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class MemberInfo(_Incoming):
    member_id: Annotated[str, Field(min_length=1, max_length=64)]
    user_id: int | None = None
    username: str = ""
    role: str = ""
    viewer: bool = False


class Welcome(_Incoming):
    v: Literal[1]
    type: Literal["welcome"]
    member_id: Annotated[str, Field(min_length=1, max_length=64)]
    members: list[MemberInfo]


class Presence(_Incoming):
    v: Literal[1]
    type: Literal["presence"]
    event: Literal["join", "leave"]
    member: MemberInfo


class Relayed(_Incoming):
    v: Literal[1]
    type: RelayType
    sender: str = Field(alias="from", min_length=1, max_length=64)
    to: str | None = None
    payload: dict[str, Any] = {}


class ServerError(_Incoming):
    v: Literal[1]
    type: Literal["error"]
    message: str


SignalMessage = Welcome | Presence | Relayed | ServerError
_adapter: TypeAdapter[SignalMessage] = TypeAdapter(
    Annotated[Welcome | Presence | Relayed | ServerError, Field(discriminator="type")]
)


def parse_message(raw: str | bytes) -> SignalMessage | None:
    """Validate one received frame; None (and a log line) when it is malformed."""
    if isinstance(raw, bytes):
        log.warning("signalling: binary frame ignored (%d bytes)", len(raw))
        return None
    if len(raw) > MAX_MESSAGE_BYTES:
        log.warning("signalling: oversized message ignored (%d bytes)", len(raw))
        return None
    try:
        return _adapter.validate_json(raw)
    except ValidationError as exc:
        log.warning("signalling: malformed message ignored: %s", exc.errors(include_url=False)[:3])
        return None


def encode_outgoing(type_: RelayType, payload: dict[str, Any], to: str | None) -> str:
    return json.dumps(
        {"v": PROTOCOL_VERSION, "type": type_, "to": to, "payload": payload}, separators=(",", ":")
    )


class SignallingClosedError(ConnectionError):
    """The signalling channel is closed (by us, or it could not be reopened)."""


class SignallingRefusedError(ConnectionError):
    """The room refused us (bad token, not admitted, no open room); retrying will not help."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"refused by the room ({code}): {reason}")
        self.code, self.reason = code, reason


class Signalling(ABC):
    """One membership in one room. ``receive`` yields validated messages; after a transparent
    reconnection it yields a fresh :class:`Welcome` (the member id changes)."""

    member_id: str | None = None

    @abstractmethod
    async def connect(self) -> Welcome: ...

    @abstractmethod
    async def send(self, type_: RelayType, payload: dict[str, Any], to: str | None = None) -> None: ...

    @abstractmethod
    async def receive(self) -> SignalMessage:
        """The next message; raises SignallingClosedError once closed."""

    @abstractmethod
    async def close(self) -> None:
        """Leave the room. Calling it twice is harmless."""


class _Closed:
    pass


_CLOSED = _Closed()


class _QueuedSignalling(Signalling):
    def __init__(self) -> None:
        self._queue: asyncio.Queue[SignalMessage | _Closed] = asyncio.Queue()
        self._closed = False

    def _deliver_raw(self, raw: str | bytes) -> None:
        message = parse_message(raw)
        if message is not None:
            if isinstance(message, Welcome):
                self.member_id = message.member_id
            self._queue.put_nowait(message)

    async def receive(self) -> SignalMessage:
        if self._closed and self._queue.empty():
            raise SignallingClosedError("signalling closed")
        item = await self._queue.get()
        if isinstance(item, _Closed):
            self._queue.put_nowait(item)  # every later receive() sees the end as well
            raise SignallingClosedError("signalling closed")
        return item

    def _end(self) -> None:
        self._queue.put_nowait(_CLOSED)


def split_token(url: str) -> tuple[str, str | None]:
    """(the URL without its ``token`` query parameter, the token). The room socket authenticates in its
    first message (``{"type": "auth", "token": ...}``), so the token is taken out of the URL here."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    token = next((value for key, value in pairs if key == "token"), None)
    rest = urlencode([(key, value) for key, value in pairs if key != "token"])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, rest, "")), token


class WebSocketSignalling(_QueuedSignalling):
    """The backend room over WebSocket, reconnecting with exponential backoff when the link drops.

    ``url`` may be a callable so that each (re)connection gets a fresh access token. A ``token`` query
    parameter in it is not sent in the URL: it goes in the first message (``{"type": "auth"}``).
    """

    def __init__(
        self,
        url: str | Callable[[], str],
        *,
        backoff_initial: float = 0.5,
        backoff_max: float = 10.0,
        open_timeout: float = 10.0,
    ) -> None:
        super().__init__()
        self._url = url
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._open_timeout = open_timeout
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        self.reconnects = 0

    def _current_url(self) -> str:
        return self._url() if callable(self._url) else self._url

    async def _open(self) -> Welcome:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed

        url, token = split_token(self._current_url())
        ws = await connect(url, open_timeout=self._open_timeout, max_size=MAX_MESSAGE_BYTES)
        try:
            if token is not None:
                # The token travels in the first message, never in the URL (URLs end up in logs).
                await ws.send(json.dumps({"type": "auth", "token": token}))
            while True:
                raw = await asyncio.wait_for(ws.recv(), self._open_timeout)
                message = parse_message(raw)
                if isinstance(message, Welcome):
                    break
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else 1006
            reason = exc.rcvd.reason if exc.rcvd is not None else ""
            if code in (CLOSE_BAD_TOKEN, CLOSE_FORBIDDEN):
                raise SignallingRefusedError(code, reason) from exc
            raise
        except BaseException:
            await ws.close()
            raise
        self._ws = ws
        self.member_id = message.member_id
        return message

    async def connect(self) -> Welcome:
        if self._closed:
            raise SignallingClosedError("signalling closed")
        welcome = await self._open()
        self._reader = asyncio.create_task(self._read_loop(), name="signalling-reader")
        return welcome

    async def _read_loop(self) -> None:
        from websockets.exceptions import ConnectionClosed

        while not self._closed:
            ws = self._ws
            try:
                async for raw in ws:
                    self._deliver_raw(raw)
            except ConnectionClosed:
                pass
            if self._closed:
                break
            log.warning("signalling: connection lost, reconnecting")
            self._ws = None
            delay = self._backoff_initial
            while not self._closed:
                await asyncio.sleep(delay)
                try:
                    welcome = await self._open()
                except SignallingRefusedError as exc:
                    log.error("signalling: %s", exc)
                    self._closed = True
                    break
                except (OSError, TimeoutError, ConnectionClosed, Exception) as exc:
                    log.info("signalling: reconnect failed (%s), next try in %.1fs", exc, delay)
                    delay = min(delay * 2, self._backoff_max)
                    continue
                self.reconnects += 1
                self._queue.put_nowait(welcome)
                break
        self._end()

    async def send(self, type_: RelayType, payload: dict[str, Any], to: str | None = None) -> None:
        ws = self._ws
        if self._closed or ws is None:
            raise SignallingClosedError("signalling not connected")
        try:
            await ws.send(encode_outgoing(type_, payload, to))
        except Exception as exc:
            raise SignallingClosedError(f"send failed: {exc}") from exc

    async def send_raw(self, text: str) -> None:
        """Send one frame as is, unvalidated: for diagnostics and tests of how the room treats bad input."""
        ws = self._ws
        if self._closed or ws is None:
            raise SignallingClosedError("signalling not connected")
        await ws.send(text)

    async def close(self) -> None:
        if self._closed and self._ws is None:
            return
        self._closed = True
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        if self._reader is not None and self._reader is not asyncio.current_task():
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        self._end()


class InMemoryRoom:
    """A room in this process that speaks the backend's protocol, for tests with two peers in one loop."""

    def __init__(self) -> None:
        self._members: dict[str, InMemorySignalling] = {}

    def join(self, username: str = "peer", *, viewer: bool = False) -> InMemorySignalling:
        return InMemorySignalling(self, username, viewer)

    def _info(self, member: InMemorySignalling) -> dict[str, Any]:
        return {
            "member_id": member.member_id,
            "username": member.username,
            "role": "",
            "viewer": member.viewer,
        }

    def _enter(self, member: InMemorySignalling) -> None:
        assert member.member_id is not None
        self._members[member.member_id] = member
        welcome = {
            "v": PROTOCOL_VERSION,
            "type": "welcome",
            "member_id": member.member_id,
            "members": [self._info(m) for m in self._members.values()],
        }
        member._deliver_raw(json.dumps(welcome))
        self._broadcast(
            member, {"v": PROTOCOL_VERSION, "type": "presence", "event": "join", "member": self._info(member)}
        )

    def _leave(self, member: InMemorySignalling) -> None:
        if member.member_id is None or self._members.pop(member.member_id, None) is None:
            return
        self._broadcast(
            member,
            {"v": PROTOCOL_VERSION, "type": "presence", "event": "leave", "member": self._info(member)},
        )

    def _broadcast(self, sender: InMemorySignalling, message: dict[str, Any]) -> None:
        raw = json.dumps(message)
        for other in list(self._members.values()):
            if other is not sender:
                other._deliver_raw(raw)

    def _relay(self, sender: InMemorySignalling, raw: str) -> None:
        data = json.loads(raw)
        data["from"] = sender.member_id
        to = data.get("to")
        if to is not None:
            target = self._members.get(to)
            if target is None or target is sender:
                error = {"v": PROTOCOL_VERSION, "type": "error", "message": f"no other member {to!r}"}
                sender._deliver_raw(json.dumps(error))
                return
            target._deliver_raw(json.dumps(data))
            return
        self._broadcast(sender, data)


class InMemorySignalling(_QueuedSignalling):
    def __init__(self, room: InMemoryRoom, username: str, viewer: bool) -> None:
        super().__init__()
        self.room, self.username, self.viewer = room, username, viewer
        self._joined = False

    async def connect(self) -> Welcome:
        if self._closed:
            raise SignallingClosedError("signalling closed")
        self.member_id = secrets.token_hex(8)
        self._joined = True
        self.room._enter(self)
        message = await self._queue.get()
        assert isinstance(message, Welcome)
        return message

    def inject_raw(self, raw: str | bytes) -> None:
        """Feed a frame as if the server had sent it (tests of malformed input)."""
        self._deliver_raw(raw)

    def drop(self) -> None:
        """Simulate a lost link: leave the room, then rejoin with a new member id (as a reconnect does)."""
        self.room._leave(self)
        self.member_id = secrets.token_hex(8)
        self.room._enter(self)

    async def send(self, type_: RelayType, payload: dict[str, Any], to: str | None = None) -> None:
        if self._closed or not self._joined:
            raise SignallingClosedError("signalling not connected")
        self.room._relay(self, encode_outgoing(type_, payload, to))

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._joined:
            self.room._leave(self)
        self._end()


def memory_pair() -> tuple[InMemorySignalling, InMemorySignalling]:
    room = InMemoryRoom()
    return room.join("a"), room.join("b")

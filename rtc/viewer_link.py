"""The host's connection to one peer-to-peer viewer: a room of two carved out of the instructor's.

A viewer link is a plain :class:`rtc.session.CallSession`, so it negotiates, watches and reconnects
like any call; what makes it a link is its signalling. :class:`ViewerSignalling` shares the
instructor's room membership instead of joining again, because a trainee's session addresses the
instructor's member id and no other: it shows the link a room holding only that viewer, carries the
link's offers and answers through the instructor's signalling addressed to that viewer, and is handed
by the host what that viewer relays back. Kept apart from the host (rtc/classroom.py): it is the one
piece that knows how a membership is shared, and the host only opens, feeds and closes links.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from rtc.forward_tracks import ForwardAudioTrack, ForwardVideoTrack
from rtc.session import CallSession
from rtc.signalling import (
    PROTOCOL_VERSION,
    MemberInfo,
    Relayed,
    Signalling,
    SignallingClosedError,
    SignalMessage,
    Welcome,
)


class ViewerSignalling(Signalling):
    """The instructor's room membership as seen by one viewer link: a room of two (the instructor and
    that viewer). Sends go to the viewer through the instructor's signalling; the host delivers what
    the viewer sends. Closing it leaves the instructor's membership alone."""

    def __init__(self, parent: Signalling, host_id: str, viewer: MemberInfo) -> None:
        self.parent = parent
        self.member_id = host_id
        self.viewer = viewer
        self._queue: asyncio.Queue[SignalMessage | None] = asyncio.Queue()
        self.closed = False

    async def connect(self) -> Welcome:
        if self.closed:
            raise SignallingClosedError("viewer link closed")
        peer = self.viewer.model_copy(update={"viewer": False})  # the link negotiates with it as a peer
        return Welcome.model_validate(
            {
                "v": PROTOCOL_VERSION,
                "type": "welcome",
                "member_id": self.member_id,
                "members": [{"member_id": self.member_id}, peer.model_dump()],
            }
        )

    def deliver(self, message: Relayed) -> None:
        if not self.closed:
            self._queue.put_nowait(message)

    async def send(self, type_: Any, payload: dict[str, Any], to: str | None = None) -> None:
        if self.closed:
            raise SignallingClosedError("viewer link closed")
        await self.parent.send(type_, payload, self.viewer.member_id)

    async def receive(self) -> SignalMessage:
        item = await self._queue.get()
        if item is None:
            self._queue.put_nowait(None)
            raise SignallingClosedError("viewer link closed")
        return item

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._queue.put_nowait(None)


@dataclass(eq=False)
class ViewerLink:
    """The host's connection to one viewer."""

    member: MemberInfo
    signalling: ViewerSignalling
    session: CallSession
    video: ForwardVideoTrack
    audio: ForwardAudioTrack

    @property
    def member_id(self) -> str:
        return self.member.member_id

"""Vitals over a call: the bedside streams its store on the ``vitals`` data channel, the specialist's
store fills from it. Qt-free; both halves run on the rtc runtime's event loop.

The channel is unordered with no retransmits (a late sample is useless to a monitor); the stream
protocol (:mod:`core.vitals.stream`) numbers every batch, so what is lost becomes a visible gap and the
display can say how old the newest sample is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

from core.vitals.buffer import VitalsStore
from core.vitals.stream import StreamReceiver, StreamSender

log = logging.getLogger(__name__)

# 40 ms batches: 25 per second per wave keeps the sample-to-screen delay well under a display frame
# pair while a 12-lead ECG batch stays under 6 kB (one SCTP message, no fragmentation worth noting).
UPLINK_PERIOD_S = 0.04


class ChannelMessageLike(Protocol):
    channel: str
    data: bytes | None


class SessionLike(Protocol):
    """What the link needs of :class:`rtc.session.CallSession` (kept structural: no rtc import here)."""

    message_received: Any

    def send_bytes(self, channel: Any, data: bytes) -> None: ...


class VitalsUplink:
    """Bedside: every ``period`` seconds, what the store got since the last tick goes out as batches."""

    def __init__(
        self,
        session: SessionLike,
        store: VitalsStore,
        period: float = UPLINK_PERIOD_S,
        consult_id: int | Callable[[], int | None] | None = None,
        gate: Callable[[], bool] | None = None,
    ) -> None:
        self.session = session
        # stamped with the consult (stream version 2) when it is known: the peer drops another's
        self.sender = StreamSender(store, max_s=period * 2.5, consult_id=consult_id)
        self.gate = gate  # False while no patient is attached to the bed: nothing is sent
        self.period = period
        self.batches_sent = 0
        self.bytes_sent = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> VitalsUplink:
        """Call on the runtime's loop (e.g. from a coroutine submitted to it)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="vitals-uplink")
        return self

    def tick(self) -> int:
        sent = 0
        batches = self.sender.poll()
        if self.gate is not None and not self.gate():
            return 0  # read and dropped: nothing from before a patient was attached goes out later
        for batch in batches:
            self.session.send_bytes("vitals", batch)
            sent += 1
            self.bytes_sent += len(batch)
        self.batches_sent += sent
        return sent

    async def _run(self) -> None:
        while True:
            state = getattr(self.session, "state", None)
            if getattr(state, "value", None) == "ended":
                return  # the call is over; a new call gets a new uplink
            try:
                self.tick()
            except Exception:  # a bad moment must not end the stream for the rest of the call
                log.exception("vitals uplink: tick failed")
            await asyncio.sleep(self.period)

    async def stop(self) -> None:
        """Twice is harmless."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class VitalsDownlink:
    """Specialist: batches from the ``vitals`` channel go into ``store``; everything else is ignored."""

    def __init__(
        self, session: SessionLike, store: VitalsStore, accept: Callable[[int | None], bool] | None = None
    ) -> None:
        self.session = session
        self.store = store
        self.receiver = StreamReceiver(store, accept)  # accept: the bed's consult (Bed.accepts_consult)
        session.message_received.connect(self._on_message)
        self._attached = True

    def _on_message(self, message: ChannelMessageLike) -> None:
        if message.channel == "vitals" and message.data is not None:
            self.receiver.feed(message.data)

    @property
    def lost_batches(self) -> int:
        return self.receiver.lost_batches

    def detach(self) -> None:
        """Twice is harmless."""
        if self._attached:
            self._attached = False
            with contextlib.suppress(Exception):
                self.session.message_received.disconnect(self._on_message)

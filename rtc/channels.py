"""The data-channel protocol: four channels, versioned JSON envelopes, and a per-channel outbox.

Every text message is ``{"v": 1, "channel": ..., "kind": ..., "seq": n, "sent_at": t, "body": {...}}``
and its body is validated against the channel's model on receipt. Only ``vitals`` accepts binary
frames (raw sample blocks). A bad message is logged and skipped; it never closes the channel.
Qt-free, aiortc-free (channels are duck-typed), runs on the rtc loop.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

log = logging.getLogger(__name__)

ENVELOPE_VERSION = 1
MAX_TEXT_BYTES = 64 * 1024
MAX_BINARY_BYTES = 64 * 1024

ChannelName = Literal["annotations", "vitals", "chat", "control"]


@dataclass(frozen=True)
class ChannelSpec:
    name: ChannelName
    stream_id: int
    ordered: bool
    max_retransmits: int | None
    binary: bool


# Negotiated channels with fixed stream ids: both peers create them up front, so either side may queue
# messages before the connection exists and nobody has to wait for an ondatachannel event.
CHANNELS: dict[ChannelName, ChannelSpec] = {
    "annotations": ChannelSpec("annotations", 10, ordered=True, max_retransmits=None, binary=False),
    "vitals": ChannelSpec("vitals", 11, ordered=False, max_retransmits=0, binary=True),
    "chat": ChannelSpec("chat", 12, ordered=True, max_retransmits=None, binary=False),
    "control": ChannelSpec("control", 13, ordered=True, max_retransmits=None, binary=False),
}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChatBody(_Body):
    text: Annotated[str, Field(min_length=1, max_length=4000)]
    author: Annotated[str, Field(max_length=128)] = ""


class AnnotationBody(_Body):
    """One operation of the annotation document (core/annotations/model.py validates ``data`` further).

    ``snapshot_request`` asks the peer for its whole document; ``snapshot`` carries part of one (a late
    joiner merges the parts); ``pointer`` is ephemeral. ``site`` breaks Lamport ties between sites.
    """

    op: Literal["add", "update", "delete", "clear", "pointer", "snapshot", "snapshot_request"]
    id: Annotated[str, Field(min_length=1, max_length=128)]
    author: Annotated[str, Field(max_length=128)]
    lamport: Annotated[int, Field(ge=0)]
    space: Literal["video", "image", "patient", "all"] = "video"
    data: dict[str, Any] = {}
    site: Annotated[str, Field(max_length=128)] = ""
    # The consult the operation belongs to; a receiver with another consult open drops it.
    consult: Annotated[int, Field(ge=1)] | None = None


class VitalsBody(_Body):
    signal: Annotated[str, Field(min_length=1, max_length=64)]
    t0: float
    rate_hz: Annotated[float, Field(gt=0, le=100_000)]
    samples: Annotated[list[float], Field(max_length=10_000)]


class ControlBody(_Body):
    action: Annotated[str, Field(min_length=1, max_length=64)]
    args: dict[str, Any] = {}


BODY_MODELS: dict[ChannelName, type[_Body]] = {
    "annotations": AnnotationBody,
    "vitals": VitalsBody,
    "chat": ChatBody,
    "control": ControlBody,
}


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = 1
    channel: ChannelName
    kind: Annotated[str, Field(min_length=1, max_length=64)]
    seq: Annotated[int, Field(ge=0)]
    sent_at: float
    body: dict[str, Any]

    def typed_body(self) -> _Body:
        return BODY_MODELS[self.channel].model_validate(self.body)


@dataclass(frozen=True)
class ChannelMessage:
    """One received message: a validated envelope, or raw bytes on a binary channel."""

    channel: ChannelName
    envelope: Envelope | None = None
    data: bytes | None = None

    @property
    def body(self) -> _Body | None:
        return None if self.envelope is None else self.envelope.typed_body()


def make_envelope(channel: ChannelName, kind: str, body: dict[str, Any] | BaseModel, seq: int) -> Envelope:
    """Validate an outgoing body against the channel's model and wrap it."""
    raw = body.model_dump() if isinstance(body, BaseModel) else body
    BODY_MODELS[channel].model_validate(raw)
    return Envelope(channel=channel, kind=kind, seq=seq, sent_at=time.time(), body=raw)


def encode(envelope: Envelope) -> str:
    return envelope.model_dump_json()


def decode(channel: ChannelName, raw: str | bytes) -> ChannelMessage | None:
    """Validate one received frame for ``channel``; None (and a log line) when it is not acceptable."""
    if isinstance(raw, bytes):
        if not CHANNELS[channel].binary:
            log.warning("channel %s: binary frame rejected", channel)
            return None
        if len(raw) > MAX_BINARY_BYTES:
            log.warning("channel %s: binary frame too large (%d bytes)", channel, len(raw))
            return None
        return ChannelMessage(channel, data=bytes(raw))
    if len(raw) > MAX_TEXT_BYTES:
        log.warning("channel %s: message too large (%d bytes)", channel, len(raw))
        return None
    try:
        envelope = Envelope.model_validate(json.loads(raw))
        if envelope.channel != channel:
            raise ValueError(f"envelope for {envelope.channel!r} arrived on {channel!r}")
        envelope.typed_body()
    except (ValueError, ValidationError) as exc:
        log.warning("channel %s: malformed message ignored: %s", channel, str(exc)[:300])
        return None
    return ChannelMessage(channel, envelope=envelope)


class DataChannelLike(Protocol):
    @property
    def readyState(self) -> str: ...

    def send(self, data: str | bytes) -> None: ...


ACK_KIND = "ack"  # on `control`: {"action": "ack", "args": {"channel": name, "seq": n}}, never acked itself


def ack_body(channel: ChannelName, seq: int) -> dict[str, Any]:
    return {"action": ACK_KIND, "args": {"channel": channel, "seq": seq}}


class ChannelOutbox:
    """Messages for one channel, queued while it is not open and flushed in order once it opens.

    The outbox outlives peer connections: after a renegotiation it is attached to the new channel and
    whatever was queued meanwhile goes out first. ``limit`` bounds the queue (oldest dropped) so a long
    outage cannot exhaust memory; vitals are lossy by design anyway.

    On reliable channels an envelope stays "unacknowledged" after it is sent until the peer acknowledges
    its sequence number (cumulative, on `control`); when the connection is dropped, unacknowledged
    envelopes go back to the head of the queue, because a path that died silently took them with it.
    The receiver drops the duplicates this may cause by sequence number (:class:`Deduplicator`).
    """

    def __init__(self, name: ChannelName, limit: int = 10_000) -> None:
        self.name = name
        self.reliable = CHANNELS[name].max_retransmits is None and CHANNELS[name].ordered
        self._pending: deque[tuple[int | None, str | bytes]] = deque(maxlen=limit)
        self._unacked: deque[tuple[int, str | bytes]] = deque(maxlen=limit)
        self._channel: DataChannelLike | None = None
        self._seq = 0

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def is_open(self) -> bool:
        return self._channel is not None and self._channel.readyState == "open"

    @property
    def unacknowledged(self) -> int:
        return len(self._unacked)

    def attach(self, channel: DataChannelLike | None) -> None:
        if channel is None and self._unacked:  # the old connection is gone: resend what it may have lost
            self._pending.extendleft(reversed(self._unacked))
            self._unacked.clear()
        self._channel = channel
        self.flush()

    def acknowledge(self, seq: int) -> None:
        """The peer has everything up to ``seq``."""
        while self._unacked and self._unacked[0][0] <= seq:
            self._unacked.popleft()
        while self._pending and self._pending[0][0] is not None and self._pending[0][0] <= seq:
            self._pending.popleft()

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def send_envelope(self, kind: str, body: dict[str, Any] | BaseModel, *, tracked: bool = True) -> Envelope:
        envelope = make_envelope(self.name, kind, body, self.next_seq())
        self._enqueue(envelope.seq if tracked and self.reliable else None, encode(envelope))
        return envelope

    def send_raw(self, data: str | bytes) -> None:
        """Send a frame as is (never tracked for acknowledgement)."""
        if isinstance(data, bytes) and not CHANNELS[self.name].binary:
            raise ValueError(f"channel {self.name} does not carry binary payloads")
        self._enqueue(None, data)

    def _enqueue(self, seq: int | None, data: str | bytes) -> None:
        self._pending.append((seq, data))
        self.flush()

    def flush(self) -> int:
        """Send what is queued, in order, if the channel is open. Returns how many went out."""
        sent = 0
        while self._pending and self.is_open:
            assert self._channel is not None
            seq, item = self._pending[0]
            try:
                self._channel.send(item)
            except Exception:  # closed under us: keep the message for the next channel
                log.debug("channel %s: send failed, keeping %d queued", self.name, len(self._pending))
                break
            self._pending.popleft()
            if seq is not None:
                self._unacked.append((seq, item))
            sent += 1
        return sent


class Deduplicator:
    """Receiver side of the acknowledgement scheme: the highest sequence number delivered per channel.

    ``reset()`` when the peer is a different session (its numbering starts again).
    """

    def __init__(self) -> None:
        self._last: dict[ChannelName, int] = {}

    def reset(self) -> None:
        self._last.clear()

    def is_new(self, channel: ChannelName, seq: int) -> bool:
        if seq <= self._last.get(channel, 0):
            return False
        self._last[channel] = seq
        return True


def outboxes() -> dict[ChannelName, ChannelOutbox]:
    return {name: ChannelOutbox(name) for name in CHANNELS}


MessageCallback = Callable[[ChannelMessage], None]

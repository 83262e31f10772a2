"""What a live class puts on the wire between the instructor's host and the trainees, and nothing else.

Both ends read it: the host (rtc/classroom.py) and the trainee's session (rtc/class_viewer.py) import
the same keys and wrappers, so the format is stated once and neither end imports the other. Everything
here is pure (no loop, no aiortc), which is also why the Janus wrappers are testable without a room.

Scrubbing lives here too: it is a rule about the JSON's shape (which keys are structural and must
survive untouched), applied by whichever end sends or receives, whatever the class's rules are.

Over the backend room, a relayed ``message`` whose payload has CLASS_KEY:

- host -> viewers  {"class": "janus", "url", "room", "feed"}: where to subscribe (broadcast once the
  publication is up; addressed ``to`` a viewer that joins later)
- host -> viewer   {"class": "down", "channel", "kind", "body"}: what is for that trainee alone: its
  tool, refusals, the annotation snapshot, the recording flag for a late joiner
- viewer -> host   {"class": "up", "channel", "kind", "body"}: what a trainee sends (its ops, its
  snapshot request); the host asks its policy about it as peer to peer
- viewer -> host   {"class": "subscribed"} / {"class": "janus_failed", "reason"} (then peer to peer)

On the Janus data channel, JSON text: {"class": "fwd", "except": member id or null, "envelope": {...}}
or, for bytes (vitals), {"class": "fwd", "except": ..., "channel": "vitals", "b64": "..."}; ``except``
is the trainee whose own message this is (it has it already).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from rtc.channels import (
    CHANNELS,
    MAX_TEXT_BYTES,
    ChannelMessage,
    ChannelName,
    Envelope,
    decode,
    make_envelope,
)

log = logging.getLogger(__name__)

Replace = Callable[[str], str]

CLASS_KEY = "class"
JANUS_CLASS, DOWN, UP, SUBSCRIBED, JANUS_FAILED, FORWARDED = (
    "janus", "down", "up", "subscribed", "janus_failed", "fwd"
)
# Structural values, never free text: rewriting one would break the protocol (an annotation id, a site).
_KEEP_KEYS = frozenset({"op", "id", "author", "site", "space", "kind", "action", "colour", "channel"})


def scrub(value: Any, replace: Replace, key: str = "") -> Any:
    """Apply ``replace`` to every free-text string in a JSON-like value. Structural keys (ids, sites,
    authors' user names, kinds) and DICOM UIDs (keys ending ``_uid``: they identify no one once
    de-identified, and following a view needs them intact) are left alone."""
    if isinstance(value, str):
        return value if key in _KEEP_KEYS or key.endswith("_uid") else replace(value)
    if isinstance(value, dict):
        return {k: scrub(v, replace, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, replace, key) for v in value]
    return value


def control_body(action: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"action": action, "args": dict(args or {})}


def channel_of(name: str) -> ChannelName:
    """``name`` as the transport types a channel (a policy speaks plain strings); ValueError for a
    channel the call does not have."""
    for channel in CHANNELS:
        if channel == name:
            return channel
    raise ValueError(f"no channel {name!r}")


@dataclass(frozen=True)
class JanusSource:
    """Where a class is published: Janus's HTTP API, the video room and the instructor's feed."""

    url: str
    room: int
    feed: int

    def payload(self) -> dict[str, Any]:
        return {CLASS_KEY: JANUS_CLASS, "url": self.url, "room": self.room, "feed": self.feed}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> JanusSource | None:
        url, room, feed = payload.get("url"), payload.get("room"), payload.get("feed")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url) > 2000:
            return None
        if any(not isinstance(v, int) or isinstance(v, bool) or v <= 0 for v in (room, feed)):
            return None
        assert isinstance(room, int) and isinstance(feed, int)
        return cls(url, room, feed)


def channel_message(channel: Any, kind: Any, body: Any) -> ChannelMessage | None:
    """A validated envelope from its parts (as a class message carries them); None when malformed."""
    if channel not in CHANNELS or not isinstance(kind, str) or not isinstance(body, dict):
        return None
    try:
        return ChannelMessage(channel, envelope=make_envelope(channel, kind, body, 0))
    except (ValueError, ValidationError):
        return None


def wrap_forwarded(message: ChannelMessage, seq: int, exclude: str | None) -> str | None:
    """The Janus data channel's text for one forwarded message; None when it cannot be carried."""
    envelope = message.envelope
    if envelope is None:
        if message.data is None or not CHANNELS[message.channel].binary:
            return None
        data = base64.b64encode(message.data).decode("ascii")
        return json.dumps({CLASS_KEY: FORWARDED, "except": exclude, "channel": message.channel, "b64": data})
    fresh = make_envelope(message.channel, envelope.kind, envelope.body, seq)
    return json.dumps({CLASS_KEY: FORWARDED, "except": exclude, "envelope": fresh.model_dump(mode="json")})


def unwrap_forwarded(text: str, member_id: str | None) -> ChannelMessage | None:
    """One message from the Janus data channel, validated as a peer's would be; None when it is
    malformed (logged) or ``member_id``'s own."""
    if len(text) > MAX_TEXT_BYTES * 2:
        log.warning("class: oversized message on the Janus channel ignored (%d bytes)", len(text))
        return None
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get(CLASS_KEY) != FORWARDED:
            raise ValueError("not a forwarded class message")
        if member_id is not None and data.get("except") == member_id:
            return None
        if "b64" in data:
            channel = data.get("channel")
            if channel not in CHANNELS or not CHANNELS[channel].binary:
                raise ValueError(f"bytes on channel {channel!r}")
            raw = base64.b64decode(str(data["b64"]), validate=True)
            return decode(channel, raw)
        envelope = Envelope.model_validate(data.get("envelope"))
        envelope.typed_body()
        return ChannelMessage(envelope.channel, envelope=envelope)
    except (ValueError, ValidationError, binascii.Error) as exc:
        log.warning("class: malformed message on the Janus channel ignored: %s", str(exc)[:300])
        return None

"""A live class: trainees follow the instructor's call, peer to peer through the instructor's workstation
(a few viewers) or through the site's Janus SFU (a class).

Qt-free; everything runs on the rtc loop (rtc/runtime.py) except the methods marked thread-safe.

The backend room admits trainees of the consult's specialty as ``viewer=True`` members. The instructor's
:class:`rtc.session.CallSession` (the call with the bedside) hands their presence and signalling to a
:class:`ClassHost` (its ``viewer_handler``). For each viewer the host runs one more CallSession, the
*link*, over a sub-signalling that shares the instructor's room membership (messages addressed to that
viewer): the host offers, the link sends the bedside's decoded video and audio (re-encoded per viewer)
and the four data channels. Every channel message of the instructor's session, received or sent, is
forwarded to every viewer, text scrubbed by ``replace`` (defence in depth: a trainee never sees who the
patient is). A viewer's own messages are accepted only while it holds a tool
(:meth:`core.teaching.live.ClassModel.allows`): then they are applied at the instructor as if remote and
forwarded to the bedside and to the other viewers; otherwise dropped, and the viewer gets a control
``refused``. A viewer's ``snapshot_request`` is answered from the host's copy of the annotation document
(late joiners), and a new link starts with the current recording flag.

Through Janus (``ClassHost(janus_url=...)``, site file ``[teaching] janus_url``) the instructor's
workstation sends ONE stream whatever the class size: the host creates a video room, publishes the
bedside's video and audio into it with one encoder (rtc/janus.py), and puts every forwarded message,
scrubbed, on the publication's data channel as JSON text (vitals bytes in base64). Viewers learn where to
subscribe over the backend room, and what concerns one trainee (its tool, refusals, the snapshot) and
whatever a trainee sends travel over signalling, under the same ``allows`` rule (the wire format is
described above :class:`JanusSource`). If Janus cannot be reached, or drops the publication, the host
says so (``janus_status`` "failed", ``janus_error``, an error log line) and serves the class peer to
peer; a trainee whose own subscription fails asks for, and gets, a peer-to-peer link.

:class:`ViewerSession` is the trainee's side: a receive-only CallSession that answers the instructor's
offer and never offers itself, or subscribes through Janus when told to; either way frames and messages
come out of the same attributes and listeners, and control actions update its
:class:`core.teaching.live.TraineeControl`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import fractions
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import av
from aiortc import RTCStatsReport
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from pydantic import ValidationError

from core.annotations.model import AnnotationDocument
from core.annotations.sync import REQUEST_KIND, SNAPSHOT_KIND, snapshot_parts
from core.teaching.live import GRANT, RECORDING, REFUSED, TAKE_BACK, ClassModel, TraineeControl, check_tool
from rtc.channels import (
    CHANNELS,
    MAX_TEXT_BYTES,
    ChannelMessage,
    ChannelName,
    Envelope,
    decode,
    make_envelope,
)
from rtc.session import CallSession, CallState, Listeners
from rtc.signalling import (
    PROTOCOL_VERSION,
    MemberInfo,
    Presence,
    Relayed,
    ServerError,
    Signalling,
    SignallingClosedError,
    SignalMessage,
    Welcome,
)

log = logging.getLogger(__name__)

Replace = Callable[[str], str]
Reply = Callable[[ChannelName, str, dict[str, Any]], Any]  # answers one viewer: channel, kind, body

VIDEO_TIME_BASE = fractions.Fraction(1, 90_000)
AUDIO_QUEUE_FRAMES = 25  # 0.5 s of 20 ms frames: a viewer that cannot keep up loses the oldest audio
HOST_SITE = "class-host"
_DOC_OPS = ("add", "update", "delete", "clear")
_OP_KEYS = ("op", "id", "author", "site", "lamport", "space", "data")
# Control actions between the instructor and the bedside that are no trainee's business: errors, and
# the class's own actions (a trainee's tool and refusals come from the host alone), and the instructor's
# instructions to the bedside's simulator.
_NOT_FORWARDED = frozenset({"error", GRANT, TAKE_BACK, REFUSED, "scenario"})
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


# --- a class through Janus: what travels where --------------------------------------------------------
# Over the backend room, a relayed ``message`` whose payload has CLASS_KEY:
#   host -> viewers  {"class": "janus", "url", "room", "feed"}   where to subscribe (broadcast once the
#                    publication is up; addressed ``to`` a viewer that joins later)
#   host -> viewer   {"class": "down", "channel", "kind", "body"} what is for that trainee alone: its
#                    tool, refusals, the annotation snapshot, the recording flag for a late joiner
#   viewer -> host   {"class": "up", "channel", "kind", "body"}   what a trainee sends (its ops, its
#                    snapshot request); the host applies ClassModel.allows as peer to peer
#   viewer -> host   {"class": "subscribed"} / {"class": "janus_failed", "reason"} (then peer to peer)
# On the Janus data channel, JSON text: {"class": "fwd", "except": member id or null, "envelope": {...}}
# or, for bytes (vitals), {"class": "fwd", "except": ..., "channel": "vitals", "b64": "..."}; ``except``
# is the trainee whose own message this is (it has it already).
CLASS_KEY = "class"
JANUS_CLASS, DOWN, UP, SUBSCRIBED, JANUS_FAILED, FORWARDED = (
    "janus", "down", "up", "subscribed", "janus_failed", "fwd"
)


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


# --- the trainee's side ---------------------------------------------------------------------------


class ViewerSession(CallSession):
    """The trainee's side of a live class (duck-types what widgets/call_controller.py and the
    ``link.call_session_hooks`` use of a CallSession).

    Peer to peer it never offers and sends no media: the instructor's host offers to it and it answers,
    addressed to the instructor's member id (the only kind of member a viewer may address). Through
    Janus the host tells it where to subscribe (a signalling ``message`` {"class": "janus", ...}); it
    subscribes with :class:`rtc.janus.JanusViewer` and feeds the frames and the class channel's messages
    through the same paths (``take_video_frame``, ``frames_received``, ``message_received``, ``control``).
    Incoming messages are scrubbed by ``replace`` and re-emitted on ``message_received``; control actions
    also update :attr:`control`. ``send`` goes up to the host (over the data channel peer to peer, over
    signalling through Janus), which accepts it only while this trainee holds a tool.
    """

    viewer = True
    _sends_media = False

    def __init__(
        self,
        signalling: Signalling,
        ice_servers: list[dict[str, Any]] | None = None,
        replace: Replace | None = None,
        **options: Any,
    ) -> None:
        # nothing is sent: idle placeholders instead of the synthetic sources
        options.setdefault("video_track", ForwardVideoTrack())
        options.setdefault("audio_track", ForwardAudioTrack())
        options.setdefault("adapt_to_loss", False)
        options.setdefault("keyframe_interval", None)
        self.janus_timeout = float(options.pop("janus_timeout", 20.0))
        super().__init__(signalling, ice_servers=ice_servers, **options)
        self.replace = replace
        self.control = TraineeControl()
        self._members: dict[str, MemberInfo] = {}
        # Through Janus: where the host publishes, the subscription, and the task that makes it.
        self.janus_source: JanusSource | None = None
        self.janus_viewer: Any = None  # rtc.janus.JanusViewer (imported when a class uses Janus)
        self._janus_client: Any = None
        self._janus_task: asyncio.Task[None] | None = None
        self._up_lock = asyncio.Lock()
        self._up_tasks: set[asyncio.Task[None]] = set()

    @property
    def instructor_id(self) -> str | None:
        return self.peer_id

    @property
    def through_janus(self) -> bool:
        return self.janus_source is not None

    async def _on_welcome(self, welcome: Welcome) -> None:
        self._members = {m.member_id: m for m in welcome.members}
        if self._pc is not None:
            await self._reset("signalling rejoined")
        if self.janus_source is None:
            self._peer_id = None  # the instructor's host offers again to our new member id
        # Through Janus the subscription does not depend on our membership: the host announces the
        # class again to our new member id, and we tell it we are subscribed.

    async def _handle(self, message: Welcome | Presence | Relayed | ServerError) -> None:
        if isinstance(message, Presence):
            member = message.member
            if message.event == "join":
                self._members[member.member_id] = member
            else:
                self._members.pop(member.member_id, None)
                if member.member_id == self._peer_id:
                    await self._reset("instructor left")
                    self._peer_id = None
                    self.control.reset()
            return
        await super()._handle(message)

    async def _on_relayed(self, message: Relayed) -> None:
        sender = self._members.get(message.sender)
        if message.type == "message" and isinstance(message.payload.get(CLASS_KEY), str):
            if sender is None or sender.viewer:
                log.warning("viewer: class message from %s ignored (not the instructor)", message.sender)
                return
            await self._on_class_message(sender, message.payload)
            return
        if message.type == "offer":
            if sender is not None and sender.viewer:
                log.warning("viewer: offer from another viewer %s ignored", message.sender)
                return
            if self.janus_source is not None:  # the host fell back to peer to peer for us
                await self._close_janus()
            await super()._on_relayed(message)
            if self._peer_id == message.sender and sender is not None:
                self.control.set_instructor(sender.username)
            return
        await super()._on_relayed(message)

    async def _on_class_message(self, sender: MemberInfo, payload: dict[str, Any]) -> None:
        kind = payload[CLASS_KEY]
        if kind == JANUS_CLASS:
            source = JanusSource.from_payload(payload)
            if source is None:
                log.warning("viewer: malformed Janus announcement ignored: %s", str(payload)[:200])
                return
            self._peer_id = sender.member_id
            self.control.set_instructor(sender.username)
            if source == self.janus_source and self._janus_task is not None:
                if self._state is CallState.CONNECTED:
                    self._send_up({CLASS_KEY: SUBSCRIBED})  # our member id changed: the host learns it
                return
            await self._close_janus()
            if self._pc is not None:
                await self._reset("the class moved to Janus")
            self.janus_source = source
            self._janus_task = asyncio.create_task(self._subscribe(source), name="janus-subscribe")
        elif kind == DOWN and sender.member_id == self._peer_id:
            message = channel_message(payload.get("channel"), payload.get("kind"), payload.get("body"))
            if message is None:
                log.warning("viewer: malformed class message ignored: %s", str(payload)[:200])
                return
            self._deliver(message)

    async def _subscribe(self, source: JanusSource) -> None:
        from rtc.janus import JanusClient, JanusViewer

        client = JanusClient(source.url)
        viewer = JanusViewer(client, source.room, source.feed)
        self._janus_client, self.janus_viewer = client, viewer
        viewer.video_frame_received.connect(self._on_janus_video)
        viewer.audio_frame_received.connect(self._on_janus_audio)
        viewer.message_received.connect(self._on_janus_text)
        try:
            await viewer.start(self.janus_timeout)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("viewer: subscribing through Janus at %s failed: %s", source.url, exc)
            self._send_up({CLASS_KEY: JANUS_FAILED, "reason": str(exc)[:200]})
            self._janus_task = None  # _close_janus must not cancel us
            await self._close_janus()
            self._attempt_at = time.monotonic()
            self._set_state(CallState.RECONNECTING)  # the host offers peer to peer instead
            return
        log.info("viewer: subscribed to the class through Janus (room %s, feed %s)", source.room, source.feed)
        self._set_state(CallState.CONNECTED)
        self._send_up({CLASS_KEY: SUBSCRIBED})

    def _on_janus_video(self, frame: av.VideoFrame) -> None:
        self._latest_frame = frame
        self.frames_received += 1
        self.video_frame_received.emit(frame)

    def _on_janus_audio(self, frame: av.AudioFrame) -> None:
        self.audio_frames_received += 1
        self.audio_frame_received.emit(frame)

    def _on_janus_text(self, text: str) -> None:
        message = unwrap_forwarded(text, self.signalling.member_id)
        if message is not None:
            self._deliver(message)

    async def _close_janus(self) -> None:
        task, self._janus_task = self._janus_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        viewer, client = self.janus_viewer, self._janus_client
        self.janus_viewer, self._janus_client, self.janus_source = None, None, None
        if viewer is not None:
            with contextlib.suppress(Exception):
                await viewer.close()
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()

    async def _reset(self, why: str, keep_state: bool = False) -> None:
        await self._close_janus()
        await super()._reset(why, keep_state)

    async def _watch_once(self, now: float) -> None:
        if self.janus_source is None:
            await super()._watch_once(now)
            return
        viewer = self.janus_viewer
        if viewer is None:
            return
        pc = viewer.pc
        failed = pc is not None and pc.connectionState in ("failed", "closed")
        if self._state is CallState.CONNECTED and (failed or viewer.hung_up.is_set()):
            log.warning("viewer: the Janus subscription ended; asking the host for peer to peer")
            self._send_up({CLASS_KEY: JANUS_FAILED, "reason": "subscription ended"})
            await self._close_janus()
            self._attempt_at = now  # the host's offer is on its way: no offer request before it is late
            self._set_state(CallState.RECONNECTING)

    async def stats(self) -> RTCStatsReport | None:
        viewer = self.janus_viewer
        if viewer is not None and viewer.pc is not None:
            report: RTCStatsReport = await viewer.pc.getStats()
            return report
        return await super().stats()

    def send(self, channel: ChannelName, kind: str, body: dict[str, Any]) -> Envelope:
        if self.janus_source is None:
            return super().send(channel, kind, body)
        # A Janus subscriber sends nothing upward: the instructor gets it over signalling.
        envelope = make_envelope(channel, kind, body, self.outboxes[channel].next_seq())
        self.message_sent.emit(ChannelMessage(channel, envelope=envelope))
        self._send_up({CLASS_KEY: UP, "channel": channel, "kind": kind, "body": envelope.body})
        return envelope

    def send_bytes(self, channel: ChannelName, data: bytes) -> None:
        if self.janus_source is None:
            super().send_bytes(channel, data)
        # through Janus: a trainee's bytes (vitals) are never theirs to send, so they go nowhere

    def _send_up(self, payload: dict[str, Any]) -> None:
        instructor = self._peer_id
        if instructor is None or self._closed:
            return

        async def send() -> None:
            async with self._up_lock:  # in order, one at a time
                try:
                    await self.signalling.send("message", payload, instructor)
                except Exception as exc:
                    log.warning("viewer: class message to the instructor not sent: %s", exc)

        task = asyncio.get_running_loop().create_task(send())
        self._up_tasks.add(task)
        task.add_done_callback(self._up_tasks.discard)

    def _deliver(self, message: ChannelMessage) -> None:
        envelope = message.envelope
        if envelope is not None:
            if self.replace is not None:
                body = scrub(envelope.body, self.replace)
                envelope = envelope.model_copy(update={"body": body})
                message = ChannelMessage(message.channel, envelope=envelope)
            if message.channel == "control":
                action, args = envelope.body.get("action"), envelope.body.get("args", {})
                if isinstance(action, str) and isinstance(args, dict):
                    self.control.apply(action, args)
        self.message_received.emit(message)

    async def close(self) -> None:
        if self._up_tasks:  # a last message upward (an op, a refusal's cause) goes out first
            await asyncio.wait(set(self._up_tasks), timeout=1.0)
        await self._close_janus()
        await super().close()
        self.control.reset()


# --- the instructor's side: media forwarding --------------------------------------------------------


class ForwardVideoTrack(MediaStreamTrack):
    """The bedside's decoded video for one viewer: newest frame wins; each is copied and re-stamped
    on this track's own clock (the encoder marks keyframes on the frame, and the bedside's timestamps
    restart when its connection is renegotiated)."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self._frame: av.VideoFrame | None = None
        self._ready = asyncio.Event()
        self._start: float | None = None
        self._last_pts = -1
        self.frames_forwarded = 0

    def push(self, frame: av.VideoFrame) -> None:
        self._frame = frame
        self._ready.set()

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        await self._ready.wait()
        self._ready.clear()
        frame = self._frame
        if self.readyState != "live" or frame is None:
            raise MediaStreamError
        if frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0:
            copy = av.VideoFrame.from_ndarray(frame.to_ndarray(), format="yuv420p")
        else:
            copy = frame.reformat(format="yuv420p", width=frame.width // 2 * 2, height=frame.height // 2 * 2)
        now = time.monotonic()
        if self._start is None:
            self._start = now
        self._last_pts = max(int((now - self._start) * 90_000), self._last_pts + 1)
        copy.pts, copy.time_base = self._last_pts, VIDEO_TIME_BASE
        self.frames_forwarded += 1
        return copy

    def stop(self) -> None:
        super().stop()
        self._ready.set()  # wake a pending recv(): it raises MediaStreamError


class ForwardAudioTrack(MediaStreamTrack):
    """The bedside's decoded audio for one viewer: a short queue (oldest dropped), re-stamped."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._frames: deque[av.AudioFrame] = deque(maxlen=AUDIO_QUEUE_FRAMES)
        self._ready = asyncio.Event()
        self._samples = 0

    def push(self, frame: av.AudioFrame) -> None:
        self._frames.append(frame)
        self._ready.set()

    async def recv(self) -> av.AudioFrame:
        while not self._frames:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        if self.readyState != "live":
            raise MediaStreamError
        frame = self._frames.popleft()
        copy = av.AudioFrame.from_ndarray(
            frame.to_ndarray(), format=frame.format.name, layout=frame.layout.name
        )
        copy.sample_rate = frame.sample_rate
        copy.pts, copy.time_base = self._samples, fractions.Fraction(1, frame.sample_rate)
        self._samples += frame.samples
        return copy

    def stop(self) -> None:
        super().stop()
        self._ready.set()


# --- the instructor's side: one sub-room per viewer ---------------------------------------------------


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


class ClassHost:
    """The instructor's side of a live class. ``attach`` goes into ``link.call_session_hooks``.

    Peer to peer (``janus_url`` None) every viewer gets a link of its own. With ``janus_url`` the host
    publishes ONE stream into a Janus video room it creates (the bedside's video and audio, and every
    forwarded message on the class data channel) and tells the viewers over signalling where to
    subscribe; what concerns one trainee (its tool, refusals, snapshots) and what a trainee sends travel
    over signalling. When Janus cannot be reached the host says so (:attr:`janus_status` "failed",
    :attr:`janus_error`, ``janus_status_changed``, an error log line) and serves the class peer to peer;
    a viewer whose subscription fails gets a peer-to-peer link too.

    Thread-safe for the UI: :meth:`grant`, :meth:`take_back`, :meth:`broadcast_control`, :meth:`close`
    (on the loop itself use :meth:`aclose`). ``link_options`` go to each viewer link's CallSession
    (e.g. ``keyframe_interval``).
    """

    def __init__(
        self,
        model: ClassModel,
        ice_servers: list[dict[str, Any]] | None = None,
        replace: Replace | None = None,
        janus_url: str | None = None,
        **link_options: Any,
    ) -> None:
        self.model = model
        self.ice_servers = ice_servers
        self.replace = replace
        self.janus_url = janus_url or None
        self.link_options = link_options
        self.session: CallSession | None = None
        self.links: dict[str, ViewerLink] = {}
        self.refused = 0
        self.accepted = 0
        # Janus: "off" (peer to peer, or not started yet), "starting", "publishing", "failed", "closed".
        self.janus_status = "off"
        self.janus_error: str | None = None
        self.janus_status_changed: Listeners[str] = Listeners()
        self.publisher: Any = None  # rtc.janus.JanusPublisher while publishing
        self.janus_source: JanusSource | None = None
        self._janus_client: Any = None
        self._janus_room: int | None = None
        self._janus_task: asyncio.Task[None] | None = None
        self._janus_video: ForwardVideoTrack | None = None
        self._janus_audio: ForwardAudioTrack | None = None
        self._janus_viewers: set[str] = set()  # viewers served through Janus (the others have links)
        self._members: dict[str, MemberInfo] = {}
        self._seq = 0
        self._signal_lock = asyncio.Lock()
        self._mirror = AnnotationDocument(HOST_SITE, "")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._origin: str | None = None  # the viewer whose message is being applied at the instructor
        self._closed = False

    @property
    def publishing(self) -> bool:
        return self.janus_status == "publishing"

    # --- the instructor's session (on the loop) -----------------------------------------------------
    def attach(self, session: CallSession) -> None:
        """On the rtc loop, with each new instructor session before it starts."""
        if self._closed:
            return
        self._loop = asyncio.get_running_loop()
        previous = self.session
        if previous is not None and previous is not session:
            self._detach(previous)
            self._drop_all()
        if self.janus_status == "failed" and previous is not session:
            self._set_janus_status("off")  # a new call tries Janus again
        self.session = session
        self._mirror = AnnotationDocument(HOST_SITE, "")
        session.viewer_handler = self
        for signal, slot in self._wiring(session):
            signal.connect(slot)

    def _detach(self, session: CallSession) -> None:
        if session.viewer_handler is self:
            session.viewer_handler = None
        for signal, slot in self._wiring(session):
            signal.disconnect(slot)

    def _wiring(self, session: CallSession) -> tuple[tuple[Any, Callable[..., None]], ...]:
        """What the host listens to on the instructor's call: connected by attach, disconnected by _detach."""
        return (
            (session.message_received, self._on_received),
            (session.message_sent, self._on_sent),
            (session.video_frame_received, self._on_video),
            (session.audio_frame_received, self._on_audio),
            (session.state_changed, self._on_state),
        )

    def _on_state(self, state: CallState) -> None:
        if state is CallState.ENDED:
            self._drop_all()
            if self._janus_task is not None or self.publisher is not None:
                self._spawn(self._stop_janus())  # hung up: the room goes too

    # ViewerHandler (rtc.session), called by the instructor's session
    def viewers_reset(self, members: list[MemberInfo]) -> None:
        # The instructor's membership changed: the old links' viewers saw it leave, and a bye sent now
        # would come from the new member id, so it could end the new link's call instead.
        self._drop_all(quiet=True)
        for member in members:
            self.viewer_joined(member)

    def viewer_joined(self, member: MemberInfo) -> None:
        session = self.session
        if session is None or self._closed or session.signalling.member_id is None:
            return
        old = self.links.pop(member.member_id, None)
        if old is not None:
            self._spawn(self._close_link(old, quiet=True))
        self.model.add_viewer(member.member_id, member.username)
        self._members[member.member_id] = member
        if self.janus_url is None or self.janus_status == "failed":
            self._open_link(member)
            return
        self._janus_viewers.add(member.member_id)
        if self.janus_status in ("off", "closed"):
            self._set_janus_status("starting")  # now: the next viewer must not start another
            self._janus_task = asyncio.get_running_loop().create_task(self._start_janus(), name="class-janus")
        elif self.publishing:  # a late joiner: where to subscribe, and the recording flag
            self._announce(member.member_id)

    def _open_link(self, member: MemberInfo) -> None:
        session = self.session
        if session is None or session.signalling.member_id is None:
            return
        signalling = ViewerSignalling(session.signalling, session.signalling.member_id, member)
        video, audio = ForwardVideoTrack(), ForwardAudioTrack()
        options: dict[str, Any] = {"liveness_timeout": 15.0, **self.link_options}
        link_session = CallSession(
            signalling, ice_servers=self.ice_servers, video_track=video, audio_track=audio, **options
        )
        link = ViewerLink(member, signalling, link_session, video, audio)
        self.links[member.member_id] = link
        link_session.message_received.connect(lambda message: self._on_viewer_message(link, message))
        link_session.state_changed.connect(lambda state: self._on_link_state(link, state))
        if self.model.recording:  # a late joiner sees the indicator too
            link_session.send("control", RECORDING, control_body(RECORDING, {"on": True}))
        self._spawn(self._start_link(link))

    def _on_link_state(self, link: ViewerLink, state: CallState) -> None:
        if self.links.get(link.member_id) is link:
            self.model.set_connected(link.member_id, state is CallState.CONNECTED)

    def viewer_left(self, member_id: str) -> None:
        link = self.links.pop(member_id, None)
        self._members.pop(member_id, None)
        self._janus_viewers.discard(member_id)
        self.model.remove_viewer(member_id)
        if link is not None:
            self._spawn(self._close_link(link, quiet=True))

    def viewer_signal(self, message: Relayed) -> None:
        if message.type == "message" and isinstance(message.payload.get(CLASS_KEY), str):
            self._on_class_message(message.sender, message.payload)
            return
        link = self.links.get(message.sender)
        if link is not None:
            link.signalling.deliver(message)

    async def _start_link(self, link: ViewerLink) -> None:
        try:
            await link.session.start()
        except Exception:
            log.exception("class: link to viewer %s failed to start", link.member_id)

    async def _close_link(self, link: ViewerLink, *, quiet: bool) -> None:
        if quiet:
            await link.signalling.close()  # no bye: the viewer is gone, or so is our old membership
        await link.session.close()

    def _drop_all(self, quiet: bool = False) -> None:
        links, self.links = list(self.links.values()), {}
        for link in links:
            self._spawn(self._close_link(link, quiet=quiet))
        self._janus_viewers.clear()
        self._members.clear()
        self.model.clear()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- Janus ----------------------------------------------------------------------------------------
    def _set_janus_status(self, status: str) -> None:
        if status != self.janus_status:
            self.janus_status = status
            self.janus_status_changed.emit(status)

    async def _start_janus(self) -> None:
        """Create the room and publish into it; on failure fall back to peer to peer."""
        from rtc.janus import JanusClient, JanusPublisher

        url = self.janus_url
        assert url is not None
        self.janus_error = None
        client = JanusClient(url)
        self._janus_client = client
        try:
            room = await client.create_room(publishers=1, description="Teleconsult class")
            self._janus_room = room
            video, audio = ForwardVideoTrack(), ForwardAudioTrack()
            self._janus_video, self._janus_audio = video, audio  # frames flow from now on
            publisher = JanusPublisher(client, room, video, audio, display="instructor")
            self.publisher = publisher
            await publisher.start()
            assert publisher.feed_id is not None
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._janus_task = None  # _stop_janus must not cancel us
            await self._fall_back(f"Janus at {url} cannot be used: {str(exc) or type(exc).__name__}")
            return
        self.janus_source = JanusSource(url, room, publisher.feed_id)
        self._set_janus_status("publishing")
        log.info("class: publishing into Janus room %s (feed %s)", room, publisher.feed_id)
        self._signal(None, self.janus_source.payload())  # every viewer in the room now
        if self.model.recording:
            self._publish(ChannelMessage("control", envelope=make_envelope(
                "control", RECORDING, control_body(RECORDING, {"on": True}), 0)))
        self._spawn(self._watch_publisher(publisher))

    async def _watch_publisher(self, publisher: Any) -> None:
        """Janus hung the publication up (it restarted, or the room was destroyed under us)."""
        await publisher.hung_up.wait()
        if self.publisher is publisher and not self._closed:
            self._janus_task = None
            await self._fall_back("Janus hung up the class's publication")

    async def _fall_back(self, reason: str) -> None:
        """Janus cannot carry the class: say so, and serve every trainee peer to peer."""
        log.error("class: %s; trainees connect peer to peer", reason)
        self.janus_error = reason
        await self._stop_janus("failed")
        for member_id in sorted(self._janus_viewers):
            member = self._members.get(member_id)
            if member is not None:
                self.model.set_connected(member_id, False)
                self._open_link(member)
        self._janus_viewers.clear()

    def _announce(self, member_id: str) -> None:
        if self.janus_source is None:
            return
        self._signal(member_id, self.janus_source.payload())
        if self.model.recording:
            self._down(member_id, "control", RECORDING, control_body(RECORDING, {"on": True}))

    async def _stop_janus(self, status: str = "closed") -> None:
        """Unpublish, destroy the room, end the Janus session. Twice is harmless."""
        task, self._janus_task = self._janus_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        publisher, client, room = self.publisher, self._janus_client, self._janus_room
        self.publisher, self._janus_client, self._janus_room, self.janus_source = None, None, None, None
        self._janus_video, self._janus_audio = None, None
        if publisher is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(publisher.close(), 5.0)
            publisher.hung_up.set()  # ends its watcher
        if client is not None:
            if room is not None:
                try:
                    await asyncio.wait_for(client.destroy_room(room), 5.0)
                except Exception as exc:
                    log.info("class: Janus room %s not destroyed: %s", room, exc)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.close(), 5.0)
        if status != "closed" or self.janus_status != "failed":
            self._set_janus_status(status)

    def _publish(self, message: ChannelMessage, exclude: str | None = None) -> None:
        publisher = self.publisher
        if publisher is None or not self.publishing:
            return
        self._seq += 1
        try:
            text = wrap_forwarded(message, self._seq, exclude)
        except Exception as exc:  # e.g. a pseudonym made a text too long: the class misses it
            log.warning("class: %s message not published: %s", message.channel, exc)
            return
        if text is not None and not publisher.send(text):
            log.debug("class: the Janus channel is not open; %s message dropped", message.channel)

    def _signal(self, member_id: str | None, payload: dict[str, Any]) -> None:
        """A class message over the instructor's signalling (``None``: to everyone), in order."""
        session = self.session
        if session is None:
            return
        signalling = session.signalling

        async def send() -> None:
            async with self._signal_lock:
                try:
                    await signalling.send("message", payload, member_id)
                except Exception as exc:
                    log.warning("class: message to %s not sent: %s", member_id or "the room", exc)

        self._spawn(send())

    def _down(self, member_id: str, channel: ChannelName, kind: str, body: dict[str, Any]) -> None:
        if self.replace is not None:
            body = scrub(body, self.replace)
        self._signal(member_id, {CLASS_KEY: DOWN, "channel": channel, "kind": kind, "body": body})

    def _on_class_message(self, member_id: str, payload: dict[str, Any]) -> None:
        kind = payload.get(CLASS_KEY)
        member = self._members.get(member_id)
        if member is None:
            return
        if kind == SUBSCRIBED and member_id in self._janus_viewers:
            self.model.set_connected(member_id, True)
        elif kind == JANUS_FAILED and member_id in self._janus_viewers:
            log.warning("class: viewer %s cannot subscribe through Janus (%s): peer to peer instead",
                        member_id, str(payload.get("reason", ""))[:200])
            self._janus_viewers.discard(member_id)
            self.model.set_connected(member_id, False)
            self._open_link(member)
        elif kind == UP and member_id in self._janus_viewers:
            message = channel_message(payload.get("channel"), payload.get("kind"), payload.get("body"))
            if message is None:
                log.warning("class: malformed message from viewer %s dropped", member_id)
                return
            self._from_viewer(member_id, message, lambda ch, k, b: self._down(member_id, ch, k, b))

    # --- forwarding ---------------------------------------------------------------------------------
    def _on_video(self, frame: av.VideoFrame) -> None:
        for link in self.links.values():
            link.video.push(frame)
        if self._janus_video is not None:
            self._janus_video.push(frame)

    def _on_audio(self, frame: av.AudioFrame) -> None:
        for link in self.links.values():
            link.audio.push(frame)
        if self._janus_audio is not None:
            self._janus_audio.push(frame)

    def _on_received(self, message: ChannelMessage) -> None:
        self._observe(message)
        self._forward(message, exclude=self._origin)

    def _on_sent(self, message: ChannelMessage) -> None:
        self._observe(message)
        self._forward(message)

    def _observe(self, message: ChannelMessage) -> None:
        """Keep the host's copy of the annotation document (late joiners get it as a snapshot)."""
        envelope = message.envelope
        if message.channel != "annotations" or envelope is None:
            return
        body = envelope.body
        try:
            if body.get("op") == SNAPSHOT_KIND:
                self._mirror.load_snapshot(body.get("data"))
            elif body.get("op") in _DOC_OPS:
                self._mirror.apply_remote({k: body[k] for k in _OP_KEYS if k in body})
        except Exception:
            log.exception("class: annotation copy failed")

    def _forward(self, message: ChannelMessage, exclude: str | None = None) -> None:
        if not self.links and not self.publishing:
            return
        envelope = message.envelope
        if envelope is None:
            if message.data is None:
                return
            for link in self.links.values():
                # lossy by design: a viewer whose channel is not open yet gets no backlog
                if link.member_id != exclude and link.session.outboxes[message.channel].is_open:
                    link.session.send_bytes(message.channel, message.data)
            self._publish(message, exclude)
            return
        body = envelope.body
        if message.channel == "annotations" and body.get("op") == REQUEST_KIND:
            return  # asked of the bedside; viewers get theirs from the host
        if message.channel == "control" and body.get("action") in _NOT_FORWARDED:
            return
        if self.replace is not None:
            body = scrub(body, self.replace)
        for link in list(self.links.values()):
            if link.member_id == exclude:
                continue
            try:
                link.session.send(message.channel, envelope.kind, body)
            except Exception as exc:  # e.g. a pseudonym made a text too long: that viewer misses it
                log.warning("class: %s message not forwarded to %s: %s", message.channel, link.member_id, exc)
        if self.publishing:
            scrubbed = envelope.model_copy(update={"body": body})
            self._publish(ChannelMessage(message.channel, envelope=scrubbed), exclude)

    def _on_viewer_message(self, link: ViewerLink, message: ChannelMessage) -> None:
        if self.links.get(link.member_id) is not link:
            return
        self._from_viewer(link.member_id, message, link.session.send)

    def _from_viewer(self, member_id: str, message: ChannelMessage, reply: Reply) -> None:
        """What a viewer sent (over its link, or over signalling through Janus); ``reply`` answers it."""
        envelope = message.envelope
        if envelope is None:
            return  # vitals bytes from a trainee: never theirs to send
        body = envelope.body
        if message.channel == "annotations" and body.get("op") == REQUEST_KIND:
            for part in self._snapshot_bodies():
                try:
                    reply("annotations", SNAPSHOT_KIND, part)
                except Exception:
                    log.exception("class: snapshot part not sent to %s", member_id)
            return
        if message.channel == "annotations" and body.get("op") == SNAPSHOT_KIND:
            return  # a viewer's document never overrides the class's
        if message.channel == "control":
            # a trainee's errors and view-mirror replies (following, refused, missing) concern no one
            log.debug("class: control %s from viewer %s dropped", body.get("action"), member_id)
            return
        if not self.model.allows(member_id, message.channel, envelope.kind, body):
            self.refused += 1
            viewer = self.model.viewer(member_id)
            reason = "no_tool" if viewer is None or viewer.tool is None else "not_permitted"
            log.info("class: %s from viewer %s refused (%s)", message.channel, member_id, reason)
            reply("control", REFUSED, control_body(REFUSED, {"reason": reason}))
            return
        session = self.session
        if session is None:
            return
        self.accepted += 1
        self._origin = member_id
        try:  # at the instructor as if the peer had sent it; the other viewers get it from _on_received
            session.message_received.emit(message)
        finally:
            self._origin = None
        # to the bedside, past message_sent: the viewers have it already
        session.outboxes[message.channel].send_envelope(envelope.kind, body)

    def _snapshot_bodies(self) -> list[dict[str, Any]]:
        snapshot = self._mirror.snapshot()
        bodies = []
        for part in snapshot_parts(snapshot):
            data = scrub(part, self.replace) if self.replace is not None else part
            bodies.append({"op": SNAPSHOT_KIND, "id": SNAPSHOT_KIND, "author": "", "site": HOST_SITE,
                           "lamport": min(snapshot["clock"], 2**31 - 1), "space": "all", "data": data})
        return bodies

    # --- the UI's side (thread-safe) ----------------------------------------------------------------
    def _call(self, fn: Callable[[], None]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            fn()
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            fn()
        else:
            loop.call_soon_threadsafe(fn)

    def grant(self, member_id: str, tool: str) -> None:
        """Hand ``tool`` (one of live.TOOLS) to a viewer. Thread-safe."""
        check_tool(tool)

        def run() -> None:
            if self.model.grant(member_id, tool):
                self._control(member_id, GRANT, {"tool": tool})

        self._call(run)

    def take_back(self, member_id: str) -> None:
        """Take a viewer's tool back. Thread-safe."""

        def run() -> None:
            if self.model.take_back(member_id):
                self._control(member_id, TAKE_BACK, {})

        self._call(run)

    def broadcast_control(self, action: str, args: dict[str, Any]) -> None:
        """Send a control action to every viewer and to the bedside (the instructor's peer), e.g.
        ``recording`` {"on"}, which also updates the model and reaches late joiners. Thread-safe."""
        args = dict(args)

        def run() -> None:
            if action == RECORDING:
                self.model.set_recording(bool(args.get("on")))
            for member_id in list(self.links):
                self._control(member_id, action, args)
            if self.publishing:
                envelope = make_envelope("control", action, control_body(action, args), 0)
                self._publish(ChannelMessage("control", envelope=envelope))
            if self.session is not None:  # past message_sent: the viewers have theirs already
                self.session.outboxes["control"].send_envelope(action, control_body(action, args))

        self._call(run)

    def _control(self, member_id: str, action: str, args: dict[str, Any]) -> None:
        link = self.links.get(member_id)
        if link is not None:
            link.session.send("control", action, control_body(action, args))
        elif member_id in self._janus_viewers:
            self._down(member_id, "control", action, control_body(action, args))

    # --- lifetime -----------------------------------------------------------------------------------
    async def aclose(self) -> None:
        """Close every viewer link and the Janus publication (on the loop). Twice is harmless."""
        if self._closed:
            return
        self._closed = True
        session, self.session = self.session, None
        if session is not None:
            self._detach(session)
        links, self.links = list(self.links.values()), {}
        closing = (self._close_link(link, quiet=False) for link in links)
        await asyncio.gather(*closing, return_exceptions=True)
        await self._stop_janus()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5.0)
        self._janus_viewers.clear()
        self._members.clear()
        self.model.clear()

    def close(self, timeout: float = 5.0) -> None:
        """Thread-safe close; twice is harmless. From the loop's own thread it is scheduled."""
        loop = self._loop
        if loop is None or loop.is_closed() or not loop.is_running():
            self._closed = True
            self.model.clear()
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        future = asyncio.run_coroutine_threadsafe(self.aclose(), loop)
        if running is None:  # a plain thread (the UI's): wait, briefly
            with contextlib.suppress(Exception):
                future.result(timeout)

    async def measure(self, seconds: float) -> dict[str, float]:
        """CPU of this process (percent of one core) and what went to the viewers (kbit/s: all links and
        the Janus publication together, and per viewer) over ``seconds``: for the class's figures.
        ``video_streams_out``: how many video streams this workstation sends for the class."""
        before_cpu, before_wall = time.process_time(), time.monotonic()
        before = await self._bytes_sent()
        await asyncio.sleep(seconds)
        after = await self._bytes_sent()
        wall = time.monotonic() - before_wall
        cpu = (time.process_time() - before_cpu) / wall * 100.0
        kbps = (after - before) * 8 / wall / 1000.0
        viewers = len(self.model.viewers)
        return {"cpu_percent": cpu, "kbps_to_viewers": kbps, "kbps_per_viewer": kbps / max(1, viewers),
                "viewers": float(viewers),
                "video_streams_out": float(len(self.links) + (1 if self.publishing else 0))}

    async def _bytes_sent(self) -> int:
        reports = [await link.session.stats() for link in list(self.links.values())]
        if self.publisher is not None and self.publishing:
            reports.append(await self.publisher.stats())
        total = 0
        for report in reports:
            if report is None:
                continue
            transports = [s for s in report.values() if s.type == "transport"]
            total += sum(int(getattr(s, "bytesSent", 0) or 0) for s in transports)
        return total

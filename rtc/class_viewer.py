"""The trainee's side of a live class: a receive-only call that follows the instructor's host.

Peer to peer it answers the host's offer and never offers itself; through Janus it subscribes where the
host says (rtc/janus.py JanusViewer). Either way frames and messages come out of the same attributes
and listeners as a CallSession's, so the trainee's UI and the call hooks (vitals, annotations, view
mirroring) attach to it as to any call.

What a trainee may do is not decided here: the host's policy refuses what the trainee's tool does not
allow, and tells the trainee so. This session only hands every control action it receives, the
instructor's name and the instructor's departure to its ``control`` (a :class:`ViewerControl`, in the
app core.teaching.live.TraineeControl), so the transport stays free of the class's vocabulary.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, Generic, Protocol, TypeVar

import av
from aiortc import RTCStatsReport

from rtc.channels import ChannelMessage, ChannelName, Envelope, make_envelope
from rtc.class_wire import (
    CLASS_KEY,
    DOWN,
    JANUS_CLASS,
    JANUS_FAILED,
    SUBSCRIBED,
    UP,
    JanusSource,
    Replace,
    channel_message,
    scrub,
    unwrap_forwarded,
)
from rtc.forward_tracks import ForwardAudioTrack, ForwardVideoTrack
from rtc.session import CallSession, CallState
from rtc.signalling import MemberInfo, Presence, Relayed, ServerError, Signalling, Welcome

log = logging.getLogger(__name__)


class ViewerControl(Protocol):
    """What the trainee's session tells the class's trainee-side model (structural: rtc imports no
    domain). Called on the rtc loop."""

    def set_instructor(self, username: str) -> None:
        """The user name of the instructor whose class this is."""

    def apply(self, action: str, args: dict[str, Any]) -> None:
        """A control action from the instructor (scrubbed); unknown ones are the control's to ignore."""

    def reset(self) -> None:
        """The instructor left: nothing handed over is held any more."""


ControlT = TypeVar("ControlT", bound=ViewerControl)


class ViewerSession(CallSession, Generic[ControlT]):
    """The trainee's side of a live class (duck-types what widgets/call_controller.py and the
    ``link.call_session_hooks`` use of a CallSession).

    Peer to peer it never offers and sends no media: the instructor's host offers to it and it answers,
    addressed to the instructor's member id (the only kind of member a viewer may address). Through
    Janus the host tells it where to subscribe (a signalling ``message`` {"class": "janus", ...}); it
    subscribes with :class:`rtc.janus.JanusViewer` and feeds the frames and the class channel's messages
    through the same paths (``take_video_frame``, ``frames_received``, ``message_received``, ``control``).
    Incoming messages are scrubbed by ``replace`` and re-emitted on ``message_received``; control actions
    also go to :attr:`control` (the caller's :class:`ViewerControl`). ``send`` goes up to the host (over
    the data channel peer to peer, over signalling through Janus), whose policy decides what passes.
    """

    viewer = True
    _sends_media = False

    def __init__(
        self,
        signalling: Signalling,
        ice_servers: list[dict[str, Any]] | None = None,
        replace: Replace | None = None,
        *,
        control: ControlT,
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
        self.control: ControlT = control
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

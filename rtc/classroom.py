"""A live class, the instructor's side: the host that fans the call out to the trainees who follow it,
peer to peer through the instructor's workstation (a few viewers) or through the site's Janus SFU (a class).

Qt-free; everything runs on the rtc loop (rtc/runtime.py) except the methods marked thread-safe.

The host is transport only. It never decides what a trainee may do: every question whose answer is the
class's (does a trainee's message pass? what is a late joiner given? which of the instructor's messages
concern the class? what does a control action from the instructor change?) goes to its ``policy``, a
:class:`ClassPolicy` that speaks plain strings and dicts. The app composes the two
(app/wiring/classroom.py: core.teaching.class_policy.ClassRules), so rtc stays a library that knows no
domain, and the rules can be read and tested without a network.

The backend room admits trainees of the consult's specialty as ``viewer=True`` members. The instructor's
:class:`rtc.session.CallSession` (the call with the bedside) hands their presence and signalling to a
:class:`ClassHost` (its ``viewer_handler``). For each viewer the host runs one more CallSession, the
*link* (rtc/viewer_link.py), over a sub-signalling that shares the instructor's room membership: the host
offers, the link sends the bedside's decoded video and audio (re-encoded per viewer, rtc/forward_tracks.py)
and the four data channels. Every channel message of the instructor's session, received or sent, that
the policy ``forwards`` goes to every viewer, text scrubbed by ``replace`` (defence in depth: a trainee
never sees who the patient is). A viewer's own messages go to the policy's ``from_viewer``: what passes
is applied at the instructor as if remote and forwarded to the bedside and to the other viewers; the
policy's replies (a refusal, a snapshot) go back to that viewer alone.

Through Janus (``ClassHost(janus_url=...)``, site file ``[teaching] janus_url``) the instructor's
workstation sends ONE stream whatever the class size: the host creates a video room, publishes the
bedside's video and audio into it with one encoder (rtc/janus.py), and puts every forwarded message,
scrubbed, on the publication's data channel as JSON text (vitals bytes in base64). Viewers learn where to
subscribe over the backend room, and what concerns one trainee and whatever a trainee sends travel over
signalling, under the same policy (the wire format: rtc/class_wire.py). If Janus cannot be reached, or
drops the publication, the host says so (``janus_status`` "failed", ``janus_error``, an error log line)
and serves the class peer to peer; a trainee whose own subscription fails asks for, and gets, a
peer-to-peer link. The trainee's side is rtc/class_viewer.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import av

from rtc.channels import ChannelMessage, ChannelName, make_envelope
from rtc.class_wire import (
    CLASS_KEY,
    DOWN,
    JANUS_FAILED,
    SUBSCRIBED,
    UP,
    JanusSource,
    Replace,
    channel_message,
    channel_of,
    control_body,
    scrub,
    wrap_forwarded,
)
from rtc.forward_tracks import ForwardAudioTrack, ForwardVideoTrack
from rtc.session import CallSession, CallState, Listeners
from rtc.signalling import MemberInfo, Relayed
from rtc.viewer_link import ViewerLink, ViewerSignalling

log = logging.getLogger(__name__)

Reply = Callable[[ChannelName, str, dict[str, Any]], Any]  # answers one viewer: channel, kind, body
Outgoing = tuple[str, str, dict[str, Any]]  # a message the policy has the host send: channel, kind, body


class ViewerVerdict(Protocol):
    """What becomes of one message a viewer sent (read-only: a frozen dataclass will do)."""

    @property
    def passes(self) -> bool:
        """Applied at the instructor as if the bedside sent it, and forwarded to the bedside and the
        other viewers."""

    @property
    def replies(self) -> Sequence[Outgoing]:
        """Sent back to that viewer alone, scrubbed (an annotation snapshot, a refusal)."""

    @property
    def refusal(self) -> str | None:
        """Why it was refused, if it was (the host counts and logs refusals)."""


class ClassPolicy(Protocol):
    """What the host asks of the class's rules. Called on the rtc loop, except :meth:`check_control`.

    The roster methods report what the transport saw, in order; the rules keep whatever their answers
    need. Channels are plain names of rtc.channels.CHANNELS; bodies are the envelopes' JSON bodies.
    """

    def call_started(self) -> None:
        """A new instructor session: nothing the class saw on an earlier one is the class's now."""

    def viewer_joined(self, member_id: str, username: str) -> None:
        """A trainee joined (again: a rejoin keeps nothing of an earlier membership)."""

    def viewer_left(self, member_id: str) -> None: ...

    def viewers_gone(self) -> None:
        """Every viewer at once (the instructor's call ended, its membership changed, or the host closed)."""

    def viewer_connected(self, member_id: str, connected: bool) -> None:
        """A viewer's media arrived (its link connected, or it subscribed through Janus) or stopped."""

    def observe(self, channel: str, kind: str, body: dict[str, Any]) -> None:
        """Every message of the instructor's session, received or sent, before it is forwarded."""

    def forwards(self, channel: str, kind: str, body: dict[str, Any]) -> bool:
        """Whether this message of the instructor's session goes to the viewers."""

    def from_viewer(self, member_id: str, channel: str, kind: str, body: dict[str, Any]) -> ViewerVerdict:
        """What becomes of a viewer's message."""

    def greeting(self) -> Sequence[Outgoing]:
        """What a viewer arriving now is told first (e.g. that the session is being recorded)."""

    def check_control(self, action: str, args: dict[str, Any]) -> None:
        """Raise ValueError for a control action the instructor may not send; on the caller's thread,
        so a bad request fails where it was made."""

    def control(self, member_id: str | None, action: str, args: dict[str, Any]) -> bool:
        """The instructor sends a control action to one viewer (``member_id``) or to the whole call
        (None): apply it to the class; whether it goes out."""


class ClassHost:
    """The instructor's side of a live class. ``attach`` goes into ``link.call_session_hooks``.

    Peer to peer (``janus_url`` None) every viewer gets a link of its own. With ``janus_url`` the host
    publishes ONE stream into a Janus video room it creates (the bedside's video and audio, and every
    forwarded message on the class data channel) and tells the viewers over signalling where to
    subscribe; what concerns one trainee (the policy's replies, a control action for it alone) and what
    a trainee sends travel over signalling. When Janus cannot be reached the host says so
    (:attr:`janus_status` "failed", :attr:`janus_error`, ``janus_status_changed``, an error log line)
    and serves the class peer to peer; a viewer whose subscription fails gets a peer-to-peer link too.

    Thread-safe for the UI: :meth:`send_control`, :meth:`broadcast_control`, :meth:`close` (on the loop
    itself use :meth:`aclose`). ``link_options`` go to each viewer link's CallSession (e.g.
    ``keyframe_interval``). :attr:`refused` and :attr:`accepted` count the policy's verdicts on what
    viewers sent.
    """

    def __init__(
        self,
        policy: ClassPolicy,
        ice_servers: list[dict[str, Any]] | None = None,
        replace: Replace | None = None,
        janus_url: str | None = None,
        **link_options: Any,
    ) -> None:
        self.policy = policy
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
        self.policy.call_started()
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
        self.policy.viewer_joined(member.member_id, member.username)
        self._members[member.member_id] = member
        if self.janus_url is None or self.janus_status == "failed":
            self._open_link(member)
            return
        self._janus_viewers.add(member.member_id)
        if self.janus_status in ("off", "closed"):
            self._set_janus_status("starting")  # now: the next viewer must not start another
            self._janus_task = asyncio.get_running_loop().create_task(self._start_janus(), name="class-janus")
        elif self.publishing:  # a late joiner: where to subscribe, and the policy's greeting
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
        for channel, kind, body in self.policy.greeting():  # a late joiner learns what the others know
            link_session.send(channel_of(channel), kind, body)
        self._spawn(self._start_link(link))

    def _on_link_state(self, link: ViewerLink, state: CallState) -> None:
        if self.links.get(link.member_id) is link:
            self.policy.viewer_connected(link.member_id, state is CallState.CONNECTED)

    def viewer_left(self, member_id: str) -> None:
        link = self.links.pop(member_id, None)
        self._members.pop(member_id, None)
        self._janus_viewers.discard(member_id)
        self.policy.viewer_left(member_id)
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
        self.policy.viewers_gone()

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
        for channel, kind, body in self.policy.greeting():
            name = channel_of(channel)
            self._publish(ChannelMessage(name, envelope=make_envelope(name, kind, body, 0)))
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
                self.policy.viewer_connected(member_id, False)
                self._open_link(member)
        self._janus_viewers.clear()

    def _announce(self, member_id: str) -> None:
        if self.janus_source is None:
            return
        self._signal(member_id, self.janus_source.payload())
        for channel, kind, body in self.policy.greeting():
            self._down(member_id, channel_of(channel), kind, body)

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
            self.policy.viewer_connected(member_id, True)
        elif kind == JANUS_FAILED and member_id in self._janus_viewers:
            log.warning("class: viewer %s cannot subscribe through Janus (%s): peer to peer instead",
                        member_id, str(payload.get("reason", ""))[:200])
            self._janus_viewers.discard(member_id)
            self.policy.viewer_connected(member_id, False)
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
        envelope = message.envelope
        if envelope is None:
            return
        try:
            self.policy.observe(message.channel, envelope.kind, envelope.body)
        except Exception:  # the policy's trouble must not stop the call's messages
            log.exception("class: the policy failed to observe a %s message", message.channel)

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
        if not self.policy.forwards(message.channel, envelope.kind, body):
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
        self._from_viewer(link.member_id, message, lambda ch, k, b: self._reply_over_link(link, ch, k, b))

    def _reply_over_link(
        self, link: ViewerLink, channel: ChannelName, kind: str, body: dict[str, Any]
    ) -> None:
        # scrubbed as _down scrubs, since the policy's replies carry the class's content (a snapshot)
        link.session.send(channel, kind, scrub(body, self.replace) if self.replace is not None else body)

    def _from_viewer(self, member_id: str, message: ChannelMessage, reply: Reply) -> None:
        """What a viewer sent (over its link, or over signalling through Janus); ``reply`` answers it."""
        envelope = message.envelope
        if envelope is None:
            return  # bytes (vitals) from a trainee: the class's data is the bedside's alone
        body = envelope.body
        verdict = self.policy.from_viewer(member_id, message.channel, envelope.kind, body)
        if verdict.refusal is not None:
            self.refused += 1
            log.info("class: %s from viewer %s refused (%s)", message.channel, member_id, verdict.refusal)
        for channel, kind, reply_body in verdict.replies:
            try:
                reply(channel_of(channel), kind, reply_body)
            except Exception:
                log.exception("class: %s %s not sent to %s", channel, kind, member_id)
        if not verdict.passes:
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

    def send_control(self, member_id: str, action: str, args: dict[str, Any]) -> None:
        """Send a control action to one viewer (e.g. handing a tool over, taking it back) if the policy,
        told of it first, lets it go out. Thread-safe; the policy's ValueError is raised here."""
        args = dict(args)
        self.policy.check_control(action, args)

        def run() -> None:
            if self.policy.control(member_id, action, args):
                self._control(member_id, action, args)

        self._call(run)

    def broadcast_control(self, action: str, args: dict[str, Any]) -> None:
        """Send a control action to every viewer and to the bedside (the instructor's peer), e.g. the
        recording flag, which the policy also keeps for late joiners. Thread-safe; the policy's
        ValueError is raised here."""
        args = dict(args)
        self.policy.check_control(action, args)

        def run() -> None:
            if not self.policy.control(None, action, args):
                return
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
        self.policy.viewers_gone()

    def close(self, timeout: float = 5.0) -> None:
        """Thread-safe close; twice is harmless. From the loop's own thread it is scheduled."""
        loop = self._loop
        if loop is None or loop.is_closed() or not loop.is_running():
            self._closed = True
            self.policy.viewers_gone()
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
        viewers = len(self._members)
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

"""A live class peer to peer: trainees follow the instructor's call through the instructor's workstation.

Qt-free; everything runs on the rtc loop (rtc/runtime.py) except the methods marked thread-safe.

The backend room admits trainees of the consult's specialty as ``viewer=True`` members. The instructor's
:class:`rtc.session.CallSession` (the call with the bedside) hands their presence and signalling to a
:class:`ClassHost` (its ``viewer_handler``). For each viewer the host runs one more CallSession, the
*link*, over a sub-signalling that shares the instructor's room membership (messages addressed to that
viewer): the host offers, the link sends the bedside's decoded video and audio (re-encoded per viewer)
and the four data channels. Every channel message of the instructor's session, received or sent, is
forwarded to every viewer, text scrubbed by ``replace`` (defence in depth: a trainee never sees who the
patient is). A viewer's own messages are accepted only while it holds a tool
(:meth:`app.teaching.live.ClassModel.allows`): then they are applied at the instructor as if remote and
forwarded to the bedside and to the other viewers; otherwise dropped, and the viewer gets a control
``refused``. A viewer's ``snapshot_request`` is answered from the host's copy of the annotation document
(late joiners), and a new link starts with the current recording flag.

:class:`ViewerSession` is the trainee's side: a receive-only CallSession that answers the instructor's
offer and never offers itself; control actions update its :class:`app.teaching.live.TraineeControl`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from app.annotations.model import AnnotationDocument
from app.annotations.sync import REQUEST_KIND, SNAPSHOT_KIND, snapshot_parts
from app.teaching.live import GRANT, RECORDING, REFUSED, TAKE_BACK, ClassModel, TraineeControl, check_tool
from rtc.channels import ChannelMessage
from rtc.session import CallSession, CallState
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

VIDEO_TIME_BASE = fractions.Fraction(1, 90_000)
AUDIO_QUEUE_FRAMES = 25  # 0.5 s of 20 ms frames: a viewer that cannot keep up loses the oldest audio
HOST_SITE = "class-host"
_DOC_OPS = ("add", "update", "delete", "clear")
_OP_KEYS = ("op", "id", "author", "site", "lamport", "space", "data")
# Control actions between the instructor and the bedside that are no trainee's business: errors, and
# the class's own actions (a trainee's tool and refusals come from the host alone).
_NOT_FORWARDED = frozenset({"error", GRANT, TAKE_BACK, REFUSED})
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


# --- the trainee's side ---------------------------------------------------------------------------


class ViewerSession(CallSession):
    """The trainee's side of a live class (duck-types what widgets/call_controller.py and the
    ``link.call_session_hooks`` use of a CallSession).

    It never offers and sends no media: the instructor's host offers to it and it answers, addressed
    to the instructor's member id (the only kind of member a viewer may address). Incoming messages are
    scrubbed by ``replace`` and re-emitted on ``message_received``; control actions also update
    :attr:`control`. ``send`` goes up to the host, which accepts it only while this trainee holds a tool.
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
        super().__init__(signalling, ice_servers=ice_servers, **options)
        self.replace = replace
        self.control = TraineeControl()
        self._members: dict[str, MemberInfo] = {}

    @property
    def instructor_id(self) -> str | None:
        return self.peer_id

    async def _on_welcome(self, welcome: Welcome) -> None:
        self._members = {m.member_id: m for m in welcome.members}
        if self._pc is not None:
            await self._reset("signalling rejoined")
        self._peer_id = None  # the instructor's host offers again to our new member id

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
        if message.type == "offer":
            if sender is not None and sender.viewer:
                log.warning("viewer: offer from another viewer %s ignored", message.sender)
                return
            await super()._on_relayed(message)
            if self._peer_id == message.sender and sender is not None:
                self.control.set_instructor(sender.username)
            return
        await super()._on_relayed(message)

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

    Thread-safe for the UI: :meth:`grant`, :meth:`take_back`, :meth:`broadcast_control`, :meth:`close`
    (on the loop itself use :meth:`aclose`). ``link_options`` go to each viewer link's CallSession
    (e.g. ``keyframe_interval``).
    """

    def __init__(
        self,
        model: ClassModel,
        ice_servers: list[dict[str, Any]] | None = None,
        replace: Replace | None = None,
        **link_options: Any,
    ) -> None:
        self.model = model
        self.ice_servers = ice_servers
        self.replace = replace
        self.link_options = link_options
        self.session: CallSession | None = None
        self.links: dict[str, ViewerLink] = {}
        self.refused = 0
        self.accepted = 0
        self._mirror = AnnotationDocument(HOST_SITE, "")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._origin: str | None = None  # the viewer whose message is being applied at the instructor
        self._closed = False

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
        self.session = session
        self._mirror = AnnotationDocument(HOST_SITE, "")
        session.viewer_handler = self
        session.message_received.connect(self._on_received)
        session.message_sent.connect(self._on_sent)
        session.video_frame_received.connect(self._on_video)
        session.audio_frame_received.connect(self._on_audio)
        session.state_changed.connect(self._on_state)

    def _detach(self, session: CallSession) -> None:
        if session.viewer_handler is self:
            session.viewer_handler = None
        session.message_received.disconnect(self._on_received)
        session.message_sent.disconnect(self._on_sent)
        session.video_frame_received.disconnect(self._on_video)
        session.audio_frame_received.disconnect(self._on_audio)
        session.state_changed.disconnect(self._on_state)

    def _on_state(self, state: CallState) -> None:
        if state is CallState.ENDED:
            self._drop_all()

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
        self.model.remove_viewer(member_id)
        if link is not None:
            self._spawn(self._close_link(link, quiet=True))

    def viewer_signal(self, message: Relayed) -> None:
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
        self.model.clear()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- forwarding ---------------------------------------------------------------------------------
    def _on_video(self, frame: av.VideoFrame) -> None:
        for link in self.links.values():
            link.video.push(frame)

    def _on_audio(self, frame: av.AudioFrame) -> None:
        for link in self.links.values():
            link.audio.push(frame)

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
        if not self.links:
            return
        envelope = message.envelope
        if envelope is None:
            if message.data is None:
                return
            for link in self.links.values():
                # lossy by design: a viewer whose channel is not open yet gets no backlog
                if link.member_id != exclude and link.session.outboxes[message.channel].is_open:
                    link.session.send_bytes(message.channel, message.data)
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

    def _on_viewer_message(self, link: ViewerLink, message: ChannelMessage) -> None:
        if self.links.get(link.member_id) is not link:
            return
        envelope = message.envelope
        if envelope is None:
            return  # vitals bytes from a trainee: never theirs to send
        body = envelope.body
        if message.channel == "annotations" and body.get("op") == REQUEST_KIND:
            self._send_snapshot(link)
            return
        if message.channel == "annotations" and body.get("op") == SNAPSHOT_KIND:
            return  # a viewer's document never overrides the class's
        if message.channel == "control":
            # a trainee's errors and view-mirror replies (following, refused, missing) concern no one
            log.debug("class: control %s from viewer %s dropped", body.get("action"), link.member_id)
            return
        if not self.model.allows(link.member_id, message.channel, envelope.kind, body):
            self.refused += 1
            viewer = self.model.viewer(link.member_id)
            reason = "no_tool" if viewer is None or viewer.tool is None else "not_permitted"
            log.info("class: %s from viewer %s refused (%s)", message.channel, link.member_id, reason)
            link.session.send("control", REFUSED, control_body(REFUSED, {"reason": reason}))
            return
        session = self.session
        if session is None:
            return
        self.accepted += 1
        self._origin = link.member_id
        try:  # at the instructor as if the peer had sent it; the other viewers get it from _on_received
            session.message_received.emit(message)
        finally:
            self._origin = None
        # to the bedside, past message_sent: the viewers have it already
        session.outboxes[message.channel].send_envelope(envelope.kind, body)

    def _send_snapshot(self, link: ViewerLink) -> None:
        snapshot = self._mirror.snapshot()
        for part in snapshot_parts(snapshot):
            data = scrub(part, self.replace) if self.replace is not None else part
            body = {"op": SNAPSHOT_KIND, "id": SNAPSHOT_KIND, "author": "", "site": HOST_SITE,
                    "lamport": min(snapshot["clock"], 2**31 - 1), "space": "all", "data": data}
            try:
                link.session.send("annotations", SNAPSHOT_KIND, body)
            except Exception:
                log.exception("class: snapshot part not sent to %s", link.member_id)

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
            if self.session is not None:  # past message_sent: the viewers have theirs already
                self.session.outboxes["control"].send_envelope(action, control_body(action, args))

        self._call(run)

    def _control(self, member_id: str, action: str, args: dict[str, Any]) -> None:
        link = self.links.get(member_id)
        if link is not None:
            link.session.send("control", action, control_body(action, args))

    # --- lifetime -----------------------------------------------------------------------------------
    async def aclose(self) -> None:
        """Close every viewer link (on the loop). Twice is harmless."""
        if self._closed:
            return
        self._closed = True
        session, self.session = self.session, None
        if session is not None:
            self._detach(session)
        links, self.links = list(self.links.values()), {}
        closing = (self._close_link(link, quiet=False) for link in links)
        await asyncio.gather(*closing, return_exceptions=True)
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5.0)
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
        """CPU of this process (percent of one core) and what went to the viewers (kbit/s, all links
        together and per viewer) over ``seconds``: for the class's figures."""
        before_cpu, before_wall = time.process_time(), time.monotonic()
        before = await self._bytes_sent()
        await asyncio.sleep(seconds)
        after = await self._bytes_sent()
        wall = time.monotonic() - before_wall
        cpu = (time.process_time() - before_cpu) / wall * 100.0
        kbps = (after - before) * 8 / wall / 1000.0
        viewers = max(1, len(self.links))
        return {"cpu_percent": cpu, "kbps_to_viewers": kbps, "kbps_per_viewer": kbps / viewers,
                "viewers": float(len(self.links))}

    async def _bytes_sent(self) -> int:
        total = 0
        for link in list(self.links.values()):
            report = await link.session.stats()
            if report is None:
                continue
            transports = [s for s in report.values() if s.type == "transport"]
            total += sum(int(getattr(s, "bytesSent", 0) or 0) for s in transports)
        return total

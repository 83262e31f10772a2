"""CallSession: one peer-to-peer call on aiortc, joined through a Signalling. Qt-free.

Everything here runs on the rtc loop (rtc/runtime.py). Listeners are called on that loop; the Qt
bridge re-posts them to the UI thread. Negotiation rule: the member who joins the room second makes
the offer, so both peers never offer at once (no glare). aiortc has no ICE restart, so recovery is a
fresh peer connection and a fresh offer/answer; the channel outboxes outlive it.

A supervisor task ticks twice a second: it forces a keyframe every ``keyframe_interval`` (aiortc's VP8
encoder would wait ~100 s; picture-loss requests are answered by aiortc at once), feeds the receiver's
loss reports to the adaptive video track (rtc/adaptation.py), declares the path lost when nothing at
all has arrived for ``liveness_timeout`` (aioice's consent check would take 30 s), and drives
recovery: the offerer re-offers, the answerer asks for an offer, again after ``negotiation_timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any, Generic, Literal, Protocol, TypeVar

import av
from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
    RTCStatsReport,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import SessionDescription, candidate_from_sdp

from rtc.adaptation import AdaptiveVideoTrack, LossPolicy, repeat_nacks
from rtc.channels import (
    ACK_KIND,
    CHANNELS,
    ChannelMessage,
    ChannelName,
    ChannelOutbox,
    Deduplicator,
    Envelope,
    ack_body,
    decode,
    outboxes,
)
from rtc.signalling import (
    MemberInfo,
    Presence,
    Relayed,
    ServerError,
    Signalling,
    SignallingClosedError,
    Welcome,
)
from rtc.sources import SyntheticAudioTrack, SyntheticVideoTrack

log = logging.getLogger(__name__)
T = TypeVar("T")
IcePolicy = Literal["all", "relay"]
# Relayed "message" payload by which an answerer that lost the path asks the offerer for a fresh offer.
REQUEST_OFFER = {"request": "offer"}


class CallState(enum.Enum):
    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    ENDED = "ended"


class Listeners(Generic[T]):
    """A minimal event: ``connect(fn)``, ``disconnect(fn)``, ``emit(value)``; a failing listener is logged."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[T], None]] = []

    def connect(self, callback: Callable[[T], None]) -> None:
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[[T], None]) -> None:
        with contextlib.suppress(ValueError):
            self._callbacks.remove(callback)

    def clear(self) -> None:
        self._callbacks.clear()

    def emit(self, value: T) -> None:
        for callback in list(self._callbacks):
            try:
                callback(value)
            except Exception:
                log.exception("listener %r failed", callback)


class ViewerHandler(Protocol):
    """Takes the room's viewer members off a CallSession (rtc/classroom.py ClassHost): the session
    itself never negotiates with a viewer. Called on the rtc loop, synchronously: schedule, do not wait."""

    def viewers_reset(self, members: list[MemberInfo]) -> None:
        """(Re)joined the room: these viewers are in it now; forget any earlier ones."""

    def viewer_joined(self, member: MemberInfo) -> None: ...

    def viewer_left(self, member_id: str) -> None: ...

    def viewer_signal(self, message: Relayed) -> None:
        """A relayed message (offer, answer, candidate, bye, message) from a viewer member."""


def ice_configuration(
    ice_servers: list[dict[str, Any]] | None, transport_policy: IcePolicy = "all"
) -> RTCConfiguration:
    """``[{"urls": ..., "username": ..., "credential": ...}]`` -> RTCConfiguration. An empty list means
    host candidates only (aiortc would otherwise fall back to a public STUN server). ``"relay"`` keeps
    only TURN-relayed candidates (the browser's ``iceTransportPolicy``)."""
    servers = [
        RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
        for s in (ice_servers or [])
    ]
    return RTCConfiguration(iceServers=servers, iceTransportPolicy=RTCIceTransportPolicy(transport_policy))


class CallSession:
    # False for a receive-only session (rtc/class_viewer.py ViewerSession): no local tracks are sent.
    _sends_media = True

    def __init__(
        self,
        signalling: Signalling,
        *,
        ice_servers: list[dict[str, Any]] | None = None,
        video_track: MediaStreamTrack | None = None,
        audio_track: MediaStreamTrack | None = None,
        video_size: tuple[int, int] = (640, 480),
        fps: float = 30.0,
        ice_transport_policy: IcePolicy = "all",
        keyframe_interval: float | None = 2.5,
        adapt_to_loss: bool = True,
        liveness_timeout: float = 5.0,
        negotiation_timeout: float = 10.0,
    ) -> None:
        self.signalling = signalling
        self._configuration = ice_configuration(ice_servers, ice_transport_policy)
        self.keyframe_interval = keyframe_interval
        self.adapt_to_loss = adapt_to_loss
        self.liveness_timeout = liveness_timeout
        self.negotiation_timeout = negotiation_timeout
        self.video_track: MediaStreamTrack = video_track or SyntheticVideoTrack(*video_size, fps=fps)
        self.audio_track: MediaStreamTrack = audio_track or SyntheticAudioTrack()
        # aiortc stops a sender's track when its connection closes; each peer connection gets its own
        # relay proxy (unbuffered: newest frame wins) so the local sources survive renegotiation.
        self._relay = MediaRelay()
        self.outboxes: dict[ChannelName, ChannelOutbox] = outboxes()
        self.state_changed: Listeners[CallState] = Listeners()
        self.message_received: Listeners[ChannelMessage] = Listeners()
        # What send()/send_bytes() queue, as the peer will receive it (a live class forwards it).
        self.message_sent: Listeners[ChannelMessage] = Listeners()
        # Gets the room's viewer members (presence and their signalling); None: viewers are ignored.
        self.viewer_handler: ViewerHandler | None = None
        self._viewer_ids: set[str] = set()
        self.video_frame_received: Listeners[av.VideoFrame] = Listeners()
        self.audio_frame_received: Listeners[av.AudioFrame] = Listeners()  # on the loop: keep it short
        self._state = CallState.IDLE
        self._pc: RTCPeerConnection | None = None
        self._peer_id: str | None = None
        self._is_offerer = False
        self._latest_frame: av.VideoFrame | None = None
        self.frames_received = 0
        self.audio_frames_received = 0
        self._run_task: asyncio.Task[None] | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self._media_tasks: set[asyncio.Task[None]] = set()
        self._closing: set[asyncio.Task[None]] = set()
        self._closed = False
        # One negotiation step at a time: the signalling loop and the supervisor both start them.
        self._lock = asyncio.Lock()
        self._video_sender: RTCRtpSender | None = None
        self._adaptive: AdaptiveVideoTrack | None = None
        self._policy = LossPolicy()
        self._attempt_at: float | None = None  # when the pending negotiation started
        self._keyframe_at = 0.0
        self._rx_bytes = -1
        self._rx_changed_at = 0.0
        self._last_report: object = None
        self.keyframes_forced = 0
        self._dedup = Deduplicator()
        self._last_peer: str | None = None
        self._acks_due: dict[ChannelName, int] = {}
        self.reconnections = 0
        self.nacks_repeated = 0  # video packets asked for again (rtc/adaptation.py, repeat_nacks)

    # --- public -------------------------------------------------------------------------------
    @property
    def state(self) -> CallState:
        return self._state

    @property
    def peer_id(self) -> str | None:
        return self._peer_id

    @property
    def latest_video_frame(self) -> av.VideoFrame | None:
        """The newest received frame: one slot, overwritten by every arrival, never a queue."""
        return self._latest_frame

    def take_video_frame(self) -> av.VideoFrame | None:
        """The newest frame if one arrived since the last call, else None (paint-time pull)."""
        frame, self._latest_frame = self._latest_frame, None
        return frame

    async def start(self) -> None:
        """Join the room and start negotiating; returns once joined (the call connects later)."""
        if self._state is not CallState.IDLE:
            raise RuntimeError(f"session already {self._state.value}")
        self._set_state(CallState.CONNECTING)
        try:
            welcome = await self.signalling.connect()
        except BaseException:
            await self.close()
            raise
        self._run_task = asyncio.create_task(self._run(welcome), name="call-session")
        self._watch_task = asyncio.create_task(self._watch(), name="call-supervisor")

    def send(self, channel: ChannelName, kind: str, body: dict[str, Any]) -> Envelope:
        """Queue a message; it goes out now if the channel is open, else in order once it opens."""
        envelope = self.outboxes[channel].send_envelope(kind, body)
        self.message_sent.emit(ChannelMessage(channel, envelope=envelope))
        return envelope

    def send_bytes(self, channel: ChannelName, data: bytes) -> None:
        self.outboxes[channel].send_raw(data)
        self.message_sent.emit(ChannelMessage(channel, data=data))

    async def stats(self) -> RTCStatsReport | None:
        """The current peer connection's ``getStats()`` (None between connections)."""
        pc = self._pc
        if pc is None:
            return None
        return await pc.getStats()

    @property
    def video_send_level(self) -> int:
        """0 = full resolution and rate; higher = scaled down / thinned because of loss."""
        return 0 if self._adaptive is None else self._adaptive.level

    @property
    def video_send_size(self) -> tuple[int, int] | None:
        return None if self._adaptive is None else self._adaptive.sent_size

    def selected_candidate_types(self) -> tuple[str, str] | None:
        """(local, remote) ICE candidate types of the nominated pair, e.g. ("relay", "relay")."""
        pc = self._pc
        if pc is None or pc.connectionState != "connected":
            return None
        transceivers = pc.getTransceivers()
        if not transceivers:
            return None
        connection = getattr(transceivers[0].sender.transport.transport, "_connection", None)
        pairs = list(getattr(connection, "_nominated", {}).values())
        if not pairs:
            return None
        return str(pairs[0].local_candidate.type), str(pairs[0].remote_candidate.type)

    def request_keyframe(self) -> None:
        """Make the next encoded video frame a keyframe (what a PLI from the receiver does)."""
        if self._video_sender is not None:
            self._video_sender._send_keyframe()
            self.keyframes_forced += 1

    async def wait_for_state(self, state: CallState, timeout: float) -> None:
        async def until() -> None:
            while self._state is not state:
                await asyncio.sleep(0.02)

        await asyncio.wait_for(until(), timeout)

    async def close(self) -> None:
        """Hang up: bye to the peer, close the peer connection, tracks and signalling. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._peer_id is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.signalling.send("bye", {}, self._peer_id), 1.0)
        for task in (self._watch_task, self._run_task):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self._drop_peer_connection()
        if self._closing:  # background closes of earlier connections: bounded, then abandoned
            await asyncio.wait(set(self._closing), timeout=3.0)
            for task in list(self._closing):
                task.cancel()
        self.video_track.stop()
        self.audio_track.stop()
        with contextlib.suppress(Exception):
            await self.signalling.close()
        self._set_state(CallState.ENDED)
        self.state_changed.clear()
        self.message_received.clear()
        self.message_sent.clear()
        self.video_frame_received.clear()
        self.audio_frame_received.clear()

    # --- signalling loop ------------------------------------------------------------------------
    def _set_state(self, state: CallState) -> None:
        if state is self._state or self._state is CallState.ENDED:
            return
        log.info("call %s: %s -> %s", self.signalling.member_id, self._state.value, state.value)
        self._state = state
        self.state_changed.emit(state)

    async def _run(self, welcome: Welcome) -> None:
        try:
            await self._on_welcome(welcome)
            while not self._closed:
                message = await self.signalling.receive()
                try:
                    async with self._lock:
                        await self._handle(message)
                except Exception as exc:  # one bad exchange must not end the call
                    log.warning("call: failed to handle %s: %s", getattr(message, "type", message), exc)
                    if isinstance(message, Relayed) and message.type != "message":
                        with contextlib.suppress(Exception):
                            error = {"error": f"{message.type} rejected: {exc}"[:500]}
                            await self.signalling.send("message", error, message.sender)
        except SignallingClosedError:
            if not self._closed:
                log.warning("call: signalling closed")
                self._set_state(CallState.RECONNECTING if self._pc is not None else CallState.ENDED)

    async def _handle(self, message: Welcome | Presence | Relayed | ServerError) -> None:
        if isinstance(message, Welcome):  # the signalling link came back with a new member id
            await self._on_welcome(message)
        elif isinstance(message, Presence):
            if message.member.viewer and message.member.member_id != self.signalling.member_id:
                self._viewer_presence(message)
                return
            if message.member.viewer or message.member.member_id == self.signalling.member_id:
                return
            if message.event == "join":
                if self._peer_id is not None and self._peer_id != message.member.member_id:
                    await self._reset("peer replaced")
                self._set_peer(message.member.member_id)
                self._is_offerer = False  # they joined second: they offer
                self._attempt_at = time.monotonic()
            elif message.member.member_id == self._peer_id:
                await self._reset("peer left")
                self._peer_id = None
        elif isinstance(message, Relayed):
            if message.sender in self._viewer_ids:
                if self.viewer_handler is not None:
                    self.viewer_handler.viewer_signal(message)
                return
            await self._on_relayed(message)
        else:
            log.warning("call: signalling error from server: %s", message.message)

    def _viewer_presence(self, message: Presence) -> None:
        member_id = message.member.member_id
        if message.event == "join":
            self._viewer_ids.add(member_id)
            if self.viewer_handler is not None:
                self.viewer_handler.viewer_joined(message.member)
        elif member_id in self._viewer_ids:
            self._viewer_ids.discard(member_id)
            if self.viewer_handler is not None:
                self.viewer_handler.viewer_left(member_id)

    async def _on_welcome(self, welcome: Welcome) -> None:
        others = [m for m in welcome.members if m.member_id != welcome.member_id and not m.viewer]
        viewers = [m for m in welcome.members if m.member_id != welcome.member_id and m.viewer]
        self._viewer_ids = {m.member_id for m in viewers}
        if self.viewer_handler is not None:
            self.viewer_handler.viewers_reset(viewers)
        if self._pc is not None:
            await self._reset("signalling rejoined")
        if others:
            self._set_peer(others[0].member_id)
            self._is_offerer = True
            await self._offer()

    async def _on_relayed(self, message: Relayed) -> None:
        if message.type == "offer":
            if self._peer_id is not None and message.sender != self._peer_id:
                log.warning("call: offer from %s ignored, peer is %s", message.sender, self._peer_id)
                return
            offer = self._description(message.payload, "offer")  # validate before touching the call
            self._set_peer(message.sender)
            self._is_offerer = False
            self._attempt_at = time.monotonic()
            if self._pc is not None and self._pc.remoteDescription is not None:
                await self._reset("renegotiation", keep_state=self._state is CallState.CONNECTING)
            pc = self._ensure_pc()
            await pc.setRemoteDescription(offer)
            await pc.setLocalDescription(await pc.createAnswer())
            local = pc.localDescription
            await self.signalling.send("answer", {"sdp": local.sdp, "type": local.type}, message.sender)
        elif message.sender != self._peer_id:
            log.info("call: %s from a non-peer %s ignored", message.type, message.sender)
        elif message.type == "answer":
            if self._pc is None or self._pc.signalingState != "have-local-offer":
                log.warning("call: unexpected answer ignored")
                return
            await self._pc.setRemoteDescription(self._description(message.payload, "answer"))
        elif message.type == "candidate":
            await self._add_candidate(message.payload)
        elif message.type == "bye":
            await self._reset("peer hung up")
            self._peer_id = None
        elif message.type == "message" and message.payload == REQUEST_OFFER and self._is_offerer:
            await self._reset("peer asked for a fresh offer")
            await self._offer()

    def _set_peer(self, member_id: str) -> None:
        if member_id != self._last_peer:  # another session (or a rejoin): its numbering starts again
            self._dedup.reset()
        self._peer_id = self._last_peer = member_id

    @staticmethod
    def _description(payload: dict[str, Any], expected: str) -> RTCSessionDescription:
        sdp, kind = payload.get("sdp"), payload.get("type", expected)
        if not isinstance(sdp, str) or kind != expected:
            raise ValueError(f"malformed {expected}")
        # Check it before it replaces a working connection: aiortc's parser accepts any text.
        parsed = SessionDescription.parse(sdp)
        if not parsed.media or not all(
            m.ice is not None and m.ice.usernameFragment and m.dtls is not None and m.dtls.fingerprints
            for m in parsed.media
        ):
            raise ValueError(f"{expected} SDP without media, ICE credentials or DTLS fingerprints")
        return RTCSessionDescription(sdp=sdp, type=expected)

    async def _add_candidate(self, payload: dict[str, Any]) -> None:
        """Trickled candidates from browser peers (aiortc itself sends complete SDP)."""
        if self._pc is None:
            return
        text = payload.get("candidate")
        if not text:
            return  # end of candidates
        if not isinstance(text, str):
            raise ValueError("malformed candidate")
        mid, index = payload.get("sdpMid"), payload.get("sdpMLineIndex")
        if not isinstance(mid, str | None) or not isinstance(index, int | None) or mid is index is None:
            raise ValueError("candidate needs an sdpMid (text) or an sdpMLineIndex (integer)")
        description = self._pc.remoteDescription or self._pc.localDescription
        media = SessionDescription.parse(description.sdp).media if description is not None else []
        if mid not in {m.rtp.muxId for m in media} and index not in range(len(media)):
            raise ValueError(f"candidate for an unknown media section (mid {mid!r}, index {index!r})")
        candidate = candidate_from_sdp(text.removeprefix("candidate:"))
        candidate.sdpMid, candidate.sdpMLineIndex = mid, index
        await self._pc.addIceCandidate(candidate)

    # --- peer connection ------------------------------------------------------------------------
    async def _offer(self) -> None:
        self._attempt_at = time.monotonic()
        pc = self._ensure_pc()
        await pc.setLocalDescription(await pc.createOffer())
        local = pc.localDescription
        await self.signalling.send("offer", {"sdp": local.sdp, "type": local.type}, self._peer_id)

    def _ensure_pc(self) -> RTCPeerConnection:
        if self._pc is not None:
            return self._pc
        pc = RTCPeerConnection(self._configuration)
        self._pc = pc
        if self._sends_media:
            pc.addTrack(self._relay.subscribe(self.audio_track, buffered=False))
            self._adaptive = AdaptiveVideoTrack(self._relay.subscribe(self.video_track, buffered=False))
            self._video_sender = pc.addTrack(self._adaptive)
        self._policy = LossPolicy()
        self._rx_bytes, self._rx_changed_at = -1, time.monotonic()
        self._keyframe_at = time.monotonic()
        for spec in CHANNELS.values():
            channel = pc.createDataChannel(
                spec.name,
                ordered=spec.ordered,
                maxRetransmits=spec.max_retransmits,
                negotiated=True,
                id=spec.stream_id,
            )
            self._wire_channel(channel, self.outboxes[spec.name])

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self._spawn_media_task(self._consume(track), f"consume-{track.kind}")
            receiver = next((t.receiver for t in pc.getTransceivers() if t.receiver.track is track), None)
            if track.kind == "video" and receiver is not None:
                self._spawn_media_task(repeat_nacks(receiver, on_repeat=self._count_nacks), "repeat-nacks")

        @pc.on("connectionstatechange")
        async def on_connection_state() -> None:
            if pc is not self._pc:
                return
            log.info("call: peer connection %s", pc.connectionState)
            if pc.connectionState == "connected":
                if self._state is CallState.RECONNECTING:
                    self.reconnections += 1
                self._attempt_at = None
                self._rx_changed_at = time.monotonic()
                self._set_state(CallState.CONNECTED)
            elif pc.connectionState == "failed":
                self._set_state(CallState.RECONNECTING)  # the supervisor renegotiates

        return pc

    def _count_nacks(self, count: int) -> None:
        self.nacks_repeated += count

    def _spawn_media_task(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """A task that lives as long as the current peer connection."""
        task = asyncio.create_task(coro, name=name)
        self._media_tasks.add(task)
        task.add_done_callback(self._media_tasks.discard)

    def _wire_channel(self, channel: RTCDataChannel, outbox: ChannelOutbox) -> None:
        name = outbox.name

        @channel.on("open")
        def on_open() -> None:
            outbox.attach(channel)

        @channel.on("message")
        def on_message(raw: str | bytes) -> None:
            message = decode(name, raw)
            if message is not None:
                if self._accept(message):
                    self._deliver(message)
            elif self.outboxes["control"].is_open:
                # Tell the sender (DESIGN.md, Messages and bad input); an error is itself valid, so no loop.
                self.outboxes["control"].send_envelope(
                    "error", {"action": "error", "args": {"channel": name}}
                )

        outbox.attach(channel)  # not open yet: messages keep queueing

    def _deliver(self, message: ChannelMessage) -> None:
        """One accepted incoming message to the listeners (a subclass may transform it first)."""
        self.message_received.emit(message)

    def _accept(self, message: ChannelMessage) -> bool:
        """Acknowledgements: consume acks, ack what arrives on reliable channels, drop duplicates."""
        envelope = message.envelope
        if envelope is None or not self.outboxes[message.channel].reliable:
            return True
        if message.channel == "control" and envelope.kind == ACK_KIND:
            args = envelope.body.get("args", {})
            channel, seq = args.get("channel"), args.get("seq")
            if channel in self.outboxes and isinstance(seq, int):
                self.outboxes[channel].acknowledge(seq)
            return False
        if not self._acks_due:  # one ack per channel per loop turn, however many arrive at once
            asyncio.get_running_loop().call_soon(self._send_acks)
        self._acks_due[message.channel] = max(envelope.seq, self._acks_due.get(message.channel, 0))
        return self._dedup.is_new(message.channel, envelope.seq)

    def _send_acks(self) -> None:
        due, self._acks_due = self._acks_due, {}
        for channel, seq in due.items():
            self.outboxes["control"].send_envelope("ack", ack_body(channel, seq), tracked=False)

    async def _consume(self, track: MediaStreamTrack) -> None:
        """Drain a remote track as fast as it decodes: video into the single newest-frame slot."""
        try:
            while True:
                frame = await track.recv()
                if isinstance(frame, av.VideoFrame):
                    self._latest_frame = frame
                    self.frames_received += 1
                    self.video_frame_received.emit(frame)
                elif isinstance(frame, av.AudioFrame):
                    self.audio_frames_received += 1
                    self.audio_frame_received.emit(frame)
        except MediaStreamError:
            pass

    # --- supervisor -------------------------------------------------------------------------------
    async def _watch(self, tick: float = 0.5) -> None:
        while not self._closed:
            await asyncio.sleep(tick)
            try:
                async with self._lock:
                    await self._watch_once(time.monotonic())
            except SignallingClosedError:
                pass  # the signalling link reconnects by itself; try again next tick
            except Exception:
                log.exception("call: supervisor step failed")

    async def _watch_once(self, now: float) -> None:
        pc = self._pc
        if pc is not None and pc.connectionState == "connected":
            await self._check_media(pc, now)
            if self._pc is not None:
                return
        elif pc is not None and pc.connectionState in ("failed", "closed"):
            await self._reset("ice failed")
        if self._peer_id is None or self._state not in (CallState.CONNECTING, CallState.RECONNECTING):
            return
        if self._attempt_at is not None and now - self._attempt_at < self.negotiation_timeout:
            return
        if self._is_offerer:
            log.info("call: renegotiating with %s", self._peer_id)
            await self._reset("fresh negotiation", keep_state=self._state is CallState.CONNECTING)
            await self._offer()
        else:
            log.info("call: asking %s for a fresh offer", self._peer_id)
            self._attempt_at = now
            await self.signalling.send("message", REQUEST_OFFER, self._peer_id)

    async def _check_media(self, pc: RTCPeerConnection, now: float) -> None:
        sender = self._video_sender
        if sender is None:
            return
        if self.keyframe_interval and now - self._keyframe_at >= self.keyframe_interval:
            self._keyframe_at = now
            self.request_keyframe()
        report = await sender.getStats()
        rx_bytes = sum(int(getattr(s, "bytesReceived", 0) or 0) for s in report.values()
                       if s.type == "transport")
        if rx_bytes != self._rx_bytes:
            self._rx_bytes, self._rx_changed_at = rx_bytes, now
        elif now - self._rx_changed_at > self.liveness_timeout:
            log.warning("call: nothing received for %.1f s, media path lost", now - self._rx_changed_at)
            await self._reset("media path lost")
            self._attempt_at = None
            return
        if not self.adapt_to_loss or self._adaptive is None:
            return
        for stat in report.values():
            if stat.type == "remote-inbound-rtp" and stat.timestamp != self._last_report:
                self._last_report = stat.timestamp
                fraction = float(getattr(stat, "fractionLost", 0) or 0) / 256.0
                level = self._policy.update(fraction, now)
                if level != self._adaptive.level:
                    log.info(
                        "call: loss %.0f%%, video level %d -> %d",
                        fraction * 100, self._adaptive.level, level
                    )
                    self._adaptive.level = level

    async def _reset(self, why: str, keep_state: bool = False) -> None:
        log.info("call %s: resetting peer connection (%s)", self.signalling.member_id, why)
        await self._drop_peer_connection()
        if not keep_state and not self._closed:
            self._set_state(CallState.RECONNECTING)

    async def _drop_peer_connection(self) -> None:
        pc, self._pc = self._pc, None
        self._video_sender, self._adaptive = None, None
        for outbox in self.outboxes.values():
            outbox.attach(None)
        if pc is not None:
            # Over a dead path aioice's TURN deallocation waits out its retransmissions (tens of
            # seconds): give closing a moment, then let it finish in the background.
            closing = asyncio.create_task(pc.close(), name="pc-close")
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
            closing.add_done_callback(lambda t: t.cancelled() or t.exception())
            await asyncio.wait({closing}, timeout=1.0)
        for task in list(self._media_tasks):
            task.cancel()
        if self._media_tasks:
            await asyncio.gather(*self._media_tasks, return_exceptions=True)

"""CallSession: one peer-to-peer call on aiortc, joined through a Signalling. Qt-free.

Everything here runs on the rtc loop (rtc/runtime.py). Listeners are called on that loop; the Qt
bridge re-posts them to the UI thread. Negotiation rule: the member who joins the room second makes
the offer, so both peers never offer at once (no glare). aiortc has no ICE restart, so recovery is a
fresh peer connection and a fresh offer/answer; the channel outboxes outlive it.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import av
from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import candidate_from_sdp

from rtc.channels import CHANNELS, ChannelMessage, ChannelName, ChannelOutbox, Envelope, decode, outboxes
from rtc.signalling import (
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


def ice_configuration(ice_servers: list[dict[str, Any]] | None) -> RTCConfiguration:
    """``[{"urls": ..., "username": ..., "credential": ...}]`` -> RTCConfiguration. An empty list means
    host candidates only (aiortc would otherwise fall back to a public STUN server)."""
    servers = [
        RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
        for s in (ice_servers or [])
    ]
    return RTCConfiguration(iceServers=servers)


class CallSession:
    def __init__(
        self,
        signalling: Signalling,
        *,
        ice_servers: list[dict[str, Any]] | None = None,
        video_track: MediaStreamTrack | None = None,
        audio_track: MediaStreamTrack | None = None,
        video_size: tuple[int, int] = (640, 480),
        fps: float = 30.0,
    ) -> None:
        self.signalling = signalling
        self._configuration = ice_configuration(ice_servers)
        self.video_track: MediaStreamTrack = video_track or SyntheticVideoTrack(*video_size, fps=fps)
        self.audio_track: MediaStreamTrack = audio_track or SyntheticAudioTrack()
        # aiortc stops a sender's track when its connection closes; each peer connection gets its own
        # relay proxy (unbuffered: newest frame wins) so the local sources survive renegotiation.
        self._relay = MediaRelay()
        self.outboxes: dict[ChannelName, ChannelOutbox] = outboxes()
        self.state_changed: Listeners[CallState] = Listeners()
        self.message_received: Listeners[ChannelMessage] = Listeners()
        self.video_frame_received: Listeners[av.VideoFrame] = Listeners()
        self._state = CallState.IDLE
        self._pc: RTCPeerConnection | None = None
        self._peer_id: str | None = None
        self._is_offerer = False
        self._latest_frame: av.VideoFrame | None = None
        self.frames_received = 0
        self.audio_frames_received = 0
        self._run_task: asyncio.Task[None] | None = None
        self._media_tasks: set[asyncio.Task[None]] = set()
        self._closed = False

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

    def send(self, channel: ChannelName, kind: str, body: dict[str, Any]) -> Envelope:
        """Queue a message; it goes out now if the channel is open, else in order once it opens."""
        return self.outboxes[channel].send_envelope(kind, body)

    def send_bytes(self, channel: ChannelName, data: bytes) -> None:
        self.outboxes[channel].send_raw(data)

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
        if self._run_task is not None and self._run_task is not asyncio.current_task():
            self._run_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._run_task
        await self._drop_peer_connection()
        self.video_track.stop()
        self.audio_track.stop()
        with contextlib.suppress(Exception):
            await self.signalling.close()
        self._set_state(CallState.ENDED)
        self.state_changed.clear()
        self.message_received.clear()
        self.video_frame_received.clear()

    # --- signalling loop ------------------------------------------------------------------------
    def _set_state(self, state: CallState) -> None:
        if state is self._state or self._state is CallState.ENDED:
            return
        log.info("call: %s -> %s", self._state.value, state.value)
        self._state = state
        self.state_changed.emit(state)

    async def _run(self, welcome: Welcome) -> None:
        try:
            await self._on_welcome(welcome)
            while not self._closed:
                message = await self.signalling.receive()
                try:
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
            if message.member.viewer or message.member.member_id == self.signalling.member_id:
                return
            if message.event == "join":
                if self._peer_id is not None and self._peer_id != message.member.member_id:
                    await self._reset("peer replaced")
                self._peer_id = message.member.member_id
                self._is_offerer = False  # they joined second: they offer
            elif message.member.member_id == self._peer_id:
                await self._reset("peer left")
                self._peer_id = None
        elif isinstance(message, Relayed):
            await self._on_relayed(message)
        else:
            log.warning("call: signalling error from server: %s", message.message)

    async def _on_welcome(self, welcome: Welcome) -> None:
        others = [m for m in welcome.members if m.member_id != welcome.member_id and not m.viewer]
        if self._pc is not None:
            await self._reset("signalling rejoined")
        if others:
            self._peer_id = others[0].member_id
            self._is_offerer = True
            await self._offer()

    async def _on_relayed(self, message: Relayed) -> None:
        if message.type == "offer":
            if self._peer_id is not None and message.sender != self._peer_id:
                log.warning("call: offer from %s ignored, peer is %s", message.sender, self._peer_id)
                return
            offer = self._description(message.payload, "offer")  # validate before touching the call
            self._peer_id = message.sender
            self._is_offerer = False
            if self._pc is not None and self._pc.remoteDescription is not None:
                await self._reset("renegotiation", keep_state=True)
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

    @staticmethod
    def _description(payload: dict[str, Any], expected: str) -> RTCSessionDescription:
        sdp, kind = payload.get("sdp"), payload.get("type", expected)
        if not isinstance(sdp, str) or kind != expected:
            raise ValueError(f"malformed {expected}")
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
        candidate = candidate_from_sdp(text.removeprefix("candidate:"))
        candidate.sdpMid = payload.get("sdpMid")
        candidate.sdpMLineIndex = payload.get("sdpMLineIndex")
        await self._pc.addIceCandidate(candidate)

    # --- peer connection ------------------------------------------------------------------------
    async def _offer(self) -> None:
        pc = self._ensure_pc()
        await pc.setLocalDescription(await pc.createOffer())
        local = pc.localDescription
        await self.signalling.send("offer", {"sdp": local.sdp, "type": local.type}, self._peer_id)

    def _ensure_pc(self) -> RTCPeerConnection:
        if self._pc is not None:
            return self._pc
        pc = RTCPeerConnection(self._configuration)
        self._pc = pc
        pc.addTrack(self._relay.subscribe(self.audio_track, buffered=False))
        pc.addTrack(self._relay.subscribe(self.video_track, buffered=False))
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
            task = asyncio.create_task(self._consume(track), name=f"consume-{track.kind}")
            self._media_tasks.add(task)
            task.add_done_callback(self._media_tasks.discard)

        @pc.on("connectionstatechange")
        async def on_connection_state() -> None:
            if pc is not self._pc:
                return
            log.info("call: peer connection %s", pc.connectionState)
            if pc.connectionState == "connected":
                self._set_state(CallState.CONNECTED)
            elif pc.connectionState == "failed":
                await self._reset("ice failed")
                if self._is_offerer and self._peer_id is not None:
                    await self._offer()

        return pc

    def _wire_channel(self, channel: RTCDataChannel, outbox: ChannelOutbox) -> None:
        name = outbox.name

        @channel.on("open")
        def on_open() -> None:
            outbox.attach(channel)

        @channel.on("message")
        def on_message(raw: str | bytes) -> None:
            message = decode(name, raw)
            if message is not None:
                self.message_received.emit(message)
            elif self.outboxes["control"].is_open:
                # Tell the sender (DESIGN.md, Messages and bad input); an error is itself valid, so no loop.
                self.outboxes["control"].send_envelope(
                    "error", {"action": "error", "args": {"channel": name}}
                )

        outbox.attach(channel)  # not open yet: messages keep queueing

    async def _consume(self, track: MediaStreamTrack) -> None:
        """Drain a remote track as fast as it decodes: video into the single newest-frame slot."""
        try:
            while True:
                frame = await track.recv()
                if isinstance(frame, av.VideoFrame):
                    self._latest_frame = frame
                    self.frames_received += 1
                    self.video_frame_received.emit(frame)
                else:
                    self.audio_frames_received += 1
        except MediaStreamError:
            pass

    async def _reset(self, why: str, keep_state: bool = False) -> None:
        log.info("call: resetting peer connection (%s)", why)
        await self._drop_peer_connection()
        if not keep_state and not self._closed:
            self._set_state(CallState.RECONNECTING)

    async def _drop_peer_connection(self) -> None:
        pc, self._pc = self._pc, None
        for outbox in self.outboxes.values():
            outbox.attach(None)
        if pc is not None:
            with contextlib.suppress(Exception):
                await pc.close()
        for task in list(self._media_tasks):
            task.cancel()
        if self._media_tasks:
            await asyncio.gather(*self._media_tasks, return_exceptions=True)

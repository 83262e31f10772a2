"""A small client of Janus's video room (janus.plugin.videoroom) over its plain-HTTP API. Qt-free.

A teaching class goes through an SFU: the instructor publishes ONE stream into a Janus room and Janus
fans it out to every trainee, so the instructor's workstation sends the same bitrate whatever the class
size. Message flow (Janus 1.x):

- ``POST /janus {"janus": "create"}`` opens a session; ``POST /janus/<session> {"janus": "attach",
  "plugin": "janus.plugin.videoroom"}`` gives one handle per peer connection.
- Synchronous plugin requests (``create``, ``listparticipants``) answer in the POST's reply.
  Asynchronous ones (``join``, ``publish``, ``start``) are acknowledged, and their result arrives as an
  event with the same transaction on the session's long poll (``GET /janus/<session>?maxev=N``), which
  one task per session keeps open; a keepalive goes out every ``keepalive_interval`` seconds.
- Publisher: ``join`` as ``publisher`` (the reply carries the feed id), then ``publish`` with our offer;
  the event carries Janus's answer. Subscriber: ``join`` as ``subscriber`` on that feed; the event
  carries Janus's offer; ``start`` with our answer.
- Data: the publisher opens the class channel (``publish`` with ``"data": true``); Janus relays its
  messages only to subscribers that have opened a channel of their own (measured: without one nothing
  arrives), so each viewer opens one with the same label. The room asks the publisher for a keyframe
  every ``fir_freq`` seconds and on each new subscriber, which aiortc answers.
- ICE is not trickled: aiortc puts every candidate in the SDP, and we tell Janus at once that there will
  be no more (``trickle`` ``completed``). Candidates Janus trickles to us are added as they come.

Errors in replies (``{"janus": "error"}`` or a plugin ``error_code``) raise :class:`JanusError`.
Everything runs on one asyncio loop (the rtc runtime's); listeners are called on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any

import av
import httpx
from aiortc import RTCDataChannel, RTCPeerConnection, RTCSessionDescription, RTCStatsReport
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import candidate_from_sdp

from rtc.session import Listeners, ice_configuration

log = logging.getLogger(__name__)
VIDEOROOM = "janus.plugin.videoroom"
# The label of the class's data channel; Janus relays it to every subscriber under the same label.
CLASS_CHANNEL = "class"
NO_SUCH_SESSION = 458  # JANUS_ERROR_SESSION_NOT_FOUND


class JanusError(Exception):
    """Janus or its video room refused a request: ``code`` and ``reason`` as Janus gives them."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"Janus error {code}: {reason}")
        self.code = code
        self.reason = reason


def _transaction() -> str:
    return secrets.token_hex(8)


def _raise_for_error(reply: dict[str, Any]) -> None:
    if reply.get("janus") == "error":
        error = reply.get("error") or {}
        raise JanusError(int(error.get("code", 0)), str(error.get("reason", "unknown error")))
    data = (reply.get("plugindata") or {}).get("data") or {}
    if "error_code" in data:
        raise JanusError(int(data["error_code"]), str(data.get("error", "unknown error")))


class JanusHandle:
    """One attached plugin handle (one peer connection's worth of Janus state)."""

    def __init__(self, client: JanusClient, handle_id: int) -> None:
        self.client = client
        self.id = handle_id
        # Events Janus sends on its own (webrtcup, media, hangup, plugin notifications), as dicts.
        self.events: Listeners[dict[str, Any]] = Listeners()
        self.detached = False

    async def request(self, body: dict[str, Any]) -> dict[str, Any]:
        """A synchronous plugin request; returns the plugin's ``data``."""
        path = f"/{self.client.session_id}/{self.id}"
        reply = await self.client.post(path, {"janus": "message", "body": body})
        return dict((reply.get("plugindata") or {}).get("data") or {})

    async def message(
        self, body: dict[str, Any], jsep: dict[str, Any] | None = None, timeout: float = 20.0
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """An asynchronous plugin request: waits for its event; returns (plugin data, jsep or None)."""
        payload: dict[str, Any] = {"janus": "message", "body": body}
        if jsep is not None:
            payload["jsep"] = jsep
        event = await self.client.post_async(f"/{self.client.session_id}/{self.id}", payload, timeout)
        return dict((event.get("plugindata") or {}).get("data") or {}), event.get("jsep")

    async def trickle_completed(self) -> None:
        await self.client.post(
            f"/{self.client.session_id}/{self.id}", {"janus": "trickle", "candidate": {"completed": True}}
        )

    async def detach(self) -> None:
        """Release the handle. Calling it twice is harmless."""
        if self.detached:
            return
        self.detached = True
        self.client._handles.pop(self.id, None)
        with contextlib.suppress(JanusError, httpx.HTTPError, RuntimeError):
            await self.client.post(f"/{self.client.session_id}/{self.id}", {"janus": "detach"})
        self.events.clear()


class JanusClient:
    """One Janus session over HTTP at ``base_url`` (e.g. ``http://127.0.0.1:8088/janus``)."""

    def __init__(
        self, base_url: str, *, keepalive_interval: float = 25.0, request_timeout: float = 10.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.keepalive_interval = keepalive_interval
        self._http = httpx.AsyncClient(timeout=request_timeout, limits=httpx.Limits(max_connections=50))
        self.session_id: int | None = None
        self._handles: dict[int, JanusHandle] = {}
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._connecting = asyncio.Lock()
        self.closed = False

    async def connect(self) -> int:
        """Create the session (once) and start its long poll and keepalives; returns the session id."""
        async with self._connecting:
            if self.closed:
                raise RuntimeError("Janus client closed")
            if self.session_id is None:
                reply = await self.post("", {"janus": "create"})
                self.session_id = int(reply["data"]["id"])
                self._tasks = [
                    asyncio.create_task(self._poll(), name="janus-poll"),
                    asyncio.create_task(self._keepalive(), name="janus-keepalive"),
                ]
            return self.session_id

    async def attach(self, plugin: str = VIDEOROOM) -> JanusHandle:
        session = await self.connect()
        reply = await self.post(f"/{session}", {"janus": "attach", "plugin": plugin})
        handle = JanusHandle(self, int(reply["data"]["id"]))
        self._handles[handle.id] = handle
        return handle

    async def create_room(
        self,
        room_id: int | None = None,
        *,
        publishers: int = 3,
        bitrate: int = 0,
        description: str = "Teleconsult class",
    ) -> int:
        """Create a video room (VP8 video, Opus audio, data channels); returns its id (Janus picks one
        when ``room_id`` is None). ``bitrate`` caps each publisher (bit/s, 0 = no cap)."""
        handle = await self.attach()
        try:
            body: dict[str, Any] = {
                "request": "create",
                "description": description,
                "publishers": publishers,
                "bitrate": bitrate,
                "videocodec": "vp8",
                "audiocodec": "opus",
                "fir_freq": 2,
                "is_private": False,
            }
            if room_id is not None:
                body["room"] = room_id
            data = await handle.request(body)
            return int(data["room"])
        finally:
            await handle.detach()

    async def destroy_room(self, room_id: int) -> None:
        handle = await self.attach()
        try:
            await handle.request({"request": "destroy", "room": room_id})
        finally:
            await handle.detach()

    async def participants(self, room_id: int) -> list[dict[str, Any]]:
        """The room's publishers, as ``listparticipants`` gives them."""
        handle = await self.attach()
        try:
            data = await handle.request({"request": "listparticipants", "room": room_id})
            return list(data.get("participants") or [])
        finally:
            await handle.detach()

    async def post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST one request; raises JanusError when Janus answers with an error."""
        if self.closed:
            raise RuntimeError("Janus client closed")
        payload = {**payload, "transaction": payload.get("transaction") or _transaction()}
        response = await self._http.post(self.base_url + path, json=payload)
        response.raise_for_status()
        reply = dict(response.json())
        _raise_for_error(reply)
        return reply

    async def post_async(self, path: str, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
        """POST a request Janus acknowledges and answers later with an event of the same transaction."""
        transaction = _transaction()
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        # Registered before the POST: the event may come back on the long poll before the ack does.
        self._pending[transaction] = future
        try:
            reply = await self.post(path, {**payload, "transaction": transaction})
            if reply.get("janus") != "ack":
                return reply
            event = await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(transaction, None)
        _raise_for_error(event)
        return event

    async def _poll(self) -> None:
        url = f"{self.base_url}/{self.session_id}"
        while not self.closed:
            try:
                # Janus holds a long poll up to 30 s before answering with a keepalive.
                params: dict[str, str | int] = {"maxev": 20, "rid": _transaction()}
                response = await self._http.get(url, params=params, timeout=45.0)
                reply = response.json()
            except (httpx.HTTPError, ValueError) as error:
                if self.closed:
                    return
                log.warning("Janus long poll failed: %s", error)
                await asyncio.sleep(0.5)
                continue
            for event in reply if isinstance(reply, list) else [reply]:
                if event.get("janus") == "error" and event.get("error", {}).get("code") == NO_SUCH_SESSION:
                    # Timed out or destroyed on the server: nothing more will come on this session.
                    log.warning("Janus session %s is gone", self.session_id)
                    for future in self._pending.values():
                        if not future.done():
                            future.set_exception(JanusError(NO_SUCH_SESSION, "session gone"))
                    return
                self._dispatch(event)

    def _dispatch(self, event: dict[str, Any]) -> None:
        kind = event.get("janus")
        if kind == "keepalive":
            return
        future = self._pending.get(str(event.get("transaction")))
        if future is not None and kind in ("event", "success", "error") and not future.done():
            future.set_result(event)
            return
        handle = self._handles.get(int(event.get("sender") or 0))
        if handle is not None:
            handle.events.emit(event)

    async def _keepalive(self) -> None:
        while not self.closed:
            await asyncio.sleep(self.keepalive_interval)
            with contextlib.suppress(JanusError, httpx.HTTPError, RuntimeError):
                await self.post(f"/{self.session_id}", {"janus": "keepalive"})

    async def close(self) -> None:
        """Destroy the session and stop polling. Calling it twice is harmless."""
        if self.closed:
            return
        for handle in list(self._handles.values()):
            await handle.detach()
        if self.session_id is not None:
            with contextlib.suppress(JanusError, httpx.HTTPError):
                await self.post(f"/{self.session_id}", {"janus": "destroy"})
        self.closed = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for future in self._pending.values():
            future.cancel()
        await self._http.aclose()


def _add_trickled(pc: RTCPeerConnection) -> Callable[[dict[str, Any]], None]:
    """A handle listener that adds the candidates Janus trickles to ``pc``."""

    def on_event(event: dict[str, Any]) -> None:
        if event.get("janus") != "trickle":
            return
        candidate = event.get("candidate") or {}
        if candidate.get("completed") or "candidate" not in candidate:
            return
        parsed = candidate_from_sdp(str(candidate["candidate"]).removeprefix("candidate:"))
        parsed.sdpMid = candidate.get("sdpMid")
        parsed.sdpMLineIndex = candidate.get("sdpMLineIndex")
        task = asyncio.ensure_future(pc.addIceCandidate(parsed))
        task.add_done_callback(_log_failure)

    return on_event


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("adding a trickled candidate failed: %s", task.exception())


def _jsep(description: RTCSessionDescription) -> dict[str, Any]:
    return {"type": description.type, "sdp": description.sdp}


async def _leave(handle: JanusHandle | None, pc: RTCPeerConnection | None) -> None:
    """Detach the plugin handle (Janus hangs up its peer connection and leaves the room), then close ours."""
    if handle is not None:
        await handle.detach()
    if pc is not None:
        await pc.close()


class JanusPublisher:
    """The instructor: publishes ``video_track`` (and ``audio_track``) and a data channel into ``room``."""

    def __init__(
        self,
        client: JanusClient,
        room: int,
        video_track: MediaStreamTrack,
        audio_track: MediaStreamTrack | None = None,
        display: str = "instructor",
    ) -> None:
        self.client, self.room, self.display = client, room, display
        self.video_track, self.audio_track = video_track, audio_track
        self.feed_id: int | None = None
        self.pc: RTCPeerConnection | None = None
        self.channel: RTCDataChannel | None = None
        self._handle: JanusHandle | None = None
        self.webrtc_up = asyncio.Event()
        self.channel_open = asyncio.Event()
        self.hung_up = asyncio.Event()  # Janus hung the publication up (it restarted, the room went)
        self.closed = False

    async def start(self, timeout: float = 20.0) -> None:
        """Join as publisher, publish, and wait until media flows and the data channel is open."""
        self._handle = handle = await self.client.attach()
        joined, _ = await handle.message(
            {"request": "join", "ptype": "publisher", "room": self.room, "display": self.display}
        )
        self.feed_id = int(joined["id"])
        self.pc = pc = RTCPeerConnection(ice_configuration([]))
        handle.events.connect(self._on_event)
        handle.events.connect(_add_trickled(pc))
        pc.addTrack(self.video_track)
        if self.audio_track is not None:
            pc.addTrack(self.audio_track)
        self.channel = pc.createDataChannel(CLASS_CHANNEL)
        self.channel.on("open", self.channel_open.set)
        await pc.setLocalDescription(await pc.createOffer())
        body = {"request": "publish", "audio": self.audio_track is not None, "video": True, "data": True}
        configured, answer = await handle.message(body, _jsep(pc.localDescription))
        if answer is None:
            raise JanusError(0, f"no answer to publish: {configured}")
        await handle.trickle_completed()
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type=answer["type"]))
        await asyncio.wait_for(asyncio.gather(self.webrtc_up.wait(), self.channel_open.wait()), timeout)

    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("janus") == "webrtcup":
            self.webrtc_up.set()
        elif event.get("janus") == "hangup":
            log.info("Janus hung up on the publisher: %s", event.get("reason"))
            self.hung_up.set()

    def send(self, text: str) -> bool:
        """Send ``text`` on the class data channel; False (nothing sent) while it is not open."""
        if self.channel is None or self.channel.readyState != "open":
            return False
        self.channel.send(text)
        return True

    def request_keyframe(self) -> None:
        """Make the next encoded video frame a keyframe (Janus also asks for one per new subscriber)."""
        if self.pc is None:
            return
        for sender in self.pc.getSenders():
            if sender.track is not None and sender.track.kind == "video":
                sender._send_keyframe()

    async def stats(self) -> RTCStatsReport | None:
        """The publisher's ``getStats()`` (None before start or after close)."""
        return await self.pc.getStats() if self.pc is not None and not self.closed else None

    async def close(self) -> None:
        """Unpublish, leave and close the peer connection. Calling it twice is harmless."""
        if not self.closed:
            self.closed = True
            await _leave(self._handle, self.pc)
            self._handle = None


class JanusViewer:
    """A trainee: subscribes to ``feed_id`` in ``room``; keeps the newest video frame and relays the
    class data channel's text messages to :attr:`message_received`, and every decoded video and audio
    frame to :attr:`video_frame_received` and :attr:`audio_frame_received` (rtc/class_viewer.py feeds them
    into a ViewerSession, so the UI reads a class through Janus like a peer-to-peer one)."""

    def __init__(self, client: JanusClient, room: int, feed_id: int) -> None:
        self.client, self.room, self.feed_id = client, room, feed_id
        self.pc: RTCPeerConnection | None = None
        self.message_received: Listeners[str] = Listeners()
        self.video_frame_received: Listeners[av.VideoFrame] = Listeners()
        self.audio_frame_received: Listeners[av.AudioFrame] = Listeners()
        self.frames_received = 0
        self.messages_received = 0
        self._latest: av.VideoFrame | None = None
        self._handle: JanusHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.webrtc_up = asyncio.Event()
        self.channel_open = asyncio.Event()
        self.hung_up = asyncio.Event()  # Janus hung the subscription up (the publisher left, the room went)
        self.closed = False

    async def start(self, timeout: float = 20.0) -> None:
        """Subscribe: Janus offers, we answer; returns once media flows and the class channel is open."""
        self._handle = handle = await self.client.attach()
        attached, offer = await handle.message(
            {"request": "join", "ptype": "subscriber", "room": self.room, "streams": [{"feed": self.feed_id}]}
        )
        if offer is None:
            raise JanusError(0, f"no offer for the subscription: {attached}")
        self.pc = pc = RTCPeerConnection(ice_configuration([]))
        handle.events.connect(self._on_event)
        handle.events.connect(_add_trickled(pc))

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "video":
                self._spawn(self._consume(track))
            else:
                self._spawn(self._consume_audio(track))

        pc.on("datachannel", self._wire_channel)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type=offer["type"]))
        if "m=application" in offer["sdp"]:
            # Janus's video room relays data to a subscriber only once a channel is open on it (its
            # data_ready callback); a browser's Janus client opens one too. Janus then sends the class's
            # messages on the channel with the matching label, this one.
            channel = pc.createDataChannel(CLASS_CHANNEL)
            channel.on("open", self.channel_open.set)
            self._wire_channel(channel)
        else:
            self.channel_open.set()
        await pc.setLocalDescription(await pc.createAnswer())
        await handle.message({"request": "start", "room": self.room}, _jsep(pc.localDescription))
        await handle.trickle_completed()
        await asyncio.wait_for(asyncio.gather(self.webrtc_up.wait(), self.channel_open.wait()), timeout)

    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("janus") == "webrtcup":
            self.webrtc_up.set()
        elif event.get("janus") == "hangup":
            log.info("Janus hung up on the viewer: %s", event.get("reason"))
            self.hung_up.set()

    def _wire_channel(self, channel: RTCDataChannel) -> None:
        def on_message(message: str | bytes) -> None:
            text = message.decode(errors="replace") if isinstance(message, bytes) else message
            self.messages_received += 1
            self.message_received.emit(text)

        channel.on("message", on_message)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _consume(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if isinstance(frame, av.VideoFrame):
                    self._latest = frame
                    self.frames_received += 1
                    self.video_frame_received.emit(frame)

    async def _consume_audio(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if isinstance(frame, av.AudioFrame):
                    self.audio_frame_received.emit(frame)

    def take_video_frame(self) -> av.VideoFrame | None:
        """The newest decoded frame since the last call (None when none arrived); older ones are dropped."""
        frame, self._latest = self._latest, None
        return frame

    async def close(self) -> None:
        """Leave and close the peer connection. Calling it twice is harmless."""
        if self.closed:
            return
        self.closed = True
        await _leave(self._handle, self.pc)
        self._handle = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.message_received.clear()
        self.video_frame_received.clear()
        self.audio_frame_received.clear()


def class_message(counter: int) -> str:
    """The JSON text the tests and the benchmark send on the class channel."""
    return json.dumps({"v": 1, "kind": "tick", "counter": counter})


__all__ = [
    "CLASS_CHANNEL",
    "JanusClient",
    "JanusError",
    "JanusHandle",
    "JanusPublisher",
    "JanusViewer",
    "class_message",
]

"""Two CallSessions in one process over the in-memory room: media, channels, outbox, close."""

from __future__ import annotations

import asyncio
import json

from rtc.channels import ChannelMessage
from rtc.session import CallSession, CallState
from rtc.signalling import memory_pair
from rtc.sources import read_frame_counter
from tests.helpers import SMALL_CALL, until


def test_two_sessions_exchange_video_and_messages() -> None:
    async def scenario() -> None:
        sig_a, sig_b = memory_pair()
        a, b = CallSession(sig_a, **SMALL_CALL), CallSession(sig_b, **SMALL_CALL)  # type: ignore[arg-type]
        got_a: list[ChannelMessage] = []
        got_b: list[ChannelMessage] = []
        states: list[CallState] = []
        a.message_received.connect(got_a.append)
        b.message_received.connect(got_b.append)
        a.state_changed.connect(states.append)
        # Queued before anything is connected: must arrive, in order, once the channels open.
        for i in range(3):
            a.send("chat", "text", {"text": f"early {i}", "author": "a"})
        a.send(
            "annotations", "op", {"op": "add", "id": "n1", "author": "a", "lamport": 1, "data": {"x": 0.5}}
        )
        assert a.outboxes["chat"].pending == 3
        try:
            await a.start()
            await b.start()
            await a.wait_for_state(CallState.CONNECTED, 20)
            await b.wait_for_state(CallState.CONNECTED, 20)
            b.send("chat", "text", {"text": "hello from b"})
            await until(lambda: len(got_a) >= 1 and len(got_b) >= 4, 15)
            chats = [m.envelope.body["text"] for m in got_b if m.channel == "chat" and m.envelope]
            assert chats == ["early 0", "early 1", "early 2"]
            notes = [m for m in got_b if m.channel == "annotations"]
            assert notes and notes[0].envelope is not None and notes[0].envelope.body["id"] == "n1"
            assert got_a[0].envelope is not None and got_a[0].envelope.body["text"] == "hello from b"
            b.send_bytes("vitals", b"\x01\x02\x03")
            await until(lambda: any(m.channel == "vitals" for m in got_a), 10)

            # Video both ways, counter increasing, newest-frame-wins slot.
            await until(lambda: a.frames_received >= 3 and b.frames_received >= 3, 20)
            first = b.latest_video_frame
            assert first is not None and (first.width, first.height) == (320, 240)
            c1 = read_frame_counter(first.to_ndarray(format="rgb24"))
            seen = b.frames_received
            await until(lambda: b.frames_received >= seen + 5, 10)
            newest = b.take_video_frame()
            assert newest is not None
            c2 = read_frame_counter(newest.to_ndarray(format="rgb24"))
            assert c2 > c1 > 0
            assert c2 <= a.video_track.counter  # type: ignore[attr-defined]
            assert b.take_video_frame() is None or b.frames_received > seen + 5
            await until(lambda: a.audio_frames_received > 0, 10)
        finally:
            await a.close()
            await a.close()
            await b.close()
            await b.close()
        assert a.state is CallState.ENDED and b.state is CallState.ENDED
        assert states[:2] == [CallState.CONNECTING, CallState.CONNECTED]
        assert a.video_track.readyState == "ended"

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_bad_signalling_input_does_not_break_the_call() -> None:
    async def scenario() -> None:
        sig_a, sig_b = memory_pair()
        a, b = CallSession(sig_a, **SMALL_CALL), CallSession(sig_b, **SMALL_CALL)  # type: ignore[arg-type]
        try:
            await a.start()
            await b.start()
            await a.wait_for_state(CallState.CONNECTED, 20)
            assert sig_b.member_id is not None and sig_a.member_id is not None
            sig_a.inject_raw("{not json")
            sig_a.inject_raw('{"v":1,"type":"offer","from":"' + sig_b.member_id + '","payload":{"sdp":5}}')
            sig_a.inject_raw('{"v":1,"type":"answer","from":"' + sig_b.member_id + '","payload":{}}')
            # the marker, queued after the bad frames: once a has handled it, it has handled them
            marker = {"member_id": "marker", "username": "x", "role": "", "viewer": True}
            sig_a.inject_raw(json.dumps({"v": 1, "type": "presence", "event": "join", "member": marker}))
            await until(lambda: "marker" in a._viewer_ids, 20)
            got: list[ChannelMessage] = []
            a.message_received.connect(got.append)
            b.send("control", "ping", {"action": "ping"})
            await until(lambda: bool(got), 10)
            assert a.state is CallState.CONNECTED
            # A malformed channel message is skipped and answered with an error on `control`.
            errors: list[ChannelMessage] = []
            b.message_received.connect(errors.append)
            b.outboxes["chat"].send_raw('{"v": 1, "channel": "chat"}')
            await until(lambda: any(m.envelope and m.envelope.kind == "error" for m in errors), 10)
            a.send("chat", "text", {"text": "still here"})
            await until(lambda: any(m.channel == "chat" for m in errors), 10)
        finally:
            await a.close()
            await b.close()

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_close_before_start_and_twice() -> None:
    async def scenario() -> None:
        sig_a, _ = memory_pair()
        a = CallSession(sig_a, **SMALL_CALL)  # type: ignore[arg-type]
        await a.close()
        await a.close()
        assert a.state is CallState.ENDED

    asyncio.run(scenario())


def test_call_resumes_after_signalling_rejoin() -> None:
    """Signalling drops and rejoins with a new member id: fresh negotiation, queued chat delivered."""

    async def scenario() -> None:
        sig_a, sig_b = memory_pair()
        a, b = CallSession(sig_a, **SMALL_CALL), CallSession(sig_b, **SMALL_CALL)  # type: ignore[arg-type]
        got_a: list[ChannelMessage] = []
        a.message_received.connect(got_a.append)
        states: list[CallState] = []
        a.state_changed.connect(states.append)
        try:
            await a.start()
            await b.start()
            await a.wait_for_state(CallState.CONNECTED, 20)
            sig_b.drop()  # leave + rejoin, as WebSocketSignalling does after a lost link
            await until(lambda: CallState.RECONNECTING in states, 10)
            b.send("chat", "text", {"text": "while reconnecting"})
            await a.wait_for_state(CallState.CONNECTED, 20)
            await until(lambda: bool(got_a), 15)
            assert got_a[0].envelope is not None and got_a[0].envelope.body["text"] == "while reconnecting"
            seen = a.frames_received
            await until(lambda: a.frames_received > seen + 3, 10)
        finally:
            await a.close()
            await b.close()

    asyncio.run(asyncio.wait_for(scenario(), 60))

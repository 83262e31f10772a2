"""Calls over a bad network: relay through a real coturn, loss, a cut path, a peer that leaves.

The "network" is rtc/relay.py, a user-space UDP relay in front of coturn: the peer whose only ICE
server is the relay's port sends all its media through it under the relay-only policy. (This kernel
has no netem qdisc, so `tc netem` cannot add loss; the relay can, and it can cut the path.)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from backend.server import EmbeddedServer
from core.client.backend import BackendClient
from rtc.channels import ChannelMessage
from rtc.relay import UdpRelay
from rtc.session import CallSession, CallState
from rtc.signalling import WebSocketSignalling, memory_pair
from rtc.sources import read_frame_counter
from tests.helpers import CONSULT_REQUEST, until
from tests.integration.rtc_env import Coturn

SMALL = {"video_size": (320, 240), "fps": 15.0}


@pytest.fixture
def turn() -> Iterator[Coturn]:
    with Coturn() as server:
        yield server


@asynccontextmanager
async def backend_room(base: str) -> AsyncIterator[tuple[BackendClient, BackendClient, int]]:
    """The specialist and the county doctor signed in, with an accepted consult (an open room)."""
    doctor, specialist = BackendClient(base), BackendClient(base)
    try:
        await doctor.login("dr.li", "demo")
        await specialist.login("dr.chen", "demo")
        consult = await doctor.create_consult(CONSULT_REQUEST)
        await specialist.transition(consult["id"], "accept")
        yield specialist, doctor, int(consult["id"])
    finally:
        await doctor.aclose()
        await specialist.aclose()


def _session(client: BackendClient, consult_id: int, **options: Any) -> CallSession:
    signalling = WebSocketSignalling(lambda: client.signal_url(consult_id), backoff_initial=0.2)
    return CallSession(signalling, **{**SMALL, **options})


def test_relay_only_call_through_coturn(server: EmbeddedServer, turn: Coturn) -> None:
    assert server.base_url is not None
    base = server.base_url

    async def scenario() -> None:
        async with backend_room(base) as (specialist, doctor, cid):
            options = {"ice_servers": turn.ice_servers(), "ice_transport_policy": "relay"}
            a, b = _session(specialist, cid, **options), _session(doctor, cid, **options)
            try:
                await a.start()
                await b.start()
                await a.wait_for_state(CallState.CONNECTED, 30)
                await b.wait_for_state(CallState.CONNECTED, 30)
                assert a.selected_candidate_types() == ("relay", "relay")
                assert b.selected_candidate_types() == ("relay", "relay")
                await until(lambda: a.frames_received >= 10 and b.frames_received >= 10, 20)
                frame = b.latest_video_frame
                assert frame is not None and read_frame_counter(frame.to_ndarray(format="rgb24")) > 1
            finally:
                await a.close()
                await b.close()

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_sender_adapts_to_loss_and_recovers(turn: Coturn) -> None:
    """10% loss both ways: frames keep arriving, the sender steps down, then back up once it clears."""

    async def scenario() -> None:
        relay = await UdpRelay(("127.0.0.1", turn.port), seed=5).start()
        sig_a, sig_b = memory_pair()
        a = CallSession(
            sig_a, ice_servers=turn.ice_servers(relay.port), ice_transport_policy="relay", **SMALL  # type: ignore[arg-type]
        )
        b = CallSession(sig_b, ice_servers=turn.ice_servers(), ice_transport_policy="relay", **SMALL)  # type: ignore[arg-type]
        try:
            await a.start()
            await b.start()
            await a.wait_for_state(CallState.CONNECTED, 30)
            await until(lambda: b.frames_received > 5, 20)
            full = a.video_send_size
            assert full == (320, 240) and a.video_send_level == 0

            relay.set_conditions(loss=0.10)
            seen = b.frames_received
            await until(lambda: a.video_send_level > 0, 20)
            await until(lambda: b.frames_received > seen + 20, 20)
            await until(lambda: a.video_send_size is not None and a.video_send_size != full, 30)
            assert a.state is CallState.CONNECTED
            lowered = b.latest_video_frame
            assert lowered is not None
            frames_before = b.frames_received
            await until(lambda: b.frames_received > frames_before + 5, 30)  # not frozen under loss
            assert relay.counters.dropped > 0
            # a lost retransmission (10 % of the 10 %) is asked for again rather than stalling the
            # jitter buffer; how soon one happens is chance, so wait for it
            await until(lambda: b.nacks_repeated > 0, 20)

            relay.set_conditions(loss=0.0)
            await until(lambda: a.video_send_level == 0, 30)
            await until(lambda: a.video_send_size == full, 30)
            await until(lambda: (f := b.latest_video_frame) is not None and f.width == 320, 30)
        finally:
            await a.close()
            await b.close()
            await relay.close()
            await relay.close()

    asyncio.run(asyncio.wait_for(scenario(), 100))


def test_reconnects_after_the_path_is_cut(server: EmbeddedServer, turn: Coturn) -> None:
    """Pull the cable (relay cut), send while down, restore: the call comes back by itself and the
    messages sent meanwhile arrive once each, in order: those queued after the loss was noticed, and
    those the dead connection swallowed before it was (unacknowledged, so sent again)."""
    assert server.base_url is not None
    base = server.base_url

    async def scenario() -> None:
        relay = await UdpRelay(("127.0.0.1", turn.port)).start()
        async with backend_room(base) as (specialist, doctor, cid):
            resilient = {"liveness_timeout": 2.0, "negotiation_timeout": 6.0, "ice_transport_policy": "relay"}
            a = _session(specialist, cid, ice_servers=turn.ice_servers(relay.port), **resilient)
            b = _session(doctor, cid, ice_servers=turn.ice_servers(), **resilient)
            states: list[CallState] = []
            a.state_changed.connect(states.append)
            got_a: list[ChannelMessage] = []
            a.message_received.connect(got_a.append)
            try:
                await a.start()
                await b.start()
                await a.wait_for_state(CallState.CONNECTED, 30)
                await until(lambda: a.frames_received > 5, 20)

                relay.cut()
                cut_at = time.monotonic()
                for i in range(2):  # the channel still looks open: these vanish into the dead path
                    b.send("chat", "text", {"text": f"in flight {i}", "author": "dr.li"})
                assert b.outboxes["chat"].pending == 0 and b.outboxes["chat"].unacknowledged == 2
                await a.wait_for_state(CallState.RECONNECTING, 30)
                await b.wait_for_state(CallState.RECONNECTING, 30)
                print(f"path loss detected after {time.monotonic() - cut_at:.1f} s")
                for i in range(3):
                    b.send("chat", "text", {"text": f"while down {i}", "author": "dr.li"})
                b.send("annotations", "op", {"op": "add", "id": "arrow-1", "author": "dr.li", "lamport": 7})
                assert b.outboxes["chat"].pending == 5  # the two unacknowledged ones wait in front
                await asyncio.sleep(2)
                relay.restore()
                restored_at = time.monotonic()

                await a.wait_for_state(CallState.CONNECTED, 30)
                await b.wait_for_state(CallState.CONNECTED, 30)
                print(f"call back {time.monotonic() - restored_at:.1f} s after the path returned")
                assert states[-2:] == [CallState.RECONNECTING, CallState.CONNECTED]
                assert a.reconnections >= 1
                await until(lambda: len(got_a) >= 6, 30)
                # a duplicate, were there one, would come before a message sent now on the same
                # ordered channel: wait for that marker instead of sleeping
                b.send("chat", "text", {"text": "marker", "author": "dr.li"})
                chats = lambda: [m.envelope.body["text"] for m in got_a if m.channel == "chat" and m.envelope]  # noqa: E731
                await until(lambda: "marker" in chats(), 30)
                assert chats() == [
                    "in flight 0", "in flight 1", "while down 0", "while down 1", "while down 2", "marker"
                ]
                await until(lambda: b.outboxes["chat"].unacknowledged == 0, 30)
                notes = [m.envelope.body["id"] for m in got_a if m.channel == "annotations" and m.envelope]
                assert notes == ["arrow-1"]
                seen = a.frames_received
                await until(lambda: a.frames_received > seen + 10, 15)
            finally:
                await a.close()
                await b.close()
                await relay.close()

    asyncio.run(asyncio.wait_for(scenario(), 110))


def test_peer_leaves_and_returns(server: EmbeddedServer) -> None:
    assert server.base_url is not None
    base = server.base_url

    async def scenario() -> None:
        async with backend_room(base) as (specialist, doctor, cid):
            a = _session(specialist, cid, ice_servers=[])
            b = _session(doctor, cid, ice_servers=[])
            states: list[CallState] = []
            a.state_changed.connect(states.append)
            got_a: list[ChannelMessage] = []
            a.message_received.connect(got_a.append)
            b2: CallSession | None = None
            try:
                await a.start()
                await b.start()
                await a.wait_for_state(CallState.CONNECTED, 30)
                await b.close()  # the county doctor's workstation goes away...
                await a.wait_for_state(CallState.RECONNECTING, 10)
                assert a.peer_id is None
                b2 = _session(doctor, cid, ice_servers=[])  # ...and comes back
                await b2.start()
                await a.wait_for_state(CallState.CONNECTED, 30)
                b2.send("chat", "text", {"text": "back again"})
                await until(lambda: bool(got_a), 15)
                assert got_a[-1].envelope is not None and got_a[-1].envelope.body["text"] == "back again"
                seen = a.frames_received
                await until(lambda: a.frames_received > seen + 10, 15)
                assert states[-2:] == [CallState.RECONNECTING, CallState.CONNECTED]
            finally:
                await a.close()
                await b.close()
                if b2 is not None:
                    await b2.close()

    asyncio.run(asyncio.wait_for(scenario(), 90))

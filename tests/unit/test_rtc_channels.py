"""Channel envelopes, the per-channel outbox, the in-memory signalling room and the test pattern."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

from rtc.channels import CHANNELS, ChannelOutbox, Deduplicator, decode, encode, make_envelope
from rtc.signalling import (
    InMemoryRoom,
    Presence,
    Relayed,
    ServerError,
    SignallingClosedError,
    Welcome,
    memory_pair,
    parse_message,
)
from rtc.sources import burn_counter, read_frame_counter


class FakeChannel:
    def __init__(self) -> None:
        self.readyState = "connecting"
        self.sent: list[str | bytes] = []

    def send(self, data: str | bytes) -> None:
        assert self.readyState == "open"
        self.sent.append(data)


def test_channel_reliability() -> None:
    assert CHANNELS["annotations"].ordered and CHANNELS["annotations"].max_retransmits is None
    assert not CHANNELS["vitals"].ordered and CHANNELS["vitals"].max_retransmits == 0
    assert CHANNELS["vitals"].binary and not CHANNELS["chat"].binary
    assert len({spec.stream_id for spec in CHANNELS.values()}) == 4


def test_envelope_round_trip_and_rejections() -> None:
    env = make_envelope("chat", "text", {"text": "hello", "author": "dr.li"}, seq=1)
    message = decode("chat", encode(env))
    assert message is not None and message.envelope is not None
    assert message.envelope.body["text"] == "hello"
    ann = make_envelope("annotations", "op", {"op": "add", "id": "a1", "author": "x", "lamport": 3}, seq=2)
    assert decode("annotations", encode(ann)) is not None
    with pytest.raises(ValueError, match="text"):
        make_envelope("chat", "text", {"txt": "typo"}, seq=3)
    # Malformed input is skipped (None), never raised.
    assert decode("chat", "not json") is None
    assert (
        decode(
            "chat", json.dumps({"v": 1, "channel": "chat", "kind": "t", "seq": 1, "sent_at": 0, "body": {}})
        )
        is None
    )
    assert decode("annotations", encode(env)) is None  # chat envelope on the wrong channel
    bad_body = json.loads(encode(env))
    bad_body["body"] = {"text": ""}
    assert decode("chat", json.dumps(bad_body)) is None
    assert decode("chat", b"\x00\x01") is None  # binary only on vitals
    vitals = decode("vitals", b"\x00\x01")
    assert vitals is not None and vitals.data == b"\x00\x01"


def test_envelope_v2_is_rejected() -> None:
    raw = json.dumps({"v": 2, "channel": "chat", "kind": "t", "seq": 1, "sent_at": 0, "body": {"text": "x"}})
    assert decode("chat", raw) is None


def test_outbox_queues_until_open_then_flushes_in_order() -> None:
    outbox = ChannelOutbox("chat")
    channel = FakeChannel()
    outbox.attach(channel)
    for i in range(5):
        outbox.send_envelope("text", {"text": f"m{i}"})
    assert channel.sent == [] and outbox.pending == 5
    channel.readyState = "open"
    outbox.attach(channel)  # what the "open" event does
    texts = [json.loads(raw)["body"]["text"] for raw in channel.sent if isinstance(raw, str)]
    assert texts == [f"m{i}" for i in range(5)]
    outbox.send_envelope("text", {"text": "now"})
    assert outbox.pending == 0 and len(channel.sent) == 6
    seqs = [json.loads(raw)["seq"] for raw in channel.sent if isinstance(raw, str)]
    assert seqs == sorted(seqs)
    # Channel gone (renegotiation) after the peer acknowledged everything: queue again, then flush
    # only the new message into the next channel.
    assert outbox.unacknowledged == 6
    outbox.acknowledge(seqs[-1])
    assert outbox.unacknowledged == 0
    outbox.attach(None)
    outbox.send_envelope("text", {"text": "later"})
    fresh = FakeChannel()
    fresh.readyState = "open"
    outbox.attach(fresh)
    assert len(fresh.sent) == 1 and outbox.pending == 0
    with pytest.raises(ValueError, match="binary"):
        outbox.send_raw(b"x")


def test_unacknowledged_messages_are_resent_after_a_dead_connection() -> None:
    """A path that dies silently takes sent messages with it: those not acknowledged go out again,
    in order, before newer ones; the receiver drops any duplicate by sequence number."""
    outbox = ChannelOutbox("annotations")
    first = FakeChannel()
    first.readyState = "open"
    outbox.attach(first)
    for i in range(4):
        outbox.send_envelope("op", {"op": "add", "id": f"n{i}", "author": "a", "lamport": i})
    outbox.acknowledge(2)  # the peer confirmed n0, n1
    assert outbox.unacknowledged == 2
    outbox.attach(None)
    outbox.send_envelope("op", {"op": "delete", "id": "n0", "author": "a", "lamport": 9})
    outbox.acknowledge(3)  # a late ack for n2 also clears it from the resend queue
    second = FakeChannel()
    second.readyState = "open"
    outbox.attach(second)
    resent = [json.loads(raw) for raw in second.sent if isinstance(raw, str)]
    assert [(m["seq"], m["body"]["id"]) for m in resent] == [(4, "n3"), (5, "n0")]

    dedup = Deduplicator()
    delivered = [seq for seq in (1, 2, 3, 3, 4, 2, 5) if dedup.is_new("annotations", seq)]
    assert delivered == [1, 2, 3, 4, 5]
    dedup.reset()  # a new peer session numbers from 1 again
    assert dedup.is_new("annotations", 1)
    # Lossy vitals and untracked raw frames are never kept for resending.
    vitals = ChannelOutbox("vitals")
    vitals.attach(first)
    vitals.send_envelope("block", {"signal": "ecg", "t0": 0.0, "rate_hz": 250.0, "samples": [0.1]})
    assert vitals.unacknowledged == 0


def test_frame_counter_survives_noise() -> None:
    image = np.full((240, 320, 3), 100, dtype=np.uint8)
    rng = np.random.default_rng(1)
    for value in (0, 1, 12345, 2**24 - 1):
        burn_counter(image, value)
        noisy = np.clip(image.astype(int) + rng.integers(-40, 40, image.shape), 0, 255).astype(np.uint8)
        assert read_frame_counter(noisy) == value


def test_parse_message_skips_malformed() -> None:
    assert parse_message("nope") is None
    assert parse_message(b"binary") is None
    assert parse_message(json.dumps({"v": 1, "type": "offer", "payload": {}})) is None  # no "from"
    assert parse_message(json.dumps({"v": 9, "type": "welcome", "member_id": "a", "members": []})) is None
    relayed = parse_message(
        json.dumps({"v": 1, "type": "answer", "from": "x", "to": "y", "payload": {"a": 1}})
    )
    assert isinstance(relayed, Relayed) and relayed.sender == "x"


def test_in_memory_pair_speaks_the_room_protocol() -> None:
    async def scenario() -> None:
        a, b = memory_pair()
        welcome_a = await a.connect()
        assert isinstance(welcome_a, Welcome) and [m.member_id for m in welcome_a.members] == [a.member_id]
        welcome_b = await b.connect()
        assert {m.member_id for m in welcome_b.members} == {a.member_id, b.member_id}
        joined = await a.receive()
        assert (
            isinstance(joined, Presence) and joined.event == "join" and joined.member.member_id == b.member_id
        )
        a.inject_raw("{garbage")  # skipped, the next good message still arrives
        await b.send("offer", {"sdp": "x", "type": "offer"}, a.member_id)
        offer = await a.receive()
        assert isinstance(offer, Relayed) and offer.type == "offer" and offer.sender == b.member_id
        await a.send("message", {"hello": 1}, "nobody")
        error = await a.receive()
        assert isinstance(error, ServerError)
        await b.close()
        await b.close()
        left = await a.receive()
        assert isinstance(left, Presence) and left.event == "leave"
        with pytest.raises(SignallingClosedError):
            await b.receive()
        with pytest.raises(SignallingClosedError):
            await b.send("bye", {})
        await a.close()

    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_in_memory_viewer_flag() -> None:
    async def scenario() -> None:
        room = InMemoryRoom()
        doctor, trainee = room.join("dr"), room.join("student", viewer=True)
        await doctor.connect()
        welcome = await trainee.connect()
        assert [m.viewer for m in welcome.members] == [False, True]
        await trainee.close()
        await doctor.close()

    asyncio.run(scenario())

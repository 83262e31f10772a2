"""Message size limits at their edges: the room WebSocket (256 KiB; 8 KiB for the first, auth message)
and data-channel frames (rtc/channels.py, 64 KiB text and binary). What test_backend_bounds.py already
covers (an over-limit frame closes with 1009) is not repeated: here the edge itself, and the room's state
after the close (the peer is told, the sender can come back, the room goes on)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from backend.signalling import CLOSE_BAD_TOKEN
from rtc.channels import MAX_BINARY_BYTES, MAX_TEXT_BYTES, decode, encode, make_envelope
from tests.integration.conftest import Api

LIMIT = 256 * 1024


async def _recv(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
    return message


async def _join(url: str, token: str) -> tuple[ClientConnection, str]:
    ws = await connect(url, max_size=None)
    await ws.send(json.dumps({"type": "auth", "token": token}))
    welcome = await _recv(ws)
    assert welcome["type"] == "welcome"
    return ws, str(welcome["member_id"])


def _message_of_size(size: int) -> str:
    skeleton = json.dumps({"v": 1, "type": "message", "payload": {"pad": ""}})
    text = json.dumps({"v": 1, "type": "message", "payload": {"pad": "p" * (size - len(skeleton))}})
    assert len(text) == size
    return text


def test_room_messages_at_the_limit_pass_and_over_it_close_only_the_sender(api: Api) -> None:
    cid = api.consult_in_state("in_session")
    url = api.base_url.replace("http", "ws", 1) + f"/api/v1/rooms/{cid}/signal"

    async def scenario() -> None:
        chen, chen_id = await _join(url, api.token("dr.chen"))
        li, li_id = await _join(url, api.token("dr.li"))
        assert (await _recv(chen))["event"] == "join"
        # exactly the limit: relayed whole
        await li.send(_message_of_size(LIMIT))
        relayed = await _recv(chen)
        assert relayed["type"] == "message" and relayed["from"] == li_id
        assert relayed["payload"] == json.loads(_message_of_size(LIMIT))["payload"]
        # one byte over: the sender is closed with 1009, the peer hears it left and nothing else
        await li.send(_message_of_size(LIMIT + 1))
        with pytest.raises(ConnectionClosed) as closed:
            await _recv(li)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        left = await _recv(chen)
        assert (left["type"], left["event"], left["member"]["member_id"]) == ("presence", "leave", li_id)
        # the room goes on: the sender comes back and both talk again
        li2, li2_id = await _join(url, api.token("dr.li"))
        assert (await _recv(chen))["event"] == "join"
        await chen.send(json.dumps({"v": 1, "type": "message", "to": li2_id, "payload": {"text": "back?"}}))
        assert (await _recv(li2))["payload"] == {"text": "back?"}
        await li2.send(json.dumps({"v": 1, "type": "message", "payload": {"text": "yes"}}))
        back = await _recv(chen)
        assert back["from"] == li2_id and back["payload"] == {"text": "yes"}
        assert chen_id != li2_id
        for ws in (chen, li2):
            await ws.close()

    asyncio.run(scenario())


def test_an_oversized_auth_message_is_refused_as_no_token(api: Api) -> None:
    cid = api.consult_in_state("in_session")
    url = api.base_url.replace("http", "ws", 1) + f"/api/v1/rooms/{cid}/signal"
    token = api.token("dr.chen")

    async def scenario() -> None:
        async with connect(url, max_size=None) as ws:
            await ws.send(json.dumps({"type": "auth", "token": token, "pad": "x" * (9 * 1024)}))
            with pytest.raises(ConnectionClosed) as closed:
                await _recv(ws)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == CLOSE_BAD_TOKEN
        # the same token in a message of normal size is let in
        ws, _ = await _join(url, token)
        await ws.close()

    asyncio.run(scenario())


def test_data_channel_frames_at_and_over_their_limits(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="rtc.channels")
    body = {"op": "add", "id": "a1", "author": "dr.chen", "lamport": 1, "data": {"pad": "x"}}
    skeleton = encode(make_envelope("annotations", "op", body, seq=1))
    at_limit = skeleton.replace('"pad":"x"', '"pad":"' + "x" * (MAX_TEXT_BYTES - len(skeleton) + 1) + '"')
    assert len(at_limit) == MAX_TEXT_BYTES
    accepted = decode("annotations", at_limit)
    assert accepted is not None and accepted.envelope is not None and accepted.envelope.seq == 1
    over = at_limit.replace('"pad":"x', '"pad":"xx', 1)
    assert len(over) == MAX_TEXT_BYTES + 1
    assert decode("annotations", over) is None
    assert any("annotations: message too large" in r.getMessage() for r in caplog.records)
    # nothing is left behind: the next normal frame decodes
    assert decode("annotations", skeleton) is not None
    # binary (vitals): the limit itself passes, one byte more is refused
    assert decode("vitals", b"\x00" * MAX_BINARY_BYTES) is not None
    assert decode("vitals", b"\x00" * (MAX_BINARY_BYTES + 1)) is None
    assert any("vitals: binary frame too large" in r.getMessage() for r in caplog.records)

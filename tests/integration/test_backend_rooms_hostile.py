"""Hostile clients in the signalling room, through the real server with raw ``websockets`` clients:
keys that carry the identity, forged negotiation payloads, a reader that stops reading, deep nesting,
and admission checked against what REST shows each user."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame
from websockets.uri import parse_uri

from tests.integration.conftest import Api

PATIENT = {"patient_id": "CT-2026-0077", "name": "Zhou Hua", "sex": "M", "birth_date": "1961-05-04"}
SDP = (
    "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "a=group:BUNDLE 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
    "a=ice-ufrag:Zx9q\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=setup:actpass\r\n"
    "a=fingerprint:sha-256 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF"
    ":01:23:45:67:89\r\n"
)
CANDIDATE = (
    "candidate:842163049 1 udp 1677729535 192.0.2.7 54321 typ srflx raddr 0.0.0.0 rport 0 generation 0"
)


async def _join(api: Api, consult_id: int, username: str, **options: Any) -> ClientConnection:
    """A raw client in the room: the token goes in the first message (`{"type": "auth"}`)."""
    url = api.base_url.replace("http", "ws", 1) + f"/api/v1/rooms/{consult_id}/signal"
    ws = await connect(url, **options)
    await ws.send(json.dumps({"type": "auth", "token": api.token(username)}))
    return ws


class StalledReader:
    """A room member that reads only when told to: the websockets protocol without its I/O (the asyncio
    client would keep reading in the background), over a socket with a small, fixed receive buffer, so
    that not reading pushes back on the server at once."""

    def __init__(self, api: Api, consult_id: int, username: str) -> None:
        self.url = api.base_url.replace("http", "ws", 1) + f"/api/v1/rooms/{consult_id}/signal"
        self.token = api.token(username)
        self.protocol = ClientProtocol(parse_uri(self.url), max_size=2**20)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16_384)

    async def _flush(self) -> None:
        await asyncio.get_running_loop().sock_sendall(self.sock, b"".join(self.protocol.data_to_send()))

    async def _read(self) -> bool:
        data = await asyncio.get_running_loop().sock_recv(self.sock, 65_536)
        if data:
            self.protocol.receive_data(data)
        else:
            self.protocol.receive_eof()
        return bool(data)

    async def open(self) -> dict[str, Any]:
        parts = urlsplit(self.url)
        self.sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(self.sock, (parts.hostname, parts.port))
        self.protocol.send_request(self.protocol.connect())
        await self._flush()
        while True:
            await asyncio.wait_for(self._read(), 5)
            events = self.protocol.events_received()
            if events:
                break
        self.protocol.send_text(json.dumps({"type": "auth", "token": self.token}).encode())
        await self._flush()
        while True:
            frames = [e for e in self.protocol.events_received() if isinstance(e, Frame)]
            if frames:
                welcome: dict[str, Any] = json.loads(frames[0].data)
                return welcome
            await asyncio.wait_for(self._read(), 5)

    async def close_code(self, timeout: float = 15.0) -> int | None:
        """Read everything the server sent until its close frame; that frame's code."""
        deadline = time.monotonic() + timeout
        while self.protocol.close_rcvd is None and time.monotonic() < deadline:
            if not await asyncio.wait_for(self._read(), max(0.1, deadline - time.monotonic())):
                break
            self.protocol.events_received()
        self.sock.close()
        return self.protocol.close_rcvd.code if self.protocol.close_rcvd is not None else None


async def _recv(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    return message


async def _close_code(ws: ClientConnection, timeout: float = 15.0) -> int | None:
    """Read until the server closes; the code it sent (None: no close frame, the socket just died)."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic()))
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None
    raise AssertionError(f"not closed within {timeout} s")


def _in_session(api: Api) -> int:
    cid = int(api.new_consult("radiology", patient=PATIENT)["id"])
    api.ok("POST", f"/consults/{cid}/accept", "dr.chen")
    api.ok("POST", f"/consults/{cid}/start", "dr.li")
    return cid


def test_keys_reach_trainees_scrubbed(api: Api) -> None:
    """A payload key is chosen by the sender like any value: a name in one is taken out too."""
    cid = _in_session(api)

    async def scenario() -> None:
        async with await _join(api, cid, "dr.chen") as chen:
            chen_id = (await _recv(chen))["member_id"]
            async with await _join(api, cid, "student.zhao") as trainee:
                await _recv(trainee)
                await _recv(chen)  # the trainee joined
                payload = {"Zhou Hua": {"CT-2026-0077": "1961-05-04"}, "note": "Zhou Hua, 1961-05-04"}
                await chen.send(json.dumps({"v": 1, "type": "message", "payload": payload}))
                seen = await _recv(trainee)
                assert seen["type"] == "message" and seen["from"] == chen_id
                text = json.dumps(seen["payload"])
                for identifier in ("Zhou", "Hua", "CT-2026-0077", "1961-05-04"):
                    assert identifier not in text, text

    asyncio.run(scenario())
    # And in what REST serves trainees: annotation ops keep their structure, lose the identity in keys.
    op = {"kind": "text", "labels": {"Zhou Hua": "lesion"}}
    api.ok("POST", f"/consults/{cid}/annotations", "dr.chen", 201,
           json={"op_id": "6b0f2c4e-1d7a-4f3b-9a51-0c2d3e4f5a6b", "lamport": 1, "op": op})  # fmt: skip
    served = api.ok("GET", f"/consults/{cid}/annotations", "student.zhao")
    assert "Zhou" not in json.dumps(served) and "lesion" in json.dumps(served)


def test_negotiation_payloads_are_checked_by_type(api: Api) -> None:
    cid = _in_session(api)

    async def scenario() -> None:
        async with await _join(api, cid, "dr.chen") as chen:
            await _recv(chen)
            async with await _join(api, cid, "dr.li") as li:
                li_id = (await _recv(li))["member_id"]
                await _recv(chen)
                forged: list[tuple[str, dict[str, Any]]] = [
                    ("offer", {"type": "offer", "sdp": "<script>alert(1)</script>"}),
                    ("offer", {"type": "offer", "sdp": "v=0 offer"}),
                    ("offer", {"type": "offer", "sdp": SDP.replace("s=-", "s-")}),  # a line without '='
                    ("offer", {"type": "offer", "sdp": SDP, "html": "<b>x</b>"}),  # unknown field
                    ("offer", {"type": "answer", "sdp": SDP}),  # the wrong kind
                    ("answer", {"sdp": "o=- 1 1 IN IP4 0.0.0.0\r\nv=0\r\n", "type": "answer"}),
                    ("candidate", {"candidate": "candidate:garbage", "sdpMid": "0"}),
                    ("candidate", {"candidate": CANDIDATE + "\r\na=inject", "sdpMid": "0"}),
                    ("candidate", {"candidate": CANDIDATE, "sdpMid": "0", "extra": 1}),
                    ("candidate", {"candidate": CANDIDATE, "sdpMLineIndex": False}),
                    ("candidate", {}),
                ]
                for kind, payload in forged:
                    await chen.send(json.dumps({"v": 1, "type": kind, "to": li_id, "payload": payload}))
                    reply = await _recv(chen)
                    assert reply["type"] == "error", (kind, payload, reply)
                    assert reply["message"].startswith("invalid message"), reply
                # A version that is a boolean is not the number 1.
                await chen.send(json.dumps({"v": True, "type": "bye", "to": li_id}))
                assert (await _recv(chen))["type"] == "error"
                # Well-formed ones are relayed unchanged; none of the forged ones reached the county doctor.
                good = [
                    ("offer", {"type": "offer", "sdp": SDP}),
                    ("candidate", {"candidate": CANDIDATE, "sdpMid": "0", "sdpMLineIndex": 0}),
                    ("candidate", {"candidate": "", "sdpMid": "0"}),  # end of candidates
                ]
                for kind, payload in good:
                    await chen.send(json.dumps({"v": 1, "type": kind, "to": li_id, "payload": payload}))
                    relayed = await _recv(li)
                    assert relayed["type"] == kind and relayed["payload"] == payload

    asyncio.run(scenario())


def test_a_stalled_reader_is_dropped_and_the_others_keep_up(api: Api) -> None:
    """A trainee that stops reading fills its own queue and is closed with 4408; the county doctor's
    messages keep reaching the specialist within a second each."""
    cid = _in_session(api)
    chunk = "x" * 200_000

    async def scenario() -> None:
        async with await _join(api, cid, "dr.chen") as chen:
            await _recv(chen)
            async with await _join(api, cid, "dr.li") as li:
                await _recv(li)
                await _recv(chen)
                # The stalled reader reads its welcome, then nothing more until the end.
                stalled = StalledReader(api, cid, "student.zhao")
                stalled_id = (await stalled.open())["member_id"]
                for ws in (chen, li):
                    joined = await _recv(ws)
                    assert joined["member"]["member_id"] == stalled_id
                worst = 0.0
                left = False
                after_leave = 0
                for n in range(400):
                    if left:
                        after_leave += 1
                        if after_leave > 20:  # the room goes on without it
                            break
                    sent = time.monotonic()
                    message = {"v": 1, "type": "message", "payload": {"n": n, "text": chunk}}
                    await li.send(json.dumps(message))
                    while True:
                        got = await _recv(chen, timeout=1.0)  # fails the test if it takes longer
                        if got["type"] == "presence":
                            assert got["event"] == "leave" and got["member"]["member_id"] == stalled_id
                            left = True
                            continue
                        assert got["payload"]["n"] == n
                        break
                    worst = max(worst, time.monotonic() - sent)
                assert worst < 1.0 and left, (worst, left)
                # The stalled reader, once it reads again, finds the close frame after what was sent.
                assert await stalled.close_code() == 4408

    asyncio.run(scenario())


@pytest.mark.parametrize("depth", [40, 100_000])
def test_deep_nesting_closes_with_a_code(api: Api, depth: int) -> None:
    """Nested past the bound (or past the parser's recursion limit): a close frame with 1008, not a
    dropped connection; the room goes on for the others."""
    cid = _in_session(api)

    async def scenario() -> None:
        async with await _join(api, cid, "dr.chen") as chen:
            chen_id = (await _recv(chen))["member_id"]
            async with await _join(api, cid, "dr.li") as li:
                await _recv(li)
                await _recv(chen)
                nested = "[" * depth + "]" * depth
                await li.send('{"v": 1, "type": "message", "payload": {"deep": ' + nested + "}}")
                assert await _close_code(li) == 1008
                left = await _recv(chen)
                assert left["type"] == "presence" and left["event"] == "leave"
            async with await _join(api, cid, "dr.li") as again:
                welcome = await _recv(again)
                assert chen_id in {m["member_id"] for m in welcome["members"]}

    asyncio.run(scenario())


# Who reads GET /consults/{id} (200) and who is admitted to its room, per state; "member" and "viewer"
# are admissions, None a refusal (4403). A room is never open to someone REST answers 404.
ROOM_RULES: dict[str, dict[str, str | None]] = {
    "open": {"dr.li": "member", "dr.chen": None, "dr.wang": None, "student.zhao": None, "other.county": None},
    "accepted": {"dr.li": "member", "dr.chen": "member", "dr.wang": None, "student.zhao": None,
                 "other.county": None, "other.radiologist": None},
    "in_session": {"dr.li": "member", "dr.chen": "member", "dr.wang": None, "student.zhao": "viewer",
                   "student.cardio": None, "other.county": None, "other.radiologist": None},
    "answered": {"dr.li": "member", "dr.chen": "member", "student.zhao": None, "other.radiologist": None},
    "closed": {"dr.li": None, "dr.chen": None, "student.zhao": None},
}  # fmt: skip


async def _admission(api: Api, consult_id: int, username: str) -> str | None:
    async with await _join(api, consult_id, username) as ws:
        try:
            first = await _recv(ws)
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd is not None else None
            return None if code == 4403 else f"closed with {code}"
        me = next(m for m in first["members"] if m["member_id"] == first["member_id"])
        return "viewer" if me["viewer"] else "member"


def test_room_admission_follows_rest_visibility(api: Api) -> None:
    api.add_user("other.county", "county_doctor", "Other County")
    api.add_user("other.radiologist", "specialist", "Other Radiologist", ("radiology",))
    api.add_user("student.cardio", "trainee", "Cardio Student", ("cardiology",))
    consults: dict[str, int] = {}
    for state in ("open", "accepted", "in_session", "closed"):
        consults[state] = api.consult_in_state(state)
    answered = api.consult_in_state("in_session")
    api.ok(
        "POST", f"/consults/{answered}/answer", "dr.chen", json={"text": "Looks benign.", "key_images": []}
    )
    consults["answered"] = answered

    async def scenario() -> list[str]:
        problems = []
        for state, rules in ROOM_RULES.items():
            cid = consults[state]
            for username, expected in rules.items():
                rest = api.call("GET", f"/consults/{cid}", username).status_code
                room = await _admission(api, cid, username)
                if room != expected:
                    problems.append(f"{state} {username}: room {room}, expected {expected} (REST {rest})")
                if room is not None and rest != 200:
                    problems.append(f"{state} {username}: admitted to the room but REST answers {rest}")
        return problems

    assert asyncio.run(scenario()) == []

"""WebSocket signalling through the real server: admission, presence, relay, bad messages."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.integration.conftest import Api, wait_until


def _sdp(kind: str) -> dict[str, str]:
    """A session description of `kind` with the structure the room checks (v=, o=, s=, t=, then media)."""
    sdp = (
        "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
        f"a=ice-ufrag:{kind}\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
    )
    return {"type": kind, "sdp": sdp}


def _url(api: Api, consult_id: int, token: str) -> str:
    return api.base_url.replace("http", "ws", 1) + f"/api/v1/rooms/{consult_id}/signal?token={token}"


async def _recv(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    return message


async def _refused_code(url: str) -> int:
    async with connect(url) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await _recv(ws)
        assert closed.value.rcvd is not None
        return closed.value.rcvd.code


def test_relay_presence_and_errors(api: Api) -> None:
    cid = api.consult_in_state("in_session")
    specialist, county, trainee = (api.token(u) for u in ("dr.chen", "dr.li", "student.zhao"))

    async def scenario() -> None:
        async with connect(_url(api, cid, specialist)) as a:
            welcome_a = await _recv(a)
            assert welcome_a["v"] == 1 and welcome_a["type"] == "welcome"
            a_id = welcome_a["member_id"]
            assert [m["username"] for m in welcome_a["members"]] == ["dr.chen"]
            async with connect(_url(api, cid, county)) as b:
                welcome_b = await _recv(b)
                b_id = welcome_b["member_id"]
                assert {m["username"] for m in welcome_b["members"]} == {"dr.chen", "dr.li"}
                joined = await _recv(a)
                assert joined["type"] == "presence" and joined["event"] == "join"
                assert joined["member"]["member_id"] == b_id and joined["member"]["role"] == "county_doctor"
                # offer/answer/candidate are relayed with "from" stamped by the server.
                await a.send(json.dumps({"v": 1, "type": "offer", "to": b_id, "payload": _sdp("offer")}))
                offer = await _recv(b)
                assert offer == {
                    "v": 1,
                    "type": "offer",
                    "from": a_id,
                    "to": b_id,
                    "payload": _sdp("offer"),
                }
                await b.send(json.dumps({"v": 1, "type": "answer", "to": a_id, "payload": _sdp("answer")}))
                assert (await _recv(a))["payload"] == _sdp("answer")
                # A client cannot spoof "from": unknown fields are refused, the connection stays up.
                await b.send(json.dumps({"v": 1, "type": "candidate", "from": "x", "payload": {}}))
                error = await _recv(b)
                assert error["type"] == "error" and "from" in error["message"]
                for bad in (
                    "not json",
                    json.dumps({"v": 2, "type": "offer"}),
                    json.dumps({"v": 1, "type": "x"}),
                    json.dumps([1]),
                    json.dumps({"v": 1, "type": "offer", "to": "nobody"}),
                ):
                    await b.send(bad)
                    reply = await _recv(b)
                    assert reply["type"] == "error" and reply["message"]
                await b.send(b"\x00binary")
                assert (await _recv(b))["type"] == "error"
                # Still usable: a broadcast candidate reaches the other member.
                await b.send(
                    json.dumps(
                        {
                            "v": 1,
                            "type": "candidate",
                            "to": None,
                            "payload": {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host"},
                        }
                    )
                )
                candidate = await _recv(a)
                assert candidate["type"] == "candidate" and candidate["from"] == b_id
                # A trainee joins as a viewer.
                async with connect(_url(api, cid, trainee)) as c:
                    welcome_c = await _recv(c)
                    me = next(m for m in welcome_c["members"] if m["member_id"] == welcome_c["member_id"])
                    assert me["viewer"] is True and me["role"] == "trainee"
                    assert (await _recv(a))["member"]["viewer"] is True
                    assert (await _recv(b))["event"] == "join"
                    await a.send(json.dumps({"v": 1, "type": "message", "payload": {"text": "hello all"}}))
                    assert (await _recv(b))["payload"] == {"text": "hello all"}
                    assert (await _recv(c))["payload"] == {"text": "hello all"}
                assert (await _recv(a))["event"] == "leave"
                assert (await _recv(b))["event"] == "leave"
            left = await _recv(a)
            assert (
                left["type"] == "presence"
                and left["event"] == "leave"
                and left["member"]["member_id"] == b_id
            )

    asyncio.run(scenario())

    def audited() -> bool:
        actions = [
            r["action"] for r in api.ok("GET", "/audit?limit=1000", "it.admin") if r["consult_id"] == cid
        ]
        return actions.count("room.join") == 3 and actions.count("room.leave") == 3

    assert wait_until(audited)


def test_outsiders_are_refused(api: Api) -> None:
    cid = api.consult_in_state("accepted", "radiology")
    outsiders = {u: api.token(u) for u in ("dr.wang", "it.admin")}
    api.add_user("student.qian", "trainee", "Qian", ("cardiology",))
    outsiders["student.qian"] = api.token("student.qian")  # a cardiology trainee

    async def scenario() -> None:
        for username, token in outsiders.items():
            assert await _refused_code(_url(api, cid, token)) == 4403, username
        assert await _refused_code(_url(api, cid, "garbage")) == 4401
        assert await _refused_code(_url(api, 999999, api.token("dr.chen"))) == 4403
        closed = api.consult_in_state("closed")
        assert await _refused_code(_url(api, closed, api.token("dr.chen"))) == 4403
        # Members get in.
        async with connect(_url(api, cid, api.token("dr.li"))) as ws:
            assert (await _recv(ws))["type"] == "welcome"

    asyncio.run(scenario())


def test_viewers_only_answer_the_instructor(api: Api) -> None:
    """A trainee (viewer) may address a non-viewer member (the P2P handshake with the instructor), but
    not broadcast nor reach another viewer; what members send viewers arrives pseudonymised."""
    patient = {"patient_id": "CT-2026-0042", "name": "Wang Min", "sex": "F", "birth_date": "1954-03-08"}
    cid = int(api.new_consult("radiology", patient=patient)["id"])
    api.ok("POST", f"/consults/{cid}/accept", "dr.chen")
    api.ok("POST", f"/consults/{cid}/start", "dr.li")
    api.add_user("student.sun", "trainee", "Sun", ("radiology",))
    urls = [_url(api, cid, api.token(u)) for u in ("dr.chen", "dr.li", "student.zhao", "student.sun")]
    seen_patient = api.ok("GET", f"/consults/{cid}", "student.zhao")["patient"]
    text = "Wang Min (CT-2026-0042), born 1954-03-08: watch the needle"
    scrubbed = f"{seen_patient['name']} ({seen_patient['patient_id']}), born [birth date]: watch the needle"

    async def scenario() -> None:
        # Each joins after the previous one's welcome: admission runs after the handshake, so two sockets
        # opened at once may be admitted in either order.
        async with connect(urls[0]) as instructor:
            instructor_id = (await _recv(instructor))["member_id"]
            async with connect(urls[1]) as county:
                await _recv(county)
                await _recv(instructor)  # the county doctor joined
                await _viewers(instructor, county, instructor_id)

    async def _viewers(instructor: ClientConnection, county: ClientConnection, instructor_id: str) -> None:
        async with connect(urls[2]) as trainee:
            trainee_id = (await _recv(trainee))["member_id"]
            for ws in (instructor, county):
                assert (await _recv(ws))["member"]["member_id"] == trainee_id
            async with connect(urls[3]) as other:
                other_id = (await _recv(other))["member_id"]
                for ws in (instructor, county, trainee):
                    assert (await _recv(ws))["member"]["member_id"] == other_id
                # The instructor offers to the trainee; the trainee answers the instructor: relayed.
                offer = {"v": 1, "type": "offer", "to": trainee_id, "payload": _sdp("offer")}
                await instructor.send(json.dumps(offer))
                assert (await _recv(trainee))["payload"] == _sdp("offer")
                answer = {"v": 1, "type": "answer", "to": instructor_id, "payload": _sdp("answer")}
                await trainee.send(json.dumps(answer))
                relayed = await _recv(instructor)
                assert relayed["type"] == "answer" and relayed["from"] == trainee_id
                # A broadcast, or a message to another viewer: an error to the trainee, relayed to nobody.
                broadcast = {"v": 1, "type": "message", "payload": {"text": "hi all"}}
                to_viewer = {"v": 1, "type": "bye", "to": other_id, "payload": {}}
                for refused_message in (broadcast, to_viewer):
                    await trainee.send(json.dumps(refused_message))
                for _ in range(2):
                    refused = await _recv(trainee)
                    assert refused["type"] == "error" and "viewer" in refused["message"]
                # So the next thing the others receive is the instructor's message: the viewers get it
                # pseudonymised, the county doctor as written.
                message = {"v": 1, "type": "message", "payload": {"text": text}}
                await instructor.send(json.dumps(message))
                assert (await _recv(county))["payload"] == {"text": text}
                for ws in (trainee, other):
                    seen = await _recv(ws)
                    assert seen["type"] == "message" and seen["from"] == instructor_id
                    assert seen["payload"] == {"text": scrubbed}

    asyncio.run(scenario())

"""Bad signalling through the REAL backend room: every bad message gets an error back, the call stays up."""

from __future__ import annotations

import asyncio
import json

from backend.server import EmbeddedServer
from rtc.channels import ChannelMessage
from rtc.session import CallSession, CallState
from rtc.signalling import Relayed, ServerError, WebSocketSignalling, parse_message
from tests.helpers import until
from tests.integration.test_rtc_network import SMALL, backend_room


class RecordingSignalling(WebSocketSignalling):
    """The room as the peer sees it, with every valid message it receives kept for the test."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.seen: list[object] = []

    def _deliver_raw(self, raw: str | bytes) -> None:
        super()._deliver_raw(raw)
        message = parse_message(raw)
        if message is not None:
            self.seen.append(message)


def test_bad_signalling_is_answered_and_never_drops_the_call(server: EmbeddedServer) -> None:
    assert server.base_url is not None
    base = server.base_url

    async def scenario() -> None:
        async with backend_room(base) as (specialist, doctor, cid):
            a = CallSession(WebSocketSignalling(specialist.signal_url(cid)), ice_servers=[], **SMALL)  # type: ignore[arg-type]
            sig_b = RecordingSignalling(doctor.signal_url(cid))
            b = CallSession(sig_b, ice_servers=[], **SMALL)  # type: ignore[arg-type]
            states: list[CallState] = []
            a.state_changed.connect(states.append)
            got_a: list[ChannelMessage] = []
            a.message_received.connect(got_a.append)
            try:
                await a.start()
                await b.start()
                await a.wait_for_state(CallState.CONNECTED, 30)
                await b.wait_for_state(CallState.CONNECTED, 30)
                pc_before = a._pc
                target = a.signalling.member_id
                assert target is not None

                def relayed(type_: str, payload: dict[str, object]) -> str:
                    return json.dumps({"v": 1, "type": type_, "to": target, "payload": payload})

                # Rejected by the server itself.
                await sig_b.send_raw("{not json")
                await sig_b.send_raw(json.dumps({"v": 1, "type": "dance", "payload": {}}))
                await sig_b.send_raw(json.dumps({"v": 7, "type": "offer", "payload": {}}))
                # Not an SDP, not a string, not a candidate line: the room checks payloads by type and
                # refuses these itself; nothing reaches the peer.
                await sig_b.send_raw(relayed("offer", {"sdp": "v=0\r\nthis is not SDP", "type": "offer"}))
                await sig_b.send_raw(relayed("offer", {"sdp": 42}))
                await sig_b.send_raw(relayed("candidate", {"candidate": "candidate:garbage", "sdpMid": "0"}))
                # Valid for the room, bad for the peer: a answers each with an error message.
                host = "candidate:1 1 udp 2130706431 192.0.2.9 9999 typ host"
                await sig_b.send_raw(relayed("candidate", {"candidate": host, "sdpMid": "nope"}))
                await sig_b.send_raw(relayed("candidate", {"candidate": host}))

                def server_errors() -> list[str]:
                    return [m.message for m in sig_b.seen if isinstance(m, ServerError)]

                def peer_errors() -> list[str]:
                    return [
                        str(m.payload["error"])
                        for m in sig_b.seen
                        if isinstance(m, Relayed) and m.type == "message" and "error" in m.payload
                    ]

                await until(lambda: len(server_errors()) >= 6 and len(peer_errors()) >= 2, 10)
                assert "not valid JSON" in server_errors()[0]
                assert all("invalid message" in e for e in server_errors()[1:6])
                rejected = peer_errors()
                assert sum(e.startswith("offer rejected") for e in rejected) == 0
                assert sum(e.startswith("candidate rejected") for e in rejected) == 2
                assert any("unknown media section" in e for e in rejected)

                # The call never noticed: same connection, still connected, media and chat flowing.
                assert a._pc is pc_before and a.state is CallState.CONNECTED
                assert CallState.RECONNECTING not in states
                seen = a.frames_received
                await until(lambda: a.frames_received > seen + 10, 10)
                b.send("chat", "text", {"text": "still with you"})
                await until(lambda: any(m.channel == "chat" for m in got_a), 10)
            finally:
                await a.close()
                await b.close()

    asyncio.run(asyncio.wait_for(scenario(), 60))

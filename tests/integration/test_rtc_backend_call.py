"""Two CallSessions through the REAL backend room WebSocket (EmbeddedServer on loopback)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.backend_client import BackendClient
from backend.server import EmbeddedServer
from rtc.channels import ChannelMessage
from rtc.session import CallSession, CallState
from rtc.signalling import CLOSE_BAD_TOKEN, CLOSE_FORBIDDEN, SignallingRefusedError, WebSocketSignalling
from rtc.sources import read_frame_counter

REQUEST = {
    "patient": {"patient_id": "P-1", "name": "Wang Min", "sex": "F", "birth_date": "1970-01-02"},
    "question": "Nodule in the right upper lobe?",
    "urgency": "urgent",
    "specialty": "radiology",
    "study": None,
}
SMALL = {"video_size": (320, 240), "fps": 15.0, "ice_servers": []}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    srv = EmbeddedServer(f"sqlite:///{tmp_path / 'backend.sqlite3'}", port=_free_port(), seed_demo=True)
    srv.start()
    yield srv
    srv.stop()


async def _signed_in(base: str, username: str) -> BackendClient:
    client = BackendClient(base)
    await client.login(username, "demo")
    return client


async def _until(predicate: object, timeout: float) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.05)


def test_call_through_backend_room(server: EmbeddedServer) -> None:
    assert server.base_url is not None
    base = server.base_url

    async def scenario() -> None:
        doctor, specialist = await _signed_in(base, "dr.li"), await _signed_in(base, "dr.chen")
        try:
            consult = await doctor.create_consult(REQUEST)
            await specialist.transition(consult["id"], "accept")
            cid = int(consult["id"])
            a = CallSession(WebSocketSignalling(lambda: specialist.signal_url(cid)), **SMALL)  # type: ignore[arg-type]
            b = CallSession(WebSocketSignalling(lambda: doctor.signal_url(cid)), **SMALL)  # type: ignore[arg-type]
            got_a: list[ChannelMessage] = []
            a.message_received.connect(got_a.append)
            latencies: list[float] = []

            def on_frame(frame: object) -> None:
                sent = a.video_track.sent_at.get(read_frame_counter(frame.to_ndarray(format="rgb24")))  # type: ignore[attr-defined]
                if sent is not None:
                    latencies.append(time.monotonic() - sent)

            b.video_frame_received.connect(on_frame)
            try:
                await a.start()
                await b.start()
                await a.wait_for_state(CallState.CONNECTED, 30)
                await b.wait_for_state(CallState.CONNECTED, 30)
                b.send("chat", "text", {"text": "Can you see the nodule?", "author": "dr.li"})
                await _until(lambda: bool(got_a), 15)
                assert got_a[0].channel == "chat" and got_a[0].envelope is not None
                assert got_a[0].envelope.body["text"] == "Can you see the nodule?"
                await _until(lambda: a.frames_received >= 10 and b.frames_received >= 10, 20)
                frame = b.latest_video_frame
                assert frame is not None and (frame.width, frame.height) == (320, 240)
                assert read_frame_counter(frame.to_ndarray(format="rgb24")) > 1
                assert latencies
                latencies.sort()
                print(f"frame latency p50={latencies[len(latencies) // 2] * 1000:.1f} ms n={len(latencies)}")
            finally:
                await a.close()
                await b.close()
                await a.close()
            assert a.state is CallState.ENDED and b.state is CallState.ENDED
        finally:
            await doctor.aclose()
            await specialist.aclose()

    asyncio.run(asyncio.wait_for(scenario(), 90))


def test_outsiders_are_refused(server: EmbeddedServer) -> None:
    assert server.base_url is not None
    base = server.base_url

    async def scenario() -> None:
        doctor, specialist = await _signed_in(base, "dr.li"), await _signed_in(base, "dr.chen")
        outsider = await _signed_in(base, "dr.wang")  # a cardiology specialist, not on this consult
        try:
            consult = await doctor.create_consult(REQUEST)
            await specialist.transition(consult["id"], "accept")
            cid = int(consult["id"])
            with pytest.raises(SignallingRefusedError) as refused:
                await WebSocketSignalling(outsider.signal_url(cid)).connect()
            assert refused.value.code == CLOSE_FORBIDDEN
            bad_token = doctor.signal_url(cid).split("?")[0] + "?token=nonsense"
            session = CallSession(WebSocketSignalling(bad_token), **SMALL)  # type: ignore[arg-type]
            with pytest.raises(SignallingRefusedError) as refused:
                await session.start()
            assert refused.value.code == CLOSE_BAD_TOKEN
            assert session.state is CallState.ENDED
        finally:
            for client in (doctor, specialist, outsider):
                await client.aclose()

    asyncio.run(asyncio.wait_for(scenario(), 60))

"""Two CallSessions through the REAL backend room WebSocket (EmbeddedServer on loopback)."""

from __future__ import annotations

import asyncio
import time

import pytest

from backend.server import EmbeddedServer
from core.client.backend import BackendClient
from rtc.channels import ChannelMessage
from rtc.session import CallSession, CallState
from rtc.signalling import CLOSE_BAD_TOKEN, CLOSE_FORBIDDEN, SignallingRefusedError, WebSocketSignalling
from rtc.sources import read_frame_counter
from tests.helpers import CONSULT_REQUEST, SMALL_CALL, until


async def _signed_in(base: str, username: str) -> BackendClient:
    client = BackendClient(base)
    await client.login(username, "demo")
    return client


def test_call_through_backend_room(server: EmbeddedServer) -> None:
    assert server.base_url is not None
    base = server.base_url

    async def scenario() -> None:
        doctor, specialist = await _signed_in(base, "dr.li"), await _signed_in(base, "dr.chen")
        try:
            consult = await doctor.create_consult(CONSULT_REQUEST)
            await specialist.transition(consult["id"], "accept")
            cid = int(consult["id"])
            a = CallSession(WebSocketSignalling(lambda: specialist.signal_url(cid)), **SMALL_CALL)  # type: ignore[arg-type]
            b = CallSession(WebSocketSignalling(lambda: doctor.signal_url(cid)), **SMALL_CALL)  # type: ignore[arg-type]
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
                await until(lambda: bool(got_a), 15)
                assert got_a[0].channel == "chat" and got_a[0].envelope is not None
                assert got_a[0].envelope.body["text"] == "Can you see the nodule?"
                await until(lambda: a.frames_received >= 10 and b.frames_received >= 10, 20)
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
            consult = await doctor.create_consult(CONSULT_REQUEST)
            await specialist.transition(consult["id"], "accept")
            cid = int(consult["id"])
            with pytest.raises(SignallingRefusedError) as refused:
                await WebSocketSignalling(outsider.signal_url(cid)).connect()
            assert refused.value.code == CLOSE_FORBIDDEN
            bad_token = doctor.signal_url(cid).split("?")[0] + "?token=nonsense"
            session = CallSession(WebSocketSignalling(bad_token), **SMALL_CALL)  # type: ignore[arg-type]
            with pytest.raises(SignallingRefusedError) as refused:
                await session.start()
            assert refused.value.code == CLOSE_BAD_TOKEN
            assert session.state is CallState.ENDED
        finally:
            for client in (doctor, specialist, outsider):
                await client.aclose()

    asyncio.run(asyncio.wait_for(scenario(), 60))
